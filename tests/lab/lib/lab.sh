# Lab helper library, sourced by scripts that run INSIDE the lab VM (tests/lab/run SCRIPT):
#   source "$LAB_LIB/lab.sh"      (LAB_LIB is set by the VM's init)
# It changes network devices, RDMA links and the kernel target's configfs, so it refuses to
# load anywhere but in the VM.
if [ "${LAB_IN_VM:-0}" != 1 ]; then
  echo "lab: lib/lab.sh is for scripts run inside the lab VM: tests/lab/run SCRIPT" >&2
  return 1 2>/dev/null || exit 1
fi
_lab_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
for _lab_part in common rxe lio tgtd iscsi reset; do source "$_lab_lib_dir/$_lab_part.sh"; done
unset _lab_part _lab_lib_dir

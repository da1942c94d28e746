#!/usr/bin/env bash
# Writes the job file the lab VM's guest init sources: the script and its arguments, the
# caller's working folder, and the environment to carry in (every ISER_* variable, LAB_JOB_SYSTEMD
# (1: boot real systemd, see guest-init.sh), plus the lab's own LAB_* facts). A file, not the kernel command line, which is limited to 2048 bytes
# and splits at spaces.
set -euo pipefail
out=${1:?usage: write-job.sh OUT LAB_DIR KVER SCRIPT [ARGS...]}
lab_dir=${2:?}
kver=${3:?}
shift 3
{
  echo "# lab job written $(date -u +%FT%TZ)"
  printf 'LAB_JOB_CWD=%q\n' "$PWD"
  printf 'LAB_JOB_ARGV=('; printf ' %q' "$@"; printf ' )\n'
  while IFS= read -r name; do
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e | grep -E '^ISER_|^LAB_JOB_SYSTEMD$' || true)
  printf 'export LAB_DIR=%q LAB_LIB=%q LAB_KERNEL_VERSION=%q\n' "$lab_dir" "$lab_dir/lib" "$kver"
} >"$out"

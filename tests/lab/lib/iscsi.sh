# The kernel's iSCSI initiator (open-iscsi + ib_iser or iscsi_tcp): the reference the project's
# own initiator is measured against. No udev in the VM: sd_mod is loaded by hand and disks are
# found through `iscsiadm -m session -P3`.

# lab_iscsid_start: iscsid in the background with the lab's initiator name
# (LAB_INITIATOR_IQN, default iqn.2024-01.lab.iser:initiator) and an empty node database.
lab_iscsid_start() {
  lab_pid_alive "$LAB_STATE/iscsid.pid" && return 0
  lab_need iscsid iscsiadm
  lab_modprobe ib_iser iscsi_tcp sd_mod
  # Only the VM's overlay changes: the host's / is read-only underneath.
  mkdir -p /etc/iscsi /run/lock/iscsi
  echo "InitiatorName=$LAB_INITIATOR_IQN" >/etc/iscsi/initiatorname.iscsi
  rm -rf /etc/iscsi/nodes /etc/iscsi/send_targets /var/lib/iscsi/nodes /var/lib/iscsi/send_targets
  # Output to a file, never to our stdout: callers capture helpers with $(...), which would
  # otherwise wait for the daemon to close the pipe.
  # Own session: when iscsid stops it signals its whole process group, which would be ours.
  setsid iscsid -f >"$LAB_STATE/iscsid.log" 2>&1 </dev/null &
  echo $! >"$LAB_STATE/iscsid.pid"
  lab_wait_for 20 "iscsid to accept requests" _lab_iscsid_answers ||
    { lab_tail_log "$LAB_STATE/iscsid.log"; lab_die "iscsid did not start"; }
}

_lab_iscsid_answers() {
  lab_pid_alive "$LAB_STATE/iscsid.pid" || return 1
  local out
  out=$(iscsiadm -m session 2>&1)
  [[ $out != *"can not connect"* && $out != *"Could not"* ]]
}

# lab_iscsid_stop: stop iscsid (log out first: lab_kernel_logout).
lab_iscsid_stop() { lab_stop_pid "$LAB_STATE/iscsid.pid"; }

# lab_kernel_login IQN PORTAL [options]: discovery + login; print the LUNs' disks (/dev/sdX),
# one a line, in LUN order, once they exist and have a size.
#   --transport iser|tcp     (default iser; tcp uses iscsi_tcp)
#   --luns N                 number of disks to wait for (default 1)
#   --chap USER:SECRET       CHAP credentials the initiator presents
#   --mutual-chap USER:SECRET  credentials the target must present (mutual CHAP)
#   --set NAME=VALUE         any other node setting, e.g. node.session.cmds_max=32 (repeatable)
#   --timeout SECONDS        how long to wait for the disks (default 60)
# PORTAL is ADDR or ADDR:PORT (port 3260 when left out).
lab_kernel_login() {
  local iqn=${1:?usage: lab_kernel_login IQN PORTAL [options]} portal=${2:?usage: lab_kernel_login IQN PORTAL [options]}
  shift 2
  local transport=iser luns=1 chap='' mutual='' timeout=60
  local -a sets=()
  while [ $# -gt 0 ]; do
    case $1 in
      --transport) transport=$2; shift ;;
      --luns) luns=$2; shift ;;
      --chap) chap=$2; shift ;;
      --mutual-chap) mutual=$2; shift ;;
      --set) sets+=("$2"); shift ;;
      --timeout) timeout=$2; shift ;;
      *) lab_die "lab_kernel_login: unknown option '$1'" ;;
    esac
    shift
  done
  [[ $portal == *:* ]] || portal=$portal:3260
  local iface
  case $transport in iser) iface=iser ;; tcp) iface=default ;; *) lab_die "lab_kernel_login: --transport iser|tcp" ;; esac

  lab_iscsid_start
  iscsiadm -m discovery -t st -p "$portal" -I "$iface" >"$LAB_STATE/discovery.log" 2>&1 ||
    { lab_tail_log "$LAB_STATE/discovery.log"; lab_die "SendTargets discovery at $portal over $transport failed"; }
  grep -q " $iqn\$" "$LAB_STATE/discovery.log" ||
    { lab_tail_log "$LAB_STATE/discovery.log"; lab_die "discovery at $portal does not list $iqn"; }

  local -a node=(iscsiadm -m node -T "$iqn" -p "$portal" -I "$iface")
  if [ -n "$chap" ]; then
    sets+=(node.session.auth.authmethod=CHAP "node.session.auth.username=${chap%%:*}" "node.session.auth.password=${chap#*:}")
  fi
  if [ -n "$mutual" ]; then
    sets+=("node.session.auth.username_in=${mutual%%:*}" "node.session.auth.password_in=${mutual#*:}")
  fi
  local kv
  for kv in "${sets[@]}"; do
    "${node[@]}" -o update -n "${kv%%=*}" -v "${kv#*=}" >/dev/null || lab_die "iscsiadm cannot set ${kv%%=*}"
  done
  "${node[@]}" --login >"$LAB_STATE/login.log" 2>&1 ||
    { lab_tail_log "$LAB_STATE/login.log"; lab_die "login to $iqn at $portal over $transport failed"; }

  lab_wait_for "$timeout" "$luns disk(s) of $iqn" _lab_disks_ready "$iqn" "$luns" ||
    { iscsiadm -m session -P3 >&2; lab_die "the disks of $iqn did not appear"; }
  _lab_disks_of "$iqn"
}

# The session's disks as /dev/sdX, in LUN order.
_lab_disks_of() {
  iscsiadm -m session -P3 2>/dev/null | awk -v iqn="$1" '
    /^Target: / { mine = ($2 == iqn) }
    mine && /Lun: / { lun = $NF }
    mine && /Attached scsi disk/ { print lun, "/dev/" $4 }' | sort -n | cut -d' ' -f2
}

_lab_disks_ready() {
  local -a disks
  mapfile -t disks < <(_lab_disks_of "$1")
  [ ${#disks[@]} -ge "$2" ] || return 1
  local d
  for d in "${disks[@]}"; do
    [ -b "$d" ] && [ "$(blockdev --getsize64 "$d" 2>/dev/null || echo 0)" -gt 0 ] || return 1
  done
}

# lab_kernel_logout [IQN]: log out of IQN (default: every session) and forget its node records.
lab_kernel_logout() {
  if [ -n "${1:-}" ]; then
    iscsiadm -m node -T "$1" --logout >/dev/null 2>&1 || true
    iscsiadm -m node -T "$1" -o delete >/dev/null 2>&1 || true
  else
    iscsiadm -m node --logoutall=all >/dev/null 2>&1 || true
    iscsiadm -m node -o delete >/dev/null 2>&1 || true
  fi
  if [ -n "${1:-}" ] && _lab_disks_of "$1" | grep -q .; then lab_die "logout from $1 left its session behind"; fi
  # iscsiadm returns before the kernel has torn the session down; a discovery or login to the
  # same target in that window was seen to fail in iscsiadm. Wait for the sysfs session to go.
  local i
  for i in $(seq 100); do
    if [ -n "${1:-}" ]; then grep -qlx -- "$1" /sys/class/iscsi_session/*/targetname 2>/dev/null || break
    else compgen -G '/sys/class/iscsi_session/session*' >/dev/null || break; fi
    sleep 0.1
  done
  lab_log "iscsi: logged out${1:+ of $1}"
}

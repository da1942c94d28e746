# tgtd, the userspace SCSI target (Debian's tgt, built with iSER), as a second target
# implementation. Known limits in the lab (see docs/lab.md):
# - its iSER listener binds rdma_cm port 3260 on EVERY address, so it cannot run beside a LIO
#   iSER portal on port 3260 (put LIO's iSER portal on another port, or run one at a time);
# - Debian's build rejects tgt's own iSER port option;
# - LUN 0 is a controller (peripheral type 0x0c): disks are LUNs 1..N;
# - iSER targets default to ImmediateData=No and InitialR2T=Yes.

LAB_TGTD_IQN_PREFIX=${LAB_TGTD_IQN_PREFIX:-iqn.2024-01.lab.tgt}
LAB_TGTD_BACKING_DIR=${LAB_TGTD_BACKING_DIR:-/tmp/lab-tgtd}

# lab_tgtd_iser NAME [options]: start a tgtd (if its control index is not running yet) and
# create a target on it; print the target IQN.
#   --iqn IQN               target name (default $LAB_TGTD_IQN_PREFIX:NAME)
#   --luns N                disks, as LUNs 1..N (default 1)
#   --size SIZE             size of each, truncate(1) syntax (default 64M)
#   --block-size 512|4096   logical block size (default 512)
#   --lld iser|iscsi        transport of the target (default iser)
#   --tcp ADDR:PORT         tgtd's TCP portal (default $LAB_ADDR2:3260, clear of LIO's 10.77.0.1)
#   --control N             tgtd control index, for several tgtd at once (default 0)
#   --tid N                 target id (default 1)
#   --param KEY=VALUE       target parameter, e.g. ImmediateData=Yes (repeatable)
#   --chap USER:SECRET      incoming account (the initiator authenticates)
#   --mutual-chap USER:SECRET  outgoing account (the target authenticates too)
lab_tgtd_iser() {
  local name=${1:?usage: lab_tgtd_iser NAME [options]}; shift
  local iqn="$LAB_TGTD_IQN_PREFIX:$name" luns=1 size=64M block_size=512 lld=iser
  local tcp="${LAB_ADDR2:-10.77.0.2}:3260" control=0 tid=1 chap='' mutual=''
  local -a params=()
  while [ $# -gt 0 ]; do
    case $1 in
      --iqn) iqn=$2; shift ;;
      --luns) luns=$2; shift ;;
      --size) size=$2; shift ;;
      --block-size) block_size=$2; shift ;;
      --lld) lld=$2; shift ;;
      --tcp) tcp=$2; shift ;;
      --control) control=$2; shift ;;
      --tid) tid=$2; shift ;;
      --param) params+=("$2"); shift ;;
      --chap) chap=$2; shift ;;
      --mutual-chap) mutual=$2; shift ;;
      *) lab_die "lab_tgtd_iser: unknown option '$1'" ;;
    esac
    shift
  done
  [[ $name =~ ^[a-z0-9.-]+$ ]] || lab_die "lab_tgtd_iser: NAME '$name' must be lowercase letters, digits, '.' or '-'"
  [ "$lld" = iser ] || [ "$lld" = iscsi ] || lab_die "lab_tgtd_iser: --lld iser|iscsi"
  lab_need tgtd tgtadm
  _lab_tgtd_start "$control" "$tcp"
  local -a adm=(tgtadm -C "$control" --lld "$lld")

  "${adm[@]}" --mode target --op new --tid "$tid" --targetname "$iqn" ||
    lab_die "tgtadm cannot create $iqn (tid $tid, lld $lld)"
  mkdir -p "$LAB_TGTD_BACKING_DIR"
  local i file kv
  for ((i = 1; i <= luns; i++)); do
    file=$LAB_TGTD_BACKING_DIR/${name}_lun$i.img
    truncate -s "$size" "$file" || lab_die "cannot create backing file $file ($size)"
    "${adm[@]}" --mode logicalunit --op new --tid "$tid" --lun "$i" --backing-store "$file" \
      --blocksize "$block_size" || lab_die "tgtadm cannot add LUN $i to $iqn"
  done
  for kv in "${params[@]}"; do
    "${adm[@]}" --mode target --op update --tid "$tid" --name "${kv%%=*}" --value "${kv#*=}" ||
      lab_die "tgtadm cannot set ${kv%%=*}=${kv#*=} on $iqn"
  done
  if [ -n "$chap" ]; then
    "${adm[@]}" --mode account --op new --user "${chap%%:*}" --password "${chap#*:}" || lab_die "tgtadm: CHAP account"
    "${adm[@]}" --mode account --op bind --tid "$tid" --user "${chap%%:*}" || lab_die "tgtadm: binding the CHAP account"
  fi
  if [ -n "$mutual" ]; then
    "${adm[@]}" --mode account --op new --user "${mutual%%:*}" --password "${mutual#*:}" || lab_die "tgtadm: mutual CHAP account"
    "${adm[@]}" --mode account --op bind --tid "$tid" --user "${mutual%%:*}" --outgoing ||
      lab_die "tgtadm: binding the mutual CHAP account"
  fi
  "${adm[@]}" --mode target --op bind --tid "$tid" --initiator-address ALL || lab_die "tgtadm cannot open $iqn to initiators"
  echo "$lld $tid $iqn" >>"$LAB_STATE/tgtd-$control.targets"   # for lab_tgtd_stop
  lab_log "tgtd: $iqn (control $control, tid $tid, lld $lld), $luns x $size disk(s) as LUN 1..$luns"
  echo "$iqn"
}

_lab_tgtd_start() {
  local control=$1 tcp=$2 pidfile="$LAB_STATE/tgtd-$1.pid"
  lab_pid_alive "$pidfile" && return 0
  # Daemon output goes to a file, never to a $(...) capture's pipe.
  # Own session, like iscsid: a daemon's signals must not reach the test script's group.
  setsid tgtd -f -C "$control" --iscsi "portal=$tcp" >"$LAB_STATE/tgtd-$control.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  lab_wait_for 20 "tgtd (control $control) to answer" tgtadm -C "$control" --mode system --op show ||
    { lab_tail_log "$LAB_STATE/tgtd-$control.log"; lab_die "tgtd did not start"; }
}

# lab_tgtd_stop: stop every tgtd the helpers started and delete their backing files.
lab_tgtd_stop() {
  local pidfile control lld tid iqn
  for pidfile in "$LAB_STATE"/tgtd-*.pid; do
    [ -e "$pidfile" ] || continue
    control=${pidfile##*/tgtd-}; control=${control%.pid}
    # tgtd lingers on SIGTERM while it has targets: delete them, then ask it to exit.
    if lab_pid_alive "$pidfile"; then
      while read -r lld tid iqn; do
        tgtadm -C "$control" --lld "$lld" --mode target --op delete --force --tid "$tid" >/dev/null 2>&1 ||
          lab_log "tgtd: could not delete $iqn"
      done < <(cat "$LAB_STATE/tgtd-$control.targets" 2>/dev/null)
      tgtadm -C "$control" --mode system --op delete >/dev/null 2>&1 || true
      lab_wait_for 10 "tgtd (control $control) to exit" lab_pid_gone "$(cat "$pidfile")" || true
    fi
    rm -f "$LAB_STATE/tgtd-$control.targets"
    lab_stop_pid "$pidfile"
    lab_log "tgtd: stopped ${pidfile##*/}"
  done
  rm -rf "$LAB_TGTD_BACKING_DIR"
}

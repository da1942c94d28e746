#!/usr/bin/env bash
# Reconnect over iSER: while fio writes (and then verifies) with crc32c through iserd's NBD
# socket, the LIO target portal group is disabled and re-enabled three times. LIO then drops the
# connection with work requests in flight (flushed completions); the session closes that
# datamover, makes a NEW IserDatamover on the same event loop, registers the same payload memory
# again and reissues the held commands. Checks: fio verify passes, iserd logged each loss as one
# clear line and reconnected, and after the reconnects iserd holds exactly the RDMA resources
# (QP, CQ, PD, MR, cm_id per `rdma resource`) and file descriptors it held before: a replaced
# datamover leaks nothing.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_case_end EXIT

lab_need fio jq rdma
lab_rxe_up
iqn=$(lab_lio_target reconnect --size 64M) || lab_die "LIO target failed"
iser_daemon_up
uri=$(iser_login_nbd "$LAB_ADDR1" "$iqn") || lab_die "login over iSER failed"
enable=$LAB_LIO_ROOT/iscsi/$iqn/tpgt_1/enable

# resources PID: "qp=N cq=N pd=N mr=N cm_id=N fds=N": iserd's RDMA objects (rdma names the
# thread that made each one, so count by command name: iserd is the only one here) and the fds
# of the process that PID belongs to.
resources() {
  local kind out=""
  for kind in qp cq pd mr cm_id; do
    out+="$kind=$(rdma resource show "$kind" 2>/dev/null | grep -Ec "comm iserd( |\$)" || true) "
  done
  echo "${out}fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)"
}

# A first pass so every lazily made resource (payload memory, receive buffers) exists.
fio --name=warm --ioengine=nbd --uri="$uri" --rw=randwrite --bs=64k --size=8M --iodepth=8 --eta=never >/dev/null
# A thread of iserd (one that made a QP): /proc/TID/fd is the process's fd table.
pid=$(rdma resource show qp | grep -o 'pid [0-9]* comm iserd' | head -n 1 | cut -d' ' -f2)
[ -n "$pid" ] || { rdma resource show qp >&2; lab_die "no QP of iserd in 'rdma resource show'"; }
before=$(resources "$pid")
lab_log "iser: resources before: $before"

flap() {  # three connection losses, each while I/O is in flight
  local i
  for i in 1 2 3; do
    sleep 3
    lab_log "iser: disabling the target portal group (loss $i)"
    echo 0 >"$enable"
    sleep 2
    echo 1 >"$enable"
  done
}
flap &
flap_pid=$!
# Sequential writes wrapping around the 32 MiB, each batch of 64 blocks read back and checked
# right after it is written (verify_backlog), for 18 s: the losses fall inside it.
fio --name=reconnect --ioengine=nbd --uri="$uri" --rw=write --bs=128k --size=32M --iodepth=16 \
  --time_based --runtime=18 --verify=crc32c --verify_fatal=1 --verify_backlog=64 \
  --eta=never --output-format=json --output="$ISER_WORK/reconnect.json" ||
  { cat "$ISER_WORK/reconnect.json" >&2 || true; lab_die "fio across reconnects failed"; }
wait "$flap_pid"
errs=$(jq '[.jobs[].error] | add' "$ISER_WORK/reconnect.json")
[ "$errs" = 0 ] || lab_die "fio across reconnects reported error $errs"
lab_log "iser: fio crc32c verify across 3 connection losses: OK"

losses=$(grep -c 'connection lost' "$ISER_WORK/iserd.log" || true)
[ "$losses" -ge 1 ] || lab_die "iserd logged no connection loss (did the target drop the connection?)"
grep 'connection lost' "$ISER_WORK/iserd.log" | head -n 3 >&2
grep -q 'connection lost (iSER target .* closed the connection)' "$ISER_WORK/iserd.log" ||
  lab_die "a target-side disconnect was not reported as 'iSER target ... closed the connection'"

# One more pass with the final datamover, then the resource count must match the one before.
fio --name=after --ioengine=nbd --uri="$uri" --rw=randrw --bs=16k --size=8M --iodepth=16 --verify=crc32c \
  --verify_fatal=1 --do_verify=1 --eta=never >/dev/null || lab_die "fio after the reconnects failed"
after=$(resources "$pid")
lab_log "iser: resources after $losses losses: $after"
[ "$before" = "$after" ] || lab_die "iserd's RDMA resources or fds changed across reconnects: before '$before', after '$after'"
iserctl logout --all >/dev/null || lab_die "logout after the reconnects failed"
gone=$(resources "$pid")
lab_log "iser: resources after logout: $gone"
case "$gone" in
  "qp=0 cq=0 pd=0 mr=0 cm_id=0 "*) ;;
  *) lab_die "RDMA resources left after logout: $gone" ;;
esac

#!/usr/bin/env bash
# iserd SIGKILLed under fio verify on ext4 over iSER and started again 2 s later: it takes the
# quiesced /dev/ublkbN over (ublk user recovery), the kernel reissues what was in flight, verify
# passes and the filesystem is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target ikil --iser "$LAB_ADDR1:3260" --size 512M)
iser_start
dev=$(fault_attach iser "$iqn")
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
# A second iserd on a socket of its own (as bench/lab.sh runs one) shares the device records: it
# must leave a device that a running iserd serves, and its record, alone.
"$ISERD" --foreground --socket /run/iser/second.sock --initiator-name "$LAB_INITIATOR_IQN-second" >/tmp/iserd-second.log 2>&1 &
second=$!
lab_wait_for 10 "the second iserd's control socket" test -S /run/iser/second.sock || lab_die "the second iserd did not start"
lab_wait_for 10 "the second iserd to look at the records" grep -q "served by another running iserd" /tmp/iserd-second.log ||
    { cat /tmp/iserd-second.log; lab_die "the second iserd did not leave $dev alone"; }
[ -z "$("$ISERCTL" --socket /run/iser/second.sock list --json | jq '.sessions[]')" ] || lab_die "the second iserd claims a session"
kill "$second"; wait "$second" 2>/dev/null || true
[ -n "$(ls /run/iser/ublk 2>/dev/null)" ] || lab_die "the second iserd removed the device record"
"$ISERCTL" list | grep -q "^state: *logged-in" || lab_die "the first iserd's session changed: $("$ISERCTL" list)"
lab_log "a second iserd (own socket) left $dev and its record alone"
kill -9 "$ISERD_PID"
wait "$ISERD_PID" 2>/dev/null || true
lab_log "iserd killed"
sleep 2
iser_start
# While the takeover runs, a login of the same target is refused rather than racing it.
if "$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" 2>/tmp/relogin.err; then
    lab_die "a second login of $iqn was accepted during or after the takeover"
fi
lab_log "second login refused: $(cat /tmp/relogin.err)"
"$ISERCTL" wait --timeout 90s "$dev" 2>/tmp/wait.err ||
    { cat /tmp/wait.err; tail -n 30 /tmp/iserd.log; lab_die "$dev was not taken over"; }
lab_log "iserctl wait: $(tail -n 1 /tmp/wait.err 2>/dev/null)"
lab_log "iserd restarted and took $dev over: $(grep -c 'took over' /tmp/iserd.log) log line(s)"
fault_fio_finish 300
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left || lab_die "device left after logout"
[ -z "$(ls /run/iser/ublk 2>/dev/null)" ] || lab_die "device records left: $(ls /run/iser/ublk)"

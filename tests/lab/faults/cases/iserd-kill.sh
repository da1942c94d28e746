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

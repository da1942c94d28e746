#!/usr/bin/env bash
# A target whose storage stops answering for a while: LIO's fileio backing file lives on an
# ext4 that is frozen (fsfreeze) for 8 s under fio verify on ext4 over iSER, so LIO takes
# commands but does not complete them. iserd's command timeout (3 s here) aborts the late
# commands with ABORT TASK; LIO answers each abort once its write went through after the thaw,
# and iserd reissues them: verify passes, the filesystem is clean, stats count the timeouts and
# aborts. The keepalive is off so that the command timeout, not a NOP timeout, sees the stall.
# (Seen in this lab: when the stall outlasts the abort and LUN reset timeouts, so that the
# session is dropped while commands are stuck in LIO's backend, the 6.12 LIO/isert never
# releases the old session, hangs its threads and refuses every later login.)
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
STALL_FS=/tmp/stallfs
cleanup() {
    local rc=$?
    fsfreeze -u "$STALL_FS" 2>/dev/null || true
    (exit $rc)
    iser_cleanup
}
trap cleanup EXIT
lab_modprobe ublk_drv loop
lab_rxe_up
# The backing store: ext4 on a loop device over a tmpfs file, so it can be frozen.
mkdir -p "$STALL_FS"
truncate -s 700M /tmp/stallfs.img
loop=$(losetup --find --show /tmp/stallfs.img)
mkfs.ext4 -q -F "$loop"
mount "$loop" "$STALL_FS"
export LAB_LIO_BACKING_DIR=$STALL_FS/lio
iqn=$(lab_lio_target ctmo --iser "$LAB_ADDR1:3260" --size 512M)
iser_start
dev=$(fault_attach iser "$iqn" --command-timeout 3s --nop-interval 0)
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
fsfreeze -f "$STALL_FS"
lab_log "LIO's storage frozen"
sleep 8
"$ISERCTL" list | grep "^state:" || true
fsfreeze -u "$STALL_FS"
lab_log "LIO's storage thawed"
fault_fio_finish 400
stats=$(fault_escalation "$dev")
[ "$(jq .command_timeouts <<<"$stats")" -ge 1 ] || lab_die "no command timeout counted"
[ "$(jq .aborts <<<"$stats")" -ge 1 ] || lab_die "no ABORT TASK counted"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left || lab_die "device left after logout"
lab_lio_teardown ctmo
umount "$STALL_FS" && losetup -d "$loop" || lab_log "note: $STALL_FS or $loop still busy"


#!/usr/bin/env bash
# tgtd (iSCSI over TCP) frozen with SIGSTOP for 35 s under fio verify on ext4: nothing it holds
# is answered, so iserd's escalation runs to its end against a real target — command timeout
# (3 s) → ABORT TASK, not answered within 10 s → LOGICAL UNIT RESET, not answered within 10 s →
# the connection is dropped and the session reinstated once tgtd runs again (SIGCONT). Every
# command is reissued in order: verify passes, the filesystem is clean, stats count each step.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
cleanup() {
    local rc=$?
    [ -z "${pid:-}" ] || kill -CONT "$pid" 2>/dev/null || true
    (exit $rc)
    iser_cleanup
}
trap cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_tgtd_iser tstl --lld iscsi --size 512M --tcp "$LAB_ADDR1:3260")
iser_start
dev=$(fault_attach tcp "$iqn" --lun 1 --command-timeout 3s --nop-interval 0)
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
pid=$(cat "$LAB_STATE/tgtd-0.pid")
kill -STOP "$pid"
lab_log "tgtd stopped"
sleep 35
"$ISERCTL" list | grep "^state:" || true
kill -CONT "$pid"
lab_log "tgtd continued"
fault_fio_finish 400
stats=$(fault_escalation "$dev")
[ "$(jq .command_timeouts <<<"$stats")" -ge 1 ] || lab_die "no command timeout counted"
[ "$(jq .aborts <<<"$stats")" -ge 1 ] || lab_die "no ABORT TASK counted"
[ "$(jq .lun_resets <<<"$stats")" -ge 1 ] || lab_die "no LUN reset counted"
[ "$(jq .reconnects <<<"$stats")" -ge 1 ] || lab_die "the session was not dropped and reinstated"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left || lab_die "device left after logout"

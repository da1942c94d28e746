#!/usr/bin/env bash
# tgtd (iSCSI over TCP) killed with SIGKILL under fio verify on ext4 and started again 3 s later
# with the same backing file: the session reconnects, verify passes, the filesystem is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_tgtd_iser trs --lld iscsi --size 512M --tcp "$LAB_ADDR1:3260")
iser_start
dev=$(fault_attach tcp "$iqn" --lun 1)
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
pid=$(cat "$LAB_STATE/tgtd-0.pid")
kill -9 "$pid"
lab_wait_for 10 "tgtd to die" bash -c "[ ! -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status" || lab_die "tgtd did not die"
rm -f "$LAB_STATE/tgtd-0.pid" "$LAB_STATE/tgtd-0.targets"
lab_log "tgtd killed"
sleep 3
lab_tgtd_iser trs --lld iscsi --size 512M --tcp "$LAB_ADDR1:3260" >/dev/null
lab_log "tgtd restarted with the same backing file"
fault_fio_finish 300
n=$(fault_reconnects "$dev")
[ "$n" -ge 1 ] || lab_die "stats show $n reconnects"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"

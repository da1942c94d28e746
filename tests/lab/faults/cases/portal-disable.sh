#!/usr/bin/env bash
# LIO's portal group disabled for 10 s under fio verify on ext4 over iSER, then enabled again:
# the sessions reconnect, held I/O is reissued, verify passes and the filesystem is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target pdis --iser "$LAB_ADDR1:3260" --size 512M)
iser_start
dev=$(fault_attach iser "$iqn" --nop-interval 2s --nop-timeout 2s)
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
echo 0 >"$tpg/enable"
lab_log "portal group disabled"
sleep 10
"$ISERCTL" list | grep -q "state:     reconnecting" || lab_log "note: list did not show 'reconnecting' after 10 s"
echo 1 >"$tpg/enable"
lab_log "portal group enabled again"
fault_fio_finish 300
n=$(fault_reconnects "$dev")
[ "$n" -ge 1 ] || lab_die "stats show $n reconnects"
lab_log "reconnects counted: $n"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left || lab_die "device left after logout"

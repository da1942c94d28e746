#!/usr/bin/env bash
# The RDMA link (rxe0) deleted under fio verify on xfs over iSER and added back 5 s later: the
# datamover lets go of the device at once (or the delete would hang), the session reconnects on
# the new rxe0, verify passes and the filesystem is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target rxel --iser "$LAB_ADDR1:3260" --size 512M)
iser_start
dev=$(fault_attach iser "$iqn")
fault_mount "$dev" xfs
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
timeout 60 rdma link delete "$LAB_RDMA_DEV" || lab_die "rdma link delete $LAB_RDMA_DEV did not finish (a user kept the device)"
lab_log "rxe link deleted"
sleep 5
rdma link add "$LAB_RDMA_DEV" type rxe netdev dummy0 || lab_die "cannot add $LAB_RDMA_DEV back"
lab_wait_for 20 "$LAB_RDMA_DEV to become ACTIVE" _lab_rxe_active || lab_die "$LAB_RDMA_DEV not ACTIVE"
lab_log "rxe link back"
fault_fio_finish 300
n=$(fault_reconnects "$dev")
[ "$n" -ge 1 ] || lab_die "stats show $n reconnects"
fault_check_fs "$dev" xfs
"$ISERCTL" logout --device "$dev"

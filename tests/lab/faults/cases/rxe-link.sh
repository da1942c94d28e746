#!/usr/bin/env bash
# The RDMA link (rxe0) deleted under fio verify on xfs over iSER and added back 5 s later: the
# datamover lets go of the device at once (or the delete would hang), the session reconnects on
# the new rxe0, verify passes and the filesystem is clean.
#
# Two things outside iserd shape the steps:
# - A second RDMA device (rxe1 on dummy1) stays up throughout. librdmacm keeps its own verbs
#   context per device and closes a removed device's only when it re-reads a non-empty device
#   list (rdma-core librdmacm/cma.c, sync_devices_list); with no device left it never does, so
#   deleting the host's LAST software RDMA link waits until iserd exits (iserd logs a warning
#   then). That is librdmacm's limit, not something a datamover can release; this case checks
#   everything that is ours.
# - LIO's isert drops its listener when the device under it goes away (RDMA_CM_EVENT_DEVICE_REMOVAL
#   on the listening id), and does not listen again when the link comes back: the portal's iSER
#   switch is turned off and on, as an administrator would.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
SPARE_NETDEV=dummy1 SPARE_RDMA_DEV=rxe1 SPARE_ADDR=10.78.0.1

rxe_link_cleanup() {
    local rc=$?
    iser_stop  # first: iserd has a verbs context on the spare device too
    rdma link delete "$SPARE_RDMA_DEV" 2>/dev/null || true
    ip link del "$SPARE_NETDEV" 2>/dev/null || true
    (exit $rc); iser_cleanup
}
trap rxe_link_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
ip link add "$SPARE_NETDEV" type dummy && ip addr add "$SPARE_ADDR/24" dev "$SPARE_NETDEV" &&
    ip link set "$SPARE_NETDEV" up || lab_die "cannot create $SPARE_NETDEV"
rdma link add "$SPARE_RDMA_DEV" type rxe netdev "$SPARE_NETDEV" || lab_die "cannot add $SPARE_RDMA_DEV"
iqn=$(lab_lio_target rxel --iser "$LAB_ADDR1:3260" --size 512M)
portal_iser=/sys/kernel/config/target/iscsi/$iqn/tpgt_1/np/$LAB_ADDR1:3260/iser
iser_start
dev=$(fault_attach iser "$iqn")
fault_mount "$dev" xfs
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
rm -f /tmp/rxe-link-deleted
( rdma link delete "$LAB_RDMA_DEV" && touch /tmp/rxe-link-deleted ) &
# Polled, not `timeout`: a delete stuck in the kernel sleeps uninterruptibly and no signal ends it.
lab_wait_for 60 "rdma link delete $LAB_RDMA_DEV" test -e /tmp/rxe-link-deleted ||
    { ls -l "/proc/$ISERD_PID/fd" | grep -E 'uverbs|rdma_cm' >&2 || true
      lab_die "rdma link delete $LAB_RDMA_DEV did not finish (a user kept the device)"; }
lab_log "rxe link deleted"
sleep 5
rdma link add "$LAB_RDMA_DEV" type rxe netdev dummy0 || lab_die "cannot add $LAB_RDMA_DEV back"
lab_wait_for 20 "$LAB_RDMA_DEV to become ACTIVE" _lab_rxe_active || lab_die "$LAB_RDMA_DEV not ACTIVE"
echo 0 >"$portal_iser" && echo 1 >"$portal_iser" || lab_die "cannot re-enable iSER on LIO's portal"
lab_log "rxe link back, LIO listening again"
fault_fio_finish 300
n=$(fault_reconnects "$dev")
[ "$n" -ge 1 ] || lab_die "stats show $n reconnects"
fault_check_fs "$dev" xfs
"$ISERCTL" logout --device "$dev"

# Soft-RoCE inside the VM. rxe on `lo` does not work (rdma_cm route resolution fails with
# ENODEV), so the link sits on a dummy interface; the VM has no NIC, so nothing leaves it.

LAB_ADDR1=${LAB_ADDR1:-10.77.0.1}   # first portal address
LAB_ADDR2=${LAB_ADDR2:-10.77.0.2}   # second portal address (multi-portal / multi-target tests)
LAB_RDMA_DEV=${LAB_RDMA_DEV:-rxe0}

# lab_rxe_up: dummy0 with LAB_ADDR1/24 and LAB_ADDR2/24, rxe0 on it, the RDMA modules that
# userspace verbs and rdma_cm need. Idempotent.
lab_rxe_up() {
  lab_modprobe dummy rdma_rxe ib_uverbs rdma_ucm rdma_cm ib_cm iw_cm
  if ! ip link show dummy0 >/dev/null 2>&1; then
    ip link add dummy0 type dummy || lab_die "cannot create dummy0"
    ip addr add "$LAB_ADDR1/24" dev dummy0
    ip addr add "$LAB_ADDR2/24" dev dummy0
    ip link set dummy0 up
  fi
  if ! rdma link show "$LAB_RDMA_DEV/1" >/dev/null 2>&1; then
    rdma link add "$LAB_RDMA_DEV" type rxe netdev dummy0 || lab_die "rdma link add $LAB_RDMA_DEV failed"
  fi
  lab_wait_for 10 "$LAB_RDMA_DEV to become ACTIVE" _lab_rxe_active || lab_die "$LAB_RDMA_DEV is not ACTIVE"
  lab_log "rxe: $LAB_RDMA_DEV on dummy0 ($LAB_ADDR1, $LAB_ADDR2)"
}

_lab_rxe_active() { rdma link show "$LAB_RDMA_DEV/1" | grep -q 'state ACTIVE'; }

# lab_rxe_down: remove rxe0 and dummy0 (after every user of them is gone).
lab_rxe_down() {
  rdma link delete "$LAB_RDMA_DEV" 2>/dev/null || true
  ip link del dummy0 2>/dev/null || true
  return 0
}

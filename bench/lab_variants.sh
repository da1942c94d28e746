#!/usr/bin/env bash
# A/B of iserd variants in ONE lab boot (runs inside the VM via tests/lab/run), so the figures
# share the VM's conditions: ours with ISER_SEND_TUNING / ISER_BUSY_POLL_US settings, an older
# build (ISER_BENCH_BASE_DIR) and the kernel's ib_iser, on the same LIO LUN.
#   ISER_VARIANTS="default busy100 noinline signalall nobatch affinity"  (busyN = ISER_BUSY_POLL_US=N, default 0,
#   base = the ISER_BENCH_BASE_DIR build once more, for before/after rounds that alternate,
#   alt = the ISER_BENCH_ALT_DIR build (a third build: an experiment to compare with both),
#   affinity = ISER_QUEUE_AFFINITY=1: queue threads pinned to their blk-mq CPUs,
#   sliceN = ISER_QUEUE_SLICE_US=N: queue threads ask for an N us scheduler slice)
#   (join settings with +, e.g. signalall+nobatch: the name becomes part of an initiator IQN)
# Figures are printed, never asserted.
set -uo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/../../bench/lib.sh"
trap iser_cleanup EXIT
BENCH_RUNTIME=${ISER_BENCH_RUNTIME:-6}
variants=${ISER_VARIANTS:-default busy100 noinline signalall nobatch affinity}

lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target bench --size 512M) || lab_die "target setup failed"

measure() {  # NAME BUILD [ENV...]: one iserd, one login, the workloads, logout
    local name=$1 build=$2; shift 2
    mkdir -p /run/iser
    rm -f /run/iser/v.sock
    env "$@" "$build/iserd" --foreground --socket /run/iser/v.sock --initiator-name "$LAB_INITIATOR_IQN-$name" >>"/tmp/iserd-$name.log" 2>&1 &
    local pid=$!
    lab_wait_for 10 "iserd ($name)" test -S /run/iser/v.sock || return
    local dev
    dev=$("$build/iserctl" --socket /run/iser/v.sock login --portal "$LAB_ADDR1" --target "$iqn" --transport iser) || { echo "$name: login failed"; kill $pid; return; }
    local line
    line=$(printf '%-22s' "$name")
    while read -r rw bs qd; do
        read -r i b l <<<"$(fio_dev "$name" "$dev" "$rw" "$bs" "$qd")"
        line+=$(printf ' %7s %8s' "$i" "$l")
    done <<'W'
randread 4k 1
randread 4k 32
randwrite 4k 32
read 128k 8
W
    echo "$line"
    "$build/iserctl" --socket /run/iser/v.sock logout --all >/dev/null 2>&1
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
}

dd if=/dev/urandom of=/tmp/fill bs=1M count=1 status=none
echo
echo "variants, fio ${BENCH_RUNTIME} s each: IOPS and mean completion latency (us)"
printf '%-22s %16s %16s %16s %16s\n' variant "4k rr QD1" "4k rr QD32" "4k rw QD32" "128k read QD8"
kdev=$(lab_kernel_login "$iqn" "$LAB_ADDR1" --transport iser) || lab_die "kernel login failed"
line=$(printf '%-22s' kernel)
while read -r rw bs qd; do
    read -r i b l <<<"$(fio_dev kernel "$kdev" "$rw" "$bs" "$qd")"
    line+=$(printf ' %7s %8s' "$i" "$l")
done <<'W'
randread 4k 1
randread 4k 32
randwrite 4k 32
read 128k 8
W
echo "$line"
lab_kernel_logout "$iqn" >/dev/null 2>&1
[ -n "${ISER_BENCH_BASE_DIR:-}" ] && measure base "$ISER_BENCH_BASE_DIR"
for v in $variants; do
    case $v in
        default) measure "$v" "$BUILD_DIR" ISER_SEND_TUNING= ;;
        base) [ -n "${ISER_BENCH_BASE_DIR:-}" ] && measure base "$ISER_BENCH_BASE_DIR" ;;  # again, alternating
        alt) [ -n "${ISER_BENCH_ALT_DIR:-}" ] && measure alt "$ISER_BENCH_ALT_DIR" ;;
        busy*) measure "$v" "$BUILD_DIR" ISER_BUSY_POLL_US="${v#busy}" ;;
        affinity) measure "$v" "$BUILD_DIR" ISER_QUEUE_AFFINITY=1 ;;
        slice*) measure "$v" "$BUILD_DIR" ISER_QUEUE_SLICE_US="${v#slice}" ;;
        *) measure "$v" "$BUILD_DIR" ISER_SEND_TUNING="$v" ;;
    esac
done

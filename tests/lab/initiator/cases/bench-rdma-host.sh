#!/usr/bin/env bash
# bench/rdma_host.sh, the benchmark for a host with real RDMA, run here on soft-RoCE against the
# lab's LIO with the lab's iscsid: it refuses bad options and a target the kernel is already
# logged in to; it finds both initiators' disks of the LUN, prints every workload with figures
# from both and the fabric ceiling, and leaves no session, device or node record behind. The
# figures themselves are not judged (benchmarks inform, tests decide).
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
source "$LAB_DIR/../../bench/lib.sh"
ibw_pid=''
cleanup() {
    local rc=$?
    [ -z "$ibw_pid" ] || kill "$ibw_pid" 2>/dev/null || true
    (exit $rc)
    iser_cleanup
}
trap cleanup EXIT
bench=$LAB_DIR/../../bench/rdma_host.sh
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target rhost --iser "$LAB_ADDR1:3260" --size 512M) || lab_die "target setup failed"
lab_iscsid_start
export ISER_BUILD_DIR=$BUILD_DIR

rc=0; bash "$bench" --portal "$LAB_ADDR1" --target "$iqn" --rounds 0 2>/tmp/err || rc=$?
[ $rc = 1 ] && grep -q "rounds must be a positive number" /tmp/err || lab_die "--rounds 0: exit $rc, $(cat /tmp/err)"
rc=0; bash "$bench" --portal "$LAB_ADDR1" 2>/tmp/err || rc=$?
[ $rc = 2 ] && grep -q "^usage: " /tmp/err || lab_die "no --target: exit $rc, $(cat /tmp/err)"
rc=0; bash "$bench" --portal "$LAB_ADDR1" --target "$iqn" --workloads "4k-randread-QD7" 2>/tmp/err || rc=$?
[ $rc = 1 ] && grep -q "no workload '4k-randread-QD7'" /tmp/err || lab_die "--workloads typo: exit $rc, $(cat /tmp/err)"

# Reads only by default: a write workload asked for does not run, the LUN keeps its data.
lab_kernel_login "$iqn" "$LAB_ADDR1" --transport iser >/dev/null
kdev=$(_lab_disks_of "$iqn")
head -c 1M /dev/urandom >/tmp/mark
dd if=/tmp/mark of="$kdev" bs=1M oflag=direct status=none
rc=0; bash "$bench" --portal "$LAB_ADDR1" --target "$iqn" --runtime 1 --rounds 1 >/tmp/out 2>/tmp/err || rc=$?
[ $rc = 1 ] && grep -q "already logged in" /tmp/err || lab_die "kernel logged in: exit $rc, $(cat /tmp/err)"
lab_kernel_logout "$iqn" >/dev/null
bash "$bench" --portal "$LAB_ADDR1" --target "$iqn" --runtime 1 --rounds 1 --workloads "4k-randread-QD1 4k-randwrite-QD32" \
    >/tmp/out 2>&1 || { cat /tmp/out; lab_die "reads-only run failed"; }
cat /tmp/out
grep -q "^4k-randread-QD1 " /tmp/out || lab_die "the read workload did not run"
! grep -q "write-QD" /tmp/out || lab_die "a write workload ran without --destroy-data"
lab_kernel_login "$iqn" "$LAB_ADDR1" --transport iser >/dev/null
cmp <(dd if="$(_lab_disks_of "$iqn")" bs=1M count=1 iflag=direct status=none) /tmp/mark || lab_die "the reads-only run changed the LUN"
lab_kernel_logout "$iqn" >/dev/null

# Every workload, one round, and the ceiling from an ib_write_bw server on the target's side.
ib_write_bw -d rxe0 -s 131072 -D 5 >/tmp/ibw-server.log 2>&1 &
ibw_pid=$!
bash "$bench" --portal "$LAB_ADDR1" --target "$iqn" --runtime 1 --rounds 1 --destroy-data --fabric-server "$LAB_ADDR1" \
    >/tmp/out 2>&1 || { cat /tmp/out; lab_die "rdma_host.sh --destroy-data failed"; }
ibw_pid=''
cat /tmp/out
while read -r label _; do
    row=$(awk -v l="$label" '$1 == l' /tmp/out)
    [ -n "$row" ] || lab_die "no row for $label"
    read -r _ ours_iops _ _ kernel_iops _ _ ratio _ <<<"$row"
    python3 -c "import sys; sys.exit(not (float('$ours_iops') > 0 and float('$kernel_iops') > 0))" \
        || lab_die "$label has no figure for both initiators: $row"
    [[ $ratio =~ ^[0-9]+\.[0-9]{2}$ ]] || lab_die "$label ratio '$ratio'"
done < <(bench_workloads)
grep -Eq "^fabric ceiling: ib_write_bw 128 KiB to $LAB_ADDR1 = [0-9.]+ MB/s" /tmp/out || lab_die "no fabric ceiling"
[ "$(grep -c "% of the ceiling" /tmp/out)" = 2 ] || lab_die "the 128k rows are not set against the ceiling"

# Nothing left: no session, no node record (discovery created it), no device, no work dir.
! iscsiadm -m session 2>/dev/null | awk -v t="$iqn" '$4 == t' | grep -q . || lab_die "a kernel session is left"
! iscsiadm -m node -T "$iqn" >/dev/null 2>&1 || lab_die "the node record discovery created is left"
no_ublk_devices_left || lab_die "a ublk device is left"
! ls -d /run/iser-bench.* >/dev/null 2>&1 || lab_die "the work directory is left"
! pgrep -f "iserd --foreground --socket /run/iser-bench" >/dev/null || lab_die "the bench's iserd is still running"
lab_log "rdma_host.sh: reads-only and --destroy-data runs, ceiling, clean exit"

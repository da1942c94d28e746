#!/usr/bin/env bash
# Ours (iserd, /dev/ublkbN) against the kernel's ib_iser (/dev/sdX) on THIS host's RDMA fabric
# and a target you name: #5's comparison where it can be decided. In the lab VM (make bench) the
# two emulated CPUs are shared by the initiator, the target and soft-RoCE, and one boot's figures
# move by 20%; on real RDMA the target is remote and the NIC does the protocol work.
#
#   sudo bench/rdma_host.sh --portal ADDR[:PORT] --target IQN [--lun N] [--rounds N]
#                           [--runtime SECONDS] [--queues N] [--destroy-data]
#                           [--fabric-server HOST] [--workloads "LABEL ..."]
#
# Needs: build/iserd and build/iserctl (make; or ISER_BUILD_DIR), fio, python3, open-iscsi with
# iscsid running, the ib_iser and ublk_drv modules, an RDMA device that reaches the portal. The
# target must accept both initiators: ours logs in as /etc/iser/initiatorname.iser, the kernel
# as /etc/iscsi/initiatorname.iscsi (CHAP is not handled here). Both attach the same LUN at once.
# Reads only, unless --destroy-data: the write workloads overwrite the LUN. --workloads picks
# rows of the table by label (4k-randread-QD1 4k-randread-QD32 4k-randwrite-QD32 128k-read-QD8
# 128k-write-QD8; default all).
# --fabric-server HOST: a host of the target's fabric where perftest's `ib_write_bw -s 131072
# -D 5` waits as a server; its 128 KiB figure is the ceiling the 128k rows are set against.
# The kernel's node record is created (SendTargets discovery, new records only) when there is
# none, used as it is otherwise, and removed at the end only if this script created it.
# Figures are printed, never asserted.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

die() { echo "rdma_host.sh: $*" >&2; exit 1; }
usage() {
    cat >&2 <<'U'
usage: bench/rdma_host.sh --portal ADDR[:PORT] --target IQN [--lun N] [--rounds N]
                          [--runtime SECONDS] [--queues N] [--destroy-data] [--fabric-server HOST]
                          [--workloads "LABEL ..."]
U
    exit 2
}

portal='' target='' lun=0 ROUNDS=3 queues='' destroy=0 fabric='' picked=''
BENCH_RUNTIME=10
while [ $# -gt 0 ]; do
    case $1 in
        --portal) portal=${2:-} ;;
        --target) target=${2:-} ;;
        --lun) lun=${2:-} ;;
        --rounds) ROUNDS=${2:-} ;;
        --runtime) BENCH_RUNTIME=${2:-} ;;
        --queues) queues=${2:-} ;;
        --fabric-server) fabric=${2:-} ;;
        --workloads) picked=${2:-} ;;
        --destroy-data) destroy=1; shift; continue ;;
        -h|--help) usage ;;
        *) echo "rdma_host.sh: unknown option '$1'" >&2; usage ;;
    esac
    [ $# -ge 2 ] || die "$1 needs a value"
    shift 2
done
[ -n "$portal" ] && [ -n "$target" ] || usage
[[ $lun =~ ^[0-9]+$ ]] || die "--lun must be a number, not '$lun'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive number, not '$ROUNDS'"
[[ $BENCH_RUNTIME =~ ^[1-9][0-9]*$ ]] || die "--runtime must be a positive number of seconds, not '$BENCH_RUNTIME'"
[ -z "$queues" ] || [[ $queues =~ ^[1-9][0-9]*$ ]] || die "--queues must be a positive number, not '$queues'"
for label in $picked; do
    bench_workloads | awk -v l="$label" '$1 == l { found = 1 } END { exit !found }' \
        || die "--workloads: no workload '$label' (there are: $(bench_workloads | awk '{print $1}' | paste -sd' '))"
done
[[ $portal == *:* ]] || portal=$portal:3260

[ "$(id -u)" = 0 ] || die "run as root (ublk, iscsiadm)"
build=${ISER_BUILD_DIR:-$here/../build}
for t in "$build/iserd" "$build/iserctl"; do [ -x "$t" ] || die "$t is not built (make)"; done
for t in fio iscsiadm python3; do command -v "$t" >/dev/null || die "$t is not installed"; done
ls /sys/class/infiniband/* >/dev/null 2>&1 || die "no RDMA device on this host (/sys/class/infiniband is empty)"
modprobe -a ublk_drv ib_iser || die "cannot load ublk_drv and ib_iser"
sessions=$(iscsiadm -m session 2>&1)
[[ $sessions == *"can not connect"* || $sessions == *"Could not"* ]] && die "iscsid is not running (systemctl start iscsid)"
awk -v t="$target" '$4 == t { found = 1 } END { exit !found }' <<<"$sessions" && die "the kernel is already logged in to $target; log it out first: this script logs in and out itself"

# ---- both initiators on the LUN; everything undone on exit ----
work=$(mktemp -d /run/iser-bench.XXXXXX) || die "mktemp failed"
export ISERD_SOCKET=$work/iserd.sock
iserd_pid='' kernel_in=0
node=(iscsiadm -m node -T "$target" -p "$portal" -I iser)
node_records() { iscsiadm -m node 2>/dev/null | sort; }  # "PORTAL,TPGT IQN" lines
cleanup() {
    [ -n "$iserd_pid" ] && { "$build/iserctl" logout --all >/dev/null 2>&1; kill "$iserd_pid" 2>/dev/null; wait "$iserd_pid" 2>/dev/null; }
    [ $kernel_in = 1 ] && "${node[@]}" --logout >/dev/null 2>&1
    # The records our discovery created (every target of the portal), not the ones found.
    local rec
    [ -f "$work/new-records" ] && while read -r rec; do
        iscsiadm -m node -T "${rec#* }" -p "${rec%%,*}" -I iser -o delete >/dev/null 2>&1
    done <"$work/new-records"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private iserd (own socket, same initiator name as the system's), so that a running one and
# its devices are left alone.
"$build/iserd" --foreground --socket "$ISERD_SOCKET" >"$work/iserd.log" 2>&1 &
iserd_pid=$!
for _ in $(seq 100); do [ -S "$ISERD_SOCKET" ] && break; sleep 0.1; done
[ -S "$ISERD_SOCKET" ] || { cat "$work/iserd.log" >&2; die "iserd did not start"; }
ours_dev=$("$build/iserctl" login --portal "$portal" --target "$target" --lun "$lun" --transport iser ${queues:+--queues "$queues"}) \
    || die "our login to $target at $portal failed"

# The kernel's sessions of the target, by name, in sysfs (gone only once the kernel tore them down).
kernel_sessions_of_target() { grep -lx -- "$target" /sys/class/iscsi_session/*/targetname 2>/dev/null; }
# iscsiadm's SendTargets over iser runs through iscsid and a kernel discovery session. Right after
# a logout from the same target, while the kernel still tears that session down, it was seen to
# segfault and then report "Discovery session ... timed out" (open-iscsi 2.1.8). So: wait for the
# teardown, and if discovery still fails, say so and try once more; a target that really refuses
# discovery fails twice.
kernel_discovery() {
    local i rc
    for i in $(seq 100); do kernel_sessions_of_target >/dev/null || break; sleep 0.1; done
    iscsiadm -m discovery -t st -p "$portal" -I iser -o new >"$work/discovery.log" 2>&1 && return 0
    rc=$?
    echo "note: the kernel's discovery at $portal failed (iscsiadm status $rc: $(tail -n 1 "$work/discovery.log")); retrying once" >&2
    sleep 2
    iscsiadm -m discovery -t st -p "$portal" -I iser -o new >"$work/discovery.log" 2>&1
}
if ! "${node[@]}" >/dev/null 2>&1; then
    node_records >"$work/records-before"
    kernel_discovery
    discovered=$?
    comm -13 "$work/records-before" <(node_records) >"$work/new-records"
    [ $discovered = 0 ] || { cat "$work/discovery.log" >&2; die "SendTargets discovery at $portal over iser failed"; }
    "${node[@]}" >/dev/null 2>&1 || die "discovery at $portal does not list $target"
fi
"${node[@]}" --login >"$work/login.log" 2>&1 || { cat "$work/login.log" >&2; die "the kernel's login to $target failed"; }
kernel_in=1
kernel_disk() {
    iscsiadm -m session -P3 2>/dev/null | awk -v iqn="$target" -v want="$lun" '
        /^Target: / { mine = ($2 == iqn) }
        mine && /Lun: / { lun = $NF }
        mine && /Attached scsi disk/ && lun == want { print "/dev/" $4; exit }'
}
kernel_dev=''
for _ in $(seq 300); do
    kernel_dev=$(kernel_disk)
    [ -n "$kernel_dev" ] && [ -b "$kernel_dev" ] && [ "$(blockdev --getsize64 "$kernel_dev" 2>/dev/null || echo 0)" -gt 0 ] && break
    kernel_dev=''
    sleep 0.1
done
[ -n "$kernel_dev" ] || die "the kernel's disk for LUN $lun of $target did not appear"
[ "$(blockdev --getsize64 "$ours_dev")" = "$(blockdev --getsize64 "$kernel_dev")" ] \
    || die "$ours_dev and $kernel_dev differ in size: not the same LUN?"
echo "LUN $lun of $target at $portal: ours $ours_dev, kernel $kernel_dev ($(blockdev --getsize64 "$ours_dev") bytes)"

# ---- the table ----
workload_lines=$(bench_workloads | awk -v picked=" $picked " 'picked == "  " || index(picked, " " $1 " ")')
if [ $destroy = 1 ]; then
    dd if=/dev/urandom of="$ours_dev" bs=1M count=256 oflag=direct status=none  # reads hit written blocks
else
    workload_lines=$(grep -v write <<<"$workload_lines")
    echo "(reads only: --destroy-data adds the write workloads, which overwrite the LUN)"
fi
echo "fio io_uring O_DIRECT, ${BENCH_RUNTIME} s per run, median of $ROUNDS alternating rounds"
printf '%-20s %22s %22s   %s   %s\n' workload "ours/ublk IOPS MB/s lat" "kernel ib_iser" "ours/kernel IOPS" "per round"
declare -A bw_of=()
while read -r label rw bs qd; do
    declare -A runs=()
    for ((round = 1; round <= ROUNDS; round++)); do
        measure_round ours "$ours_dev"
        measure_round kernel "$kernel_dev"
    done
    read -r ui ub ul <<<"$(medians_of ours)"
    read -r ki kb kl <<<"$(medians_of kernel)"
    printf '%-20s %8s %6s %6s %8s %6s %6s   %16s   %9s\n' "$label" "$(whole "$ui")" "$(mb "$ub")" "$ul" \
        "$(whole "$ki")" "$(mb "$kb")" "$kl" "$(ratio "$ui" "$ki")" "$(ratio_range "${runs[ours_i]}" "${runs[kernel_i]}")"
    case $label in 128k-*) bw_of[$label]="$ub $kb" ;; esac
    unset runs
done <<<"$workload_lines"
echo "(lat = mean completion latency in microseconds; 0 = no figure)"

[ -n "$fabric" ] || exit 0
command -v ib_write_bw >/dev/null || die "--fabric-server needs perftest's ib_write_bw"
ib_write_bw -s 131072 -D 5 "$fabric" >"$work/ibw.log" 2>&1
ceiling=$(awk '/^ *131072/ {print $4}' "$work/ibw.log" | tail -n1)
echo "fabric ceiling: ib_write_bw 128 KiB to $fabric = ${ceiling:-?} MB/s"
for label in "${!bw_of[@]}"; do ceiling_share "$label" ${bw_of[$label]} "${ceiling:-0}"; done

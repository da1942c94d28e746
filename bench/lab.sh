#!/usr/bin/env bash
# Lab benchmark (runs inside the VM via tests/lab/run): one LIO target on soft-RoCE, measured
# through every initiator in the same boot:
#   ours/ublk   iserd over iSER, /dev/ublkbN            (fio io_uring, O_DIRECT)
#   kernel      ib_iser via iscsiadm, /dev/sdX           (fio io_uring, O_DIRECT)
#   ours/nbd    iserd over iSER, NBD socket export       (fio --ioengine=nbd)
#   libiscsi    qemu-storage-daemon transport=iser, NBD  (fio --ioengine=nbd)
#   fabric      ib_write_bw 128 KiB on rxe0: the ceiling
#   ours/ublk q1  the same with --queues 1: one session for the whole device instead of one per
#               queue (the default is min(CPUs, 4) queues, each with a session of its own)
# Figures are printed, never asserted.
set -uo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/../../bench/lib.sh"
trap iser_cleanup EXIT
BENCH_RUNTIME=${ISER_BENCH_RUNTIME:-10}
# ISER_BENCH_PEERS trims the table while iterating (e.g. "ours kernel"); default: every column.
peers=" ${ISER_BENCH_PEERS:-ours kernel nbd libiscsi fabric q1} "
want() { [[ $peers == *" $1 "* ]]; }
# ISER_BENCH_WORKLOADS: a subset of the labels below (default all).
workloads=" ${ISER_BENCH_WORKLOADS:-} "
# ISER_BENCH_PERF=1: record iserd with perf during the 4k QD32 randread run, print the top.

lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target bench --size 1G) || lab_die "target setup failed"
iser_start
# ISER_BENCH_BASE_DIR=BUILD: a second iserd from an older build ("before"), own socket and
# initiator name, measured in the same boot so a before/after pair shares the VM's conditions.
# Started before any login: an older iserd may take the other's devices for its own to recover.
base_dev=
if [ -n "${ISER_BENCH_BASE_DIR:-}" ]; then
    peers="$peers base "
    "$ISER_BENCH_BASE_DIR/iserd" --foreground --socket /run/iser/base.sock --initiator-name "$LAB_INITIATOR_IQN-base" >>/tmp/iserd-base.log 2>&1 &
    base_pid=$!
    lab_wait_for 10 "base iserd's control socket" test -S /run/iser/base.sock
    base_dev=$("$ISER_BENCH_BASE_DIR/iserctl" --socket /run/iser/base.sock login --portal "$LAB_ADDR1" --target "$iqn" --transport iser) || lab_die "base login failed"
fi

ours_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser) || lab_die "our login failed"
dd if=/dev/urandom of="$ours_dev" bs=1M count=256 oflag=direct status=none   # reads hit written blocks

kernel_dev=$(lab_kernel_login "$iqn" "$LAB_ADDR1" --transport iser) || lab_die "kernel login failed"

mkdir -p /run/bench
qsd_sock=/run/bench/qsd.sock
want libiscsi && qemu-storage-daemon \
    --blockdev "driver=iscsi,node-name=lun0,transport=iser,portal=$LAB_ADDR1:3260,target=$iqn,lun=0,initiator-name=iqn.2024-01.lab.iser:libiscsi,cache.direct=on" \
    --nbd-server "addr.type=unix,addr.path=$qsd_sock" \
    --export "type=nbd,id=exp0,node-name=lun0,name=lun0,writable=on" >/tmp/qsd.log 2>&1 &
qsd_pid=$!
want libiscsi && { lab_wait_for 20 "qemu-storage-daemon" test -S "$qsd_sock" || true; }
libiscsi_uri="nbd+unix:///lun0?socket=$qsd_sock"

measure_nbd_session() {  # login nbd-server for the figures of one workload, then log out
    local uri
    uri=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser --frontend nbd-server --nbd-socket /run/bench/ours.sock 2>/dev/null) || { echo "0 0 0"; return; }
    fio_nbd ours-nbd "$uri" "$@"
    "$ISERCTL" logout --device /run/bench/ours.sock >/dev/null 2>&1
}

# The lab's figures move by 20% from one run to the next (emulated CPUs, shared with the
# target), so ours, the kernel's and the base build are measured in ISER_BENCH_ROUNDS alternating
# rounds (ours, base, kernel, ours, ...) and the table prints each one's median; the last column
# is the range of the per-round ours/kernel ratios. The other columns are one run each.
ROUNDS=${ISER_BENCH_ROUNDS:-3}
declare -A bw_of=()  # 128k workload -> "ours_KiB/s kernel_KiB/s", for the share of the fabric ceiling
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || lab_die "ISER_BENCH_ROUNDS must be a positive number, not '$ROUNDS'"
echo
echo "iSER on soft-RoCE (rxe0), LIO fileio on tmpfs, fio ${BENCH_RUNTIME} s per run; ours and kernel: median of $ROUNDS alternating rounds"
printf '%-20s %22s %22s %22s %22s   %s   %s' workload "ours/ublk IOPS MB/s lat" "kernel" "ours/nbd" "libiscsi" "ours/kernel IOPS" "per round"
want base && printf '   %22s' "before/ublk (base)"
want q1 && printf '   %22s' "ours/ublk 1 queue"
echo
while read -r label rw bs qd; do
    [ "$workloads" = "  " ] || [[ $workloads == *" $label "* ]] || continue
    ui=0 ub=0 ul=0 ki=0 kb=0 kl=0 ni=0 nb=0 nl=0 li=0 lb=0 ll=0 bi=0 bb=0 bl=0
    declare -A runs=()
    for ((round = 1; round <= ROUNDS; round++)); do
        if want ours; then
            if [ "${ISER_BENCH_PERF:-0}" = 1 ] && [ "$label" = 4k-randread-QD32 ] && [ "$round" = 1 ]; then
                perf record -a -e cpu-clock -F 997 -o /tmp/perf.data -- sleep $((BENCH_RUNTIME + 2)) >/dev/null 2>&1 &
                perf_pid=$!
            fi
            measure_round ours "$ours_dev"
            if [ -n "${perf_pid:-}" ]; then
                wait "$perf_pid"; perf_pid=
                echo "perf (whole VM, during ours $label): by command, then the top symbols"
                perf report -i /tmp/perf.data --sort comm --stdio 2>/dev/null | grep '%' | head -n 12
                perf report -i /tmp/perf.data --sort comm,dso,sym --stdio 2>/dev/null | grep '%' | head -n 45
            fi
        fi
        want base && measure_round base "$base_dev"
        want kernel && measure_round kernel "$kernel_dev"
    done
    want ours && read -r ui ub ul <<<"$(medians_of ours)"
    want base && read -r bi bb bl <<<"$(medians_of base)"
    want kernel && read -r ki kb kl <<<"$(medians_of kernel)"
    per_round=n/a
    want ours && want kernel && per_round=$(ratio_range "${runs[ours_i]}" "${runs[kernel_i]}")
    if want nbd; then
        "$ISERCTL" logout --device "$ours_dev" >/dev/null
        read -r ni nb nl <<<"$(measure_nbd_session "$rw" "$bs" "$qd")"
        ours_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser)
    fi
    qi=0 qb=0 ql=0
    if want q1; then
        "$ISERCTL" logout --device "$ours_dev" >/dev/null
        q1_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser --queues 1)
        read -r qi qb ql <<<"$(fio_dev ours-q1 "$q1_dev" "$rw" "$bs" "$qd")"
        "$ISERCTL" logout --device "$q1_dev" >/dev/null
        ours_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser)
    fi
    if want libiscsi && [ -S "$qsd_sock" ]; then read -r li lb ll <<<"$(fio_nbd libiscsi "$libiscsi_uri" "$rw" "$bs" "$qd")"; else li=0 lb=0 ll=0; fi
    printf '%-20s %8s %6s %6s %8s %6s %6s %8s %6s %6s %8s %6s %6s   %16s   %9s' "$label" \
        "$(whole "$ui")" "$(mb "$ub")" "$ul" "$(whole "$ki")" "$(mb "$kb")" "$kl" "$ni" "$(mb "$nb")" "$nl" "$li" "$(mb "$lb")" "$ll" \
        "$(ratio "$ui" "$ki")" "$per_round"
    want base && printf '   %8s %6s %6s' "$(whole "$bi")" "$(mb "$bb")" "$bl"
    want q1 && printf '   %8s %6s %6s' "$qi" "$(mb "$qb")" "$ql"
    echo
    case $label in 128k-*) bw_of[$label]="$ub $kb" ;; esac
    unset runs
done < <(bench_workloads)
echo "(lat = mean completion latency in microseconds; 0 = no figure. libiscsi $(dpkg-query -W -f '${Version}' libiscsi7 2>/dev/null): its iSER transport"
echo " aborts qemu-storage-daemon at the first run deeper than QD1, and its writes over iSER hang on LIO, so it gives QD1 reads only)"

if [ -n "$base_dev" ]; then
    "$ISER_BENCH_BASE_DIR/iserctl" --socket /run/iser/base.sock logout --all >/dev/null 2>&1
    kill "$base_pid" 2>/dev/null
fi
want fabric || { kill "$qsd_pid" 2>/dev/null; lab_kernel_logout "$iqn" >/dev/null 2>&1; exit 0; }
ib_write_bw -d rxe0 -s 131072 -D 5 >/tmp/ibw-server.log 2>&1 &
sleep 2
ib_write_bw -d rxe0 -s 131072 -D 5 "$LAB_ADDR1" >/tmp/ibw.log 2>&1
ceiling=$(awk '/^ *131072/ {print $4}' /tmp/ibw.log | tail -n1)
echo "fabric ceiling: ib_write_bw 128 KiB = ${ceiling:-?} MB/s"
for label in "${!bw_of[@]}"; do ceiling_share "$label" ${bw_of[$label]} "${ceiling:-0}"; done
kill "$qsd_pid" 2>/dev/null
lab_kernel_logout "$iqn" >/dev/null 2>&1 || true

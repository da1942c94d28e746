# Shared pieces of the benchmarks: fio runs that print one figure, and the side-by-side table.
# Figures are printed, never asserted: benchmarks inform, tests decide.

BENCH_RUNTIME=${BENCH_RUNTIME:-10}

# fio's JSON -> "IOPS BW_KiB/s LAT_MEAN_us" (fio may print warnings before the JSON)
fio_summary() {
    python3 -c '
import json, sys
text = sys.stdin.read()
try:
    j = json.loads(text[text.index("{"):])["jobs"][0]
    side = j["read"] if j["read"]["io_bytes"] > 0 else j["write"]
    print("%.0f %.0f %.1f" % (side["iops"], side["bw"], side["clat_ns"]["mean"] / 1000.0))
except Exception:
    print("0 0 0")'
}

# fio_nbd NAME URI RW BS QD -> "IOPS BW_KiB/s LAT_MEAN_us" for an NBD URI
fio_nbd() {
    local name=$1 uri=$2 rw=$3 bs=$4 qd=$5
    fio --name="$name" --ioengine=nbd --uri="$uri" --rw="$rw" --bs="$bs" --iodepth="$qd" \
        --time_based --runtime="$BENCH_RUNTIME" --ramp_time=2 --size=256M --norandommap --randrepeat=0 \
        --output-format=json 2>/dev/null | fio_summary
}

# fio_dev NAME DEV RW BS QD (io_uring, O_DIRECT on a block device) -> same figures
fio_dev() {
    local name=$1 dev=$2 rw=$3 bs=$4 qd=$5
    fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 --rw="$rw" --bs="$bs" --iodepth="$qd" \
        --time_based --runtime="$BENCH_RUNTIME" --ramp_time=2 --size=256M --norandommap --randrepeat=0 \
        --output-format=json 2>/dev/null | fio_summary
}

ratio() { python3 -c "a,b=float('$1'),float('$2'); print('%.2f' % (a/b) if b else 'n/a')"; }

# ---- the workloads of every table, and ours against the kernel in alternating rounds ----
# One run moves by up to 20% in the lab, so each peer is measured in several rounds that
# alternate (ours, kernel, ours, ...) and the table gives medians and the range of the per-round
# ratios.

# The workloads of #5's table (every benchmark here): LABEL RW BS QD, one a line.
bench_workloads() {
    cat <<'W'
4k-randread-QD1 randread 4k 1
4k-randread-QD32 randread 4k 32
4k-randwrite-QD32 randwrite 4k 32
128k-read-QD8 read 128k 8
128k-write-QD8 write 128k 8
W
}

median() { python3 -c 'import statistics, sys; print("%.1f" % statistics.median(float(a) for a in sys.argv[1:]))' "$@"; }
ratio_range() {  # "OURS..." "KERNEL..." -> min-max of the per-round ratios
    python3 -c 'import sys
o, k = sys.argv[1].split(), sys.argv[2].split()
r = [float(a) / float(b) for a, b in zip(o, k) if float(b) > 0]
print("%.2f-%.2f" % (min(r), max(r)) if r else "n/a")' "$1" "$2"
}
# measure_round PEER DEV: one fio run of the current workload ($rw $bs $qd), appended to the
# caller's associative array runs[PEER_i/_b/_l] (IOPS, KiB/s, mean latency in us)
measure_round() {
    local i b l
    read -r i b l <<<"$(fio_dev "$1" "$2" "$rw" "$bs" "$qd")"
    runs[$1_i]+=" $i" runs[$1_b]+=" $b" runs[$1_l]+=" $l"
}
medians_of() { echo "$(median ${runs[$1_i]}) $(median ${runs[$1_b]}) $(median ${runs[$1_l]})"; }
mb() { python3 -c "print('%.1f' % ($1/1024))"; }
whole() { python3 -c "print('%.0f' % float('$1'))"; }
# ceiling_share LABEL OURS_KiB/s KERNEL_KiB/s CEILING_MB/s: a 128k row as a share of ib_write_bw
ceiling_share() {
    python3 -c 'import sys
label, ours, kernel, ceiling = sys.argv[1], float(sys.argv[2]) / 1024, float(sys.argv[3]) / 1024, float(sys.argv[4] or 0)
if ceiling > 0:
    print("%-20s ours %.1f MB/s = %.0f%% of the ceiling, kernel %.1f MB/s = %.0f%%" % (label, ours, 100 * ours / ceiling, kernel, 100 * kernel / ceiling))' \
        "$@"
}

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

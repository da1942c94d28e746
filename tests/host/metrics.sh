#!/usr/bin/env bash
# `iserctl stats --format prometheus` against a real tgtd over TCP on 127.0.0.1, one LUN
# exported on an NBD socket (no kernel module needed) and driven by fio: the text parses with
# Python's prometheus_client (the reference parser in Debian), every family has its expected
# type and labels, the histogram's buckets are cumulative and end at +Inf, and the counters move
# under more I/O. Then iser-metrics.service's ExecStart, as `make install` writes it, run
# directly: the file lands with mode 0644, and a reader polling it while it is rewritten never
# sees a partial file.
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm fio python3
# Debian's python3 first: a python3 earlier in PATH (pyenv, a venv) does not see Debian's modules.
PYTHON=
for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null; then
        PYTHON=$candidate
        break
    fi
done
[ -n "$PYTHON" ] || skip "python3-prometheus-client is not installed (scripts/setup)"
fio --enghelp 2>/dev/null | grep -qw nbd || skip "this fio has no nbd ioengine"
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:metrics
add_target 1 $IQN 64M || exit 1
PORTAL=127.0.0.1:$TGTD_PORT

# parse FILE EXPECTATIONS...: checks the exposition in FILE with prometheus_client (see below).
parse() {
    WORK=$WORK "$PYTHON" - "$@" <<'PY'
import os, sys
from prometheus_client.parser import text_string_to_metric_families

path, mode = sys.argv[1], sys.argv[2]
text = open(path).read()
families = {f.name: f for f in text_string_to_metric_families(text)}
untyped = [n for n, f in families.items() if f.type == "untyped"]
assert not untyped, f"samples outside their family: {untyped}"

if mode == "down":
    assert set(families) == {"iser_up"}, families.keys()
    assert families["iser_up"].samples[0].value == 0
    print("iser_up 0 alone")
    sys.exit(0)

uri, iqn, portal = sys.argv[3:6]
expected = {
    "iser_up": "gauge", "iser_reads": "counter", "iser_writes": "counter",
    "iser_read_bytes": "counter", "iser_write_bytes": "counter", "iser_flushes": "counter",
    "iser_discards": "counter", "iser_write_zeroes": "counter", "iser_io_errors": "counter",
    "iser_io_latency_seconds": "histogram", "iser_device_attached_seconds": "gauge",
    "iser_session_up": "gauge", "iser_sessions": "gauge", "iser_reconnects": "counter",
    "iser_retries": "counter", "iser_command_timeouts": "counter", "iser_aborts": "counter",
    "iser_lun_resets": "counter", "iser_io_memory_in_use_bytes": "gauge",
    "iser_io_memory_committed_bytes": "gauge", "iser_io_memory_limit_bytes": "gauge",
}
for name, typ in expected.items():
    assert name in families, f"no family {name}"
    assert families[name].type == typ, f"{name} is {families[name].type}, not {typ}"
    assert families[name].documentation, f"{name} has no HELP"
assert families["iser_up"].samples[0].value == 1

labels = {"device": uri, "target": iqn, "lun": "1", "portal": portal, "transport": "tcp"}
values = {}
for name, family in families.items():
    if name == "iser_up":
        continue
    for s in family.samples:
        base = {k: v for k, v in s.labels.items() if k != "le"}
        assert base == labels, f"{s.name} labels {s.labels}"
        if s.name.endswith("_bucket"):
            values.setdefault("buckets", []).append((s.labels["le"], s.value))
        else:
            values[s.name] = s.value

buckets = values["buckets"]
assert buckets[-1][0] == "+Inf", buckets[-1]
bounds = [float(le) for le, _ in buckets]
assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), "le not increasing"
counts = [c for _, c in buckets]
assert all(a <= b for a, b in zip(counts, counts[1:])), f"buckets not cumulative: {counts}"
assert counts[-1] == values["iser_io_latency_seconds_count"], "+Inf bucket != _count"
assert values["iser_io_latency_seconds_sum"] > 0
assert values["iser_session_up"] == 1 and values["iser_sessions"] == 1
assert 0 < values["iser_io_memory_committed_bytes"] <= values["iser_io_memory_limit_bytes"]
assert values["iser_io_memory_in_use_bytes"] <= values["iser_io_memory_committed_bytes"]
assert values["iser_io_memory_limit_bytes"] == 32 << 20, "iserd's default --io-memory, one session"
for n in ("iser_reads_total", "iser_writes_total", "iser_read_bytes_total", "iser_write_bytes_total"):
    assert values[n] > 0, f"{n} is 0 after fio"

# Counters move with more I/O: compare with an earlier snapshot.
if mode == "after":
    before = dict(l.rsplit(" ", 1) for l in open(sys.argv[6]).read().splitlines())
    before = {k: float(v) for k, v in before.items()}
    for n in ("iser_reads_total", "iser_writes_total", "iser_read_bytes_total", "iser_write_bytes_total",
              "iser_io_latency_seconds_count", "iser_io_latency_seconds_sum"):
        assert values[n] > before["{" + n + "}"], f"{n} did not grow: {before['{' + n + '}']} -> {values[n]}"
    for n in ("iser_io_errors_total", "iser_reconnects_total", "iser_device_attached_seconds"):
        assert values[n] >= before["{" + n + "}"], f"{n} went down"
    print("grew:", {n: (before["{" + n + "}"], values[n]) for n in ("iser_reads_total", "iser_writes_total")})

# Remember this snapshot's values for the next call ("{name} value" lines), in the test's folder.
with open(os.path.join(os.environ["WORK"], os.path.basename(path) + ".values"), "w") as out:
    for n, v in values.items():
        if n != "buckets":
            out.write(f"{{{n}}} {v}\n")
print(len(families), "families,", len(buckets), "buckets, +Inf =", counts[-1])
PY
}

run_fio() {  # run_fio NAME RW SIZE
    fio --name="$1" --ioengine=nbd --uri="$URI" --rw="$2" --bs=4k --iodepth=8 --size="$3" \
        --output-format=terse >"$WORK/fio-$1.log" 2>&1 || { cat "$WORK/fio-$1.log"; return 1; }
}

case_no_iserd() {
    "$ISERCTL" stats --format prometheus >"$WORK/down.prom" || return 1
    cat "$WORK/down.prom"
    parse "$WORK/down.prom" down
}

case_login() {
    start_iserd || return 1
    URI=$("$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp --frontend nbd-server 2>/dev/null) ||
        return 1
    echo "$URI"
    grep -qE '^nbd\+unix:///lun1\?socket=/' <<<"$URI"
}

case_parses_after_fio() {
    run_fio first randrw 8M || return 1
    "$ISERCTL" stats --format prometheus >"$WORK/first.prom" || return 1
    parse "$WORK/first.prom" first "$URI" "$IQN" "$PORTAL"
}

case_counters_move() {
    sleep 0.1
    run_fio second randrw 8M || return 1
    "$ISERCTL" stats --format prometheus "$URI" >"$WORK/second.prom" || return 1
    parse "$WORK/second.prom" after "$URI" "$IQN" "$PORTAL" "$WORK/first.prom.values"
}

case_usage_errors() {
    expect_one_line_error "$ISERCTL" stats --format prometheus --interval 2s || return 1
    expect_one_line_error "$ISERCTL" stats --format prometheus --count 3 || return 1
    expect_one_line_error "$ISERCTL" stats --format yaml || return 1
    expect_one_line_error "$ISERCTL" stats --json --format prometheus || return 1
    expect_one_line_error "$ISERCTL" stats --output "$WORK/x.prom" || return 1
    "$ISERCTL" stats --format yaml 2>/dev/null
    [ $? -eq 2 ] || { echo "a bad --format must exit 2"; return 1; }
}

case_json_unchanged() {
    # --json and --format json print the same document, with the fields they always had.
    "$ISERCTL" stats --interval 0 --json >"$WORK/a.json" || return 1
    "$ISERCTL" stats --interval 0 --format json >"$WORK/b.json" || return 1
    "$PYTHON" - "$WORK/a.json" "$WORK/b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["target", "lun", "path", "state", "sessions", "interval_s", "read_iops", "write_iops", "read_mb_s",
        "write_mb_s", "latency_us", "errors", "retries", "reconnects", "command_timeouts", "totals"]
for doc in (a, b):
    assert list(doc["devices"][0].keys()) == keys, list(doc["devices"][0].keys())
assert a["devices"][0]["totals"]["reads"] == b["devices"][0]["totals"]["reads"]
print("same fields")
PY
}

# iser-metrics.service's ExecStart as installed, with the file path an admin's drop-in would set.
case_service_writes_atomically() {
    local prefix=$WORK/prefix unit line cmd dir=$WORK/textfile
    cmake --install "$BUILD_DIR" --prefix "$prefix" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; return 1; }
    unit=$prefix/lib/systemd/system/iser-metrics.service
    grep -qx 'Environment=ISER_METRICS_FILE=/var/lib/prometheus/node-exporter/iser.prom' "$unit" || return 1
    line=$(grep '^ExecStart=' "$unit") || return 1
    echo "$line"
    cmd=${line#ExecStart=}
    cmd=${cmd//'${ISER_METRICS_FILE}'/$dir/iser.prom}
    mkdir -p "$dir"
    (umask 077; $cmd) || return 1
    [ "$(stat -c %a "$dir/iser.prom")" = 644 ] || { echo "mode $(stat -c %a "$dir/iser.prom")"; return 1; }
    [ "$(ls -A "$dir")" = iser.prom ] || { echo "left beside it: $(ls -A "$dir")"; return 1; }
    parse "$dir/iser.prom" first "$URI" "$IQN" "$PORTAL" || return 1
    # A reader polls the file while it is rewritten 100 times: each read is a whole file.
    "$PYTHON" - "$dir/iser.prom" $cmd <<'PY'
import os, subprocess, sys, threading
path, command = sys.argv[1], sys.argv[2:]
stop, reads, partial = threading.Event(), [0], []
def reader():
    while not stop.is_set():
        with open(path) as f:
            text = f.read()
        reads[0] += 1
        if not text.endswith("\n") or "iser_io_memory_limit_bytes{" not in text:
            partial.append(len(text))
t = threading.Thread(target=reader)
t.start()
try:
    for _ in range(100):
        subprocess.run(command, check=True)
finally:
    stop.set()
    t.join()
assert not partial, f"{len(partial)} partial reads of {reads[0]}"
print(f"{reads[0]} reads, all whole")
PY
    [ "$(ls -A "$dir")" = iser.prom ] || { echo "left beside it: $(ls -A "$dir")"; return 1; }
    # A folder that does not exist: a one-line error and a failed unit, nothing written.
    cmd=${line#ExecStart=}
    expect_one_line_error ${cmd//'${ISER_METRICS_FILE}'/$WORK/missing/iser.prom}
}

case_service_iserd_stopped() {
    local line cmd
    line=$(grep '^ExecStart=' "$WORK/prefix/lib/systemd/system/iser-metrics.service") || return 1
    cmd=${line#ExecStart=}
    "$ISERCTL" logout --all >/dev/null || return 1
    kill -TERM "$ISERD_PID"
    for _ in $(seq 50); do kill -0 "$ISERD_PID" 2>/dev/null || break; sleep 0.1; done
    ${cmd//'${ISER_METRICS_FILE}'/$WORK/textfile/iser.prom} || return 1
    parse "$WORK/textfile/iser.prom" down
}

check "no iserd: exit 0 and iser_up 0 alone" case_no_iserd
check "login over TCP with the NBD socket frontend" case_login
check "after fio: parses with prometheus_client, families typed and labelled, buckets cumulative to +Inf" case_parses_after_fio
check "more fio: reads, writes, bytes and the latency count and sum grow" case_counters_move
check "--interval, --count, a bad --format, --json with prometheus, --output alone: one-line usage errors" case_usage_errors
check "--json and --format json: the same document, the same fields as before" case_json_unchanged
check "iser-metrics.service's ExecStart writes the file atomically, mode 0644, nothing left beside it" case_service_writes_atomically
check "iser-metrics.service's ExecStart with iserd stopped: iser_up 0" case_service_iserd_stopped
finish

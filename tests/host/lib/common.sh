# Shared helpers for host tests (bash). Each test script sources this file, starts its own tgtd
# on 127.0.0.1 on a free port and its own iserd on a private control socket, and cleans up
# everything it started on exit, whatever happened.
#
# Conventions: `check DESCRIPTION COMMAND...` runs a case and records pass/fail; `finish` prints
# "N passed, N failed" for the script and exits non-zero on any failure. `skip REASON` exits 77
# (ctest SKIP) unless ISER_NO_SKIP=1, when it is a failure.
set -uo pipefail

HOST_TEST_NAME=$(basename "$0" .sh)
BUILD_DIR=${ISER_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build}
ISERD=$BUILD_DIR/iserd
ISERCTL=$BUILD_DIR/iserctl
WORK=$(mktemp -d "/tmp/iser-$HOST_TEST_NAME.XXXXXX")
export ISERD_SOCKET=$WORK/iserd.sock
INITIATOR_IQN=iqn.2026-11.org.iser-initiator:host-test
_passed=0
_failed=0
_pids=()
_tgtd_indexes=()

log() { printf '[%s] %s\n' "$HOST_TEST_NAME" "$*"; }

skip() {
    if [ "${ISER_NO_SKIP:-0}" = 1 ]; then
        echo "FAIL (skip not allowed): $*"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

cleanup() {
    set +e
    if [ -S "$ISERD_SOCKET" ]; then "$ISERCTL" logout --all >/dev/null 2>&1; fi
    for idx in "${_tgtd_indexes[@]}"; do tgtadm -C "$idx" --op delete --mode system >/dev/null 2>&1; done
    for pid in "${_pids[@]}"; do kill "$pid" 2>/dev/null; done
    sleep 0.2
    for pid in "${_pids[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

require_tools() {
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (run scripts/setup)"; done
    [ "$(id -u)" -eq 0 ] || skip "host tests need root (iserd creates root-only sockets)"
    [ -x "$ISERD" ] && [ -x "$ISERCTL" ] || skip "build/iserd and build/iserctl are not built"
}

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    echo "no free port found" >&2
    return 1
}

# start_tgtd: sets TGTD_IDX and TGTD_PORT; tgtd listens on 127.0.0.1:$TGTD_PORT only.
start_tgtd() {
    TGTD_IDX=$((100 + RANDOM % 800))
    TGTD_PORT=$(free_port)
    mkdir -p /var/run/tgtd
    tgtd -f -C "$TGTD_IDX" --iscsi "portal=127.0.0.1:$TGTD_PORT" >"$WORK/tgtd-$TGTD_IDX.log" 2>&1 &
    _pids+=($!)
    _tgtd_indexes+=("$TGTD_IDX")
    for _ in $(seq 50); do
        tgtadm -C "$TGTD_IDX" --op show --mode system >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "tgtd did not start:"; cat "$WORK/tgtd-$TGTD_IDX.log"
    return 1
}

tgt() { tgtadm -C "$TGTD_IDX" --lld iscsi "$@"; }

# add_target TID IQN LUN_SIZES... : LUN 1.. backed by sparse files of the given sizes (e.g. 128M)
add_target() {
    local tid=$1 iqn=$2
    shift 2
    tgt --mode target --op new --tid "$tid" --targetname "$iqn" || return 1
    local lun=1
    for size in "$@"; do
        truncate -s "$size" "$WORK/t$tid-lun$lun.img"
        tgt --mode logicalunit --op new --tid "$tid" --lun "$lun" --backing-store "$WORK/t$tid-lun$lun.img" || return 1
        lun=$((lun + 1))
    done
    tgt --mode target --op bind --tid "$tid" --initiator-address ALL
}

start_iserd() {
    "$ISERD" --foreground --socket "$ISERD_SOCKET" --initiator-name "$INITIATOR_IQN" ${ISERD_ARGS:-} \
        >>"$WORK/iserd.log" 2>&1 &
    ISERD_PID=$!
    _pids+=("$ISERD_PID")
    for _ in $(seq 100); do
        [ -S "$ISERD_SOCKET" ] && return 0
        kill -0 "$ISERD_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "iserd did not start:"; cat "$WORK/iserd.log"
    return 1
}

secret_file() {  # secret_file NAME VALUE -> path (mode 0600)
    local f="$WORK/$1.secret"
    (umask 077; printf '%s\n' "$2" >"$f")
    echo "$f"
}

check() {
    local what=$1
    shift
    # Not in a subshell: cases may set variables that later cases use.
    if "$@" >"$WORK/case.out" 2>&1; then
        _passed=$((_passed + 1))
        echo "ok - $what"
    else
        _failed=$((_failed + 1))
        echo "not ok - $what"
        sed 's/^/    /' "$WORK/case.out" | tail -n 40
        if [ -f "$WORK/iserd.log" ]; then echo "    --- iserd.log (tail)"; tail -n 15 "$WORK/iserd.log" | sed 's/^/    /'; fi
    fi
}

finish() {
    echo "$_passed passed, $_failed failed"
    [ "$_failed" -eq 0 ]
    exit $?
}

# expect_fail_line CMD...: the command must fail with exactly one line on stderr.
expect_one_line_error() {
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq 0 ]; then echo "expected failure, got success"; return 1; fi
    local lines
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ "$lines" -ne 1 ]; then printf 'expected one line on stderr, got %s:\n%s\n' "$lines" "$err"; return 1; fi
    printf '%s\n' "$err"
}

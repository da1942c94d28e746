# Helpers for lab cases that drive our initiator (build/iserd + build/iserctl) inside the VM.
# Source after "$LAB_LIB/lab.sh". ISER_BUILD_DIR (carried into the VM) names the build to test.
BUILD_DIR=${ISER_BUILD_DIR:-$(cd "$LAB_DIR/../.." && pwd)/build}
ISERD=$BUILD_DIR/iserd
ISERCTL=$BUILD_DIR/iserctl
export ISERD_SOCKET=/run/iser/iserd.sock

iser_start() {
    [ -x "$ISERD" ] && [ -x "$ISERCTL" ] || lab_die "$ISERD or $ISERCTL is not built"
    mkdir -p /run/iser
    "$ISERD" --foreground --socket "$ISERD_SOCKET" --initiator-name "$LAB_INITIATOR_IQN" >>/tmp/iserd.log 2>&1 &
    ISERD_PID=$!
    lab_wait_for 10 "iserd's control socket" test -S "$ISERD_SOCKET"
}

iser_stop() {
    "$ISERCTL" logout --all >/dev/null 2>&1 || true
    [ -n "${ISERD_PID:-}" ] && kill "$ISERD_PID" 2>/dev/null && wait "$ISERD_PID" 2>/dev/null
    ISERD_PID=
}

iser_cleanup() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -f /tmp/iserd.log ]; then
        echo "--- iserd.log (tail)"; tail -n 30 /tmp/iserd.log
    fi
    iser_stop
    lab_reset
    exit $rc
}

# A file tree with known checksums: write_tree DIR, then verify_tree DIR.
write_tree() {
    local dir=$1 i
    mkdir -p "$dir/a/b" "$dir/c"
    for i in $(seq 1 20); do head -c $((i * 37 * 1024)) /dev/urandom >"$dir/a/b/f$i"; done
    head -c 8M /dev/urandom >"$dir/c/big"
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/tmp/tree.sha256
}
verify_tree() { (cd "$1" && sha256sum --quiet -c /tmp/tree.sha256); }

no_ublk_devices_left() {
    ! ls /dev/ublkb* /dev/ublkc* >/dev/null 2>&1
}

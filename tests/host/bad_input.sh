#!/usr/bin/env bash
# Bad input ends in one clear line on stderr, a non-zero exit, and nothing left running or
# half-attached: unreachable portal, unknown IQN, bad PORTAL, a target that sends garbage.
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm python3
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:real
add_target 1 $IQN 16M || exit 1
start_iserd || exit 1

nothing_attached() { ! "$ISERCTL" list | grep -q "iqn"; }
# Only this test's target: other iserd instances may serve their own sockets meanwhile.
no_stray_sockets() { ! ls /run/iser/nbd 2>/dev/null | grep -q "example_real"; }

case_unreachable() {
    local port
    port=$(free_port)
    expect_one_line_error "$ISERCTL" login --portal "127.0.0.1:$port" --target $IQN --transport tcp --frontend nbd-server \
        && nothing_attached && no_stray_sockets
}

case_unknown_iqn() {
    local err
    err=$(expect_one_line_error "$ISERCTL" login --portal "127.0.0.1:$TGTD_PORT" --target iqn.2026-11.org.example:nope \
          --transport tcp --frontend nbd-server) || { echo "$err"; return 1; }
    echo "$err"
    grep -qi "not found\|no such\|unknown\|does not exist" <<<"$err" && nothing_attached
}

case_bad_portal() {
    local p
    for p in "" "300.1.1.1:x" "[::1" "host:99999" "a b"; do
        expect_one_line_error "$ISERCTL" login --portal "$p" --target $IQN --transport tcp --frontend nbd-server || { echo "portal '$p'"; return 1; }
        "$ISERCTL" login --portal "$p" --target $IQN --transport tcp --frontend nbd-server >/dev/null 2>&1
        [ $? -eq 2 ] || { echo "portal '$p': exit status is not 2 (usage error)"; return 1; }
    done
    nothing_attached
}

case_bad_iqn() {
    expect_one_line_error "$ISERCTL" login --portal "127.0.0.1:$TGTD_PORT" --target "not an iqn" --transport tcp --frontend nbd-server
}

case_garbage_target() {
    local port
    port=$(free_port)
    # A "target" that answers every connection with random bytes.
    python3 - "$port" >"$WORK/garbage.log" 2>&1 <<'PY' &
import os, socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(60)
def serve(c):
    try:
        c.recv(4096); c.sendall(os.urandom(48 * 20)); c.recv(4096)
    except Exception: pass
    c.close()
while True:
    try: c, _ = s.accept()
    except Exception: break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    _pids+=($!)
    sleep 0.5
    local err
    for _ in 1 2 3; do
        err=$(expect_one_line_error "$ISERCTL" login --portal "127.0.0.1:$port" --target $IQN --transport tcp --frontend nbd-server) || { echo "$err"; return 1; }
        echo "$err"
    done
    err=$(expect_one_line_error "$ISERCTL" discover "127.0.0.1:$port" --transport tcp) || { echo "$err"; return 1; }
    echo "$err"
    kill -0 "$ISERD_PID" || { echo "iserd died"; return 1; }
    nothing_attached && no_stray_sockets
}

case_no_ublk() {
    # ublk needs the ublk_drv module, which this host kernel does not have: a clear error.
    [ -e /dev/ublk-control ] && return 0
    local err
    err=$(expect_one_line_error "$ISERCTL" login --portal "127.0.0.1:$TGTD_PORT" --target $IQN --transport tcp) || { echo "$err"; return 1; }
    echo "$err"
    nothing_attached
}

case_iserd_still_works() {
    local uri
    uri=$("$ISERCTL" login --portal "127.0.0.1:$TGTD_PORT" --target $IQN --transport tcp --frontend nbd-server 2>/dev/null) || return 1
    [ -S "${uri#*socket=}" ] && "$ISERCTL" logout --all
}

check "unreachable portal" case_unreachable
check "unknown IQN" case_unknown_iqn
check "bad PORTAL strings are usage errors (exit 2)" case_bad_portal
check "bad IQN" case_bad_iqn
check "a target that sends garbage" case_garbage_target
check "ublk frontend without ublk_drv" case_no_ublk
check "iserd still serves a good login afterwards" case_iserd_still_works
finish

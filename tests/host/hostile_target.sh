#!/usr/bin/env bash
# The real iserd against a hostile target on loopback (build/tests/tools/hostile_target):
# - a discovery the target never answers fails at its deadline with one line, while `iserctl
#   list` and `iserctl stats` answer within a second (the control plane is concurrent);
# - SIGTERM while a login hangs (the target never answers it) ends iserd within a few seconds,
#   cleanly (status 0), with nothing attached and the login failing with one line.
source "$(dirname "$0")/lib/common.sh"
require_tools timeout
HOSTILE=$BUILD_DIR/tests/tools/hostile_target
[ -x "$HOSTILE" ] || skip "$HOSTILE is not built"

start_hostile() {  # start_hostile MODE -> HOSTILE_PORT
    rm -f "$WORK/port"
    "$HOSTILE" --mode "$1" --port-file "$WORK/port" --seconds 120 >>"$WORK/hostile.log" 2>&1 &
    _pids+=($!)
    for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
    HOSTILE_PORT=$(cat "$WORK/port" 2>/dev/null)
    [ -n "$HOSTILE_PORT" ]
}

# Milliseconds a command takes.
ms_of() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

case_discovery_never_answered() {
    start_hostile never-answer-text || return 1
    local started=$SECONDS
    "$ISERCTL" discover "127.0.0.1:$HOSTILE_PORT" --transport tcp >"$WORK/disc.out" 2>"$WORK/disc.err" &
    local disc=$!
    sleep 1  # logged in by now, waiting for SendTargets
    local t
    for verb in list "stats --interval 0"; do
        t=$(ms_of timeout 10 "$ISERCTL" $verb)
        echo "iserctl $verb answered in $t ms during the discovery"
        [ "$t" -lt 1000 ] || { echo "iserctl $verb took $t ms"; return 1; }
    done
    kill -0 $disc 2>/dev/null || { echo "the discovery ended too early:"; cat "$WORK/disc.err"; return 1; }
    local rc=0
    wait $disc || rc=$?
    local took=$((SECONDS - started))
    cat "$WORK/disc.err"
    [ $rc -ne 0 ] || { echo "discovery succeeded"; return 1; }
    [ "$(grep -c . "$WORK/disc.err")" = 1 ] || { echo "not one line on stderr"; return 1; }
    grep -q "Text Request" "$WORK/disc.err" || { echo "the error does not say what timed out"; return 1; }
    echo "discovery failed after $took s"
    [ $took -ge 10 ] && [ $took -le 40 ] || { echo "expected the 15 s text deadline (plus logout), got $took s"; return 1; }
}

case_sigterm_during_hung_login() {
    start_hostile never-answer-login || return 1
    "$ISERCTL" login --portal "127.0.0.1:$HOSTILE_PORT" --target iqn.2026-11.org.example:hang --transport tcp \
        --frontend nbd-server --login-timeout 60s >"$WORK/login.out" 2>"$WORK/login.err" &
    local login=$!
    sleep 1
    "$ISERCTL" list | grep -q "logging-in" || { echo "list does not show the login in progress"; "$ISERCTL" list; return 1; }
    local started; started=$(date +%s%N)
    kill -TERM "$ISERD_PID"
    local rc=0
    for _ in $(seq 200); do kill -0 "$ISERD_PID" 2>/dev/null || break; sleep 0.05; done
    ! kill -0 "$ISERD_PID" 2>/dev/null || { echo "iserd still running 10 s after SIGTERM"; return 1; }
    wait "$ISERD_PID" || rc=$?
    local took=$(( ($(date +%s%N) - started) / 1000000 ))
    echo "iserd exited with status $rc $took ms after SIGTERM"
    [ $rc = 0 ] || return 1
    [ $took -lt 3000 ] || { echo "took $took ms (more than 3 s)"; return 1; }
    rc=0
    wait $login || rc=$?
    cat "$WORK/login.err"
    [ $rc -ne 0 ] && [ "$(grep -c . "$WORK/login.err")" = 1 ] || { echo "login: status $rc, not one error line"; return 1; }
    ! ls /run/iser/nbd 2>/dev/null | grep -q "example_hang" || { echo "an NBD socket was left"; return 1; }
    [ ! -e "$ISERD_SOCKET" ] || { echo "the control socket was left"; return 1; }
}

start_iserd || exit 1
check "a discovery the target never answers fails at its deadline; list and stats answer meanwhile" case_discovery_never_answered
check "SIGTERM during a hung login ends iserd in under 3 s, cleanly" case_sigterm_during_hung_login
finish

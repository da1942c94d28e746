#!/usr/bin/env bash
# End to end over iSCSI/TCP against a real tgtd on 127.0.0.1: discovery, login, data integrity
# through the NBD socket export (nbdcopy round trip, fio verify), several LUNs, logout.
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm nbdcopy nbdinfo fio sha256sum qemu-img
start_tgtd || exit 1
IQN1=iqn.2026-11.org.example:disk1
IQN2=iqn.2026-11.org.example:multi
add_target 1 $IQN1 256M || exit 1
add_target 2 $IQN2 64M 96M 32M || exit 1
start_iserd || exit 1
PORTAL=127.0.0.1:$TGTD_PORT

case_discovery() {
    local out
    out=$("$ISERCTL" discover "$PORTAL" --transport tcp) || return 1
    echo "$out"
    grep -qx "127.0.0.1:$TGTD_PORT,1 $IQN1" <<<"$out" && grep -qx "127.0.0.1:$TGTD_PORT,1 $IQN2" <<<"$out"
}

case_discovery_json() {
    local out
    out=$("$ISERCTL" discover "$PORTAL" --transport tcp --json) || return 1
    echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d)' | grep -q "$IQN1"
}

case_login() {
    URI=$("$ISERCTL" login --portal "$PORTAL" --target $IQN1 --transport tcp --frontend nbd-server 2>"$WORK/login.err") || { cat "$WORK/login.err"; return 1; }
    echo "$URI"
    [ "$(wc -l <<<"$URI")" -eq 1 ] || return 1
    grep -qE '^nbd\+unix:///lun1\?socket=/' <<<"$URI" || return 1
    # tgtd's LUN 0 is a controller: reported as skipped on stderr, not attached.
    grep -q "LUN 0" "$WORK/login.err" || { echo "LUN 0 not reported as skipped"; return 1; }
    SOCK=${URI#*socket=}
    [ "$(stat -c %a "$SOCK")" = 600 ] || { echo "socket mode $(stat -c %a "$SOCK")"; return 1; }
    nbdinfo "$URI" | tee "$WORK/nbdinfo" && grep -q "export-size: 268435456" "$WORK/nbdinfo" || return 1
    # QEMU's NBD client too.
    qemu-img info --output=json "$URI" | tee "$WORK/qemu-img" | grep -q '"virtual-size": 268435456'
}

case_nbdcopy_roundtrip() {
    head -c 64M /dev/urandom >"$WORK/pattern"
    nbdcopy --flush "$WORK/pattern" "$URI" || return 1
    nbdcopy "$URI" "$WORK/readback" || return 1
    local a b
    a=$(sha256sum <"$WORK/pattern" | cut -d' ' -f1)
    b=$(head -c 64M "$WORK/readback" | sha256sum | cut -d' ' -f1)
    echo "written $a, read $b"
    [ "$a" = "$b" ] || return 1
    # The target's own file must hold the same bytes: the data really went to tgtd.
    b=$(head -c 64M "$WORK/t1-lun1.img" | sha256sum | cut -d' ' -f1)
    [ "$a" = "$b" ]
}

case_fio_verify() {
    local qd
    for qd in 1 8 32; do
        fio --name=verify-qd$qd --ioengine=nbd --uri="$URI" --rw=randwrite --bssplit=4k/40:16k/20:64k/20:256k/10:1m/10 \
            --iodepth=$qd --size=48M --verify=crc32c --verify_state_save=0 --verify_fatal=1 --do_verify=1 --randrepeat=0 \
            --output-format=terse >"$WORK/fio-$qd.log" 2>&1 || { cat "$WORK/fio-$qd.log"; return 1; }
    done
}

case_multi_lun() {
    local out
    out=$("$ISERCTL" login --portal "$PORTAL" --target $IQN2 --transport tcp --frontend nbd-server 2>/dev/null) || return 1
    echo "$out"
    [ "$(wc -l <<<"$out")" -eq 3 ] || return 1
    local uri n=0
    for uri in $out; do
        n=$((n + 1))
        head -c 1M /dev/urandom >"$WORK/m$n"
        nbdcopy "$WORK/m$n" "$uri" || return 1
    done
    n=0
    for uri in $out; do
        n=$((n + 1))
        nbdcopy "$uri" "$WORK/r$n" || return 1
        head -c 1M "$WORK/r$n" | cmp - "$WORK/m$n" || return 1
    done
    "$ISERCTL" list | tee "$WORK/list"
    grep -q "$IQN1" "$WORK/list" && grep -q "$IQN2" "$WORK/list"
}

case_list_json() {
    "$ISERCTL" list --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = json.dumps(d)
assert "'$IQN1'" in s and "'$IQN2'" in s, s
print("ok")'
}

case_logout_cleans_up() {
    "$ISERCTL" logout --target $IQN2 || return 1
    "$ISERCTL" logout --device "$SOCK" || return 1
    [ ! -e "$SOCK" ] || { echo "socket $SOCK left behind"; return 1; }
    ls /run/iser/nbd 2>/dev/null | grep -q "multi" && { echo "multi-LUN sockets left behind"; return 1; }
    local out
    out=$("$ISERCTL" list) || return 1
    ! grep -q "iqn" <<<"$out" || { echo "sessions left: $out"; return 1; }
    # tgtd must see no session left (no I_T nexus).
    ! tgt --mode target --op show | grep -q "I_T nexus: "
}

case_iserd_exits_cleanly() {
    kill -TERM "$ISERD_PID"
    for _ in $(seq 50); do kill -0 "$ISERD_PID" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$ISERD_PID" 2>/dev/null || { echo "iserd still running"; return 1; }
    [ ! -e "$ISERD_SOCKET" ] || { echo "control socket left behind"; return 1; }
}

check "discovery lists both targets as IP:PORT,TPGT IQN" case_discovery
check "discovery --json" case_discovery_json
check "login prints one nbd URI, skips the controller LUN, socket is 0600; nbdinfo and qemu-img read it" case_login
check "64 MiB random pattern through nbdcopy round trip" case_nbdcopy_roundtrip
check "fio verify=crc32c, 4k-1M, QD 1/8/32" case_fio_verify
check "a target with 3 disk LUNs gives 3 exports" case_multi_lun
check "list --json" case_list_json
check "logout leaves no session and no socket" case_logout_cleans_up
check "iserd exits on SIGTERM and removes its socket" case_iserd_exits_cleanly
finish

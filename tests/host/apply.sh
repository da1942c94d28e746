#!/usr/bin/env bash
# iserctl apply against a real iserd and tgtd on loopback: bad files give one "FILE:LINE:" line
# per problem; --dry-run prints the plan and changes nothing; a session of a target the file
# does not list is logged out, and a second apply has nothing to do. (No ublk or kernel NBD
# here: logins and mounts of block devices are covered by the planner unit tests.)
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:apply
add_target 1 $IQN 16M || exit 1
start_iserd || exit 1

CONF=$WORK/iser.yaml
write_conf() {
    cat >"$CONF" <<YAML
targets:
  - name: lab
    iqn: $IQN
    portals: ["127.0.0.1:$TGTD_PORT"]
    transport: tcp
    luns: [1]
    device: {frontend: nbd}
mounts:
  - {target: lab, lun: 1, mountpoint: $WORK/mnt, fstype: ext4, options: [noatime], mkfs-if-empty: true}
YAML
}

case_bad_file() {
    printf 'targets:\n  - name: lab\n    iqn: %s\n    portal: 127.0.0.1\n' $IQN >"$CONF"
    local err
    err=$("$ISERCTL" apply -c "$CONF" --dry-run 2>&1 >/dev/null) && { echo "expected failure"; return 1; }
    echo "$err"
    [ "$(printf '%s\n' "$err" | grep -c .)" -eq 2 ] &&
        grep -qx "iserctl: $CONF:2: target 'lab' has no 'portals'" <<<"$err" &&
        grep -qx "iserctl: $CONF:4: unknown key 'portal' in target 'lab' (did you mean 'portals'?)" <<<"$err"
}

case_yaml_syntax() {
    printf 'targets:\n  - name: [lab\n' >"$CONF"
    local err
    err=$(expect_one_line_error "$ISERCTL" apply -c "$CONF" -n) || { echo "$err"; return 1; }
    echo "$err"
    grep -q "^iserctl: $CONF:3: YAML syntax error" <<<"$err"
}

case_open_secret() {
    write_conf
    local secret
    secret=$(secret_file lab s3cret-value)
    chmod 640 "$secret"
    sed -i "s|    luns: \[1\]|    luns: [1]\n    chap: {user: u, secret-file: $secret}|" "$CONF"
    local err
    err=$(expect_one_line_error "$ISERCTL" apply -c "$CONF" -n) || { echo "$err"; return 1; }
    echo "$err"
    grep -q "mode 0640); run 'chmod 600 $secret'" <<<"$err" && ! grep -q s3cret-value <<<"$err"
}

case_dry_run() {
    write_conf
    local out
    out=$("$ISERCTL" apply -c "$CONF" --dry-run) || return 1
    echo "$out"
    [ "$out" = "login $IQN lun 1 via 127.0.0.1:$TGTD_PORT (tcp, nbd)
mkfs.ext4 LUN 1 of 'lab' if it has no signature
mkdir $WORK/mnt
mount LUN 1 of 'lab' on $WORK/mnt (ext4, noatime)" ] && [ ! -e "$WORK/mnt" ] && ! "$ISERCTL" list | grep -q "$IQN"
}

case_json() {
    "$ISERCTL" apply -c "$CONF" --dry-run --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] and not d["matches"], d
assert [s["step"] for s in d["steps"]] == ["login", "mkfs", "mkdir", "mount"], d
assert all(s["result"] == "planned" for s in d["steps"]), d'
}

case_logout_unlisted() {
    "$ISERCTL" login --portal "127.0.0.1:$TGTD_PORT" --target $IQN --transport tcp --frontend nbd-server >/dev/null || return 1
    printf 'targets: []\n' >"$CONF"
    local plan
    plan=$("$ISERCTL" apply -c "$CONF" -n) || return 1
    echo "$plan"
    grep -q "^logout $IQN (nbd+unix" <<<"$plan" || return 1
    "$ISERCTL" apply -c "$CONF" || return 1
    ! "$ISERCTL" list | grep -q "$IQN" || return 1
    [ "$("$ISERCTL" apply -c "$CONF")" = "Nothing to do: the system matches $CONF." ]
}

check "a bad file: one FILE:LINE line per problem" case_bad_file
check "a YAML syntax error names its line" case_yaml_syntax
check "a group-readable CHAP secret file is refused, secret not shown" case_open_secret
check "--dry-run prints the plan and changes nothing" case_dry_run
check "--dry-run --json" case_json
check "a session the file does not list is logged out; then nothing to do" case_logout_unlisted
finish

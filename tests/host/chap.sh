#!/usr/bin/env bash
# CHAP against a real tgtd: one-way and mutual accepted; a wrong secret, a wrong user and a
# target that fails to prove itself are rejected with one clear line, leaving nothing attached.
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm nbdinfo
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:chap
add_target 1 $IQN 32M || exit 1
tgt --mode account --op new --user alice --password alice-secret-12 || exit 1
tgt --mode account --op bind --tid 1 --user alice || exit 1
start_iserd || exit 1
PORTAL=127.0.0.1:$TGTD_PORT
GOOD=$(secret_file good alice-secret-12)
BAD=$(secret_file bad wrong-secret-99)
TARGET_SECRET=$(secret_file target target-secret-34)

login() { "$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp --frontend nbd-server "$@" 2>/dev/null; }
nothing_attached() { ! "$ISERCTL" list | grep -q "$IQN"; }

case_one_way() {
    local uri
    uri=$(login --chap-user alice --chap-secret-file "$GOOD") || return 1
    nbdinfo --size "$uri" | grep -qx 33554432 || return 1
    "$ISERCTL" logout --target $IQN
}

case_wrong_secret() {
    local err
    err=$(expect_one_line_error "$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp \
          --frontend nbd-server --chap-user alice --chap-secret-file "$BAD") || { echo "$err"; return 1; }
    echo "$err"
    grep -qi "auth" <<<"$err" || return 1
    ! grep -q "wrong-secret-99" <<<"$err" || { echo "secret leaked in the error"; return 1; }
    ! grep -q "wrong-secret-99\|alice-secret-12" "$WORK/iserd.log" || { echo "secret leaked in iserd's log"; return 1; }
    nothing_attached
}

case_no_credentials() {
    expect_one_line_error "$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp --frontend nbd-server && nothing_attached
}

case_secret_file_permissions() {
    local loose="$WORK/loose.secret"
    printf 'alice-secret-12\n' >"$loose"
    chmod 644 "$loose"
    local err
    err=$(expect_one_line_error "$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp \
          --frontend nbd-server --chap-user alice --chap-secret-file "$loose") || { echo "$err"; return 1; }
    echo "$err"
    grep -qi "readable\|accessible\|permission\|mode" <<<"$err" && nothing_attached
}

case_mutual() {
    tgt --mode account --op new --user tgt-user --password target-secret-34 || return 1
    tgt --mode account --op bind --tid 1 --user tgt-user --outgoing || return 1
    local uri
    uri=$(login --chap-user alice --chap-secret-file "$GOOD" --mutual-user tgt-user --mutual-secret-file "$TARGET_SECRET") || return 1
    nbdinfo --size "$uri" | grep -qx 33554432 || return 1
    "$ISERCTL" logout --target $IQN
}

case_mutual_wrong_target_secret() {
    # We expect a different secret from the target than the one it has: it fails to prove itself.
    local err
    err=$(expect_one_line_error "$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp --frontend nbd-server \
          --chap-user alice --chap-secret-file "$GOOD" --mutual-user tgt-user --mutual-secret-file "$BAD") || { echo "$err"; return 1; }
    echo "$err"
    nothing_attached
}

check "one-way CHAP accepted" case_one_way
check "wrong secret rejected with one clear line, no secret in output or log" case_wrong_secret
check "no credentials on a CHAP target rejected" case_no_credentials
check "secret file readable by others refused" case_secret_file_permissions
check "mutual CHAP accepted" case_mutual
check "mutual CHAP with a target that cannot prove itself rejected" case_mutual_wrong_target_secret
finish

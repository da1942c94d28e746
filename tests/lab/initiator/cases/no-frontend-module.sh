#!/usr/bin/env bash
# Without ublk_drv, a ublk login fails with one clear line that names the module and a non-zero
# exit, and leaves nothing behind: no session in iserctl list, none at the target, no device.
# With the module loaded, the same login works. Kernel NBD needs no such step: the kernel loads
# nbd itself when iserd asks for its generic-netlink family.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_cleanup EXIT
lab_rxe_up
iqn=$(lab_lio_target nomod --iser "$LAB_ADDR1:3260" --size 64M) || lab_die "target setup failed"
iser_start
sessions_file=/sys/kernel/config/target/iscsi/$iqn/tpgt_1/dynamic_sessions

modprobe -r ublk_drv 2>/dev/null || true
! grep -q "^ublk_drv " /proc/modules || lab_die "ublk_drv is still loaded (a device of an earlier case?)"
rc=0
"$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser >/tmp/out 2>/tmp/err || rc=$?
lab_log "ublk without ublk_drv: exit $rc, stderr: $(cat /tmp/err)"
[ $rc -ne 0 ] || lab_die "login succeeded without ublk_drv: $(cat /tmp/out)"
[ "$(wc -l </tmp/err)" = 1 ] || lab_die "expected one line on stderr, got: $(cat /tmp/err)"
grep -q "modprobe ublk_drv" /tmp/err || lab_die "the error does not say to load ublk_drv"
[ ! -s /tmp/out ] || lab_die "a failed login printed a device: $(cat /tmp/out)"
[ "$("$ISERCTL" list --json | jq '.sessions | length')" = 0 ] || lab_die "a session is left: $("$ISERCTL" list)"
lab_wait_for 10 "the target to drop the session" bash -c "[ -z \"\$(tr -d '\n' <$sessions_file)\" ]" \
    || lab_die "the target still has a session: $(cat "$sessions_file")"
no_ublk_devices_left || lab_die "a ublk device is left"
lab_modprobe ublk_drv
dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser)
[ -b "$dev" ] || lab_die "with ublk_drv loaded, login printed '$dev'"
"$ISERCTL" logout --device "$dev"
lab_log "with ublk_drv loaded, login gave $dev"

modprobe -r nbd 2>/dev/null || true
! grep -q "^nbd " /proc/modules || lab_die "nbd is still loaded"
dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser --frontend nbd)
[ -b "$dev" ] && grep -q "^nbd " /proc/modules || lab_die "--frontend nbd without nbd loaded: '$dev'"
"$ISERCTL" logout --device "$dev"
lab_log "--frontend nbd loaded nbd on demand and gave $dev"

#!/usr/bin/env bash
# An outage longer than replacement_timeout (5 s here): held and new I/O fail with EIO, nothing
# hangs, the device stays until logout, and logout is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target rtmo --iser "$LAB_ADDR1:3260" --size 256M)
iser_start
dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --replacement-timeout 5s --nop-interval 1s --nop-timeout 2s)
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
echo 0 >"$tpg/enable"
lab_log "portal group disabled for good"
start=$(date +%s)
# A direct read must fail with EIO within the timeout plus detection, not hang.
if timeout 60 dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct 2>/tmp/dd.err; then
    lab_die "read succeeded with the target gone"
fi
took=$(( $(date +%s) - start ))
grep -q "Input/output error" /tmp/dd.err || { cat /tmp/dd.err; lab_die "read did not fail with EIO"; }
[ "$took" -lt 45 ] || lab_die "EIO took ${took}s"
lab_log "read failed with EIO after ${took}s"
[ -b "$dev" ] || lab_die "$dev went away before logout"
"$ISERCTL" list | grep -q "state:     failed" || lab_die "list does not show the session as failed"
timeout 60 "$ISERCTL" logout --device "$dev" || lab_die "logout failed or hung"
no_ublk_devices_left || lab_die "device left after logout"
lab_log "logout clean after the outage"
echo 1 >"$tpg/enable"

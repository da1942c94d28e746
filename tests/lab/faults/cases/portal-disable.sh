#!/usr/bin/env bash
# LIO's portal group disabled for 10 s under fio verify on ext4 over iSER, then enabled again:
# the sessions reconnect, held I/O is reissued, verify passes and the filesystem is clean.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target pdis --iser "$LAB_ADDR1:3260" --size 512M)
iser_start
dev=$(fault_attach iser "$iqn" --nop-interval 2s --nop-timeout 2s)
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 160M
fault_fio_wait_running 3
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
echo 0 >"$tpg/enable"
lab_log "portal group disabled"
sleep 10
state=$("$ISERCTL" list | grep "^state:") || true
lab_log "after 10 s: $state"
grep -q "^state:     reconnecting (.* reconnecting for [0-9]* s; I/O held, fails with EIO in [0-9]* s)$" <<<"$state" ||
    lab_die "list does not show the reconnect and its deadline"
# iserctl wait shows the reconnect's progress and returns once the sessions are back.
"$ISERCTL" wait --timeout 120s "$dev" 2>/tmp/wait.err &
WAIT_PID=$!
sleep 2
echo 1 >"$tpg/enable"
lab_log "portal group enabled again"
wait "$WAIT_PID" || { cat /tmp/wait.err; lab_die "iserctl wait failed"; }
grep -q "^iserctl: wait: $iqn ($dev): reconnecting (" /tmp/wait.err || { cat /tmp/wait.err; lab_die "iserctl wait showed no progress"; }
lab_log "iserctl wait: $(wc -l </tmp/wait.err) progress line(s), then logged in"
fault_fio_finish 300
n=$(fault_reconnects "$dev")
[ "$n" -ge 1 ] || lab_die "stats show $n reconnects"
lab_log "reconnects counted: $n"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left || lab_die "device left after logout"

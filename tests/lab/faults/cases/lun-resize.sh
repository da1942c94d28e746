#!/usr/bin/env bash
# The LUN grows under fio verify on a mounted ext4 over iSER. LIO raises no UNIT ATTENTION for a
# resized backstore, so the operator rescans, as with open-iscsi's `iscsiadm -m session -R`:
# - kernel NBD frontend: `iserctl rescan` resizes /dev/nbdN live (netlink RECONFIGURE), ext4 is
#   grown online, verify passes, fsck is clean;
# - ublk frontend on this 6.12 kernel (no UPDATE_SIZE): rescan says the device keeps its size and
#   exits non-zero, I/O goes on (a short verify passes), the logout is clean. A kernel with
#   UPDATE_SIZE (6.16+) resizes instead, which is accepted too.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv nbd
lab_rxe_up
MiB=$((1024 * 1024))
iqn=$(lab_lio_target lresize --iser "$LAB_ADDR1:3260" --size 256M --iblock-loop --no-unmap)
iser_start

# ---- kernel NBD: grown live ----
dev=$(fault_attach iser "$iqn" --frontend nbd)
[[ $dev == /dev/nbd* ]] || lab_die "login with --frontend nbd gave '$dev'"
[ "$(blockdev --getsize64 "$dev")" = $((256 * MiB)) ] || lab_die "$dev does not start at 256 MiB"
fault_mount "$dev" ext4
fault_fio_start "$FAULT_MNT/data" 120M
fault_fio_wait_running 3
lab_lio_resize lresize 0 384M
start=$(date +%s)
out=$("$ISERCTL" rescan --device "$dev") || lab_die "iserctl rescan --device $dev failed: $out"
lab_log "rescan: $out ($(( $(date +%s) - start ))s)"
[ "$out" = "$dev: 256 MiB -> 384 MiB" ] || lab_die "rescan printed '$out'"
[ "$(blockdev --getsize64 "$dev")" = $((384 * MiB)) ] || lab_die "$dev is $(blockdev --getsize64 "$dev") bytes after rescan"
listed=$("$ISERCTL" list --json | jq -r --arg d "$dev" '.sessions[].luns[] | select(.path == $d) | .size_bytes')
[ "$listed" = $((384 * MiB)) ] || lab_die "iserctl list shows $listed bytes for $dev"
again=$("$ISERCTL" rescan --all) || lab_die "a second rescan failed: $again"
[ "$again" = "$dev: unchanged (384 MiB)" ] || lab_die "second rescan printed '$again'"
resize2fs "$dev" >/tmp/resize2fs.log 2>&1 || { cat /tmp/resize2fs.log; lab_die "online resize2fs failed"; }
blocks=$(df -B1M --output=size "$FAULT_MNT" | tail -1 | tr -d ' ')
[ "$blocks" -gt 300 ] || lab_die "ext4 is $blocks MiB after resize2fs"
lab_log "ext4 grown online to $blocks MiB"
# Use the new space while fio still runs: blocks past the old end of the LUN.
head -c 96M /dev/urandom >"$FAULT_MNT/tail" && sync
sum=$(sha256sum <"$FAULT_MNT/tail")
fault_fio_finish 300
echo 3 >/proc/sys/vm/drop_caches
[ "$(sha256sum <"$FAULT_MNT/tail")" = "$sum" ] || lab_die "data written after the resize reads back different"
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"

# ---- ublk: this kernel cannot resize a live device ----
dev=$(fault_attach iser "$iqn")
[[ $dev == /dev/ublkb* ]] || lab_die "login with the default frontend gave '$dev'"
[ "$(blockdev --getsize64 "$dev")" = $((384 * MiB)) ] || lab_die "$dev does not start at 384 MiB"
fault_fio_start "$dev" 64M
fault_fio_wait_running 2
lab_lio_resize lresize 0 448M
rc=0
out=$("$ISERCTL" rescan --target "$iqn" 2>&1) || rc=$?
lab_log "rescan over ublk: status $rc: $out"
if [ "$rc" = 0 ]; then
    [ "$out" = "$dev: 384 MiB -> 448 MiB" ] || lab_die "rescan printed '$out'"
    [ "$(blockdev --getsize64 "$dev")" = $((448 * MiB)) ] || lab_die "$dev did not grow"
    lab_log "this kernel's ublk has UPDATE_SIZE: $dev grew"
else
    want="iserctl: $dev: LUN is now 448 MiB but this kernel's ublk cannot resize a live device (needs Linux 6.16, UBLK_F_UPDATE_SIZE); the device keeps 384 MiB until logout/login"
    [ "$out" = "$want" ] || lab_die "rescan printed '$out'"
    [ "$(blockdev --getsize64 "$dev")" = $((384 * MiB)) ] || lab_die "$dev changed size without UPDATE_SIZE"
fi
fault_fio_finish 300
"$ISERCTL" logout --device "$dev"
lab_wait_for 20 "the device to go" no_ublk_devices_left || lab_die "device left after logout"

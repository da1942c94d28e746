#!/usr/bin/env bash
# iserctl login over $TRANSPORT to LIO with $FRONTEND (ublk, the default: /dev/ublkbN; or kernel
# nbd: /dev/nbdN); ext4 and xfs,
# mount, write a tree, unmount, drop caches, remount, check; fstrim reaches the target; fio
# verify (crc32c, 4k-1M, QD 1, 32 and 64); blkdiscard reaches the target; logout removes the
# device.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_cleanup EXIT
TRANSPORT=${TRANSPORT:-${ISER_LAB_TRANSPORT:-iser}}
FRONTEND=${FRONTEND:-ublk}
if [ "$FRONTEND" = ublk ]; then lab_modprobe ublk_drv; dev_pattern='^/dev/ublkb[0-9]+$'; else lab_modprobe nbd; dev_pattern='^/dev/nbd[0-9]+$'; fi
lab_rxe_up
if [ "$TRANSPORT" = iser ]; then portal_opt=(--iser "$LAB_ADDR1:3260"); else portal_opt=(--tcp "$LAB_ADDR1:3260"); fi
iqn=$(lab_lio_target fs "${portal_opt[@]}" --size 512M) || lab_die "target setup failed"
iser_start
dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport "$TRANSPORT" --frontend "$FRONTEND")
lab_log "attached $dev over $TRANSPORT ($FRONTEND)"
[[ $dev =~ $dev_pattern ]] || lab_die "login printed '$dev', not a $FRONTEND device"
[ -b "$dev" ] || lab_die "$dev is not a block device"
[ "$(blockdev --getsize64 "$dev")" = $((512 * 1024 * 1024)) ] || lab_die "size $(blockdev --getsize64 "$dev")"
if [ "$FRONTEND" = ublk ]; then
    # One session per ublk queue: min(CPUs, 4) of each by default.
    want=$(( $(nproc) < 4 ? $(nproc) : 4 ))
    queues=$(ls -d /sys/block/"${dev#/dev/}"/mq/* | wc -l)
    [ "$queues" = "$want" ] || lab_die "$dev has $queues hardware queues, expected $want"
    "$ISERCTL" list --json | jq -e --arg t "$iqn" '.sessions[] | select(.target == $t)' >/dev/null || lab_die "list does not show $iqn"
    lab_log "$dev: $queues hardware queues; LIO reports: $(tr '\n' ' ' </sys/kernel/config/target/iscsi/"$iqn"/tpgt_1/dynamic_sessions 2>/dev/null)"
fi

# 512-byte blocks of the LUN's fileio backing file (on tmpfs, so a discard frees them), or
# nothing when the target keeps it elsewhere.
backing=$LAB_LIO_BACKING_DIR/fs_lun0.img
backing_blocks() { if [ -f "$backing" ]; then stat -c %b "$backing"; fi; }

for fs in ext4 xfs; do
    if [ $fs = ext4 ]; then mkfs.ext4 -q -F "$dev"; else mkfs.xfs -q -f "$dev"; fi
    mkdir -p /mnt/t
    mount "$dev" /mnt/t
    write_tree /mnt/t
    umount /mnt/t
    echo 3 >/proc/sys/vm/drop_caches
    mount "$dev" /mnt/t
    verify_tree /mnt/t || lab_die "$fs: checksums differ after remount"
    # fstrim reaches the target: a deleted file's blocks leave the fileio backing file (tmpfs).
    head -c 48M /dev/urandom >/mnt/t/trim-me
    sync
    before=$(backing_blocks)
    rm /mnt/t/trim-me
    sync
    fstrim -v /mnt/t || lab_die "$fs: fstrim failed"
    after=$(backing_blocks)
    if [ -n "$before" ]; then
        lab_log "$fs: backing file blocks: $before before fstrim, $after after"
        [ "$after" -lt "$before" ] || lab_die "$fs: fstrim did not reach the target"
    fi
    umount /mnt/t
    lab_log "$fs: tree written, remounted and verified"
done

fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
    --bssplit=4k/30:16k/20:64k/20:256k/20:1m/10 --iodepth=32 --size=128M --verify=crc32c \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --output-format=terse >/tmp/fio.log 2>&1 \
    || { cat /tmp/fio.log; lab_die "fio verify failed"; }
fio --name=verify1 --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k --iodepth=1 \
    --size=8M --offset=256M --verify=crc32c --verify_fatal=1 --verify_state_save=0 >/tmp/fio.log 2>&1 \
    || { cat /tmp/fio.log; lab_die "fio verify QD1 failed"; }
fio --name=verify64 --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
    --bssplit=4k/40:64k/30:1m/30 --iodepth=64 --size=64M --offset=320M --verify=crc32c \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --output-format=terse >/tmp/fio.log 2>&1 \
    || { cat /tmp/fio.log; lab_die "fio verify QD64 failed"; }
lab_log "fio verify passed (4k-1M at QD32 and QD64, 4k at QD1)"

# blkdiscard reaches the target: the fileio backing file on tmpfs loses blocks.
dd if=/dev/urandom of="$dev" bs=1M count=64 oflag=direct status=none
if [ -f "$backing" ]; then
    before=$(stat -c %b "$backing")
    blkdiscard -o 0 -l $((64 * 1024 * 1024)) "$dev" || lab_die "blkdiscard failed"
    after=$(stat -c %b "$backing")
    lab_log "backing file blocks: $before before discard, $after after"
    [ "$after" -lt "$before" ] || lab_die "discard did not reach the target"
else
    blkdiscard -o 0 -l $((64 * 1024 * 1024)) "$dev" || lab_die "blkdiscard failed"
fi
[ "$(head -c 1M "$dev" | tr -d '\0' | wc -c)" = 0 ] || lab_log "note: discarded range does not read back as zeroes"

"$ISERCTL" logout --device "$dev"
if [ "$FRONTEND" = ublk ]; then
    no_ublk_devices_left || lab_die "a ublk device is left after logout"
else
    [ "$(blockdev --getsize64 "$dev")" = 0 ] || lab_die "$dev still has a size after logout"
fi
lab_log "logout removed $dev"

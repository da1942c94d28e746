#!/usr/bin/env bash
# Kernel NBD frontend suite, run INSIDE the lab VM in one boot:
#   tests/lab/run tests/lab/nbd/suite.sh BUILD/tests/lab/nbd/nbd_kernel_memory_disk
# or as a case of the generic runner (the tool is found in $ISER_BUILD_DIR):
#   ISER_BUILD_DIR=$PWD/build tests/lab/run tests/lab/suite.sh tests/lab/nbd/suite.sh
# It exercises nbd/KernelNbd + NbdServer through nbd_kernel_memory_disk (/dev/nbdN over a memory
# disk: a frontend test, not end-to-end iSCSI). Cases: nbd module; ext4 on 1 and 2 connections
# (mkfs, files, umount, drop caches, remount, sha256); fio io_uring direct randwrite verify
# crc32c (bs 4k..1M, QD 1..32); blkdiscard; 4096-byte blocks; disconnect leaves the device
# with size 0, no pid and no server process; a 4k randread QD32 figure for orientation.
set -euo pipefail
source "$LAB_LIB/lab.sh"

tool=${1:-${ISER_NBD_TOOL:-${ISER_BUILD_DIR:-$(cd "$LAB_DIR/../.." && pwd)/build}/tests/lab/nbd/nbd_kernel_memory_disk}}
[ -x "$tool" ] || lab_die "$tool is not an executable (build the nbd_kernel_memory_disk target)"
lab_need fio mkfs.ext4 blkdiscard blockdev jq sha256sum cmp
work=/run/nbd-suite
mkdir -p "$work"

disk_pid=""
disk=""
cleanup() {
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  [ -n "$disk_pid" ] && kill "$disk_pid" 2>/dev/null && wait "$disk_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

sysfs() { echo "/sys/block/$(basename "$disk")/$1"; }

# start_disk ARGS...: run the tool in the background, set $disk to the /dev/nbdN it prints.
start_disk() {
  "$tool" "$@" >"$work/out" 2>"$work/log" &
  disk_pid=$!
  if ! lab_wait_for 60 "nbd_kernel_memory_disk to print its device" grep -q '^/dev/nbd' "$work/out"; then
    lab_tail_log "$work/log"
    lab_die "nbd_kernel_memory_disk $* did not come up"
  fi
  disk=$(head -n1 "$work/out")
  lab_wait_for 10 "$disk to appear" test -b "$disk" || lab_die "$disk is not a block device"
  lab_wait_for 10 "$disk to get its size" bash -c "[ \$(cat $(sysfs size)) -gt 0 ]" || lab_die "$disk has no size"
  lab_log "nbd: $disk up ($*)"
}

# stop_disk: SIGTERM; expect exit 0, the device disconnected (size 0, no pid) and no server left.
stop_disk() {
  kill -TERM "$disk_pid"
  local rc=0
  wait "$disk_pid" || rc=$?
  disk_pid=""
  cat "$work/log" >&2
  [ "$rc" -eq 0 ] || lab_die "nbd_kernel_memory_disk exited with status $rc"
  lab_wait_for 10 "$disk to read size 0" bash -c "[ \$(cat $(sysfs size)) -eq 0 ]" ||
    lab_die "$disk still has $(cat "$(sysfs size)") sectors after disconnect"
  [ ! -e "$(sysfs pid)" ] || lab_die "$disk still has a pid ($(cat "$(sysfs pid)")) after disconnect"
  ! pgrep -x nbd_kernel_memory_disk >/dev/null 2>&1 || lab_die "an nbd_kernel_memory_disk process is still running"
  [ "$(blockdev --getsize64 "$disk")" = 0 ] || lab_die "$disk reports a non-zero size after disconnect"
  lab_log "nbd: $disk disconnected: size 0, no pid, no server process"
}

fio_verify() {  # fio_verify DEVICE QD BSRANGE SIZE
  fio --name="verify-qd$2" --filename="$1" --ioengine=io_uring --direct=1 --rw=randwrite --bsrange="$3" \
      --iodepth="$2" --size="$4" --eta=never --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 \
      --output="$work/fio-verify-qd$2.txt" || { cat "$work/fio-verify-qd$2.txt" >&2; lab_die "fio verify QD$2 $3 failed on $1"; }
  grep -q "err= 0" "$work/fio-verify-qd$2.txt" || lab_die "fio reported errors (QD$2)"
  lab_log "nbd: fio io_uring direct randwrite+verify crc32c QD$2 bs $3 over $4: OK"
}

ext4_case() {  # on $disk: mkfs, write files, umount, drop caches, remount, compare checksums
  mkdir -p "$work/mnt" "$work/src"
  mkfs.ext4 -q -F "$disk" || lab_die "mkfs.ext4 on $disk failed"
  mount "$disk" "$work/mnt" || lab_die "mount $disk failed"
  local i
  for i in 1 2 3 4 5 6; do head -c $((i * 900 * 1024 + 321)) /dev/urandom >"$work/src/f$i"; done
  head -c 24M /dev/urandom >"$work/src/big"
  cp "$work"/src/* "$work/mnt/"
  (cd "$work/src" && sha256sum ./*) >"$work/sums"
  sync
  umount "$work/mnt"
  echo 3 >/proc/sys/vm/drop_caches
  mount "$disk" "$work/mnt" || lab_die "remount of $disk failed"
  (cd "$work/mnt" && sha256sum -c --quiet "$work/sums") || lab_die "files differ after remount on $disk"
  umount "$work/mnt"
  lab_log "nbd: ext4 mkfs/write/umount/drop caches/remount/sha256 OK on $disk"
}

# ---- driver ----
lab_modprobe nbd
lab_wait_for 10 "/dev/nbd0" test -b /dev/nbd0 || lab_die "/dev/nbd0 did not appear"
lab_log "nbd: module loaded on $(uname -r)"

# ---- 1 connection: geometry, ext4, fio verify, discard ----
start_disk --size 256M --connections 1
[ "$(blockdev --getsize64 "$disk")" = $((256 << 20)) ] || lab_die "$disk has the wrong size"
[ "$(blockdev --getss "$disk")" = 512 ] || lab_die "$disk logical block size is not 512"
[ "$(cat "$(sysfs queue/max_sectors_kb)")" = 1024 ] || lab_die "max_sectors_kb is not the server's 1 MiB"
[ "$(cat "$(sysfs backend)" 2>/dev/null || echo nbd_kernel_memory_disk)" = nbd_kernel_memory_disk ] ||
  lab_die "unexpected backend identifier $(cat "$(sysfs backend)")"
ext4_case
fio_verify "$disk" 1 4k-64k 8M
fio_verify "$disk" 8 4k-256k 32M
fio_verify "$disk" 32 4k-1m 64M

# discard: the memory disk zeroes what is discarded; write-zeroes (the kernel may emulate it)
head -c 16M /dev/urandom >"$work/pattern"
dd if="$work/pattern" of="$disk" bs=1M oflag=direct status=none
blkdiscard -o 0 -l 8M "$disk" || lab_die "blkdiscard failed"
blkdiscard -z -o $((12 << 20)) -l 1M "$disk" || lab_die "blkdiscard --zeroout failed"
dd if="$disk" of="$work/back" bs=1M count=16 iflag=direct status=none
cmp -n $((8 << 20)) "$work/back" /dev/zero || lab_die "discarded range does not read back as zeroes"
cmp -i $((8 << 20)) -n $((4 << 20)) "$work/back" "$work/pattern" || lab_die "data next to the discard changed"
cmp -i $((12 << 20)) -n $((1 << 20)) "$work/back" /dev/zero || lab_die "write-zeroes range is not zero"
cmp -i $((13 << 20)) "$work/back" "$work/pattern" || lab_die "data after the write-zeroes range changed"
lab_log "nbd: blkdiscard and blkdiscard --zeroout OK"

fio --name=randread-qd32 --filename="$disk" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
    --iodepth=32 --eta=never --size=256M --time_based --runtime=10 --output-format=json --output="$work/perf.json" ||
  lab_die "fio randread QD32 failed"
iops=$(jq '.jobs[0].read.iops | floor' "$work/perf.json")
lab_log "nbd: PERF 4k randread QD32, 1 connection, memory disk: $iops IOPS"
stop_disk

# ---- 2 connections: ext4 and fio verify at QD32 ----
start_disk --size 256M --connections 2
[ -d "$(sysfs mq/1)" ] || lab_die "$disk has fewer than 2 hardware queues with 2 connections"
ext4_case
fio_verify "$disk" 32 4k-1m 128M
fio_verify "$disk" 4 4k-128k 16M
stop_disk

# ---- 4096-byte blocks, a chosen index ----
start_disk --size 128M --block-size 4096 --connections 2 --index 5
[ "$disk" = /dev/nbd5 ] || lab_die "asked for index 5, got $disk"
[ "$(blockdev --getss "$disk")" = 4096 ] || lab_die "$disk logical block size is not 4096"
fio_verify "$disk" 16 4k-1m 32M
ext4_case
stop_disk

lab_log "nbd: suite PASS (1-connection 4k randread QD32: $iops IOPS)"

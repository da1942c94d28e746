#!/usr/bin/env bash
# ublk frontend suite, run INSIDE the lab VM in one boot:
#   tests/lab/run tests/lab/ublk/suite.sh BUILD/tests/lab/ublk/ublk_memory_disk
# It exercises the ublk library through ublk_memory_disk (a ublk device over memory: this is a
# frontend test, not end-to-end iSCSI). Parts (all by default; ISER_UBLK_CASES="a b" picks):
#   basic      ext4 on 1 queue (mkfs, files, umount, remount, checksums); fio random-write
#              verify (4k..1M, QD 1..16); discard and write-zeroes; 4k randread QD32 IOPS
#   queues2    ext4 and fio verify QD64 on 2 queues; IOPS
#   bs4k       4096-byte logical blocks
#   recovery   user recovery: ext4 + fio randwrite/verify, SIGKILL the server mid-run,
#              --recover it; fio and fsck must see nothing
#   abandoned  server killed and never recovered: I/O waits (REISSUE), --delete fails it
#   noreissue  USER_RECOVERY without REISSUE: the requests the dead server held fail (EIO)
set -euo pipefail
source "$LAB_LIB/lab.sh"

tool=${1:?usage: suite.sh PATH/TO/ublk_memory_disk}
[ -x "$tool" ] || lab_die "$tool is not an executable (build the ublk_memory_disk target)"
lab_need fio mkfs.ext4 fsck.ext4 blkdiscard blockdev jq sha256sum cmp timeout
work=/run/ublk-suite
mkdir -p "$work"

disk_pid=""
disk=""
cleanup() {
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  [ -n "$disk_pid" ] && kill "$disk_pid" 2>/dev/null && wait "$disk_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

# start_disk ARGS...: run ublk_memory_disk in the background, set $disk to its /dev/ublkbN.
start_disk() {
  "$tool" "$@" >"$work/out" 2>"$work/log" &
  disk_pid=$!
  if ! lab_wait_for 60 "ublk_memory_disk to print its device" grep -q '^/dev/ublkb' "$work/out"; then
    lab_tail_log "$work/log"
    lab_die "ublk_memory_disk $* did not come up"
  fi
  disk=$(head -n1 "$work/out")
  lab_wait_for 10 "$disk to appear" test -b "$disk" || lab_die "$disk is not a block device"
  lab_log "ublk: $disk up ($*)"
}

# stop_disk: SIGTERM, expect exit status 0 and no ublk device nodes left behind.
stop_disk() {
  kill -TERM "$disk_pid"
  local rc=0
  wait "$disk_pid" || rc=$?
  disk_pid=""
  cat "$work/log" >&2
  [ "$rc" -eq 0 ] || lab_die "ublk_memory_disk exited with status $rc"
  lab_wait_for 10 "ublk device nodes to go away" bash -c '! ls /dev/ublkb* /dev/ublkc* 2>/dev/null | grep -q .' ||
    lab_die "device nodes left after stop/delete: $(ls /dev/ublk* 2>/dev/null | tr '\n' ' ')"
  [ -z "$(ls /sys/class/ublk-char 2>/dev/null)" ] || lab_die "ublk-char devices still registered"
  lab_log "ublk: stopped and deleted cleanly"
}

fio_verify() {  # fio_verify DEVICE QD BSRANGE SIZE
  fio --name="verify-qd$2" --filename="$1" --ioengine=io_uring --direct=1 --rw=randwrite --bsrange="$3" \
      --iodepth="$2" --size="$4" --eta=never --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 \
      --output="$work/fio-verify-qd$2.txt" || { cat "$work/fio-verify-qd$2.txt" >&2; lab_die "fio verify QD$2 $3 failed on $1"; }
  grep -q "err= 0" "$work/fio-verify-qd$2.txt" || lab_die "fio reported errors (QD$2)"
  lab_log "ublk: fio randwrite+verify crc32c QD$2 bs $3 over $4: OK"
}

ext4_case() {  # on $disk: mkfs, write files, umount, remount, compare checksums
  mkdir -p "$work/mnt" "$work/src"
  mkfs.ext4 -q -F "$disk" || lab_die "mkfs.ext4 on $disk failed"
  mount "$disk" "$work/mnt" || lab_die "mount $disk failed"
  local i
  for i in 1 2 3 4 5 6; do head -c $((i * 700 * 1024 + 123)) /dev/urandom >"$work/src/f$i"; done
  cp "$work"/src/f* "$work/mnt/"
  (cd "$work/src" && sha256sum f*) >"$work/sums"
  sync
  umount "$work/mnt"
  mount "$disk" "$work/mnt" || lab_die "remount of $disk failed"
  (cd "$work/mnt" && sha256sum -c --quiet "$work/sums") || lab_die "files differ after remount on $disk"
  umount "$work/mnt"
  lab_log "ublk: ext4 mkfs/write/umount/remount/checksums OK on $disk"
}

# ---- driver ----
lab_modprobe ublk_drv
lab_wait_for 10 "/dev/ublk-control" test -c /dev/ublk-control || lab_die "/dev/ublk-control did not appear"
lab_log "ublk: ublk_drv loaded on $(uname -r)"

iops="" iops2=""

# ---- 1 queue: ext4, fio verify, discard ----
case_basic() {
start_disk --size 256M --queues 1
[ "$(blockdev --getsize64 "$disk")" = $((256 << 20)) ] || lab_die "$disk has the wrong size"
[ "$(blockdev --getss "$disk")" = 512 ] || lab_die "$disk logical block size is not 512"
ext4_case
fio_verify "$disk" 1 4k-64k 8M
fio_verify "$disk" 16 4k-1m 64M

# discard and write-zeroes: the memory disk zeroes what is discarded
head -c 16M /dev/urandom >"$work/pattern"
dd if="$work/pattern" of="$disk" bs=1M oflag=direct status=none
blkdiscard -o 0 -l 8M "$disk" || lab_die "blkdiscard failed"
blkdiscard -z -o $((12 << 20)) -l 1M "$disk" || lab_die "blkdiscard --zeroout failed"
dd if="$disk" of="$work/back" bs=1M count=16 iflag=direct status=none
cmp -n $((8 << 20)) "$work/back" /dev/zero || lab_die "discarded range does not read back as zeroes"
cmp -i $((8 << 20)) -n $((4 << 20)) "$work/back" "$work/pattern" || lab_die "data next to the discard changed"
cmp -i $((12 << 20)) -n $((1 << 20)) "$work/back" /dev/zero || lab_die "write-zeroes range is not zero"
cmp -i $((13 << 20)) "$work/back" "$work/pattern" || lab_die "data after the write-zeroes range changed"
lab_log "ublk: blkdiscard and blkdiscard --zeroout OK"

# performance on the memory disk (reference: ublksrv's null target ~11,800 IOPS in this lab)
fio --name=randread-qd32 --filename="$disk" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
    --iodepth=32 --eta=never --size=256M --time_based --runtime=10 --output-format=json --output="$work/perf.json" ||
  { lab_tail_log "$work/log"; lab_die "fio randread QD32 failed"; }
iops=$(jq '.jobs[0].read.iops | floor' "$work/perf.json")
lab_log "ublk: PERF 4k randread QD32, 1 queue, memory disk: $iops IOPS"
stop_disk
}

# ---- 2 queues: ext4 and fio verify at QD64 ----
case_queues2() {
start_disk --size 256M --queues 2
[ -d /sys/block/"$(basename "$disk")"/mq/1 ] || lab_log "ublk: note: the driver granted fewer than 2 queues"
ext4_case
fio_verify "$disk" 64 4k-1m 128M
fio --name=randread-qd32-2q --filename="$disk" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
    --iodepth=32 --eta=never --numjobs=2 --group_reporting --size=256M --time_based --runtime=10 --output-format=json \
    --output="$work/perf2.json" || lab_die "fio randread QD32 (2 jobs) failed"
iops2=$(jq '.jobs[0].read.iops | floor' "$work/perf2.json")
lab_log "ublk: PERF 4k randread QD32 x 2 jobs, 2 queues, memory disk: $iops2 IOPS"
stop_disk
}

# ---- 4096-byte logical blocks ----
case_bs4k() {
start_disk --size 128M --block-size 4096 --queues 1
[ "$(blockdev --getss "$disk")" = 4096 ] || lab_die "$disk logical block size is not 4096"
fio_verify "$disk" 8 4k-256k 32M
ext4_case
stop_disk
}

source "$(dirname "${BASH_SOURCE[0]}")/recovery_cases.sh"

cases=${ISER_UBLK_CASES:-basic queues2 bs4k recovery abandoned noreissue}
for c in $cases; do
  declare -F "case_$c" >/dev/null || lab_die "unknown case $c"
  start=$SECONDS
  "case_$c"
  lab_log "ublk: case $c PASS in $((SECONDS - start)) s"
done
lab_log "ublk: suite PASS ($cases; 1-queue IOPS ${iops:-n/a}, 2-queue IOPS ${iops2:-n/a})"

# User-recovery cases of the ublk suite (sourced by suite.sh: uses $tool, $work, $disk,
# $disk_pid, start_disk, stop_disk). Every wait is bounded; timings go to the log as TIMING.
now_ms() { date +%s%3N; }

# device_state ID: the state word from `ublk_memory_disk --list` (empty when ID is gone).
device_state() { "$tool" --list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }

# task_state PID: the one-letter state from /proc/PID/stat (after the last ')').
task_state() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null; }

# kill_server: SIGKILL the running ublk_memory_disk, reap it, wait until the kernel has
# quiesced device $1. Sets kill_ms and quiesce_ms.
kill_server() {
  local id=$1
  kill_ms=$(now_ms)
  kill -KILL "$disk_pid"
  wait "$disk_pid" 2>/dev/null || true
  disk_pid=""
  lab_wait_for 45 "ublk device $id to be QUIESCED" bash -c "[ \"\$('$tool' --list | awk '\$1 == $id {print \$2}')\" = QUIESCED ]" ||
    { "$tool" --list >&2; lab_die "device $id not quiesced after its server was killed"; }
  quiesce_ms=$(( $(now_ms) - kill_ms ))
  lab_log "ublk: TIMING server killed -> device $id QUIESCED in $quiesce_ms ms"
}

no_io_errors_in_dmesg() {
  if dmesg | grep -E "I/O error|EXT4-fs error|Buffer I/O" | grep -v "dev loop" >"$work/dmesg-errors"; then
    cat "$work/dmesg-errors" >&2
    lab_die "the kernel logged I/O errors: $1"
  fi
}

# ---- SIGKILL mid-fio on a mounted ext4, recover the same /dev/ublkbN, fio must not notice ----
case_recovery() {
  local img=/dev/shm/ublk-recovery.img
  rm -f "$img"
  dmesg -C
  start_disk --size 256M --backing "$img" --latency-ms 3
  local id=${disk#/dev/ublkb} first_disk=$disk
  [ -f "/run/iser/ublk/$id.json" ] || lab_die "no device record /run/iser/ublk/$id.json"
  lab_log "ublk: record $(cat "/run/iser/ublk/$id.json")"

  # recovering a live device is refused at once, with a clear line
  local out rc=0
  out=$(timeout 20 "$tool" --recover "$id" 2>&1) || rc=$?
  [ "$rc" -eq 1 ] && grep -q "is live (state LIVE, served by pid $disk_pid), not waiting for recovery" <<<"$out" ||
    lab_die "--recover of a live device: rc $rc, said: $out"
  lab_log "ublk: refused as expected: $out"
  out=$(timeout 20 "$tool" --recover 999 2>&1) && lab_die "--recover of a missing device succeeded"
  lab_log "ublk: refused as expected: $out"

  mkdir -p "$work/mnt"
  mkfs.ext4 -q -F "$disk" || lab_die "mkfs.ext4 on $disk failed"
  mount "$disk" "$work/mnt" || lab_die "mount $disk failed"
  # Size-based (not time_based): fio writes every block of the file once in random order, then
  # reads all of it back and checks each crc32c (a time_based job ends at its runtime without
  # that final verify pass).
  local written0
  written0=$(awk '{print $7}' "/sys/block/ublkb$id/stat")
  timeout 400 fio --name=recovery --directory="$work/mnt" --filename=fio-recovery.dat --size=96M \
      --ioengine=io_uring --direct=1 --rw=randwrite --bsrange=4k-128k --iodepth=32 \
      --verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 --eta=never \
      --output="$work/fio-recovery.txt" &
  local fio_pid=$!
  # kill once fio has put 16 MiB on the device: mid-run whatever the machine's speed
  lab_wait_for 120 "16 MiB of fio writes" bash -c \
    "[ \$(( \$(awk '{print \$7}' /sys/block/ublkb$id/stat) - $written0 )) -ge 32768 ]" ||
    lab_die "fio did not write 16 MiB in 120 s"
  kill -0 "$fio_pid" 2>/dev/null || { cat "$work/fio-recovery.txt" >&2; lab_die "fio ended before the kill"; }
  local inflight
  inflight=$(cat "/sys/block/ublkb$id/inflight" | tr -s ' ' | sed 's/^ //')
  kill_server "$id"
  lab_log "ublk: in flight at the kill (read write): $inflight; fio state $(task_state "$fio_pid")"
  "$tool" --list >&2
  sleep 2
  local t0
  t0=$(now_ms)
  start_disk --recover "$id"
  local recover_ms=$(( $(now_ms) - t0 )) outage_ms=$(( $(now_ms) - kill_ms ))
  [ "$disk" = "$first_disk" ] || lab_die "recovered as $disk, not $first_disk"
  [ "$(device_state "$id")" = LIVE ] || lab_die "device $id is $(device_state "$id") after recovery"
  lab_log "ublk: TIMING --recover to LIVE $recover_ms ms; outage (kill to LIVE, incl. 2 s pause) $outage_ms ms"

  rc=0
  wait "$fio_pid" || rc=$?
  cat "$work/fio-recovery.txt" >&2
  [ "$rc" -eq 0 ] || lab_die "fio exited with $rc across the recovery"
  grep -q "err= 0" "$work/fio-recovery.txt" || lab_die "fio reported errors across the recovery"
  grep -q "read: IOPS" "$work/fio-recovery.txt" || lab_die "fio did no verify reads"
  no_io_errors_in_dmesg "across the recovery"
  umount "$work/mnt" || lab_die "umount after recovery failed"
  fsck.ext4 -n -f "$disk" >"$work/fsck.txt" 2>&1 || { cat "$work/fsck.txt" >&2; lab_die "fsck -n found problems"; }
  lab_log "ublk: fio randwrite+verify crc32c across SIGKILL + recovery: OK; fsck -n clean; share of I/Os that" \
    "waited >= 2 s (held across the outage): $(grep -o '>=2000=[0-9.]*%' "$work/fio-recovery.txt" || echo none)"
  stop_disk
  [ ! -e "/run/iser/ublk/$id.json" ] || lab_die "record left after a clean stop"
  rm -f "$img"
}

# ---- killed and never recovered: what waits, and what --delete does ----
case_abandoned() {
  local img=/dev/shm/ublk-abandoned.img
  rm -f "$img"
  start_disk --size 64M --backing "$img" --latency-ms 20
  local id=${disk#/dev/ublkb}
  timeout 120 dd if=/dev/zero of="$disk" bs=64k count=100000 oflag=direct status=none 2>"$work/dd.err" &
  local dd_pid=$!
  sleep 2
  kill_server "$id"
  sleep 5
  local dd_child state
  dd_child=$(pgrep -P "$dd_pid" dd || true)
  state=$(task_state "${dd_child:-0}")
  [ -n "$dd_child" ] || lab_die "dd ended although nobody serves $disk (REISSUE should hold its I/O)"
  lab_log "ublk: 5 s after the kill, device $(device_state "$id"), the writer is still waiting (task state $state)"
  local t0 rc=0
  t0=$(now_ms)
  "$tool" --delete "$id" || lab_die "--delete $id failed"
  wait "$dd_pid" || rc=$?
  lab_log "ublk: TIMING --delete -> the waiting writer ended in $(( $(now_ms) - t0 )) ms with rc $rc: $(head -c 200 "$work/dd.err")"
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || lab_die "dd should have failed with EIO after --delete (rc $rc)"
  lab_wait_for 10 "ublk device nodes to go away" bash -c '! ls /dev/ublkb* /dev/ublkc* 2>/dev/null | grep -q .' ||
    lab_die "nodes left after --delete: $(ls /dev/ublk* | tr '\n' ' ')"
  [ ! -e "/run/iser/ublk/$id.json" ] || lab_die "record left after --delete"
  rm -f "$img"
}

# ---- USER_RECOVERY without REISSUE: requests held by the dead server fail at once ----
case_noreissue() {
  local img=/dev/shm/ublk-noreissue.img
  rm -f "$img"
  start_disk --size 64M --backing "$img" --latency-ms 200 --no-reissue
  local id=${disk#/dev/ublkb}
  timeout 120 dd if=/dev/zero of="$disk" bs=64k count=100000 oflag=direct status=none 2>"$work/dd.err" &
  local dd_pid=$!
  sleep 2
  kill_server "$id"
  local rc=0
  lab_wait_for 10 "the writer to end" bash -c "! kill -0 $dd_pid 2>/dev/null" ||
    lab_log "ublk: note: without REISSUE the writer still waits 10 s after the kill"
  if ! kill -0 "$dd_pid" 2>/dev/null; then
    wait "$dd_pid" || rc=$?
    lab_log "ublk: without REISSUE the writer ended $(( $(now_ms) - kill_ms )) ms after the kill, rc $rc: $(head -c 200 "$work/dd.err")"
  fi
  # the device still waits for a new server: recover it, write, read back, then stop cleanly
  start_disk --recover "$id"
  dd if=/dev/urandom of="$work/pattern" bs=1M count=4 status=none
  dd if="$work/pattern" of="$disk" bs=1M oflag=direct status=none || lab_die "write after recovery failed"
  cmp -n $((4 << 20)) "$disk" "$work/pattern" || lab_die "read back after recovery differs"
  lab_log "ublk: after recovery (no REISSUE) the device serves I/O again"
  kill "$dd_pid" 2>/dev/null || true
  wait "$dd_pid" 2>/dev/null || true
  stop_disk
  rm -f "$img"
}

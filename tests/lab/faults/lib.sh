# Helpers for the fault cases: a filesystem on our device with fio verify running while a fault
# is injected. Source after "$LAB_LIB/lab.sh" and ../initiator/lib.sh.
FAULT_MNT=/mnt/fault
FAULT_FIO_LOG=/tmp/fault-fio.log

# fault_attach TRANSPORT IQN [login options...]: log in (ublk), print the device.
fault_attach() {
    local transport=$1 iqn=$2; shift 2
    "$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport "$transport" "$@"
}

# fault_mount DEV FSTYPE: mkfs and mount on $FAULT_MNT.
fault_mount() {
    if [ "$2" = xfs ]; then mkfs.xfs -q -f "$1"; else mkfs.ext4 -q -F "$1"; fi
    mkdir -p "$FAULT_MNT"
    mount "$1" "$FAULT_MNT" || lab_die "cannot mount $1"
}

# fault_fio_start FILE SIZE: random writes with crc32c verify in the background (size-based, so
# every block written is read back and checked at the end); sets FIO_PID.
fault_fio_start() {
    fio --name=fault --filename="$1" --size="$2" --ioengine=io_uring --direct=1 --rw=randwrite \
        --bssplit=4k/40:16k/20:64k/30:128k/10 --iodepth=16 --verify=crc32c --verify_fatal=1 \
        --verify_state_save=0 --randrepeat=0 --eta=never --output="$FAULT_FIO_LOG" >/dev/null 2>&1 &
    FIO_PID=$!
}

# fault_fio_wait_running SECONDS: give fio time to have writes in flight, and make sure it
# still runs (a fault after the I/O would prove nothing).
fault_fio_wait_running() {
    sleep "$1"
    kill -0 "$FIO_PID" 2>/dev/null || { cat "$FAULT_FIO_LOG" >&2; lab_die "fio ended before the fault was injected"; }
}

# fault_fio_finish TIMEOUT: fio must end by itself, with no error, having verified.
fault_fio_finish() {
    local limit=$1 waited=0
    while kill -0 "$FIO_PID" 2>/dev/null && [ "$waited" -lt "$limit" ]; do sleep 1; waited=$((waited + 1)); done
    if kill -0 "$FIO_PID" 2>/dev/null; then
        kill -9 "$FIO_PID"; cat "$FAULT_FIO_LOG" >&2; lab_die "fio still running after ${limit}s"
    fi
    local rc=0
    wait "$FIO_PID" || rc=$?
    grep -q "err= 0" "$FAULT_FIO_LOG" && [ "$rc" = 0 ] || { cat "$FAULT_FIO_LOG" >&2; lab_die "fio failed (status $rc)"; }
    grep -qE "verify: .*[1-9]|read: IOPS" "$FAULT_FIO_LOG" || { cat "$FAULT_FIO_LOG" >&2; lab_die "fio did not read back to verify"; }
    lab_log "fio verify passed ($(grep -oE 'write: IOPS=[^,]+' "$FAULT_FIO_LOG" | head -1))"
}

# fault_check_fs DEV FSTYPE: unmount and check the filesystem read-only.
fault_check_fs() {
    umount "$FAULT_MNT" || lab_die "cannot unmount $FAULT_MNT"
    if [ "$2" = xfs ]; then
        xfs_repair -n "$1" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; lab_die "xfs_repair -n found problems"; }
    else
        e2fsck -fn "$1" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; lab_die "e2fsck -fn found problems"; }
    fi
    lab_log "$2 on $1 is clean"
}

# fault_reconnects DEV: reconnects iserd counted for the device.
fault_reconnects() {
    "$ISERCTL" stats --interval 0 --json "$1" | jq -r '.devices[0].totals.reconnects'
}

# fault_escalation DEV: iserd's error-handling counters of the device as one JSON line
# ({command_timeouts, aborts, lun_resets, reconnects, retries}), logged with iserd's first log
# lines about it.
fault_escalation() {
    local stats
    stats=$("$ISERCTL" stats --interval 0 --json "$1" | jq -c '.devices[0].totals | {command_timeouts, aborts, lun_resets, reconnects, retries}')
    lab_log "escalation counted: $stats" >&2
    grep -E "timed out after|ABORT TASK|reset|reconnect" /tmp/iserd.log | head -n 12 >&2 || true
    echo "$stats"
}

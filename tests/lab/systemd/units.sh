#!/usr/bin/env bash
# The installed units under real systemd (PID 1 in the lab VM: LAB_JOB_SYSTEMD=1), in one boot:
#   0. install as an admin would: cmake --install --prefix /usr/local, daemon-reload, enable,
#      modules-load.d picked up by systemd-modules-load;
#   a. boot path: /etc/iser/iser.yaml with LIO over iSER and tgtd over TCP, each with an ext4
#      mount (mkfs-if-empty); remote-fs.target started as boot does: both mounts, iserd and
#      iser-apply active, iserd's READY=1 came (Type=notify);
#   b. the tgtd mount and LUN dropped from the file + "systemctl reload iser-apply": exactly
#      that one is unmounted and logged out, the LIO mount stays;
#   c. a bad file: FILE:LINE error from "iserctl apply --dry-run -c BAD", and "systemctl reload
#      iser-apply" fails without touching the remaining mount;
#   d. "systemctl restart iserd" under fio crc32c verify on the remaining mount: the device and
#      mount survive (the new iserd takes the device over), iser-apply is not restarted, verify
#      passes, fsck is clean;
#  d2. "iserctl shutdown --keep-devices", then "systemctl start iserd": the same takeover by hand;
#   e. "systemctl stop iser-apply" unmounts and logs out, "systemctl stop iserd" exits 0: no
#      /dev/ublkb*, no /run/iser/ublk record left.
# Prints the figures: systemd boot time, apply at boot, restart takeover.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
[ "$(cat /proc/1/comm)" = systemd ] || lab_die "PID 1 is $(cat /proc/1/comm), not systemd: run with LAB_JOB_SYSTEMD=1"

PREFIX=/usr/local
ISERCTL=$PREFIX/sbin/iserctl   # the installed one, as the units run it
CONF=/etc/iser/iser.yaml
FAST_MNT=/mnt/sd-fast SLOW_MNT=/mnt/sd-slow
FAULT_MNT=$FAST_MNT

cleanup() {
    local rc=$?
    set +e   # clean up as far as possible; the status is the script's
    if [ $rc -ne 0 ]; then
        echo "--- systemctl status"; systemctl status --no-pager -n 0 iserd iser-apply 2>&1 || true
        echo "--- journal of iserd and iser-apply (tail)"
        journalctl --no-pager -o short-monotonic -u iserd -u iser-apply 2>&1 | tail -n 60 || true
    fi
    [ -z "${FIO_PID:-}" ] || kill -9 "$FIO_PID" 2>/dev/null
    systemctl stop iser-apply.service iserd.service 2>/dev/null || true
    umount "$FAST_MNT" "$SLOW_MNT" 2>/dev/null || true
    lab_reset
    exit $rc
}
trap cleanup EXIT

mono_us() { systemctl show -P "$2" "$1"; }   # mono_us UNIT PROPERTY: a *Monotonic property, in us
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
now_us() { awk '{ printf "%.0f", $1 * 1e6 }' /proc/uptime; }
# A unit with its own mount namespace keeps copies of the mounts that existed when it started,
# which the admin's umount may not reach (the file system outlives its device): iserd must not.
same_mount_ns_as_pid1() {
    local pid
    pid=$(systemctl show -P MainPID "$1")
    [ "$(readlink "/proc/$pid/ns/mnt")" = "$(readlink /proc/1/ns/mnt)" ] || lab_die "$1 (pid $pid) runs in its own mount namespace"
}

# --- boot figures -----------------------------------------------------------------------------
lab_log "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2): $(systemd-analyze 2>/dev/null | head -n 1 || echo 'no systemd-analyze')"
lab_log "boot: job started at $(cut -d' ' -f1 /proc/uptime) s uptime; basic.target reached at $(elapsed 0 "$(mono_us basic.target ActiveEnterTimestampMonotonic)") s"
failed=$(systemctl list-units --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
[ -z "$failed" ] || lab_log "note: failed units at boot: $failed"

# --- 0. install as an admin would -------------------------------------------------------------
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/tmp/install.log || { cat /tmp/install.log; lab_die "cmake --install failed"; }
for f in lib/systemd/system/iserd.service lib/systemd/system/iser-apply.service lib/modules-load.d/iser.conf sbin/iserd sbin/iserctl; do
    [ -e "$PREFIX/$f" ] || lab_die "$PREFIX/$f not installed"
done
grep -q "^ExecStart=$PREFIX/sbin/iserd --foreground$" "$PREFIX/lib/systemd/system/iserd.service" || lab_die "iserd.service does not run $PREFIX/sbin/iserd"
# (timeout: "systemd-analyze blame" was seen hanging in this VM; verify only reads files.)
rc=0
timeout 120 systemd-analyze verify "$PREFIX/lib/systemd/system/iserd.service" "$PREFIX/lib/systemd/system/iser-apply.service" >/tmp/verify.log 2>&1 || rc=$?
if [ $rc = 124 ]; then
    lab_log "note: systemd-analyze verify timed out"
elif [ $rc != 0 ] || grep -i 'iser' /tmp/verify.log; then
    cat /tmp/verify.log; lab_die "systemd-analyze verify found problems in the units (status $rc)"
fi
systemctl daemon-reload
systemctl enable iserd.service iser-apply.service 2>&1 | sed 's/^/  /'
[ "$(systemctl is-enabled iserd.service iser-apply.service | tr '\n' ' ')" = "enabled enabled " ] || lab_die "units not enabled"
# The module list where systemd-modules-load reads it (it ran at boot, before the install).
modprobe -r ublk_drv 2>/dev/null || true
systemctl restart systemd-modules-load.service || lab_die "systemd-modules-load failed with $PREFIX/lib/modules-load.d/iser.conf"
for m in ublk_drv ib_uverbs rdma_ucm; do
    grep -q "^$m " /proc/modules || lab_die "$m not loaded by systemd-modules-load"
done
lab_log "installed under $PREFIX, enabled; systemd-modules-load loaded ublk_drv ib_uverbs rdma_ucm"

# --- targets ----------------------------------------------------------------------------------
lab_rxe_up
# LIO's iSER portal on 3261: tgtd's own iSER listener takes rdma_cm port 3260 on every address.
lio_iqn=$(lab_lio_target sdfast --iser "$LAB_ADDR1:3261" --size 512M) || lab_die "LIO target setup failed"
tgt_iqn=$(lab_tgtd_iser sdslow --lld iscsi --luns 1 --size 256M) || lab_die "tgtd target setup failed"

write_conf() {  # write_conf FILE all|fast-only
    write_two_target_conf "$1" "$2" "mountpoint: $FAST_MNT, fstype: ext4, mkfs-if-empty: true" \
        "mountpoint: $SLOW_MNT, fstype: ext4, mkfs-if-empty: true"
}
mkdir -p /etc/iser
write_conf "$CONF" all

# --- a. the boot path -------------------------------------------------------------------------
! systemctl is-active -q iserd iser-apply || lab_die "iserd or iser-apply already active before the boot path"
t0=$(now_us)
systemctl start remote-fs.target || lab_die "systemctl start remote-fs.target failed"
t1=$(now_us)
for u in iserd iser-apply; do
    [ "$(systemctl is-active "$u")" = active ] || lab_die "$u is $(systemctl is-active "$u")"
done
[ "$(systemctl show -P Result iserd)" = success ] || lab_die "iserd Result=$(systemctl show -P Result iserd)"
# Type=notify: active only once READY=1 came; a timeout would have failed the start. The gap
# between the process start and "active" is the time to READY.
ready_s=$(elapsed "$(mono_us iserd ExecMainStartTimestampMonotonic)" "$(mono_us iserd ActiveEnterTimestampMonotonic)")
[ "$(systemctl show -P NotifyAccess iserd)" = main ] || lab_die "iserd is not a Type=notify unit"
journalctl --no-pager -u iserd | grep -q 'iserd ready' || lab_die "no 'iserd ready' in iserd's journal"
same_mount_ns_as_pid1 iserd
apply_s=$(elapsed "$(mono_us iser-apply ExecMainStartTimestampMonotonic)" "$(mono_us iser-apply ActiveEnterTimestampMonotonic)")
fast_dev=$(device_of "$lio_iqn" 0) slow_dev=$(device_of "$tgt_iqn" 1)
[[ $fast_dev =~ ^/dev/ublkb[0-9]+$ && $slow_dev =~ ^/dev/ublkb[0-9]+$ ]] || lab_die "expected two ublk devices, got '$fast_dev' '$slow_dev'"
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] || lab_die "$FAST_MNT is '$(source_of "$FAST_MNT")', not $fast_dev"
[ "$(source_of "$SLOW_MNT")" = "$slow_dev" ] || lab_die "$SLOW_MNT is '$(source_of "$SLOW_MNT")', not $slow_dev"
echo hello >"$FAST_MNT/hello" && echo hello >"$SLOW_MNT/hello" && sync || lab_die "mounts not writable"
lab_log "a. boot path: remote-fs.target in $(elapsed "$t0" "$t1") s; iserd READY after ${ready_s} s, iser-apply (2 logins, 2 mkfs, 2 mounts) ${apply_s} s; $fast_dev on $FAST_MNT, $slow_dev on $SLOW_MNT"

# --- b. a LUN removed from the file, systemctl reload ----------------------------------------
write_conf "$CONF" fast-only
systemctl reload iser-apply || lab_die "systemctl reload iser-apply failed"
! mountpoint -q "$SLOW_MNT" || lab_die "$SLOW_MNT still mounted"
[ ! -e "$slow_dev" ] || lab_die "$slow_dev left after its LUN left the file"
[ -z "$(device_of "$tgt_iqn" 1)" ] || lab_die "iserd still holds $tgt_iqn"
if tgtadm --lld iscsi --mode target --op show | grep -q 'I_T nexus: '; then lab_die "tgtd still has a session"; fi
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] || lab_die "$FAST_MNT changed"
[ "$(ls /dev/ublkb* | wc -l)" = 1 ] || lab_die "ublk devices now: $(ls /dev/ublkb*)"
if journalctl --no-pager -u iser-apply | grep -E 'I/O error|failed' | grep -v 'mkfs'; then lab_die "errors in iser-apply's journal"; fi
lab_log "b. reload: $SLOW_MNT unmounted, $slow_dev detached, tgtd session closed; $fast_dev still on $FAST_MNT"

# --- c. a bad file ----------------------------------------------------------------------------
BAD=/tmp/bad-iser.yaml
write_conf "$BAD" fast-only
sed -i 's/^    transport: iser$/    transport: isre/' "$BAD"
bad_line=$(grep -n 'transport: isre' "$BAD" | cut -d: -f1)
if err=$("$ISERCTL" apply --dry-run -c "$BAD" 2>&1 >/dev/null); then lab_die "a bad file passed --dry-run"; fi
printf '%s\n' "$err"
grep -q "^iserctl: $BAD:$bad_line: " <<<"$err" || lab_die "no '$BAD:$bad_line:' error"
cp "$CONF" /tmp/good-iser.yaml
cp "$BAD" "$CONF"
if systemctl reload iser-apply 2>/dev/null; then lab_die "systemctl reload iser-apply succeeded with a bad file"; fi
journalctl --no-pager -u iser-apply | grep -q "$CONF:$bad_line: " || lab_die "the reload's FILE:LINE error is not in the journal"
[ "$(systemctl is-active iser-apply)" = active ] || lab_die "iser-apply is $(systemctl is-active iser-apply) after a failed reload"
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] && [ "$(device_of "$lio_iqn" 0)" = "$fast_dev" ] || lab_die "the failed reload touched $FAST_MNT"
cp /tmp/good-iser.yaml "$CONF"
lab_log "c. bad file: '$CONF:$bad_line:' error, reload failed, $FAST_MNT untouched"

# --- d. systemctl restart iserd under fio verify ----------------------------------------------
apply_since=$(mono_us iser-apply ActiveEnterTimestampMonotonic)
old_pid=$(systemctl show -P MainPID iserd)
fault_fio_start "$FAST_MNT/data" 160M
fault_fio_wait_running 3
t0=$(now_us)
systemctl restart iserd || lab_die "systemctl restart iserd failed"
t1=$(now_us)
new_pid=$(systemctl show -P MainPID iserd)
[ "$new_pid" != "$old_pid" ] && [ "$new_pid" != 0 ] || lab_die "iserd was not restarted (MainPID $old_pid -> $new_pid)"
# "list" names the device as soon as the takeover starts (state taking-over); "wait" returns when
# its sessions are logged in again. The journal is read with a grace period: journald may lag.
"$ISERCTL" wait --timeout 90s -q "$fast_dev" || lab_die "$fast_dev was not taken over: $("$ISERCTL" list)"
t2=$(now_us)
journalctl --no-pager -u iserd | grep -q 'devices kept for the next iserd' || lab_die "the old iserd did not see a restart job"
lab_wait_for 10 "the takeover line in the journal" bash -c "journalctl --no-pager -u iserd | grep -q 'took over $fast_dev again'" ||
    lab_die "no takeover line in the journal"
[ "$(mono_us iser-apply ActiveEnterTimestampMonotonic)" = "$apply_since" ] && [ "$(systemctl is-active iser-apply)" = active ] ||
    lab_die "iser-apply was restarted or stopped with iserd"
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] || lab_die "$FAST_MNT did not survive the restart"
same_mount_ns_as_pid1 iserd
lab_log "d. restart: systemctl restart took $(elapsed "$t0" "$t1") s, takeover done $(elapsed "$t0" "$t2") s after the restart began; iser-apply untouched"
fault_fio_finish 300
fault_check_fs "$fast_dev" ext4
# Unmounted for fsck: a reload mounts it again (the file system exists: no mkfs).
systemctl reload iser-apply || lab_die "reload after fsck failed"
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] || lab_die "reload did not mount $FAST_MNT again"
[ "$(cat "$FAST_MNT/hello")" = hello ] || lab_die "$FAST_MNT lost its file"

# --- d2. iserctl shutdown --keep-devices (an upgrade by hand), then iserd started again ----------
"$ISERCTL" shutdown --keep-devices || lab_die "iserctl shutdown --keep-devices failed"
lab_wait_for 30 "iserd to exit" bash -c '! systemctl is-active -q iserd' || lab_die "iserd still running"
[ "$(systemctl show -P Result iserd)" = success ] || lab_die "iserd Result=$(systemctl show -P Result iserd) after shutdown --keep-devices"
[ -b "$fast_dev" ] && [ -n "$(ls /run/iser/ublk 2>/dev/null)" ] || lab_die "$fast_dev or its record is gone after shutdown --keep-devices"
[ "$(source_of "$FAST_MNT")" = "$fast_dev" ] || lab_die "$FAST_MNT gone after shutdown --keep-devices"
# A write now waits in the kernel until the next iserd takes the device over.
(head -c 1M /dev/urandom >/tmp/keep.bin && cp /tmp/keep.bin "$FAST_MNT/keep.bin" && sync) &
writer=$!
sleep 2
if kill -0 "$writer" 2>/dev/null; then lab_log "d2. a sync on $FAST_MNT waits while no iserd runs"; fi
t0=$(now_us)
systemctl start iserd || lab_die "systemctl start iserd failed"
lab_wait_for 30 "the control socket of the new iserd" "$ISERCTL" list || lab_die "iserd did not answer after its start"
"$ISERCTL" wait --timeout 90s -q "$fast_dev" || lab_die "$fast_dev was not taken over after shutdown --keep-devices: $("$ISERCTL" list)"
t1=$(now_us)
wait "$writer" || lab_die "the write during the handover failed"
echo 3 >/proc/sys/vm/drop_caches
cmp /tmp/keep.bin "$FAST_MNT/keep.bin" || lab_die "the file written during the handover differs"
lab_log "d2. shutdown --keep-devices: $fast_dev and $FAST_MNT kept, taken over $(elapsed "$t0" "$t1") s after iserd started, write during the handover intact"

# --- e. stop -----------------------------------------------------------------------------------
systemctl stop iser-apply || lab_die "systemctl stop iser-apply failed"
! mountpoint -q "$FAST_MNT" || lab_die "$FAST_MNT still mounted after stopping iser-apply"
[ -z "$("$ISERCTL" list --json | jq '.sessions[]')" ] || lab_die "sessions left: $("$ISERCTL" list)"
systemctl stop iserd || lab_die "systemctl stop iserd failed"
[ "$(systemctl show -P ExecMainStatus iserd)" = 0 ] && [ "$(systemctl show -P Result iserd)" = success ] ||
    lab_die "iserd stopped with status $(systemctl show -P ExecMainStatus iserd), result $(systemctl show -P Result iserd)"
no_ublk_devices_left || lab_die "ublk devices left: $(ls /dev/ublk*)"
[ -z "$(ls /run/iser/ublk 2>/dev/null)" ] || lab_die "device records left: $(ls /run/iser/ublk)"
if dmesg | grep -E 'ublkb[0-9]+.*(I/O error|critical)|Buffer I/O error'; then lab_die "I/O errors in the kernel log"; fi
lab_log "e. stop: iser-apply unmounted and logged out, iserd exited 0, no device or record left"

#!/usr/bin/env bash
# iserctl apply -c FILE, the command iser-apply.service runs, with two targets: LIO over iSER
# (2 LUNs, ublk) and tgtd over TCP (1 disk, ublk), an ext4 mount made with mkfs-if-empty and an
# xfs mount of an existing file system. Both mounts work; a second apply has nothing to do;
# dropping the tgtd target and its mount from the file unmounts it and logs it out cleanly while
# the LIO mount stays; a bad file is one FILE:LINE error, non-zero, nothing changed; applying
# an empty file (the unit's ExecStop) takes everything down.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
# Unmount first: logging out under a mounted file system is what apply exists to avoid.
cleanup() {
    local rc=$?
    umount /mnt/apply-fast /mnt/apply-slow 2>/dev/null || true
    (exit $rc)
    iser_cleanup
}
trap cleanup EXIT
REPO=$(cd "$(dirname "$0")/../../../.." && pwd)

# The modules the installed modules-load.d list names (there is no systemd in the VM).
for m in $(grep -v '^#' "$REPO/systemd/iser.conf"); do lab_modprobe "$m"; done
lab_rxe_up
# LIO's iSER portal on 3261: tgtd's own iSER listener takes rdma_cm port 3260 on every address.
lio_iqn=$(lab_lio_target apply --iser "$LAB_ADDR1:3261" --luns 2 --size 256M) || lab_die "LIO target setup failed"
tgt_iqn=$(lab_tgtd_iser apply-tcp --lld iscsi --luns 1 --size 512M) || lab_die "tgtd target setup failed"
# The xfs mount has no mkfs-if-empty: its file system exists before apply sees the LUN.
mkfs.xfs -q -f "$LAB_TGTD_BACKING_DIR/apply-tcp_lun1.img" || lab_die "mkfs.xfs on tgtd's backing file"
iser_start

CONF=/tmp/apply/iser.yaml
mkdir -p /tmp/apply
write_conf() {  # write_conf all|fast-only [EXTRA-LINE-FOR-FAST]
    write_two_target_conf "$CONF" "$1" "mountpoint: /mnt/apply-fast, fstype: ext4, options: [noatime], mkfs-if-empty: true" \
        "mountpoint: /mnt/apply-slow, fstype: xfs" "${2:-}"
}

state_snapshot() { "$ISERCTL" list --json | jq -S -c '[.sessions[] | {target, state, luns: [.luns[].path]}]'; findmnt -rn -o TARGET,SOURCE | grep /mnt/apply || true; }
check_usable() {  # check_usable MOUNTPOINT: a file written, caches dropped, read back
    head -c 3M /dev/urandom >/tmp/apply/payload
    cp /tmp/apply/payload "$1/payload" && sync
    echo 3 >/proc/sys/vm/drop_caches
    cmp /tmp/apply/payload "$1/payload" || lab_die "$1: the file read back differs"
}

# 1. The plan first: --dry-run changes nothing.
write_conf all
plan=$("$ISERCTL" apply -c "$CONF" --dry-run) || lab_die "dry run failed"
printf '%s\n' "$plan"
grep -q "^login $lio_iqn all luns via $LAB_ADDR1:3261 (iser, ublk)" <<<"$plan" || lab_die "dry run: no iSER login step"
grep -q "^mkfs.ext4 LUN 0 of 'fast'" <<<"$plan" || lab_die "dry run: no mkfs step"
[ -z "$("$ISERCTL" list --json | jq '.sessions[]')" ] && [ ! -e /mnt/apply-fast ] || lab_die "dry run changed something"

# 2. Apply: both targets logged in, both file systems mounted and usable.
"$ISERCTL" apply -c "$CONF" || lab_die "apply failed"
fast_dev=$(device_of "$lio_iqn" 0) fast_dev1=$(device_of "$lio_iqn" 1) slow_dev=$(device_of "$tgt_iqn" 1)
lab_log "fast LUN 0: $fast_dev, LUN 1: $fast_dev1; slow LUN 1: $slow_dev"
[[ $fast_dev =~ ^/dev/ublkb[0-9]+$ && $fast_dev1 =~ ^/dev/ublkb[0-9]+$ && $slow_dev =~ ^/dev/ublkb[0-9]+$ ]] ||
    lab_die "expected three ublk devices"
[ "$(source_of /mnt/apply-fast)" = "$fast_dev" ] || lab_die "/mnt/apply-fast is '$(source_of /mnt/apply-fast)', not $fast_dev"
[ "$(source_of /mnt/apply-slow)" = "$slow_dev" ] || lab_die "/mnt/apply-slow is '$(source_of /mnt/apply-slow)', not $slow_dev"
[ "$(findmnt -n -o FSTYPE /mnt/apply-fast)" = ext4 ] && [ "$(findmnt -n -o FSTYPE /mnt/apply-slow)" = xfs ] ||
    lab_die "wrong file system types"
findmnt -n -o OPTIONS /mnt/apply-fast | grep -qw noatime || lab_die "noatime not applied"
check_usable /mnt/apply-fast
check_usable /mnt/apply-slow
lab_log "ext4 (made by apply) on $fast_dev and xfs on $slow_dev mounted and usable"
if [ -d /dev/disk/by-iser ]; then
    [ "$(readlink -f "/dev/disk/by-iser/$lio_iqn-lun0")" = "$fast_dev" ] || lab_die "by-iser link of $lio_iqn LUN 0"
    lab_log "by-iser links: $(ls /dev/disk/by-iser | tr '\n' ' ')"
fi

# 3. Again: nothing to do, exit 0, nothing touched.
before=$(state_snapshot)
out=$("$ISERCTL" apply -c "$CONF") || lab_die "second apply failed"
[ "$out" = "Nothing to do: the system matches $CONF." ] || lab_die "second apply did: $out"
[ "$(state_snapshot)" = "$before" ] || lab_die "second apply changed the system"

# 4. A bad file: its FILE:LINE error, non-zero, nothing changed.
write_conf all
sed -i 's/^    transport: tcp$/    transport: tpc/' "$CONF"
bad_line=$(grep -n 'transport: tpc' "$CONF" | cut -d: -f1)
if err=$("$ISERCTL" apply -c "$CONF" 2>&1 >/dev/null); then lab_die "a bad file was applied"; fi
printf '%s\n' "$err"
grep -q "^iserctl: $CONF:$bad_line: " <<<"$err" || lab_die "no '$CONF:$bad_line:' error"
[ "$(state_snapshot)" = "$before" ] || lab_die "a bad file changed the system"
check_usable /mnt/apply-fast

# 5. Drop the tgtd target and its mount: that one is unmounted and logged out, fast stays.
write_conf fast-only
"$ISERCTL" apply -c "$CONF" || lab_die "apply without 'slow' failed"
! mountpoint -q /mnt/apply-slow || lab_die "/mnt/apply-slow is still mounted"
[ ! -e "$slow_dev" ] || lab_die "$slow_dev is left after its target left the file"
[ -z "$(device_of "$tgt_iqn" 1)" ] || lab_die "iserd still holds $tgt_iqn"
[ "$(source_of /mnt/apply-fast)" = "$fast_dev" ] || lab_die "/mnt/apply-fast changed"
[ "$(ls /dev/ublkb* | wc -l)" = 2 ] || lab_die "ublk devices now: $(ls /dev/ublkb*)"
if tgtadm --lld iscsi --mode target --op show | grep -q 'I_T nexus: '; then lab_die "tgtd still has a session"; fi
check_usable /mnt/apply-fast
out=$("$ISERCTL" apply -c "$CONF") && [ "$out" = "Nothing to do: the system matches $CONF." ] ||
    lab_die "apply after the removal is not idempotent: $out"
if [ -d /dev/disk/by-iser ]; then
    [ ! -L "/dev/disk/by-iser/$tgt_iqn-lun1" ] || lab_die "the by-iser link of the detached LUN is left"
    [ "$(readlink -f "/dev/disk/by-iser/$lio_iqn-lun0")" = "$fast_dev" ] || lab_die "by-iser link of $lio_iqn LUN 0 changed"
fi
lab_log "slow's mount and $slow_dev gone, tgtd session closed; $fast_dev still mounted"

# 5b. A changed timer of 'fast': apply logs it in again with the file's settings, unmounting
# before and mounting after; the file written before is still there.
cp /mnt/apply-fast/payload /tmp/apply/payload-fast
write_conf fast-only "timeouts: {replacement: 30s}"
plan=$("$ISERCTL" apply -c "$CONF" --dry-run) || lab_die "dry run of the changed timer failed"
printf '%s\n' "$plan"
grep -q "^logout $lio_iqn (.*), to log in again: timeouts changed$" <<<"$plan" || lab_die "dry run: no re-login for the timer"
"$ISERCTL" apply -c "$CONF" || lab_die "apply of the changed timer failed"
fast_dev=$(device_of "$lio_iqn" 0)
[ "$(source_of /mnt/apply-fast)" = "$fast_dev" ] || lab_die "/mnt/apply-fast is not back on $fast_dev"
cmp /tmp/apply/payload-fast /mnt/apply-fast/payload || lab_die "the file on /mnt/apply-fast changed across the re-login"
got=$("$ISERCTL" list --json | jq -r --arg t "$lio_iqn" '[.sessions[] | select(.target == $t) | .login.replacement_timeout_ms] | unique | .[]')
[ "$got" = 30000 ] || lab_die "iserd reports replacement_timeout_ms '$got' after the re-login"
out=$("$ISERCTL" apply -c "$CONF") && [ "$out" = "Nothing to do: the system matches $CONF." ] ||
    lab_die "apply after the re-login is not idempotent: $out"
lab_log "changed timer: 'fast' logged in again ($fast_dev), mount back, data intact"

# 6. Everything down, as iser-apply.service's ExecStop does it.
"$ISERCTL" apply -c /dev/null || lab_die "applying an empty file failed"
! mountpoint -q /mnt/apply-fast || lab_die "/mnt/apply-fast is still mounted"
[ -z "$("$ISERCTL" list --json | jq '.sessions[]')" ] || lab_die "sessions left: $("$ISERCTL" list)"
no_ublk_devices_left || lab_die "ublk devices left: $(ls /dev/ublk*)"
if dmesg | grep -E 'ublkb[0-9]+.*(I/O error|critical)|Buffer I/O error'; then lab_die "I/O errors in the kernel log"; fi
if [ -d /dev/disk/by-iser ] && [ -n "$(ls -A /dev/disk/by-iser)" ]; then lab_die "by-iser links left: $(ls /dev/disk/by-iser)"; fi
lab_log "apply -c /dev/null: unmounted and logged out, no ublk device left, no I/O error"

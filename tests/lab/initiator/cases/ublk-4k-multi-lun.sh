#!/usr/bin/env bash
# A LIO target with 4 LUNs of 4096-byte sectors gives 4 devices with 4096-byte logical blocks,
# through $FRONTEND (ublk, the default: /dev/ublkbN; or kernel nbd: /dev/nbdN). Each device
# takes data at both ends of the LUN and reads it back; logout removes all four.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_cleanup EXIT
TRANSPORT=${TRANSPORT:-${ISER_LAB_TRANSPORT:-iser}}
FRONTEND=${FRONTEND:-ublk}
if [ "$FRONTEND" = ublk ]; then lab_modprobe ublk_drv; dev_pattern='^/dev/ublkb[0-9]+$'; else lab_modprobe nbd; dev_pattern='^/dev/nbd[0-9]+$'; fi
lab_rxe_up
if [ "$TRANSPORT" = iser ]; then portal_opt=(--iser "$LAB_ADDR1:3260"); else portal_opt=(--tcp "$LAB_ADDR1:3260"); fi
size_mb=64
iqn=$(lab_lio_target four "${portal_opt[@]}" --luns 4 --block-size 4096 --size ${size_mb}M) || lab_die "target setup failed"
iser_start
mapfile -t devs < <("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport "$TRANSPORT" --frontend "$FRONTEND")
[ ${#devs[@]} -eq 4 ] || lab_die "expected 4 devices, got: ${devs[*]}"
[ "$(printf '%s\n' "${devs[@]}" | sort -u | wc -l)" = 4 ] || lab_die "devices are not distinct: ${devs[*]}"
for d in "${devs[@]}"; do
    [[ $d =~ $dev_pattern ]] || lab_die "login printed '$d', not a $FRONTEND device"
    [ "$(blockdev --getss "$d")" = 4096 ] || lab_die "$d logical block size $(blockdev --getss "$d")"
    [ "$(blockdev --getsize64 "$d")" = $((size_mb * 1024 * 1024)) ] || lab_die "$d size $(blockdev --getsize64 "$d")"
    # The first and the last 4 MiB: the end of the LUN is where a block-size mistake shows.
    for at in 0 $((size_mb - 4)); do
        head -c 4M /dev/urandom >/tmp/p
        dd if=/tmp/p of="$d" bs=1M seek=$at oflag=direct status=none
        cmp <(dd if="$d" bs=1M skip=$at count=4 iflag=direct status=none) /tmp/p || lab_die "$d read back at ${at} MiB differs"
    done
done
lab_log "4 LUNs with 4096-byte blocks over $FRONTEND: ${devs[*]}"
"$ISERCTL" list
"$ISERCTL" logout --target "$iqn"
if [ "$FRONTEND" = ublk ]; then
    no_ublk_devices_left || lab_die "ublk devices left after logout"
else
    for d in "${devs[@]}"; do
        [ "$(blockdev --getsize64 "$d")" = 0 ] || lab_die "$d still has a size after logout"
    done
fi
lab_log "logout removed all 4 devices"

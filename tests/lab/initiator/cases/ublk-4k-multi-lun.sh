#!/usr/bin/env bash
# A LIO target with 4 LUNs of 4096-byte sectors gives 4 devices with 4096-byte logical blocks.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_cleanup EXIT
TRANSPORT=${TRANSPORT:-${ISER_LAB_TRANSPORT:-iser}}
lab_modprobe ublk_drv
lab_rxe_up
if [ "$TRANSPORT" = iser ]; then portal_opt=(--iser "$LAB_ADDR1:3260"); else portal_opt=(--tcp "$LAB_ADDR1:3260"); fi
iqn=$(lab_lio_target four "${portal_opt[@]}" --luns 4 --block-size 4096 --size 64M) || lab_die "target setup failed"
iser_start
mapfile -t devs < <("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport "$TRANSPORT")
[ ${#devs[@]} -eq 4 ] || lab_die "expected 4 devices, got: ${devs[*]}"
for d in "${devs[@]}"; do
    [ "$(blockdev --getss "$d")" = 4096 ] || lab_die "$d logical block size $(blockdev --getss "$d")"
    head -c 4M /dev/urandom >/tmp/p
    dd if=/tmp/p of="$d" bs=1M oflag=direct status=none
    cmp <(dd if="$d" bs=1M count=4 iflag=direct status=none) /tmp/p || lab_die "$d read back differs"
done
lab_log "4 LUNs with 4096-byte blocks: ${devs[*]}"
"$ISERCTL" list
"$ISERCTL" logout --target "$iqn"
no_ublk_devices_left || lab_die "ublk devices left after logout"

#!/usr/bin/env bash
# An operator logs out a device that still has a mounted filesystem: logout must finish (the
# filesystem then sees I/O errors, as with a pulled disk), leave no device behind and hang
# nothing; unmounting afterwards works.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target lmnt --iser "$LAB_ADDR1:3260" --size 256M)
iser_start
dev=$(fault_attach iser "$iqn")
fault_mount "$dev" ext4
head -c 16M /dev/urandom >"$FAULT_MNT/file"
start=$(date +%s)
timeout 90 "$ISERCTL" logout --all || lab_die "logout --all with $dev mounted failed or hung ($?)"
lab_log "logout with $dev mounted took $(( $(date +%s) - start ))s"
timeout 30 umount "$FAULT_MNT" || timeout 30 umount -l "$FAULT_MNT" || lab_die "cannot unmount after logout"
lab_wait_for 20 "the device to go" no_ublk_devices_left || lab_die "device left after logout"

#!/usr/bin/env bash
# make demo: the main job, inside the lab VM. A LIO target on soft-RoCE; iserctl logs in over
# iSER and gets /dev/ublkbN; ext4 on it; files written and read back; a short fio figure; logout.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
trap iser_cleanup EXIT

say() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }

say "Bringing up soft-RoCE: rxe0 on dummy0 ($LAB_ADDR1), inside this VM only"
lab_modprobe ublk_drv
lab_rxe_up
rdma link show | sed 's/^/    /'

say "Creating a LIO target with one 256 MiB LUN and an iSER portal at $LAB_ADDR1:3260"
iqn=$(lab_lio_target demo --size 256M)
echo "    $iqn"

say "Starting iserd (the initiator daemon)"
iser_start
echo "    initiator name: $LAB_INITIATOR_IQN"

say "iserctl discover $LAB_ADDR1 --transport iser"
"$ISERCTL" discover "$LAB_ADDR1" --transport iser | sed 's/^/    /'

transport=iser
say "iserctl login --portal $LAB_ADDR1 --target $iqn   (defaults: --transport iser --frontend ublk)"
if ! dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" 2>/tmp/login.err); then
    cat /tmp/login.err
    if grep -q "no iSER transport" /tmp/login.err; then
        say "MISSING: this build has no iSER datamover yet; using iSCSI over TCP for the rest"
        lab_lio_teardown demo
        iqn=$(lab_lio_target demo --size 256M --tcp "$LAB_ADDR1:3260")
        transport=tcp
        dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport tcp)
    else
        exit 1
    fi
fi
echo "    $dev  ($(blockdev --getsize64 "$dev") bytes, logical block $(blockdev --getss "$dev") bytes)"

say "iserctl list"
"$ISERCTL" list | sed 's/^/    /'

say "mkfs.ext4 $dev and mount it on /mnt/demo"
mkfs.ext4 -q -F "$dev"
mkdir -p /mnt/demo
mount "$dev" /mnt/demo
df -h /mnt/demo | sed 's/^/    /'

say "Writing a tree of 21 files (about 16 MiB), unmounting, dropping caches, mounting again, checking"
write_tree /mnt/demo
umount /mnt/demo
echo 3 >/proc/sys/vm/drop_caches
mount "$dev" /mnt/demo
verify_tree /mnt/demo && echo "    all checksums match after remount"
umount /mnt/demo

say "fio: 4k random reads at QD32 for 10 s on $dev ($transport)"
fio --name=demo --filename="$dev" --ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=32 \
    --time_based --runtime=10 --size=128M --output-format=normal 2>/dev/null | grep -E "IOPS|lat \(usec\): min" | sed 's/^/    /'

say "iserctl logout --device $dev"
"$ISERCTL" logout --device "$dev"
no_ublk_devices_left && echo "    $dev is gone; the session is logged out"
say "Done: LIO over $transport, /dev/ublkb device, ext4, data verified."

#!/usr/bin/env bash
# Lab benchmark (runs inside the VM via tests/lab/run): one LIO target on soft-RoCE, measured
# through every initiator in the same boot:
#   ours/ublk   iserd over iSER, /dev/ublkbN            (fio io_uring, O_DIRECT)
#   kernel      ib_iser via iscsiadm, /dev/sdX           (fio io_uring, O_DIRECT)
#   ours/nbd    iserd over iSER, NBD socket export       (fio --ioengine=nbd)
#   libiscsi    qemu-storage-daemon transport=iser, NBD  (fio --ioengine=nbd)
#   fabric      ib_write_bw 128 KiB on rxe0: the ceiling
# Figures are printed, never asserted.
set -uo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/../../bench/lib.sh"
trap iser_cleanup EXIT
BENCH_RUNTIME=${ISER_BENCH_RUNTIME:-10}

lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target bench --size 1G) || lab_die "target setup failed"
iser_start
ours_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser) || lab_die "our login failed"
dd if=/dev/urandom of="$ours_dev" bs=1M count=256 oflag=direct status=none   # reads hit written blocks

kernel_dev=$(lab_kernel_login "$iqn" "$LAB_ADDR1" --transport iser) || lab_die "kernel login failed"

mkdir -p /run/bench
qsd_sock=/run/bench/qsd.sock
qemu-storage-daemon \
    --blockdev "driver=iscsi,node-name=lun0,transport=iser,portal=$LAB_ADDR1:3260,target=$iqn,lun=0,initiator-name=iqn.2024-01.lab.iser:libiscsi,cache.direct=on" \
    --nbd-server "addr.type=unix,addr.path=$qsd_sock" \
    --export "type=nbd,id=exp0,node-name=lun0,name=lun0,writable=on" >/tmp/qsd.log 2>&1 &
qsd_pid=$!
lab_wait_for 20 "qemu-storage-daemon" test -S "$qsd_sock" || true
libiscsi_uri="nbd+unix:///lun0?socket=$qsd_sock"

measure_nbd_session() {  # login nbd-server for the figures of one workload, then log out
    local uri
    uri=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser --frontend nbd-server --nbd-socket /run/bench/ours.sock 2>/dev/null) || { echo "0 0 0"; return; }
    fio_nbd ours-nbd "$uri" "$@"
    "$ISERCTL" logout --device /run/bench/ours.sock >/dev/null 2>&1
}

echo
echo "iSER on soft-RoCE (rxe0), LIO fileio on tmpfs, fio ${BENCH_RUNTIME} s per run"
printf '%-20s %22s %22s %22s %22s   %s\n' workload "ours/ublk IOPS MB/s lat" "kernel" "ours/nbd" "libiscsi" "ours/kernel IOPS"
while read -r label rw bs qd; do
    read -r ui ub ul <<<"$(fio_dev ours "$ours_dev" "$rw" "$bs" "$qd")"
    read -r ki kb kl <<<"$(fio_dev kernel "$kernel_dev" "$rw" "$bs" "$qd")"
    "$ISERCTL" logout --device "$ours_dev" >/dev/null
    read -r ni nb nl <<<"$(measure_nbd_session "$rw" "$bs" "$qd")"
    ours_dev=$("$ISERCTL" login --portal "$LAB_ADDR1" --target "$iqn" --transport iser)
    if [ -S "$qsd_sock" ]; then read -r li lb ll <<<"$(fio_nbd libiscsi "$libiscsi_uri" "$rw" "$bs" "$qd")"; else li=0 lb=0 ll=0; fi
    mb() { python3 -c "print('%.1f' % ($1/1024))"; }
    printf '%-20s %8s %6s %6s %8s %6s %6s %8s %6s %6s %8s %6s %6s   %s\n' "$label" \
        "$ui" "$(mb "$ub")" "$ul" "$ki" "$(mb "$kb")" "$kl" "$ni" "$(mb "$nb")" "$nl" "$li" "$(mb "$lb")" "$ll" "$(ratio "$ui" "$ki")"
done <<'W'
4k-randread-QD1 randread 4k 1
4k-randread-QD32 randread 4k 32
4k-randwrite-QD32 randwrite 4k 32
128k-read-QD8 read 128k 8
128k-write-QD8 write 128k 8
W
echo "(lat = mean completion latency in microseconds; libiscsi writes over iSER are known to hang on LIO: 0 means it did not complete)"

ib_write_bw -d rxe0 -s 131072 -D 5 >/tmp/ibw-server.log 2>&1 &
sleep 2
ib_write_bw -d rxe0 -s 131072 -D 5 "$LAB_ADDR1" >/tmp/ibw.log 2>&1
ceiling=$(awk '/^ *131072/ {print $4}' /tmp/ibw.log | tail -n1)
echo "fabric ceiling: ib_write_bw 128 KiB = ${ceiling:-?} MB/s"
kill "$qsd_pid" 2>/dev/null
lab_kernel_logout "$iqn" >/dev/null 2>&1 || true

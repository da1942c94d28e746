#!/usr/bin/env bash
# iSCSI over TCP on the host: tgtd on loopback (LUN on tmpfs), fio --ioengine=nbd against
#   ours:     iserd's NBD socket export
#   libiscsi: qemu-storage-daemon --blockdev driver=iscsi,transport=tcp, exported over NBD
# on the same target, in the same run. Prints each figure and the ratio ours/libiscsi.
source "$(dirname "$0")/../tests/host/lib/common.sh"
source "$(dirname "$0")/lib.sh"
require_tools tgtd tgtadm fio qemu-storage-daemon python3
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:bench
mkdir -p /dev/shm/iser-bench
LUNFILE=/dev/shm/iser-bench/lun1.img
truncate -s 1G "$LUNFILE"
trap 'rm -rf /dev/shm/iser-bench; cleanup' EXIT
tgt --mode target --op new --tid 1 --targetname $IQN || exit 1
tgt --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$LUNFILE" || exit 1
tgt --mode target --op bind --tid 1 --initiator-address ALL || exit 1
start_iserd || exit 1
OURS=$("$ISERCTL" login --portal 127.0.0.1:$TGTD_PORT --target $IQN --transport tcp --frontend nbd-server 2>/dev/null) || { echo "login failed"; exit 1; }

QSD_SOCK=$WORK/qsd.sock
qemu-storage-daemon \
    --blockdev "driver=iscsi,node-name=lun1,transport=tcp,portal=127.0.0.1:$TGTD_PORT,target=$IQN,lun=1,initiator-name=iqn.2026-11.org.iser-initiator:libiscsi-bench,cache.direct=on" \
    --nbd-server "addr.type=unix,addr.path=$QSD_SOCK" \
    --export "type=nbd,id=exp0,node-name=lun1,name=lun1,writable=on" >"$WORK/qsd.log" 2>&1 &
_pids+=($!)
for _ in $(seq 100); do [ -S "$QSD_SOCK" ] && break; sleep 0.1; done
[ -S "$QSD_SOCK" ] || { echo "qemu-storage-daemon did not start:"; cat "$WORK/qsd.log"; exit 1; }
LIBISCSI="nbd+unix:///lun1?socket=$QSD_SOCK"

# Fill the LUN once so reads hit written blocks on both sides.
fio --name=fill --ioengine=nbd --uri="$OURS" --rw=write --bs=1m --iodepth=8 --size=256M >/dev/null 2>&1

echo "iSCSI/TCP on loopback, tgtd, LUN on tmpfs; fio --ioengine=nbd, ${BENCH_RUNTIME} s per run"
printf '%-24s %12s %12s %8s   %12s %12s %8s\n' workload "ours IOPS" "libiscsi" ratio "ours MB/s" "libiscsi" ratio
while read -r label rw bs qd; do
    read -r oi ob ol <<<"$(fio_nbd ours "$OURS" "$rw" "$bs" "$qd")"
    read -r li lb ll <<<"$(fio_nbd libiscsi "$LIBISCSI" "$rw" "$bs" "$qd")"
    printf '%-24s %12s %12s %8s   %12.1f %12.1f %8s   (mean lat us: ours %s, libiscsi %s)\n' "$label" "$oi" "$li" "$(ratio "$oi" "$li")" \
        "$(python3 -c "print($ob/1024)")" "$(python3 -c "print($lb/1024)")" "$(ratio "$ob" "$lb")" "$ol" "$ll"
done < <(bench_workloads)

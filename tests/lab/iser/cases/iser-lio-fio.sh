#!/usr/bin/env bash
# fio through iserd's NBD socket over iSER to LIO, data verified with crc32c:
# writes of exactly 8 KiB (all immediate data), 1 MiB writes (8 KiB immediate + RDMA Read of
# the rest), and a random mix 4 KiB..1 MiB at queue depth 64; then 4k randread IOPS at QD32.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_case_end EXIT

lab_need fio
lab_rxe_up
iqn=$(lab_lio_target fio --size 128M) || lab_die "LIO target failed"
iser_daemon_up
uri=$(iser_login_nbd "$LAB_ADDR1" "$iqn") || lab_die "login over iSER failed"

run_fio() {  # NAME fio-options...
  local name=$1; shift
  fio --name="$name" --ioengine=nbd --uri="$uri" --eta=never --output-format=json --output="$ISER_WORK/$name.json" "$@" ||
    { cat "$ISER_WORK/$name.json" >&2 || true; lab_die "fio $name failed"; }
  local errs
  errs=$(jq '[.jobs[].error] | add' "$ISER_WORK/$name.json")
  [ "$errs" = 0 ] || lab_die "fio $name reported error $errs"
  lab_log "fio $name: write $(jq '.jobs[0].write.iops | floor' "$ISER_WORK/$name.json") IOPS $(jq '.jobs[0].write.bw_bytes / 1e6 | floor' "$ISER_WORK/$name.json") MB/s, read $(jq '.jobs[0].read.iops | floor' "$ISER_WORK/$name.json") IOPS $(jq '.jobs[0].read.bw_bytes / 1e6 | floor' "$ISER_WORK/$name.json") MB/s"
}

run_fio write8k --rw=randwrite --bs=8k --size=16M --iodepth=16 --verify=crc32c --verify_fatal=1 --do_verify=1
run_fio write1m --rw=write --bs=1M --size=64M --iodepth=8 --verify=crc32c --verify_fatal=1 --do_verify=1
run_fio mixqd64 --rw=randwrite --bssplit=4k/30:8k/20:64k/20:256k/20:1M/10 --size=96M --iodepth=64 \
  --verify=crc32c --verify_fatal=1 --do_verify=1
run_fio randread4k --rw=randread --bs=4k --size=128M --iodepth=32 --time_based --runtime=10

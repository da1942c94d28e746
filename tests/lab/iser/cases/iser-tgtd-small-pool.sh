#!/usr/bin/env bash
# tgtd over iSER with a small RDMA pool. Evidence (tgt 1.0.97 usr/iscsi/iser.c, and the
# iser-tgtd case's tgtd log): at the first iSER connection tgtd allocates its RDMA buffer pool,
# 1 GiB by default (pool_sz_mb), with shmget(SHM_HUGETLB) - "iser_alloc_pool shmget rdma pool
# sz:1073741824 failed" (no huge pages in the VM) - then valloc(1 GiB) and ibv_reg_mr of all of
# it on rxe; meanwhile the connection request stays in CONNECT state (never accepted), so an
# initiator's rdma_connect times out. Here tgtd gets `--iser pool_sz_mb=64` (tgt raises any value
# below 128 to 128 MiB, which registers in time).
#
# Why SendTargets listed nothing and the login got 0x0203 (target not found) with no log line:
# Debian 12 ships tgt 1.0.85, whose iSER login (usr/iscsi/iser_text.c, iser_login_start) and
# iSER SendTargets (iser_target_list_build) require BOTH the initiator-address ACL and the
# initiator-name ACL to match, while its TCP login (iscsid.c login_start) accepts either. With
# only `--initiator-address ALL` bound, the (empty) initiator-name ACL rejects every iSER
# initiator, kernel or ours, silently. tgt fixed this in 1.0.95 (commit b73c64d, "Fix IP and
# initiator ACL testing logic to allow undefined initiator name ACL"). The workaround here: bind
# the initiator name as well. Then discovery, login, nbdcopy and fio verify run against tgtd.
set -uo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
# tgtd lingers on SIGTERM while it has targets: delete them and the system first, and wait, so
# the next case's tgtd can take rdma_cm port 3260.
end() {
  rc=$?
  if [ -n "${tpid:-}" ]; then
    tgtadm -C 7 --mode target --op delete --force --tid 1 >/dev/null 2>&1
    tgtadm -C 7 --mode system --op delete >/dev/null 2>&1
    kill "$tpid" 2>/dev/null
    lab_wait_for 10 "the small-pool tgtd to exit" lab_pid_gone "$tpid" || kill -9 "$tpid" 2>/dev/null
  fi
  iser_case_end
  return $rc
}
trap end EXIT

lab_need tgtd tgtadm
lab_rxe_up
mkdir -p /run/tgt-small && truncate -s 32M /run/tgt-small/lun1.img
iqn=iqn.2024-01.lab.tgt:small-pool
setsid tgtd -f -C 7 --iser pool_sz_mb=64 --iscsi "portal=$LAB_ADDR2:3260" >"$ISER_WORK/tgtd.log" 2>&1 </dev/null &
tpid=$!
lab_wait_for 20 "tgtd to answer" tgtadm -C 7 --mode system --op show || { cat "$ISER_WORK/tgtd.log"; lab_die "tgtd did not start"; }
tgtadm -C 7 --lld iser --mode target --op new --tid 1 --targetname "$iqn" || lab_die "tgtadm new target"
tgtadm -C 7 --lld iser --mode logicalunit --op new --tid 1 --lun 1 --backing-store /run/tgt-small/lun1.img || lab_die "tgtadm lun"
tgtadm -C 7 --lld iser --mode target --op update --tid 1 --name ImmediateData --value Yes
tgtadm -C 7 --lld iser --mode target --op bind --tid 1 --initiator-address ALL || lab_die "tgtadm bind"
tgtadm -C 7 --lld iser --mode target --op bind --tid 1 --initiator-name "$LAB_INITIATOR_IQN" || lab_die "tgtadm bind name"
ISERD_LOG_LEVEL=debug iser_daemon_up
show_logs() { tail -n 25 "$ISER_WORK/iserd.log"; tail -n 25 "$ISER_WORK/tgtd.log"; }
out=$(iserctl discover "$LAB_ADDR1" --transport iser 2>&1) || { show_logs; lab_die "discovery over iSER to tgtd failed: $out"; }
echo "$out"
echo "$out" | grep -q "$iqn" || { show_logs; lab_die "SendTargets over iSER to tgtd did not list $iqn"; }
out=$(iserctl login --portal "$LAB_ADDR1" --target "$iqn" --transport iser --frontend nbd-server --nbd-socket "$ISER_WORK/small.sock" 2>&1) ||
  { show_logs; lab_die "login over iSER to tgtd failed: $out"; }
uri=$(echo "$out" | grep -o 'nbd+unix://[^ ]*' | head -n 1) || lab_die "no NBD URI in: $out"
lab_log "tgtd over iSER: logged in, $uri"
head -c 16M /dev/urandom >"$ISER_WORK/src"
nbdcopy "$ISER_WORK/src" "$uri" && nbdcopy "$uri" "$ISER_WORK/back" || { show_logs; lab_die "nbdcopy to tgtd over iSER failed"; }
cmp "$ISER_WORK/src" <(head -c 16M "$ISER_WORK/back") || lab_die "tgtd over iSER: data read back differs"
lab_log "tgtd (pool 128 MiB) over iSER: 16 MiB round trip identical"
if command -v fio >/dev/null; then
  # Up to 512 KiB: tgtd's iSER RDMA buffers are buf_sz_kb=512 by default, and a larger write
  # ("rdma-rd size:1040384 too big" in its log) makes it close the connection (E2BIG) on every
  # retry; seen, then tgtd crashed (SIGSEGV) after a few such reconnects.
  fio --name=tgtd-verify --ioengine=nbd --uri="$uri" --rw=randwrite --bssplit=4k/40:64k/30:512k/30 --size=24M \
    --iodepth=32 --verify=crc32c --verify_fatal=1 --do_verify=1 --eta=never --output-format=json \
    --output="$ISER_WORK/tgtd-fio.json" || { show_logs; lab_die "fio verify against tgtd over iSER failed"; }
  [ "$(jq '[.jobs[].error] | add' "$ISER_WORK/tgtd-fio.json")" = 0 ] || lab_die "fio verify against tgtd reported errors"
  lab_log "tgtd over iSER: fio crc32c verify 4k-512k QD32 OK"
fi
iserctl logout --target "$iqn" || lab_die "logout from tgtd failed"
exit 0

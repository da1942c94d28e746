#!/usr/bin/env bash
# Lab self-test: tgtd with an iSER target (registered on rxe0) and a TCP target with mutual
# CHAP; the kernel initiator logs in to the TCP one (it cannot log in to tgtd over iSER, see
# docs/lab.md).
set -euo pipefail
source "$LAB_LIB/lab.sh"
trap lab_reset EXIT

lab_rxe_up
iser_iqn=$(lab_tgtd_iser tgt-iser --luns 2 --size 16M --param ImmediateData=Yes) || lab_die "tgtd iSER target failed"
tgtadm --lld iser --mode target --op show | grep -q "Target 1: $iser_iqn" || lab_die "tgtd does not list $iser_iqn"
[ "$(tgtadm --lld iser --mode target --op show | grep -c 'Type: disk')" = 2 ] || lab_die "tgtd iSER target lacks its 2 disks"
tgtadm --lld iser --mode target --op show --tid 1 | grep -q 'ImmediateData=Yes' || lab_die "ImmediateData=Yes not applied"
if rdma resource show cm_id 2>/dev/null | grep -q 'src-addr-port 3260\|:3260'; then
  lab_log "tgtd: iSER listener on rdma_cm port 3260"
else
  rdma resource show cm_id >&2 || true
  lab_die "tgtd has no rdma_cm listener on port 3260"
fi

chap=tgt-user:tgt-secret-123 mutual=tgt-target:tgt-secret-456
tcp_iqn=$(lab_tgtd_iser tgt-tcp --lld iscsi --tid 2 --luns 1 --size 8M --block-size 4096 \
  --chap "$chap" --mutual-chap "$mutual") || lab_die "tgtd TCP target failed"
disk=$(lab_kernel_login "$tcp_iqn" "$LAB_ADDR2:3260" --transport tcp --chap "$chap" --mutual-chap "$mutual") ||
  lab_die "TCP login (mutual CHAP) to tgtd failed"
[ "$(blockdev --getss "$disk")" = 4096 ] || lab_die "tgtd disk has $(blockdev --getss "$disk")-byte blocks, wanted 4096"
lab_log "tgtd: iSER target $iser_iqn registered; TCP target $tcp_iqn is $disk"

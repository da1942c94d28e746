#!/usr/bin/env bash
# Lab self-test: LIO with a plain TCP portal on a non-default port; kernel iscsi_tcp login.
set -euo pipefail
source "$LAB_LIB/lab.sh"
trap lab_reset EXIT

lab_rxe_up
iqn=$(lab_lio_target tcp --tcp "$LAB_ADDR1:3262" --size 16M) || lab_die "target setup failed"
disk=$(lab_kernel_login "$iqn" "$LAB_ADDR1:3262" --transport tcp) || lab_die "TCP login failed"
iscsiadm -m session | grep -q "^tcp: .* $iqn" || lab_die "the session to $iqn is not over TCP"
head -c 1M /dev/urandom >/tmp/tcp-pattern
dd if=/tmp/tcp-pattern of="$disk" bs=64k oflag=direct status=none
cmp <(dd if="$disk" bs=64k count=16 iflag=direct status=none) /tmp/tcp-pattern || lab_die "read back differs"
lab_log "tcp: 1 MiB written and read back over iscsi_tcp on port 3262"

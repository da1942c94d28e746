#!/usr/bin/env bash
# The lab's smoke test (run inside the VM: tests/lab/run tests/lab/smoke.sh). It proves the whole
# fabric works: Soft-RoCE, a LIO target with an iSER portal, the kernel's ib_iser initiator, and
# that 16 MiB of random data written with O_DIRECT reads back identical.
set -euo pipefail
source "$LAB_LIB/lab.sh"
trap lab_reset EXIT

lab_rxe_up
iqn=$(lab_lio_target smoke --size 64M) || lab_die "could not create the LIO target"
disk=$(lab_kernel_login "$iqn" "$LAB_ADDR1:3260" --transport iser) || lab_die "kernel iSER login failed"
lab_log "smoke: $iqn is $disk ($(blockdev --getsize64 "$disk") bytes)"
iscsiadm -m session | grep -q "^iser: .* $iqn" || lab_die "the session to $iqn is not over iSER"

pattern=/tmp/smoke-pattern
head -c 16M /dev/urandom >"$pattern"
dd if="$pattern" of="$disk" bs=1M oflag=direct status=none || lab_die "writing 16 MiB to $disk failed"
dd if="$disk" of=/tmp/smoke-readback bs=1M count=16 iflag=direct status=none || lab_die "reading $disk back failed"
want=$(sha256sum <"$pattern" | cut -d' ' -f1)
got=$(sha256sum </tmp/smoke-readback | cut -d' ' -f1)
[ "$want" = "$got" ] || lab_die "data read back differs: wrote sha256 $want, read $got"
lab_log "smoke: 16 MiB written and read back over iSER, sha256 $want"

lab_kernel_logout "$iqn"
lab_lio_teardown smoke
lab_log "smoke: PASS"

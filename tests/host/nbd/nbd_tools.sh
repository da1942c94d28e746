#!/usr/bin/env bash
# Host test of the NBD FRONTEND on a MEMORY disk: nbd_memory_server serves a MemoryBackend over
# a unix socket and real NBD clients (nbdinfo, nbdcopy, qemu-img, fio) are run against it.
# This proves the NBD protocol server works with the clients people use; it says nothing about
# end-to-end iSCSI/iSER behaviour (no target, no session is involved here).
# Usage: nbd_tools.sh PATH/TO/nbd_memory_server
# Exit 77 (SKIP) when a client tool is missing, unless ISER_NO_SKIP=1 (then it fails).
set -euo pipefail

server_bin=${1:?usage: nbd_tools.sh PATH/TO/nbd_memory_server}
size_mib=64
name=lun0

skip() {
  if [ "${ISER_NO_SKIP:-0}" = 1 ]; then echo "FAIL (ISER_NO_SKIP=1): $*" >&2; exit 1; fi
  echo "SKIP: $*"; exit 77
}
fail() { echo "FAIL: $*" >&2; [ -f "${work:-}/server.log" ] && sed 's/^/server: /' "$work/server.log" >&2; exit 1; }
step() { echo "== $*"; }

for tool in nbdinfo nbdcopy qemu-img fio jq sha256sum; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup installs libnbd-bin, qemu-utils, fio, jq)"
done
fio --enghelp 2>/dev/null | grep -qw nbd || skip "this fio has no nbd ioengine"

work=$(mktemp -d /tmp/nbd-tools.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

sock=$work/nbd.sock
uri="nbd+unix:///$name?socket=$sock"
"$server_bin" "$sock" "$name" "$size_mib" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "server did not create $sock"
[ "$(stat -c %a "$sock")" = 600 ] || fail "socket mode is $(stat -c %a "$sock"), expected 600"

step "nbdinfo"
nbdinfo --json "$uri" >"$work/info.json" || fail "nbdinfo failed"
export_json='.exports[0]'
check() { # jq expression, expected value
  local got; got=$(jq -r "$export_json | $1" "$work/info.json")
  [ "$got" = "$2" ] || fail "nbdinfo: $1 = $got, expected $2"
}
check '."export-size"' $((size_mib << 20))
check '."block_size_minimum"' 512
check '."block_size_preferred"' 4096
check '."block_size_maximum"' 1048576
check '.can_multi_conn' true
check '.can_flush' true
check '.can_fua' true
check '.can_trim' true
check '.can_zero' true
check '.is_read_only' false
nbdinfo --list "nbd+unix://?socket=$sock" | grep -q "export=\"\\?$name" || nbdinfo --list "nbd+unix://?socket=$sock" | grep -q "$name" \
  || fail "nbdinfo --list does not show $name"

step "nbdcopy: $size_mib MiB random pattern round trip"
head -c $((size_mib << 20)) /dev/urandom >"$work/src.bin"
nbdcopy "$work/src.bin" "$uri" || fail "nbdcopy to the server failed"
nbdcopy "$uri" "$work/back.bin" || fail "nbdcopy from the server failed"
[ "$(sha256sum <"$work/src.bin")" = "$(sha256sum <"$work/back.bin")" ] || fail "nbdcopy round trip differs"
# Single connection, many requests in flight, small requests.
nbdcopy --connections=1 --requests=64 --request-size=65536 "$uri" "$work/back1.bin" || fail "nbdcopy -C 1 failed"
cmp -s "$work/src.bin" "$work/back1.bin" || fail "nbdcopy single-connection read differs"

step "qemu-img info / convert"
qemu-img info --output=json "$uri" >"$work/qinfo.json" || fail "qemu-img info failed"
[ "$(jq -r '."virtual-size"' "$work/qinfo.json")" = $((size_mib << 20)) ] || fail "qemu-img virtual-size wrong"
qemu-img convert -f raw -O raw "$uri" "$work/conv.raw" || fail "qemu-img convert from NBD failed"
cmp -s "$work/src.bin" "$work/conv.raw" || fail "qemu-img convert read differs"
head -c $((size_mib << 20)) /dev/urandom >"$work/src2.bin"
qemu-img convert -n -f raw -O raw "$work/src2.bin" "$uri" || fail "qemu-img convert to NBD failed"
nbdcopy "$uri" "$work/back2.bin"
cmp -s "$work/src2.bin" "$work/back2.bin" || fail "qemu-img convert write differs"
# Zeroes: qemu-img writes an all-zero image with WRITE_ZEROES/TRIM.
head -c $((size_mib << 20)) /dev/zero >"$work/zero.bin"
qemu-img convert -n -f raw -O raw "$work/zero.bin" "$uri" || fail "qemu-img convert of zeroes failed"
nbdcopy "$uri" "$work/back3.bin"
cmp -s "$work/zero.bin" "$work/back3.bin" || fail "disk not zero after converting a zero image"

step "fio verify=crc32c, bssplit 4k..1M"
for depth in 1 8 32; do
  fio --name=nbd-verify-qd$depth --ioengine=nbd --uri="$uri" --rw=randwrite \
      --bssplit=4k/30:16k/20:64k/20:256k/20:1m/10 --iodepth=$depth --size=$((size_mib << 20)) \
      --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 \
      --output="$work/fio-$depth.log" >/dev/null 2>&1 || { cat "$work/fio-$depth.log" >&2; fail "fio iodepth=$depth failed"; }
  grep -q "err= 0" "$work/fio-$depth.log" || { cat "$work/fio-$depth.log" >&2; fail "fio iodepth=$depth reported errors"; }
done
# Mixed reads and writes at depth 16 with verification of everything written.
fio --name=nbd-mixed --ioengine=nbd --uri="$uri" --rw=randrw --rwmixread=50 \
    --bssplit=4k/40:64k/40:1m/20 --iodepth=16 --size=$((size_mib << 20)) --io_size=$((128 << 20)) \
    --verify=crc32c --verify_backlog=64 --verify_fatal=1 \
    --output="$work/fio-mixed.log" >/dev/null 2>&1 || { cat "$work/fio-mixed.log" >&2; fail "fio randrw failed"; }

step "shutdown"
kill -TERM "$server_pid"
wait "$server_pid" || fail "server exited with an error"
server_pid=
[ -e "$sock" ] && fail "socket not unlinked on shutdown"
if grep -Eq 'error|warning' "$work/server.log"; then fail "server logged errors"; fi
echo "PASS: nbdinfo, nbdcopy, qemu-img and fio against the NBD frontend on a memory disk"

#!/usr/bin/env bash
# Builds the lab's initramfs: static busybox, the few modules needed to reach the host's / over
# virtio-9p and to stack an overlay on it (decompressed: busybox insmod cannot read .ko.xz),
# and initramfs-init as /init.
set -euo pipefail

kdir=${1:?usage: build-initramfs.sh KERNEL_DIR KVER OUTPUT}
kver=${2:?}
out=${3:?}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
busybox=/bin/busybox

file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
  ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable' ||
  { echo "lab: $busybox is not static; install busybox-static (scripts/setup)" >&2; exit 1; }

stage=$(mktemp -d "$(dirname "$out")/.initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,proc,sys,dev,modules}
chmod 755 "$stage"
cp "$busybox" "$stage/bin/busybox"
cp "$here/initramfs-init" "$stage/init"
chmod 755 "$stage/init"

# Module load order, dependencies first, each module once; built-in ones are skipped.
for want in 9p 9pnet_virtio overlay; do
  modprobe -d "$kdir" -S "$kver" --show-depends "$want" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
  name=$(basename "$path"); name=${name%.xz}; name=${name%.ko}
  case "$path" in
    *.xz) xz -dc "$path" >"$stage/modules/$name.ko" ;;
    *) cp "$path" "$stage/modules/$name.ko" ;;
  esac
  echo "$name" >>"$stage/modules/order"
done
[ -s "$stage/modules/order" ] || { echo "lab: no 9p/overlay modules found in $kdir" >&2; exit 1; }

(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"

#!/usr/bin/env bash
# Makes Debian's packaged 6.12 kernel ready for the lab VM and prints the folder it lives in.
# The host kernel has no ublk/RDMA/loadable modules; Debian's 6.12 has them all (6.1 lacks ublk).
# The newest linux-image-6.12.*+deb12-amd64 the archive lists is used, so nothing is pinned.
# Layout: CACHE/kernel/KVER/{boot/vmlinuz-KVER,lib/modules/KVER/ (modules decompressed),.lab-ready}
# Exit status: 0 ready, 77 when no such kernel package can be had here (the lab then SKIPs).
set -euo pipefail

cache=${1:?usage: prepare-kernel.sh CACHE_DIR}
mkdir -p "$cache/kernel"

newest_listed() {
  apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
    awk '{print $1}' | { grep -Ev -- '-(unsigned|dbg|rt|cloud)' || true; } | sort -V | tail -n 1
}

newest_cached() {
  local d
  for d in "$cache"/kernel/*/.lab-ready; do if [ -e "$d" ]; then basename "$(dirname "$d")"; fi; done | sort -V | tail -n 1
}

pkg=$(newest_listed)
if [ -z "$pkg" ]; then
  # Nothing listed: prefer a kernel already cached over a trip to the archive.
  kver=$(newest_cached)
  if [ -n "$kver" ]; then echo "$cache/kernel/$kver"; exit 0; fi
  echo "lab: no linux-image-6.12 package listed; running apt-get update" >&2
  apt-get update -qq >&2 || true
  pkg=$(newest_listed)
fi
if [ -z "$pkg" ]; then
  echo "lab: no linux-image-6.12.*+deb12-amd64 package in the Debian archive reachable here" >&2
  exit 77
fi

kver=${pkg#linux-image-}
dir=$cache/kernel/$kver
if [ -e "$dir/.lab-ready" ]; then echo "$dir"; exit 0; fi

echo "lab: fetching $pkg (once; cached in $cache/kernel)" >&2
work=$(mktemp -d "$cache/kernel/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2); then
  echo "lab: 'apt-get download $pkg' failed" >&2
  exit 77
fi
dpkg -x "$work"/*.deb "$work/root"
modroot=$work/root
# bookworm packages put modules in /lib; a merged-/usr package would use /usr/lib.
if [ ! -d "$modroot/lib/modules/$kver" ] && [ -d "$modroot/usr/lib/modules/$kver" ]; then
  mkdir -p "$modroot/lib/modules"
  mv "$modroot/usr/lib/modules/$kver" "$modroot/lib/modules/"
fi
[ -f "$modroot/boot/vmlinuz-$kver" ] || { echo "lab: $pkg has no boot/vmlinuz-$kver" >&2; exit 1; }
# Modules stored decompressed: xz under emulation costs seconds per modprobe in the VM.
find "$modroot/lib/modules/$kver" -name '*.ko.xz' -print0 | xargs -0 -r -P "$(nproc)" -n 100 xz -d
depmod -b "$modroot" "$kver"
rm -rf "$dir"
mv "$modroot" "$dir"
touch "$dir/.lab-ready"
echo "$dir"

# Helpers for lab cases that drive our initiator (build/iserd + build/iserctl) inside the VM.
# Source after "$LAB_LIB/lab.sh". ISER_BUILD_DIR (carried into the VM) names the build to test.
BUILD_DIR=${ISER_BUILD_DIR:-$(cd "$LAB_DIR/../.." && pwd)/build}
ISERD=$BUILD_DIR/iserd
ISERCTL=$BUILD_DIR/iserctl
export ISERD_SOCKET=/run/iser/iserd.sock

iser_start() {  # iser_start [ISERD OPTION...]
    [ -x "$ISERD" ] && [ -x "$ISERCTL" ] || lab_die "$ISERD or $ISERCTL is not built"
    mkdir -p /run/iser
    "$ISERD" --foreground --socket "$ISERD_SOCKET" --initiator-name "$LAB_INITIATOR_IQN" "$@" >>/tmp/iserd.log 2>&1 &
    ISERD_PID=$!
    lab_wait_for 10 "iserd's control socket" test -S "$ISERD_SOCKET"
}

iser_stop() {
    "$ISERCTL" logout --all >/dev/null 2>&1 || true
    [ -n "${ISERD_PID:-}" ] && kill "$ISERD_PID" 2>/dev/null && wait "$ISERD_PID" 2>/dev/null
    ISERD_PID=
}

iser_cleanup() {
    local rc=$?
    iser_mem_sampler_stop
    if [ $rc -ne 0 ] && [ -f /tmp/iserd.log ]; then
        echo "--- iserd.log (tail)"; tail -n 30 /tmp/iserd.log
    fi
    iser_stop
    lab_reset
    exit $rc
}

# A file tree with known checksums: write_tree DIR, then verify_tree DIR.
write_tree() {
    local dir=$1 i
    mkdir -p "$dir/a/b" "$dir/c"
    for i in $(seq 1 20); do head -c $((i * 37 * 1024)) /dev/urandom >"$dir/a/b/f$i"; done
    head -c 8M /dev/urandom >"$dir/c/big"
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/tmp/tree.sha256
}
verify_tree() { (cd "$1" && sha256sum --quiet -c /tmp/tree.sha256); }

no_ublk_devices_left() {
    ! ls /dev/ublkb* /dev/ublkc* >/dev/null 2>&1
}

# write_two_target_conf FILE all|fast-only FAST_MOUNT SLOW_MOUNT [FAST_EXTRA_LINE]: the iser.yaml
# of the apply and systemd tests. Target "fast" is LIO over iSER at $lio_iqn ($LAB_ADDR1:3261, all
# LUNs); target "slow" is tgtd over TCP at $tgt_iqn ($LAB_ADDR2:3260, LUN 1), left out by
# fast-only. FAST_MOUNT/SLOW_MOUNT are the flow-map fields after "target, lun" (mountpoint,
# fstype, ...); FAST_EXTRA_LINE is one more key of the fast target (e.g. "timeouts: {...}").
write_two_target_conf() {
    local file=$1 which=$2 fast_mount=$3 slow_mount=$4 fast_extra=${5:-}
    {
        cat <<YAML
# written by $(basename "$0")
targets:
  - name: fast
    iqn: $lio_iqn
    portals: ["$LAB_ADDR1:3261"]
    transport: iser
    luns: all
    device: {frontend: ublk}
YAML
        [ -z "$fast_extra" ] || echo "    $fast_extra"
        [ "$which" = fast-only ] || cat <<YAML
  - name: slow
    iqn: $tgt_iqn
    portals: ["$LAB_ADDR2:3260"]
    transport: tcp
    luns: [1]
YAML
        echo "mounts:"
        echo "  - {target: fast, lun: 0, $fast_mount}"
        [ "$which" = fast-only ] || echo "  - {target: slow, lun: 1, $slow_mount}"
    } >"$file"
}

device_of() {  # device_of IQN LUN: the path iserd ($ISERCTL) serves it on, or nothing
    "$ISERCTL" list --json | jq -r --arg t "$1" --argjson l "$2" '.sessions[] | select(.target == $t) | .luns[] | select(.lun == $l) | .path'
}
source_of() { findmnt -n -o SOURCE --mountpoint "$1" || true; }   # source_of MOUNTPOINT

# iserd's memory over a case, for the caps iserd(8) states: iser_mem_sampler_start FILE writes
# "VmPin VmRSS" (KiB) of iserd every 0.2 s until iser_mem_sampler_stop; iser_mem_peaks FILE
# prints "peak_pin peak_rss". iser_cleanup stops a sampler left running.
ISER_MEM_SAMPLER=''
iser_kib_of() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
iser_mem_sampler_start() {
    (while kill -0 "$ISERD_PID" 2>/dev/null; do
        echo "$(iser_kib_of "$ISERD_PID" VmPin) $(iser_kib_of "$ISERD_PID" VmRSS)"
        sleep 0.2
    done) >"$1" &
    ISER_MEM_SAMPLER=$!
}
iser_mem_sampler_stop() {
    [ -n "$ISER_MEM_SAMPLER" ] || return 0
    kill "$ISER_MEM_SAMPLER" 2>/dev/null || true
    wait "$ISER_MEM_SAMPLER" 2>/dev/null || true
    ISER_MEM_SAMPLER=''
}
iser_mem_peaks() { awk '$1 > p { p = $1 } $2 > r { r = $2 } END { print p + 0, r + 0 }' "$1"; }

#!/usr/bin/env bash
# Many targets and many LUNs on one host (#15), in one boot:
# 8 targets x 8 LUNs, mixed: 4 LIO targets over iSER and 4 tgtd targets over TCP, logged in
# by 8 iserctl at once. All 64 attach as ublk devices; fio crc32c verify on all 64 at once;
# iserd's pinned memory and RSS, sampled throughout, stay under sessions x --io-memory plus the
# overhead iserd(8) states; one logout --all removes every device.
# (256 LUNs on one target: ublk-many-luns.sh.)
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_cleanup EXIT
lab_modprobe ublk_drv
lab_rxe_up

per_target=8 io_memory_mib=4
iqns=() transports=() portals=()
# LIO's iSER portal on 3261: tgtd's own iSER listener takes rdma_cm port 3260 on every address.
for i in 1 2 3 4; do
    iqns+=("$(lab_lio_target "lio$i" --iser "$LAB_ADDR1:3261" --luns $per_target --size 8M)") || lab_die "LIO target $i failed"
    transports+=(iser) portals+=("$LAB_ADDR1:3261")
done
for i in 1 2 3 4; do
    iqns+=("$(lab_tgtd_iser "tgt$i" --lld iscsi --tid "$i" --luns $per_target --size 8M)") || lab_die "tgtd target $i failed"
    transports+=(tcp) portals+=("$LAB_ADDR2")
done
iser_start --io-memory ${io_memory_mib}M
iser_mem_sampler_start /tmp/mem-targets.samples
t0=$(date +%s%N)
pids=()
for i in "${!iqns[@]}"; do
    "$ISERCTL" login --portal "${portals[$i]}" --target "${iqns[$i]}" --transport "${transports[$i]}" \
        >"/tmp/login-$i.out" 2>"/tmp/login-$i.err" &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || lab_die "login to ${iqns[$i]} failed: $(cat "/tmp/login-$i.err")"
done
attach_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
devs=()
for i in "${!iqns[@]}"; do
    mapfile -t got <"/tmp/login-$i.out"
    [ ${#got[@]} -eq $per_target ] || lab_die "${iqns[$i]}: expected $per_target devices, got ${#got[@]}"
    devs+=("${got[@]}")
done
total=$(( ${#iqns[@]} * per_target ))
[ "$(printf '%s\n' "${devs[@]}" | sort -u | wc -l)" = $total ] || lab_die "the $total devices are not distinct"
for d in "${devs[@]}"; do [[ $d =~ ^/dev/ublkb[0-9]+$ ]] && [ -b "$d" ] || lab_die "'$d' is not a ublk device"; done
listed=$("$ISERCTL" list --json | jq '[.sessions[].luns[]] | length')
[ "$listed" = $total ] || lab_die "iserctl list shows $listed LUNs, not $total"
queues=$(ls -d /sys/block/"$(basename "${devs[0]}")"/mq/*/ | wc -l)
lab_log "$total LUNs of ${#iqns[@]} targets (4 iSER, 4 TCP) attached by ${#iqns[@]} iserctl at once in $attach_ms ms; $queues queues per device; iserd holds $(ls /proc/$ISERD_PID/fd | wc -l) fds"
args=()
for d in "${devs[@]}"; do args+=(--name="$(basename "$d")" --filename="$d"); done
fio --ioengine=io_uring --direct=1 --rw=randwrite --bs=4k-128k --iodepth=4 --size=2M \
    --verify=crc32c --verify_fatal=1 --do_verify=1 --eta=never --group_reporting "${args[@]}" >/tmp/fio-targets.log 2>&1 \
    || { tail -n 30 /tmp/fio-targets.log; lab_die "fio verify on all $total devices failed"; }
lab_log "fio crc32c verify on all $total devices at once: OK"
iser_mem_sampler_stop
read -r max_pin max_rss < <(iser_mem_peaks /tmp/mem-targets.samples)
# The contract (iserd(8), RESOURCES): a session per target and queue, each with its pool; pinned
# memory is at most sessions x --io-memory plus the fixed overhead (about 2.5 MiB per iSER
# session), RSS at most that plus 72 MiB. TCP sessions pin nothing.
sessions=$(( ${#iqns[@]} * queues ))
iser_sessions=$(( 4 * queues ))
cap_kib=$(( sessions * io_memory_mib * 1024 ))
pin_limit=$(( iser_sessions * (io_memory_mib * 1024 + 3 * 1024 + per_target * 12) ))
lab_log "iserd peak VmPin ${max_pin} kB (limit ${pin_limit} kB: $iser_sessions iSER sessions x (${io_memory_mib} MiB + 3 MiB + $per_target x 12 KiB)), VmRSS ${max_rss} kB (limit: $sessions sessions x ${io_memory_mib} MiB + 72 MiB)"
[ "$max_pin" -le "$pin_limit" ] || lab_die "VmPin ${max_pin} kB is over $pin_limit kB"
[ "$max_rss" -le $(( cap_kib + 72 * 1024 )) ] || lab_die "VmRSS ${max_rss} kB is over the cap plus 72 MiB"
t0=$(date +%s%N)
"$ISERCTL" logout --all >/dev/null
logout_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
no_ublk_devices_left || lab_die "ublk devices left after logout"
lab_log "logout --all of $total LUNs on ${#iqns[@]} targets in $logout_ms ms; no device left"
iser_stop
for i in 1 2 3 4; do lab_lio_teardown "lio$i"; done
lab_tgtd_stop


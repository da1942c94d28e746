#!/usr/bin/env bash
# Soak (issue #6), run INSIDE the lab VM: `make soak` or tests/lab/run bench/soak.sh [SECONDS].
# fio random writes with continuous crc32c verify (verify_backlog) on ext4 over our iSER ublk
# device, while a fault is injected every ISER_SOAK_PERIOD seconds, in turn: LIO portal group
# disabled for 5 s, iserd SIGKILLed and restarted (and the rxe link deleted and re-added with
# ISER_SOAK_LINK=1). Bounded: at
# most 600 s of I/O, then it stops by itself and prints I/Os done, faults injected, reconnects
# and verify errors (which must be 0).
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$LAB_DIR/initiator/lib.sh"
source "$LAB_DIR/faults/lib.sh"
trap iser_cleanup EXIT
duration=${1:-${ISER_SOAK_SECONDS:-300}}
[ "$duration" -le 600 ] || duration=600
period=${ISER_SOAK_PERIOD:-30}
lab_modprobe ublk_drv
lab_rxe_up
iqn=$(lab_lio_target soak --iser "$LAB_ADDR1:3260" --size 1G)
tpg=/sys/kernel/config/target/iscsi/$iqn/tpgt_1
iser_start
dev=$(fault_attach iser "$iqn" --nop-interval 2s --nop-timeout 2s)
fault_mount "$dev" ext4

fio --name=soak --filename="$FAULT_MNT/soak.dat" --size=256M --ioengine=io_uring --direct=1 --rw=randwrite \
    --bssplit=4k/50:16k/20:64k/20:256k/10 --iodepth=16 --verify=crc32c --verify_backlog=512 \
    --verify_fatal=1 --verify_state_save=0 --time_based --runtime="$duration" --randrepeat=0 \
    --eta=never --output-format=json --output=/tmp/soak-fio.json >/dev/null 2>&1 &
fio_pid=$!

faults=0 restarts=0 reconnects_before_restart=0
end=$(( $(date +%s) + duration - period / 2 ))
# The rxe link fault blocks today (rdma link delete waits while a session holds the device):
# only with ISER_SOAK_LINK=1.
kinds=(portal iserd)
[ "${ISER_SOAK_LINK:-0}" = 1 ] && kinds+=(link)
while [ "$(date +%s)" -lt "$end" ] && kill -0 "$fio_pid" 2>/dev/null; do
    sleep "$period"
    [ "$(date +%s)" -lt "$end" ] || break
    kind=${kinds[$((faults % ${#kinds[@]}))]}
    case $kind in
        portal)
            echo 0 >"$tpg/enable"; sleep 5; echo 1 >"$tpg/enable" ;;
        link)
            timeout 60 rdma link delete "$LAB_RDMA_DEV" || lab_die "rdma link delete hung"
            sleep 3
            rdma link add "$LAB_RDMA_DEV" type rxe netdev dummy0
            lab_wait_for 20 "$LAB_RDMA_DEV ACTIVE" _lab_rxe_active || lab_die "rxe did not come back" ;;
        iserd)
            reconnects_before_restart=$((reconnects_before_restart + $(fault_reconnects "$dev")))
            kill -9 "$ISERD_PID"; wait "$ISERD_PID" 2>/dev/null || true
            restarts=$((restarts + 1))
            sleep 2
            iser_start
            lab_wait_for 120 "iserd to take $dev over" bash -c "'$ISERCTL' list | grep -q '$dev'" ||
                lab_die "iserd did not take $dev over" ;;
    esac
    faults=$((faults + 1))
    lab_log "soak: fault $faults ($kind) injected and cleared"
done
rc=0
wait "$fio_pid" || rc=$?
reconnects=$((reconnects_before_restart + $(fault_reconnects "$dev")))
read -r ios errors < <(jq -r '[.jobs[0].write.total_ios + .jobs[0].read.total_ios, .jobs[0].error] | @tsv' /tmp/soak-fio.json)
verified=$(jq -r '.jobs[0].read.total_ios' /tmp/soak-fio.json)
fault_check_fs "$dev" ext4
"$ISERCTL" logout --device "$dev"
echo "soak: ${duration}s, I/Os done $ios (verify reads $verified), faults injected $faults, reconnects $reconnects, iserd restarts $restarts, verify errors $errors, fio status $rc"
[ "$rc" = 0 ] && [ "$errors" = 0 ] && [ "$verified" -gt 0 ] || lab_die "soak failed"

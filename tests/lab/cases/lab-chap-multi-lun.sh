#!/usr/bin/env bash
# Lab self-test: LIO over iSER on the second address with mutual CHAP, 2 LUNs of 4096-byte
# blocks, a CmdSN depth and UNMAP; the kernel initiator logs in, and a wrong secret is refused.
set -euo pipefail
source "$LAB_LIB/lab.sh"
trap lab_reset EXIT

chap=lab-user:initiator-secret-1 mutual=lab-target:target-secret-22
lab_rxe_up
iqn=$(lab_lio_target chap --luns 2 --size 32M --block-size 4096 --iser "$LAB_ADDR2:3260" \
  --chap "$chap" --mutual-chap "$mutual" --cmdsn-depth 16) || lab_die "target setup failed"
depth=$(cat "/sys/kernel/config/target/iscsi/$iqn/tpgt_1/acls/$LAB_INITIATOR_IQN/cmdsn_depth")
[ "$depth" = 16 ] || lab_die "ACL cmdsn_depth is $depth, wanted 16"

mapfile -t disks < <(lab_kernel_login "$iqn" "$LAB_ADDR2" --luns 2 --chap "$chap" --mutual-chap "$mutual")
[ ${#disks[@]} -eq 2 ] || lab_die "wanted 2 disks, got ${#disks[@]}: ${disks[*]}"
for d in "${disks[@]}"; do
  [ "$(blockdev --getss "$d")" = 4096 ] || lab_die "$d has $(blockdev --getss "$d")-byte blocks, wanted 4096"
  [ "$(blockdev --getsize64 "$d")" = $((32 << 20)) ] || lab_die "$d is not 32 MiB"
done
sd=$(basename "${disks[0]}")
mode=$(cat /sys/block/"$sd"/device/scsi_disk/*/provisioning_mode)
[ "$mode" = unmap ] || [ "$mode" = writesame_16 ] || lab_die "$sd is not thin-provisioned (provisioning_mode $mode)"
# 4 MiB: within LIO's limits whichever command sd picks (it may pick WRITE SAME(16) + UNMAP,
# limited to max_write_same_len blocks).
blkdiscard -o 0 -l 4M "${disks[0]}" || lab_die "blkdiscard ($mode) on ${disks[0]} failed"
lab_log "chap: mutual CHAP login ok, disks ${disks[*]} with 4096-byte blocks, discard via $mode ok"
lab_kernel_logout "$iqn"

# One attempt: by default open-iscsi retries a refused login 8 times, 15 s each.
if (lab_kernel_login "$iqn" "$LAB_ADDR2" --chap lab-user:wrong-secret-123 --timeout 10 \
      --set node.session.initial_login_retry_max=1) >/dev/null 2>&1; then
  lab_die "login with a wrong CHAP secret succeeded"
fi
lab_log "chap: wrong secret refused"

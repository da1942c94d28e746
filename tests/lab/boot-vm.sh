#!/usr/bin/env bash
# boot-vm.sh KERNEL_DIR KVER INITRD JOB_FILE CONSOLE_LOG PIDFILE TIMEOUT_S
# Boots the lab VM once: streams its serial console (CRs and terminal escapes removed) to
# stdout and CONSOLE_LOG, kills QEMU after TIMEOUT_S seconds. Exit status: QEMU's, or 124
# when it was killed for time.
set -uo pipefail
kdir=$1 kver=$2 initrd=$3 job=$4 console=$5 pidfile=$6 timeout_s=$7
lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

append="console=ttyS0 panic=-1 quiet labmods=$kdir/lib/modules/$kver labinit=$lab_dir/guest-init.sh labjob=$job ${ISER_LAB_APPEND:-}"
# -nic none: without it QEMU adds a user-mode NIC that reaches outside the machine.
# No -enable-kvm: the host's nested KVM faults on this kernel. TCG with one host thread per
# vCPU by default; ISER_LAB_TCG_THREAD=single trades speed for fewer emulation races.
timeout -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel "tcg,thread=${ISER_LAB_TCG_THREAD:-multi}" -cpu max -m 3072 -smp 2 \
  -nographic -nic none -no-reboot \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" -append "$append" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -pidfile "$pidfile" </dev/null 2>&1 |
  sed -u -e 's/\r$//' -e 's/\x1b\[[?0-9;]*[a-zA-Z]//g' -e 's/\x1bc//g' | tee "$console"
exit "${PIPESTATUS[0]}"

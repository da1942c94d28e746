#!/bin/bash
# PID 1 of the lab VM once the initramfs has switched to the overlay over the host's /.
# Mounts what a normal system has, runs the job the runner described (script, arguments,
# working folder, environment), prints its exit status as a marker line the runner parses,
# and powers the VM off.
# With LAB_JOB_SYSTEMD=1 in the job (tests/lab/run carries it), it hands PID 1 to the host's
# real systemd instead, which boots lab-job.target: the basic system plus lab-job.service, which
# runs this script again as "guest-init.sh --systemd-job" to run the job the same way.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LC_ALL=C

power_off() {
  sync
  sleep 0.3            # let the serial console drain before the machine stops
  echo o >/proc/sysrq-trigger
  sleep 30
}
finish() {
  echo "LAB-EXIT-STATUS=$1"
  power_off
}

job=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^labjob=//p' | tail -n 1)
if [ -z "$job" ] || [ ! -r "$job" ]; then
  echo "lab-guest: job file '${job}' not readable" >&2
  finish 125
fi
# shellcheck source=/dev/null
source "$job"   # sets LAB_JOB_CWD, LAB_JOB_ARGV and exports the caller's ISER_*/LAB_* settings

run_job() {
  echo "lab-guest: up after $(cut -d' ' -f1 /proc/uptime) s of kernel time; running ${LAB_JOB_ARGV[*]}"
  cd "$LAB_JOB_CWD" || finish 125
  started=$(date +%s.%N)
  if [ -x "${LAB_JOB_ARGV[0]}" ]; then
    "${LAB_JOB_ARGV[@]}"
  else
    bash "${LAB_JOB_ARGV[@]}"
  fi
  status=$?
  ended=$(date +%s.%N)
  cd /
  if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
    echo "lab-guest: --- last kernel messages ---"
    dmesg | tail -n 40
  fi
  echo "lab-guest: script exited with status $status after $(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }') s"
  finish "$status"
}

# Under systemd: lab-job.service runs this. systemd has mounted /run, /dev/shm, configfs etc.
if [ "${1:-}" = --systemd-job ]; then
  mkdir -p /run/lock /run/lab
  # sys-kernel-config.mount normally did it; LIO's helpers need it either way.
  mountpoint -q /sys/kernel/config || { modprobe configfs && mount -t configfs configfs /sys/kernel/config; }
  export LAB_IN_VM=1 LAB_SYSTEMD=1
  run_job
fi

# A fresh /tmp, unless the job itself lives under the host's /tmp (hiding it would break the job).
fresh_tmp() {
  case "$LAB_JOB_CWD/ ${LAB_JOB_ARGV[0]} $job" in
    /tmp/*|*" /tmp/"*) echo "lab-guest: job lives under /tmp; keeping the host's /tmp (writes stay in the VM)" ;;
    *) mount -t tmpfs -o mode=1777 tmp /tmp ;;
  esac
}

if [ "${LAB_JOB_SYSTEMD:-0}" = 1 ]; then
  # The overlay's /etc is the VM's own: these writes never reach the host.
  units=/etc/systemd/system
  mkdir -p "$units"
  # The host's fstab and enabled units describe the host: no mounts of its disks, no iscsid or
  # open-iscsi logins, no timers, gettys or time sync (slow under TCG, useless here).
  echo "# lab VM: / is the overlay set up by the initramfs" >/etc/fstab
  echo lab >/etc/hostname
  for u in getty@tty1.service serial-getty@ttyS0.service console-getty.service getty.target \
           open-iscsi.service iscsid.service iscsid.socket tgt.service systemd-timesyncd.service \
           systemd-pstore.service timers.target apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
           e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer postgresql.service \
           systemd-networkd-wait-online.service NetworkManager-wait-online.service networking.service \
           systemd-networkd.service ifupdown-wait-online.service systemd-firstboot.service \
           systemd-random-seed.service systemd-update-utmp.service systemd-logind.service \
           systemd-journal-flush.service systemd-hwdb-update.service ldconfig.service \
           systemd-binfmt.service proc-sys-fs-binfmt_misc.automount; do
    ln -sf /dev/null "$units/$u"
  done
  # systemd-tmpfiles-setup.service empties /tmp at boot ("D /tmp" in tmpfiles.d/tmp.conf). /tmp
  # is already fresh (fresh_tmp below), or is the host's because the job lives there: either
  # way it must be kept as it is, or a checkout under /tmp loses its scripts before the job runs.
  mkdir -p /etc/tmpfiles.d
  echo "d /tmp 1777 root root -" >/etc/tmpfiles.d/tmp.conf
  cat >"$units/lab-job.target" <<UNIT
[Unit]
Description=Lab VM: the basic system and the lab job
Requires=basic.target lab-job.service
After=basic.target
AllowIsolate=yes
UNIT
  cat >"$units/lab-job.service" <<UNIT
[Unit]
Description=Lab job (tests/lab/run)
After=basic.target

[Service]
Type=exec
ExecStart=/bin/bash $0 --systemd-job
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/console
TTYReset=no
TTYVHangup=no
# run_job reports the status and powers off itself. Reaching this means the job never got that
# far (its script missing, bash killed, ...): report it and power off now, so the runner does not
# wait out ISER_LAB_TIMEOUT on an idle VM.
ExecStopPost=/bin/sh -c 'echo "lab-guest: lab-job.service ended without reporting (result \$\$SERVICE_RESULT, status \$\$EXIT_STATUS)"; case "\$\$EXIT_STATUS" in ""|0|*[!0-9]*) s=125;; *) s=\$\$EXIT_STATUS;; esac; echo "LAB-EXIT-STATUS=\$\$s"; sync; sleep 0.3; echo o >/proc/sysrq-trigger'
UNIT
  fresh_tmp
  hostname lab
  echo "lab-guest: up after $(cut -d' ' -f1 /proc/uptime) s of kernel time; starting systemd"
  exec /lib/systemd/systemd --unit=lab-job.target --show-status=false --log-level=notice --log-target=console
fi

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/lock /run/lab
fresh_tmp
modprobe configfs && mount -t configfs configfs /sys/kernel/config
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname lab
ip link set lo up
ln -sf /proc/self/fd /dev/fd 2>/dev/null
export LAB_IN_VM=1

run_job

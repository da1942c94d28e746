#!/bin/bash
# PID 1 of the lab VM once the initramfs has switched to the overlay over the host's /.
# Mounts what a normal system has, runs the job the runner described (script, arguments,
# working folder, environment), prints its exit status as a marker line the runner parses,
# and powers the VM off.
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

mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/lock /run/lab
# A fresh /tmp, unless the job itself lives under the host's /tmp (hiding it would break the job).
case "$LAB_JOB_CWD/ ${LAB_JOB_ARGV[0]} $job" in
  /tmp/*|*" /tmp/"*) echo "lab-guest: job lives under /tmp; keeping the host's /tmp (writes stay in the VM)" ;;
  *) mount -t tmpfs -o mode=1777 tmp /tmp ;;
esac
modprobe configfs && mount -t configfs configfs /sys/kernel/config
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
hostname lab
ip link set lo up
ln -sf /proc/self/fd /dev/fd 2>/dev/null
export LAB_IN_VM=1

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

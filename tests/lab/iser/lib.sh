# Helpers for the iSER lab cases (sourced after $LAB_LIB/lab.sh, inside the VM).
# ISER_BUILD: the build folder holding iserd and iserctl (the suite sets it).
: "${ISER_BUILD:?ISER_BUILD must name the build folder with iserd and iserctl}"
ISER_WORK=${ISER_WORK:-/run/iser-lab}
export ISERD_SOCKET=$ISER_WORK/iserd.sock
mkdir -p "$ISER_WORK"

# iser_daemon_up: start iserd in the foreground (background job), wait for its socket.
iser_daemon_up() {
  rm -f "$ISERD_SOCKET"
  "$ISER_BUILD/iserd" --foreground --socket "$ISERD_SOCKET" --log-level "${ISERD_LOG_LEVEL:-info}" \
    --initiator-name "$LAB_INITIATOR_IQN" >"$ISER_WORK/iserd.log" 2>&1 &
  echo $! >"$ISER_WORK/iserd.pid"
  lab_wait_for 20 "iserd's control socket" test -S "$ISERD_SOCKET" || { lab_tail_log "$ISER_WORK/iserd.log"; lab_die "iserd did not start"; }
}

# iser_daemon_down: ask iserd to exit; expect it gone within 20 s.
iser_daemon_down() {
  lab_pid_alive "$ISER_WORK/iserd.pid" || return 0
  "$ISER_BUILD/iserctl" shutdown >/dev/null 2>&1 || true
  lab_wait_for 20 "iserd to exit" bash -c "! kill -0 $(cat "$ISER_WORK/iserd.pid") 2>/dev/null" || lab_stop_pid "$ISER_WORK/iserd.pid"
  rm -f "$ISER_WORK/iserd.pid"
}

iserctl() { "$ISER_BUILD/iserctl" "$@"; }

# iser_login_nbd PORTAL IQN: log in over iSER with the nbd-server frontend; print the URI(s).
iser_login_nbd() {
  local out
  out=$(iserctl login --portal "$1" --target "$2" --transport iser --frontend nbd-server --nbd-socket "$ISER_WORK/${2##*:}.sock" 2>&1) || {
    echo "$out" >&2; lab_tail_log "$ISER_WORK/iserd.log"; return 1; }
  echo "$out" | grep -o 'nbd+unix://[^ ]*'
}

# iser_elapsed_mbs BYTES START_NS: MB/s since START_NS (date +%s%N).
iser_mbs() { awk -v b="$1" -v s="$2" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", b / ((e - s) / 1e9) / 1e6 }'; }

# iser_case_end: EXIT trap of every case: on failure show iserd's log and the kernel's target
# messages, then stop iserd and undo the lab setup.
iser_case_end() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    lab_tail_log "$ISER_WORK/iserd.log" 60
    dmesg | grep -iE 'isert|iscsi|rxe|target' | tail -n 30 >&2
  fi
  iser_daemon_down
  lab_reset
  return "$rc"
}

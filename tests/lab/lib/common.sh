# Small shared pieces of the lab helpers: messages, failing, waiting, module loading.
# State that must survive subshells ($(...) captures) lives in files under LAB_STATE.

LAB_STATE=${LAB_STATE:-/run/lab}
LAB_INITIATOR_IQN=${LAB_INITIATOR_IQN:-iqn.2024-01.lab.iser:initiator}
mkdir -p "$LAB_STATE"

# lab_log MESSAGE...: one line on stderr, stamped with the VM's uptime.
lab_log() { printf '[lab %7s] %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*" >&2; }

# lab_die MESSAGE...: log and exit 1 (from a $(...) capture this ends only the capture; the
# helpers that print a value also return non-zero, so `x=$(helper) || exit 1` works).
lab_die() { lab_log "FAIL: $*"; exit 1; }

# lab_skip REASON: exit 77 (SKIP), or 1 when ISER_NO_SKIP=1 forbids skipping.
lab_skip() {
  if [ "${ISER_NO_SKIP:-0}" = 1 ]; then lab_log "FAIL (ISER_NO_SKIP=1 forbids a skip): $*"; exit 1; fi
  lab_log "SKIP: $*"
  exit 77
}

# lab_wait_for SECONDS WHAT CMD [ARGS...]: run CMD every 0.2 s until it succeeds; after
# SECONDS, log "timed out waiting for WHAT" and return 1.
lab_wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then lab_log "timed out after ${seconds} s waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# lab_modprobe MODULE...: load the modules (one modprobe: every process start is slow under
# emulation) or fail naming them.
lab_modprobe() {
  modprobe -a "$@" || lab_die "modprobe -a $* failed (kernel $(uname -r))"
}

# lab_need TOOL...: fail clearly when a host tool the helpers need is missing.
lab_need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || lab_die "'$t' is not installed on the host (scripts/setup)"; done
}

# lab_tail_log FILE [LINES]: show the end of a daemon's log after a failure.
lab_tail_log() {
  [ -s "$1" ] || return 0
  lab_log "--- last lines of $1 ---"
  tail -n "${2:-20}" "$1" >&2
}

# lab_pid_alive PIDFILE: is the process recorded there still running?
lab_pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# lab_pid_gone PID: has that process ended?
lab_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# lab_stop_pid PIDFILE: TERM, wait up to 10 s, then KILL; removes the pid file.
lab_stop_pid() {
  local pidfile=$1 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    lab_wait_for 10 "pid $pid to exit" lab_pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

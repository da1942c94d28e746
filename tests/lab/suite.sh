#!/usr/bin/env bash
# suite.sh CASE... : run several lab test cases in ONE VM boot (boots cost tens of seconds).
#   tests/lab/run tests/lab/suite.sh tests/lab/smoke.sh cases/foo.sh bar
# A CASE is a script path, or a NAME found as tests/lab/cases/NAME.sh. Each runs in its own
# process (bash CASE) with a time limit (ISER_LAB_CASE_TIMEOUT, default 600 s); between cases
# lab_reset removes sessions, targets and daemons the helpers made, so cases start clean.
# Exit: 0 when every case passed or skipped (77 when all skipped), 1 when any failed.
set -uo pipefail
source "$LAB_LIB/lab.sh" || exit 1
[ $# -ge 1 ] || lab_die "usage: suite.sh CASE..."

case_timeout=${ISER_LAB_CASE_TIMEOUT:-600}
passed=() failed=() skipped=()
for case_arg in "$@"; do
  path=$case_arg
  [ -f "$path" ] || path=$LAB_DIR/cases/$case_arg.sh
  name=$(basename "$path" .sh)
  if [ ! -f "$path" ]; then
    lab_log "suite: no case '$case_arg' (neither a file nor $LAB_DIR/cases/$case_arg.sh)"
    failed+=("$name"); continue
  fi
  echo "=== CASE $name: start"
  start=$(date +%s.%N)
  timeout -k 5 "$case_timeout" bash "$path"
  rc=$?
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  case $rc in
    0) verdict=PASS; passed+=("$name") ;;
    77) verdict=SKIP; skipped+=("$name") ;;
    124) verdict="FAIL (timed out after ${case_timeout} s)"; failed+=("$name") ;;
    *) verdict="FAIL (status $rc)"; failed+=("$name") ;;
  esac
  echo "=== CASE $name: $verdict in ${took} s"
  (lab_reset) || { lab_log "suite: cleaning up after $name failed"; failed+=("$name (cleanup)"); }
done

echo "=== SUITE: ${#passed[@]} passed, ${#skipped[@]} skipped, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ] || exit 1
[ ${#passed[@]} -gt 0 ] || exit 77
exit 0

# lab_reset: undo whatever the helpers set up (sessions, iscsid, LIO targets, tgtd), keeping
# rxe0. Between test cases of one VM boot (tests/lab/suite.sh) and at the end of scripts.
lab_reset() {
  if lab_pid_alive "$LAB_STATE/iscsid.pid"; then
    if iscsiadm -m session >/dev/null 2>&1; then lab_kernel_logout; fi   # status 21: no sessions
    lab_iscsid_stop
  fi
  lab_lio_teardown
  lab_tgtd_stop
  return 0
}

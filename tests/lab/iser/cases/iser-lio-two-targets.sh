#!/usr/bin/env bash
# Two iSER sessions at once (two LIO targets on the same portal): parallel 32 MiB round trips,
# then logout of each and no session left.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_case_end EXIT

lab_need nbdcopy sha256sum
lab_rxe_up
a=$(lab_lio_target twin-a --size 32M) || lab_die "LIO target a failed"
b=$(lab_lio_target twin-b --size 32M) || lab_die "LIO target b failed"
iser_daemon_up
ua=$(iser_login_nbd "$LAB_ADDR1" "$a") || lab_die "login to $a failed"
ub=$(iser_login_nbd "$LAB_ADDR1" "$b") || lab_die "login to $b failed"
iserctl list
head -c 32M /dev/urandom >"$ISER_WORK/a.src"
head -c 32M /dev/urandom >"$ISER_WORK/b.src"
start=$(date +%s%N)
nbdcopy "$ISER_WORK/a.src" "$ua" & pa=$!
nbdcopy "$ISER_WORK/b.src" "$ub" & pb=$!
wait $pa || lab_die "write to $a failed"
wait $pb || lab_die "write to $b failed"
lab_log "two sessions: 2 x 32 MiB written in parallel at $(iser_mbs 67108864 "$start") MB/s total"
nbdcopy "$ua" "$ISER_WORK/a.back" & pa=$!
nbdcopy "$ub" "$ISER_WORK/b.back" & pb=$!
wait $pa && wait $pb || lab_die "read back failed"
cmp "$ISER_WORK/a.src" "$ISER_WORK/a.back" || lab_die "target a data differs"
cmp "$ISER_WORK/b.src" "$ISER_WORK/b.back" || lab_die "target b data differs"
cmp -s "$ISER_WORK/a.back" "$ISER_WORK/b.back" && lab_die "both sessions returned the same data"
iserctl logout --target "$a" || lab_die "logout of $a failed"
iserctl logout --target "$b" || lab_die "logout of $b failed"
left=$(iserctl list 2>&1 || true)
echo "$left" | grep -q "$a\|$b" && lab_die "sessions left after logout: $left"
lab_log "two sessions: data intact, both logged out"

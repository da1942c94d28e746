#!/usr/bin/env bash
# iserd over iSER to LIO (isert): discovery, login with the NBD socket frontend, a 64 MiB
# nbdcopy round trip compared by sha256, small all-immediate writes and 1 MiB writes
# (immediate + RDMA Read), logout.
set -euo pipefail
source "$LAB_LIB/lab.sh"
source "$(dirname "$0")/../lib.sh"
trap iser_case_end EXIT

lab_need nbdcopy nbdinfo sha256sum
lab_rxe_up
iqn=$(lab_lio_target basic --size 96M) || lab_die "LIO target failed"
iser_daemon_up

out=$(iserctl discover "$LAB_ADDR1" --transport iser 2>&1) || { echo "$out" >&2; lab_tail_log "$ISER_WORK/iserd.log"; lab_die "discovery over iSER failed"; }
echo "$out"
echo "$out" | grep -q "$iqn" || lab_die "discovery over iSER did not list $iqn"

uri=$(iser_login_nbd "$LAB_ADDR1" "$iqn") || lab_die "login over iSER failed"
lab_log "iser: logged in, $uri"
nbdinfo "$uri" | tee "$ISER_WORK/info" | grep -q 'export-size: 100663296' || lab_die "unexpected export size: $(cat "$ISER_WORK/info")"

head -c 64M /dev/urandom >"$ISER_WORK/src"
start=$(date +%s%N)
nbdcopy "$ISER_WORK/src" "$uri"
lab_log "iser: nbdcopy write 64 MiB: $(iser_mbs 67108864 "$start") MB/s"
start=$(date +%s%N)
nbdcopy "$uri" "$ISER_WORK/back"
lab_log "iser: nbdcopy read 96 MiB: $(iser_mbs 100663296 "$start") MB/s"
[ "$(head -c 64M "$ISER_WORK/back" | sha256sum | cut -d' ' -f1)" = "$(sha256sum <"$ISER_WORK/src" | cut -d' ' -f1)" ] ||
  lab_die "64 MiB read back differs from what was written"
lab_log "iser: 64 MiB round trip identical (sha256)"

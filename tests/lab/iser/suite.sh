#!/usr/bin/env bash
# iSER datamover lab suite, run INSIDE the lab VM in one boot:
#   tests/lab/run tests/lab/iser/suite.sh BUILD_DIR [CASE...]
# BUILD_DIR holds iserd and iserctl. Cases are tests/lab/iser/cases/*.sh (default: all).
set -uo pipefail
source "$LAB_LIB/lab.sh" || exit 1
build=${1:?usage: suite.sh BUILD_DIR [CASE...]}; shift
[ -x "$build/iserd" ] && [ -x "$build/iserctl" ] || lab_die "$build has no iserd/iserctl (build the iserd and iserctl targets)"
export ISER_BUILD=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cases=()
if [ $# -eq 0 ]; then
  for c in "$here"/cases/*.sh; do cases+=("$c"); done
else
  for c in "$@"; do [ -f "$c" ] && cases+=("$c") || cases+=("$here/cases/$c.sh"); done
fi
exec bash "$LAB_DIR/suite.sh" "${cases[@]}"

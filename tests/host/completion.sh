#!/usr/bin/env bash
# The bash completion (completion/iserctl.bash) against a real iserd holding a real session
# (tgtd over TCP on 127.0.0.1, NBD socket frontend): the devices and targets it offers for
# logout, rescan, stats and wait are the ones `iserctl list` shows, an IQN typed up to and past
# its ':' completes (readline breaks words at ':' and '='), and --socket given on the line is
# the iserd asked. Each <TAB> is simulated the way bash does it: COMP_WORDS split at
# COMP_WORDBREAKS, COMP_LINE, COMP_POINT, then the _iserctl function, under bash-completion
# (as installed) and without it. The option lists are checked by tests/unit/cli/completion_flags.sh.
source "$(dirname "$0")/lib/common.sh"
require_tools tgtd tgtadm
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
[ -f "$BASH_COMPLETION" ] || skip "bash-completion is not installed (scripts/setup)"
COMPLETION=$(cd "$(dirname "$0")/../.." && pwd)/completion/iserctl.bash
start_tgtd || exit 1
IQN=iqn.2026-11.org.example:complete-me
add_target 1 $IQN 32M || exit 1
start_iserd || exit 1
PORTAL=127.0.0.1:$TGTD_PORT

# tab [--plain] LINE: the candidates bash would offer at the end of LINE, one per line, sorted.
# --plain: without bash-completion loaded.
tab() {
    local with=1
    [ "$1" = --plain ] && { with=0; shift; }
    bash --norc --noprofile -c '
        [ "$1" = 1 ] && source "$2"
        source "$3"
        COMP_LINE=$4
        COMP_POINT=${#COMP_LINE}
        # Split like readline: at blanks, and each run of ":" or "=" is a word of its own.
        COMP_WORDS=()
        for w in $COMP_LINE; do
            while [[ $w =~ ^([^:=]*)([:=]+)(.*)$ ]]; do
                [ -n "${BASH_REMATCH[1]}" ] && COMP_WORDS+=("${BASH_REMATCH[1]}")
                COMP_WORDS+=("${BASH_REMATCH[2]}")
                w=${BASH_REMATCH[3]}
            done
            [ -n "$w" ] && COMP_WORDS+=("$w")
        done
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _iserctl
        printf "%s\n" "${COMPREPLY[@]}"
    ' tab "$with" "$BASH_COMPLETION" "$COMPLETION" "$*" | grep . | sort
}

expect() {  # expect EXPECTED ACTUAL
    [ "$1" = "$2" ] && return 0
    printf 'expected:\n%s\ngot:\n%s\n' "$1" "$2"
    return 1
}

case_login() {
    URI=$("$ISERCTL" login --portal "$PORTAL" --target $IQN --transport tcp --frontend nbd-server 2>/dev/null) || return 1
    echo "$URI"
}

case_targets() {
    expect "$IQN" "$(tab "$ISERCTL" logout --target "")" || return 1
    expect "$IQN" "$(tab "$ISERCTL" rescan --target "")" || return 1
    # Typed up to the ':' and past it: readline replaces only what follows the ':'.
    expect "complete-me" "$(tab "$ISERCTL" logout --target iqn.2026-11.org.example:)" || return 1
    expect "complete-me" "$(tab "$ISERCTL" logout --target iqn.2026-11.org.example:comp)" || return 1
    expect "$IQN" "$(tab "$ISERCTL" logout --target iqn.2026)" || return 1
    # login's --target names a target to log in to: nothing iserd holds is offered.
    expect "" "$(tab "$ISERCTL" login --portal "$PORTAL" --target "")"
}

case_devices() {
    expect "$URI" "$(tab "$ISERCTL" logout --device "")" || return 1
    expect "$URI" "$(tab "$ISERCTL" rescan --device "")" || return 1
    expect "$URI" "$(tab "$ISERCTL" stats "")" || return 1
    expect "$URI" "$(tab "$ISERCTL" stats --format prometheus "")" || return 1
    expect "$(printf '%s\n%s' "$IQN" "$URI" | sort)" "$(tab "$ISERCTL" wait "")"
}

case_without_bash_completion() {
    expect "$IQN" "$(tab --plain "$ISERCTL" logout --target "")" || return 1
    expect "$URI" "$(tab --plain "$ISERCTL" stats "")" || return 1
    expect "$(printf 'iser\ntcp')" "$(tab --plain "$ISERCTL" login --transport "")"
}

case_socket_on_the_line() {
    # No ISERD_SOCKET: only the --socket on the command line leads to this iserd.
    local socket=$ISERD_SOCKET
    expect "$IQN" "$(ISERD_SOCKET= tab "$ISERCTL" --socket "$socket" logout --target "")" || return 1
    expect "" "$(ISERD_SOCKET=$WORK/none.sock tab "$ISERCTL" logout --target "")"
}

case_installed() {
    cmake --install "$BUILD_DIR" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; return 1; }
    cmp "$WORK/prefix/share/bash-completion/completions/iserctl" "$COMPLETION"
}

check "login over TCP with the NBD socket frontend" case_login
check "logout/rescan --target offer the IQN iserd holds, also typed past its ':'" case_targets
check "logout/rescan --device, stats and wait offer the device (and wait the IQN)" case_devices
check "without bash-completion loaded: the same candidates" case_without_bash_completion
check "--socket on the line is the iserd asked" case_socket_on_the_line
check "make install puts it in share/bash-completion/completions/iserctl" case_installed
finish

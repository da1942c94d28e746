#!/usr/bin/env bash
# The bash completion (completion/iserctl.bash) and iserctl itself agree: the commands it
# completes are those `iserctl --help` lists, and for each command the long options it offers
# after "--" are exactly those `iserctl COMMAND --help` lists, less the positional ones (whose
# description ends in "(positional)"). Also the values of the enumerated options. Drives the
# real _iserctl function through COMP_WORDS/COMP_CWORD, as bash does on <TAB>.
# Usage: completion_flags.sh PATH/TO/iserctl PATH/TO/iserctl.bash
set -uo pipefail
ISERCTL=${1:?usage: completion_flags.sh ISERCTL COMPLETION}
COMPLETION=${2:?usage: completion_flags.sh ISERCTL COMPLETION}
[ -x "$ISERCTL" ] || { echo "SKIP: $ISERCTL is not built"; exit 77; }
# shellcheck source=/dev/null
source "$COMPLETION" || exit 1
failed=0

# complete WORD...: the candidates _iserctl gives for the last word, sorted, one per line.
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _iserctl
    printf '%s\n' "${COMPREPLY[@]}" | grep . | sort
}

expect() {  # expect WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
    else
        echo "not ok - $1"
        diff <(echo "$2") <(echo "$3") | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}

# The commands: the lines under "Commands:" in iserctl --help.
help_commands=$("$ISERCTL" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort)
[ -n "$help_commands" ] || { echo "not ok - iserctl --help lists no commands"; exit 1; }
expect "commands" "$help_commands" "$(complete_words "$ISERCTL" "")"
expect "global options" "$(printf -- '--help\n--socket\n--version')" "$(complete_words "$ISERCTL" --)"

for verb in $help_commands; do
    # Option lines start with two spaces, then "-x [ --long ]" or "--long"; wrapped
    # descriptions start further in. A positional option says so in its description.
    help=$("$ISERCTL" "$verb" --help) || { echo "not ok - iserctl $verb --help failed"; failed=$((failed + 1)); continue; }
    from_help=$(awk '
        /^  (-[a-zA-Z] \[ )?--[a-z]/ {
            if (name != "" && !positional) print name
            match($0, /--[a-z][a-z0-9-]*/); name = substr($0, RSTART, RLENGTH); positional = 0
        }
        /\(positional\)/ { positional = 1 }
        END { if (name != "" && !positional) print name }' <<<"$help" | sort)
    expect "$verb: completion options = --help options" "$from_help" "$(complete_words "$ISERCTL" "$verb" --)"
done

expect "--transport values" "$(printf 'iser\ntcp')" "$(complete_words "$ISERCTL" login --transport "")"
expect "discover --transport values" "$(printf 'iser\ntcp')" "$(complete_words "$ISERCTL" discover 192.0.2.1 --transport "")"
expect "--frontend values" "$(printf 'nbd\nnbd-server\nublk')" "$(complete_words "$ISERCTL" login --frontend "")"
expect "--format values" "$(printf 'json\nprometheus\ntext')" "$(complete_words "$ISERCTL" stats --format "")"
expect "--format prefix" "prometheus" "$(complete_words "$ISERCTL" stats --format pr)"
expect "global --socket, then a command" "$help_commands" "$(complete_words "$ISERCTL" --socket /tmp/x.sock "")"
# File names for the secret files: this script's own folder holds this script.
here=$(dirname "$0")
expect "--chap-secret-file completes file names" "$here/completion_flags.sh" \
    "$(complete_words "$ISERCTL" login --chap-secret-file "$here/completion_fl")"
# stats --format must accept every value completion offers, and refuse others in one line.
for f in text json prometheus; do
    "$ISERCTL" stats --format "$f" --help >/dev/null 2>&1 || { echo "not ok - stats --format $f --help"; failed=$((failed + 1)); }
done

[ "$failed" -eq 0 ] && echo "all passed" || echo "$failed failed"
[ "$failed" -eq 0 ]

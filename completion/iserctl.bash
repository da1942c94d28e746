# bash completion for iserctl(8). Installed as share/bash-completion/completions/iserctl, where
# bash-completion loads it on the first <TAB> after "iserctl".
#
# Completes the commands, each command's options (the lists below are checked against
# `iserctl COMMAND --help` by tests/unit/cli/completion_flags.sh, so they cannot drift), the
# values of enumerated options, file names, and the devices and targets iserd holds now (from
# `iserctl list --json`) for logout, rescan, stats and wait.

# The long options of each command, as its --help lists them (without the positional ones,
# which --help also shows: discover's --portal, stats' --device, wait's --which).
_iserctl_options() {
    local common="--socket --help"
    case $1 in
        discover) echo "--transport --json $common" ;;
        login) echo "--portal --target --transport --lun --frontend --nbd-socket --nbd-group --chap-user" \
                    "--chap-secret-file --mutual-user --mutual-secret-file --alt-portal --queues --depth" \
                    "--login-timeout --nop-interval --nop-timeout --command-timeout --replacement-timeout" \
                    "--json $common" ;;
        logout) echo "--target --device --all --json $common" ;;
        list) echo "--json --verbose $common" ;;
        shutdown) echo "--keep-devices $common" ;;
        apply) echo "--config --dry-run --json $common" ;;
        stats) echo "--interval --count --format --json --output $common" ;;
        wait) echo "--timeout --quiet --json $common" ;;
        rescan) echo "--device --target --all --json $common" ;;
    esac
}

_iserctl_commands="discover login logout list shutdown apply stats wait rescan"

# What `iserctl list --json` names: "target" or "path" (devices, NBD URIs). Quietly nothing
# when iserd is not running or iserctl may not run (not root). iserctl waits for iserd without
# a deadline; a <TAB> must not hang the shell, so it gets 2 seconds.
_iserctl_listed() {
    local field=$1
    shift
    local -a limit=()
    command -v timeout >/dev/null 2>&1 && limit=(timeout 2)
    "${limit[@]}" "$@" list --json 2>/dev/null | sed -n 's/^ *"'"$field"'": "\(.*\)",\{0,1\}$/\1/p' | sort -u
}

# readline starts the word to replace after the last ':' or '=' (both in COMP_WORDBREAKS), but
# IQNs and NBD URIs contain them: drop that prefix from the candidates.
_iserctl_trim_breaks() {
    local cur=$1 prefix i
    case $cur in *[:=]*) ;; *) return ;; esac
    [[ $COMP_WORDBREAKS == *:* || $COMP_WORDBREAKS == *=* ]] || return
    prefix=${cur%"${cur##*[:=]}"}
    for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}; done
}

_iserctl() {
    local cur prev words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        # bash-completion: the words with ':' and '=' kept inside them (IQNs, URIs).
        _get_comp_words_by_ref -n := cur prev words cword
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi

    # The iserctl being completed (maybe ./build/iserctl) and the socket it was given, so the
    # device and target lists come from the iserd it will talk to.
    local -a ctl=("${words[0]}")
    command -v -- "${ctl[0]}" >/dev/null 2>&1 || ctl=(iserctl)
    local i verb=""
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == --socket ]]; then
            ((i + 1 < cword)) && ctl+=(--socket "${words[i + 1]}")
            ((i++))
            continue
        fi
        [[ -z $verb && ${words[i]} != -* ]] && verb=${words[i]}
    done

    COMPREPLY=()
    case $prev in
        --socket | --chap-secret-file | --mutual-secret-file | --config | -c | --output | --nbd-socket)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return ;;
        --transport) mapfile -t COMPREPLY < <(compgen -W "iser tcp" -- "$cur"); return ;;
        --frontend) mapfile -t COMPREPLY < <(compgen -W "ublk nbd nbd-server" -- "$cur"); return ;;
        --format) mapfile -t COMPREPLY < <(compgen -W "text json prometheus" -- "$cur"); return ;;
        --nbd-group) mapfile -t COMPREPLY < <(compgen -g -- "$cur"); return ;;
        --target)
            # login's --target is a name to log in to, not one iserd holds.
            if [[ $verb == logout || $verb == rescan ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(_iserctl_listed target "${ctl[@]}")" -- "$cur")
                _iserctl_trim_breaks "$cur"
            fi
            return ;;
        --device)
            if [[ $verb == logout || $verb == rescan ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(_iserctl_listed path "${ctl[@]}")" -- "$cur")
                _iserctl_trim_breaks "$cur"
            fi
            return ;;
        --portal | --alt-portal | --lun | --queues | --depth | --interval | --count | --timeout | \
            --chap-user | --mutual-user | *-timeout | --nop-interval)
            return ;;  # a value only the admin knows
    esac

    if [[ -z $verb ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--socket --version --help" -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$_iserctl_commands" -- "$cur")
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_iserctl_options "$verb")" -- "$cur")
        return
    fi
    # Positional arguments.
    case $verb in
        stats) mapfile -t COMPREPLY < <(compgen -W "$(_iserctl_listed path "${ctl[@]}")" -- "$cur") ;;
        wait)
            mapfile -t COMPREPLY < <(compgen -W "$(_iserctl_listed path "${ctl[@]}") $(_iserctl_listed target "${ctl[@]}")" \
                -- "$cur") ;;
    esac
    _iserctl_trim_breaks "$cur"
}

complete -F _iserctl iserctl

# bash completion for pidshim(1)                          -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Subcommands, each one's options (pidshim(1); tests/test-completion.bash
# fails when one listed by a subcommand's --help is missing here), the
# words an option accepts, signal names, files, and the command that run
# and lock start, completed as that command's own.

_pidshim_signals='HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE
ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH
IO PWR SYS'

# The cluster lock's options (run, lock and status)
_pidshim_cluster_options='--cluster --host --ttl --renew --grace --cacert
--cert --key --user'

# The options of subcommand $1, and those of them that take a separate
# value (the word after them is not an operand).
_pidshim_options()
{
    case $1 in
    run)
        echo '-p --pidfile --no-pidfile -w --wait -E --conflict-exit-code
            -g --guard --guard-wait --guard-scope --guard-mode --lock-style
            --lock-dir --children --daemon-follow --mode --log-file
            -v --verbose -q --quiet --supervise -h --help'
        echo "$_pidshim_cluster_options"
        ;;
    status) echo "-v --verbose -h --help $_pidshim_cluster_options" ;;
    wait) echo '-t --timeout -h --help' ;;
    stop) echo '-s --signal -t --timeout --then -h --help' ;;
    lock)
        echo '-n --nonblock -w --timeout -s --shared -x --exclusive
            -E --conflict-exit-code -v --verbose -h --help'
        echo "$_pidshim_cluster_options"
        ;;
    esac
}

_pidshim_takes_value()
{
    # run's -w/--wait takes its value attached only (--wait=5, -w5)
    case $1:$2 in
    run:-p | run:--pidfile | run:-E | run:--conflict-exit-code | run:-g | \
        run:--guard | run:--guard-wait | run:--guard-scope | \
        run:--guard-mode | run:--lock-style | run:--lock-dir | \
        run:--children | run:--mode | run:--log-file) return 0 ;;
    wait:-t | wait:--timeout) return 0 ;;
    stop:-s | stop:--signal | stop:-t | stop:--timeout | stop:--then) return 0 ;;
    lock:-w | lock:--timeout | lock:-E | lock:--conflict-exit-code) return 0 ;;
    run:--cluster | run:--host | run:--ttl | run:--renew | run:--grace | \
        run:--cacert | run:--cert | run:--key | run:--user) return 0 ;;
    lock:--cluster | lock:--host | lock:--ttl | lock:--renew | \
        lock:--grace | lock:--cacert | lock:--cert | lock:--key | \
        lock:--user) return 0 ;;
    status:--cluster | status:--host | status:--ttl | status:--renew | \
        status:--grace | status:--cacert | status:--cert | status:--key | \
        status:--user) return 0 ;;
    esac
    return 1
}

_pidshim_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
    else
        compopt -o filenames 2>/dev/null
        if [[ ${1-} == -d ]]; then
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
    fi
}

# Commands for run and lock to start (PATH may name a directory twice).
_pidshim_commands()
{
    mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
}

_pidshim_words()
{
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# The value of option $2 of subcommand $1; false when it takes none.
_pidshim_value()
{
    case $1:$2 in
    run:-p | run:--pidfile | run:--log-file | run:-g | run:--guard)
        _pidshim_files
        ;;
    run:--lock-dir) _pidshim_files -d ;;
    *:--cacert | *:--cert | *:--key) _pidshim_files ;;
    *:--cluster | *:--host | *:--ttl | *:--renew | *:--grace | *:--user)
        COMPREPLY=() # a URL list and name, a name, a number
        ;;
    run:--guard-wait) _pidshim_words 'block fail' ;;
    run:--guard-scope) _pidshim_words 'open process' ;;
    run:--guard-mode) _pidshim_words 'exclusive shared-read' ;;
    run:--lock-style) _pidshim_words 'pidshim dotlock uucp' ;;
    run:--children) _pidshim_words 'tree none' ;;
    run:--mode) _pidshim_words '0644 0600 0664 0640' ;;
    stop:-s | stop:--signal | stop:--then)
        if [[ $cur == [Ss][Ii][Gg]* ]]; then
            # shellcheck disable=SC2086 # one word per signal
            _pidshim_words "$(printf 'SIG%s ' $_pidshim_signals)"
        else
            _pidshim_words "$_pidshim_signals"
        fi
        ;;
    *:-E | *:--conflict-exit-code | *:-t | *:--timeout | lock:-w)
        COMPREPLY=() # a number
        ;;
    *) return 1 ;;
    esac
    return 0
}

_pidshim()
{
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null; then
        # false: it completed a redirection or a variable itself; but
        # bash-completion 2.11 (Debian 11) takes the signal TERM before
        # the cursor for the variable TERM and offers terminal names
        if ! _init_completion -s; then
            [[ $prev == TERM ]] || return
            COMPREPLY=()
        fi
    else
        # without bash-completion: readline splits "--opt=value" at "="
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[cword]}
        prev=${COMP_WORDS[cword - 1]-}
        if [[ $cur == = ]]; then
            cur='' split=true
        elif [[ $prev == = ]]; then
            prev=${COMP_WORDS[cword - 2]-} split=true
        fi
    fi

    if ((cword == 1)); then
        if [[ $cur == -* ]]; then
            _pidshim_words '-h --help --version'
        else
            _pidshim_words 'run status wait stop lock'
        fi
        return
    fi
    local sub=${words[1]}
    [[ -n $(_pidshim_options "$sub") ]] || return

    # Options end at "--", at run's COMMAND and at lock's LOCKFILE (what
    # follows is the command's); status, wait and stop take them anywhere.
    # lock --cluster has no LOCKFILE: its first operand is COMMAND
    local i word operands=0 dashdash=false command_at='' cluster=false
    for ((i = 2; i < cword; i++)); do
        word=${words[i]}
        if ! $dashdash; then
            if [[ $word == -- ]]; then
                dashdash=true
                continue
            fi
            if [[ $word == -?* ]]; then
                [[ $word == --cluster* ]] && cluster=true
                _pidshim_takes_value "$sub" "$word" && ((i++))
                continue
            fi
        fi
        ((operands++))
        if [[ $sub == run ]] || [[ $sub == lock && $cluster == true ]]; then
            command_at=$i
            break
        elif [[ $sub == lock ]]; then
            ((i + 1 < cword)) && [[ ${words[i + 1]} == -- ]] && ((i++))
            command_at=$((i + 1))
            break
        fi
    done
    if [[ -n $command_at ]]; then
        if ((command_at < cword)) && declare -F _command_offset >/dev/null; then
            _command_offset "$command_at" # the command's own completion
        elif ((command_at < cword)); then
            _pidshim_files
        else
            _pidshim_commands
        fi
        return
    fi

    if $split || { ! $dashdash && _pidshim_takes_value "$sub" "$prev"; }; then
        _pidshim_value "$sub" "$prev"
        return
    fi
    if ! $dashdash && [[ $cur == -* ]]; then
        _pidshim_words "$(_pidshim_options "$sub")"
        return
    fi
    case $sub in
    run) _pidshim_commands ;;  # COMMAND
    lock) if $cluster; then _pidshim_commands; else _pidshim_files; fi ;;
    *) ((operands == 0)) && _pidshim_files ;; # PIDFILE
    esac
} &&
    complete -F _pidshim pidshim

# ex: filetype=sh

#!/bin/bash
# The bash completion, sourced and asked as bash asks it (COMP_WORDS,
# COMP_CWORD, then the completion function): subcommands, options, the
# words an option accepts, signal names, files and commands; and every
# option a subcommand's --help lists is offered, and nothing it does not
# list (so the completion and the command cannot drift apart). Run once
# with bash-completion's helpers loaded, as an interactive shell has
# them, and once without.
#   test-completion.bash COMPLETION_FILE PIDSHIM
set -u
completion=$1
pidshim=$2
bash_completion=/usr/share/bash-completion/bash_completion

if [[ $# -lt 3 ]]; then
    status=0
    if [[ -f $bash_completion ]]; then
        "$0" "$@" with-helpers || status=1
    else
        echo "skip: with bash-completion's helpers (not installed)"
    fi
    "$0" "$@" plain || status=1
    exit $status
fi
mode=$3
if [[ $mode == with-helpers ]]; then
    # shellcheck source=/dev/null
    . "$bash_completion"
fi
# shellcheck source=/dev/null
. "$completion" || { echo "FAIL: cannot source $completion"; exit 1; }
complete -p pidshim >/dev/null 2>&1 || { echo "FAIL: no completion for pidshim"; exit 1; }
function=$(complete -p pidshim | sed -n 's/.*-F \([^ ]*\).*/\1/p')

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
mkdir somedir
: >app.pid
failed=0

# The words offered for LINE, the cursor at its end (a trailing blank: a
# new, empty word), one a line.
offered() {
    local line=$1
    COMP_LINE=$line
    COMP_POINT=${#line}
    # readline splits words at blanks and, as COMP_WORDBREAKS says, "="
    read -ra COMP_WORDS <<<"${line//=/ = }"
    [[ $line == *' ' ]] && COMP_WORDS+=('')
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    "$function" pidshim "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort -u
}

# expect LINE exactly|includes|excludes WORD...
expect() {
    local line=$1 how=$2 got word
    shift 2
    got=$(offered "$line")
    case $how in
    exactly)
        [[ $got == "$(printf '%s\n' "$@" | sort -u)" ]] ||
            { echo "FAIL [$mode]: '$line' offers {${got//$'\n'/ }}, not exactly {$*}"; failed=1; }
        ;;
    includes | excludes)
        for word; do
            if grep -qx -- "$word" <<<"$got"; then
                [[ $how == includes ]] && continue
            else
                [[ $how == excludes ]] && continue
            fi
            echo "FAIL [$mode]: '$line' offers {${got//$'\n'/ }}: $how $word expected"
            failed=1
        done
        ;;
    esac
}

expect 'pidshim st' exactly status stop
expect 'pidshim ' includes run status wait stop lock
expect 'pidshim -' includes --help --version
expect 'pidshim run --guard-s' exactly --guard-scope
expect 'pidshim run --guard-scope ' exactly open process
expect 'pidshim run --guard-mode ' exactly exclusive shared-read
expect 'pidshim run --guard-wait ' includes block fail
expect 'pidshim run --lock-style ' exactly pidshim dotlock uucp
expect 'pidshim run --children ' exactly tree none
expect 'pidshim run -p /tmp/x --children=t' exactly tree
expect 'pidshim stop -s ' includes TERM KILL HUP INT
expect 'pidshim stop -t 10 --then ' includes TERM KILL
expect 'pidshim stop -s SIGK' exactly SIGKILL
expect 'pidshim stop -s TERM ' includes app.pid somedir
expect 'pidshim status ' includes app.pid
expect 'pidshim status app.pid ' excludes app.pid
expect 'pidshim wait -t 5 app' exactly app.pid
expect 'pidshim lock ' includes app.pid
expect 'pidshim lock -n app.pid slee' includes sleep
expect 'pidshim lock -n app.pid -- slee' includes sleep
expect 'pidshim lock app.pid -' excludes --nonblock
expect 'pidshim run slee' includes sleep
expect 'pidshim run -p app.pid -- slee' includes sleep
expect 'pidshim run -p ' includes app.pid
expect 'pidshim run --lock-dir ' exactly somedir
expect 'pidshim run sleep -' excludes --pidfile
if [[ $mode == with-helpers ]]; then
    # the command's own completion takes over after it
    expect 'pidshim lock app.pid -- ls --al' includes --all
    expect 'pidshim run -- ls --al' includes --all
fi

# ---- every option of each subcommand's --help, and no other -------------
"$pidshim" --help >"$dir/help" || { echo "FAIL: $pidshim --help fails"; exit 1; }
subcommands=$({
    sed -n 's/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' "$dir/help" | grep -vx pidshim
    offered 'pidshim '
} | sort -u)
for sub in $subcommands; do
    if ! grep -q "^  $sub\\b" "$dir/help"; then
        if "$pidshim" "$sub" --help >/dev/null 2>"$dir/err" ||
            [[ $? -ne 64 ]] || ! grep -q 'unknown subcommand' "$dir/err"; then
            echo "FAIL [$mode]: pidshim --help does not list $sub, which it knows"
            failed=1
        else
            echo "skip [$mode]: $sub: not in this pidshim yet"
        fi
        continue
    fi
    expect 'pidshim ' includes "$sub"
    "$pidshim" "$sub" --help >"$dir/sub-help" ||
        { echo "FAIL: pidshim $sub --help fails"; failed=1; continue; }
    # option lines: "  -x, --long ..." or "      --long ..."
    mapfile -t listed < <(grep -Eo '^ +(-[a-zA-Z](, )?)?(--[a-z][a-z0-9-]*)?' \
        "$dir/sub-help" | tr -s ' ,' '\n' | grep . | sort -u)
    [[ ${#listed[@]} -gt 0 ]] || { echo "FAIL: pidshim $sub --help lists no option"; failed=1; }
    expect "pidshim $sub -" exactly "${listed[@]}"
done

[[ $failed -eq 0 ]] || exit 1
echo "ok [$mode]: completion offers what pidshim takes"

#!/bin/sh
# The man pages and the bash completion, as meson install puts them: each
# page is installed and renders without a warning (MANWIDTH=80 man
# --warnings -l); the completion file lies where bash-completion loads it
# and parses; every long option a subcommand's --help lists has its place
# an entry in that subcommand's section of pidshim(1), and every entry
# there is an option --help lists (so the page and the command cannot drift apart); the
# example in pidlock(3) builds against the installed pidlock.pc and runs.
#   test-man.sh BUILD_DIR PIDSHIM COMPLETIONS_DIR [SANITIZERS]
set -eu
build=$1
pidshim=$2
completions=$3
sanitize=${4:-none}
command -v man >/dev/null 2>&1 || { echo "skip: no man (man-db)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
DESTDIR=$dir/root meson install -C "$build" --no-rebuild >"$dir/log" 2>&1 ||
	{ cat "$dir/log"; exit 1; }
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# ---- the pages render without warnings ------------------------------------
for page in man1/pidshim.1 man7/libpidshim.7 man3/pidlock.3; do
	file=$(find "$dir/root" -path "*/man/$page")
	if [ -z "$file" ]; then
		fail "$page not installed"
		continue
	fi
	# man-db's sandbox may be refused in containers; the page is ours
	if ! MANWIDTH=80 MAN_DISABLE_SECCOMP=1 man --warnings -l "$file" \
		>"$dir/out" 2>"$dir/err"; then
		fail "man -l $page fails:"
		cat "$dir/err"
	elif [ -s "$dir/err" ]; then
		fail "man --warnings -l $page warns:"
		cat "$dir/err"
	fi
	grep -q '^NAME' "$dir/out" || fail "$page: no NAME section rendered"
	if grep -n '@[A-Z_]*@' "$file"; then
		fail "$page: a placeholder left unfilled"
	fi
done
man1=$(find "$dir/root" -path '*/man/man1/pidshim.1')
man3=$(find "$dir/root" -path '*/man/man3/pidlock.3')

# ---- the completion file --------------------------------------------------
completion=$dir/root$completions/pidshim
if [ ! -f "$completion" ]; then
	fail "bash completion not installed as $completions/pidshim"
elif ! bash -n "$completion"; then
	fail "bash -n $completion"
fi

# ---- pidshim(1) against each subcommand's --help --------------------------
# The subcommands: those pidshim --help lists, and those the page has a
# section for (a subcommand the binary does not know yet is skipped).
# A section of the page: from ".SS SUB" under COMMANDS to the next heading.
section() {
	awk -v sub_name="$1" '
		/^\.SH/ { in_commands = ($2 == "COMMANDS") ; on = 0; next }
		/^\.SS/ { on = in_commands && $2 == sub_name; next }
		on' "$man1"
}
"$pidshim" --help >"$dir/help" || { echo "FAIL: $pidshim --help fails"; exit 1; }
subcommands=$({
	sed -n 's/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' "$dir/help" |
		grep -vx pidshim
	awk '/^\.SH/ { on = ($2 == "COMMANDS"); next }
	     on && /^\.SS/ { print $2 }' "$man1"
} | sort -u)
[ -n "$subcommands" ] || fail "no subcommands found"
for sub in $subcommands; do
	if ! grep -q "^  $sub\\b" "$dir/help"; then
		if "$pidshim" "$sub" --help >/dev/null 2>"$dir/err" ||
			[ $? -ne 64 ] || ! grep -q 'unknown subcommand' "$dir/err"; then
			fail "pidshim --help does not list $sub, which it knows"
		else
			echo "skip: $sub: not in this pidshim yet"
		fi
		continue
	fi
	"$pidshim" "$sub" --help >"$dir/sub-help" ||
		{ fail "pidshim $sub --help fails"; continue; }
	section "$sub" >"$dir/section"
	[ -s "$dir/section" ] || { fail "pidshim(1) has no section for $sub"; continue; }
	# an option line of --help: "  -x, --long ..." or "      --long ..."
	options=$(sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' \
		"$dir/sub-help")
	[ -n "$options" ] || fail "pidshim $sub --help lists no long option"
	# each option has its entry (a .TP heading) in the section, and each
	# entry is an option this pidshim takes
	awk '/^\.TP/ { getline; print }' "$dir/section" |
		grep -Eo '\\-\\-([a-z0-9]|\\-)*[a-z0-9]' | sed 's/\\//g' |
		sort -u >"$dir/entries"
	printf '%s\n' "$options" | sort -u >"$dir/options"
	where="FAIL: pidshim(1), section $sub:"
	comm -23 "$dir/options" "$dir/entries" |
		sed "s/^/$where no entry for /" >"$dir/extra"
	comm -13 "$dir/options" "$dir/entries" |
		sed "s/^/$where /; s/\$/ is not in pidshim $sub --help/" >>"$dir/extra"
	if [ -s "$dir/extra" ]; then
		cat "$dir/extra"
		failed=1
	fi
done

# ---- pidlock(3)'s example builds and runs ---------------------------------
if command -v pkg-config >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
	pc=$(find "$dir/root" -name pidlock.pc)
	# the first example: between the first .EX/.EE pair of EXAMPLES, roff's
	# escapes undone
	awk '/^\.SH EXAMPLES/ { on = 1 }
	     on && /^\.EE/ { exit }
	     on && ex { print }
	     on && /^\.EX/ { ex = 1 }' "$man3" |
		sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$dir/example.c"
	flags=
	[ "$sanitize" = none ] || flags=-fsanitize=$sanitize
	# shellcheck disable=SC2046,SC2086 # pkg-config's flags are words
	if ! cc $flags -Wall -Werror -o "$dir/example" "$dir/example.c" \
		$(PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_SYSROOT_DIR="$dir/root" \
			pkg-config --cflags --libs pidlock) 2>"$dir/err"; then
		fail "pidlock(3)'s example does not build:"
		cat "$dir/err"
	else
		libdir=$(dirname "$(find "$dir/root" -name 'libpidlock.so.0' | head -n 1)")
		(cd "$dir" && LD_LIBRARY_PATH="$libdir" ./example >"$dir/out") ||
			fail "pidlock(3)'s example fails"
		grep -q 'in some critical function' "$dir/out" ||
			fail "pidlock(3)'s example never reached its critical function"
		ls "$dir"/pid_*.pid 2>/dev/null && fail "pidlock(3)'s example left its PID file"
	fi
else
	echo "skip: pidlock(3)'s example (no cc or pkg-config)"
fi

[ "$failed" -eq 0 ] || exit 1
echo "ok: man pages render clean, completion installed, options match --help"

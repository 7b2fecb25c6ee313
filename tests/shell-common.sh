# Sourced by the shell tests (test-cmd.sh, test-interop.sh, test-run.sh):
# a temporary directory $dir, the processes in $started killed when the
# test ends however it ends, and the checks they share. The test names
# itself in $case.
# shellcheck shell=sh
# the shim's variables as the tests set them, no others (the callers
# have read the test harness's own PIDSHIM_TEST_* by now)
for variable in $(env | sed -n 's/^\(PIDSHIM_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$variable"
done
dir=$(mktemp -d)
chmod 755 "$dir"
started=
case=${case:-}
cleanup() {
	for pid in $started; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	echo "not ok: $case: $*"
	exit 1
}

skip() {
	echo "skip: $case: $*"
	exit 77
}

# PIDSHIM as the tests run it: under a sanitizer build (its runtime
# $1, PIDSHIM_TEST_PRELOAD) a wrapper that puts the runtime first in
# LD_PRELOAD, where pidshim run keeps it (only pidshim: other tools need
# not be preloaded with it); else PIDSHIM itself. Prints the path.
#   pidshim=$(sanitized_pidshim "$sanitizer" "$pidshim")
sanitized_pidshim() {
	if [ -z "$1" ]; then
		echo "$2"
		return
	fi
	cat >"$dir/pidshim" <<SH
#!/bin/sh
case \${LD_PRELOAD:-} in
$1*) ;;
*) LD_PRELOAD=$1\${LD_PRELOAD:+:\$LD_PRELOAD}; export LD_PRELOAD ;;
esac
exec $(realpath "$2") "\$@"
SH
	chmod +x "$dir/pidshim"
	echo "$dir/pidshim"
}

need() {
	command -v "$1" >/dev/null 2>&1 || skip "no $1 (scripts/setup installs it)"
}

# a zombie is not alive: a program that was detached is nobody's child
# here once it ends, and may wait for a reaper
alive() {
	kill -0 "$1" 2>/dev/null &&
		[ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]
}

# up to 10 s for a condition (a command) to hold
within_10s() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt 200 ] || return 1
		sleep 0.05
	done
}

# expect STATUS COMMAND...: the command exits STATUS; its output in
# $dir/out and $dir/err
expect() {
	want=$1
	shift
	got=0
	"$@" >"$dir/out" 2>"$dir/err" || got=$?
	[ "$got" -eq "$want" ] ||
		fail "$* exited $got, expected $want: $(cat "$dir/err")"
}

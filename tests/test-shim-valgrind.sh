#!/bin/sh
# The shim under valgrind, inside real programs: PID file, forks, system(),
# popen(), posix_spawn(), _exit, a guarded open. Any memory error in the
# shim makes valgrind exit 3.
#   test-shim-valgrind.sh SHIM HELPERS_DIR
set -eu
shim=$1
helpers=$2
command -v valgrind >/dev/null 2>&1 || { echo "skip: no valgrind"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

run() {
	LD_PRELOAD=$shim valgrind -q --error-exitcode=3 --leak-check=full \
		--errors-for-leak-kinds=definite --trace-children=no "$@"
}

export PIDSHIM_PIDFILE="$dir/app.pid"
for mode in fork system popen spawn; do
	run "$helpers/child-helper" "$mode" "$PIDSHIM_PIDFILE"
	[ ! -e "$PIDSHIM_PIDFILE" ] || { echo "$mode: PID file left"; exit 1; }
done
status=0
run "$helpers/child-helper" _exit "$PIDSHIM_PIDFILE" || status=$?
[ "$status" -eq 7 ] || { echo "_exit: status $status"; exit 1; }
[ ! -e "$PIDSHIM_PIDFILE" ] || { echo "_exit: PID file left"; exit 1; }

echo data >"$dir/resource"
lock="$dir/.resource.pidshim-lock"
PIDSHIM_GUARD="$dir/resource" PIDSHIM_LOG=debug run cat "$dir/resource" \
	>/dev/null 2>"$dir/log" || { cat "$dir/log"; exit 1; }
grep -qF "taking $lock" "$dir/log" ||
	{ echo "guard not taken"; cat "$dir/log"; exit 1; }
[ ! -e "$lock" ] || { echo "guard lock file left"; exit 1; }
echo "ok: no valgrind errors"

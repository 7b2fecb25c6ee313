#!/bin/sh
# Threads under the shim (libpidshim(7), "Guards"): two copies of
# stress-threads at once, each 8 threads x 625 rounds opening, duplicating
# and closing two guarded counters and an unguarded file (10,000 guarded
# increments in all) while a thread forks and execs and another changes
# signal handlers and signals the openers. No hang (each copy ends itself
# with SIGALRM after 120 s), no leaked descriptor (each copy counts them),
# the counters exact, no lock file left.
# PIDSHIM_STRESS_UNGUARDED=1 runs the copies without the guard: the
# counters then lose increments, and the test fails.
#   test-threads.sh SHIM HELPERS
set -eu
shim=$1
helpers=$2
case=threads
unguarded=${PIDSHIM_STRESS_UNGUARDED:-}
. "$(dirname "$0")/shell-common.sh"

echo 0 >"$dir/guarded-0"
echo 0 >"$dir/guarded-1"
: >"$dir/unguarded"
pattern="$dir/guarded-*"
[ "$unguarded" = 1 ] && pattern=$dir/nothing
pids=
for copy in 1 2; do
	LD_PRELOAD=$shim PIDSHIM_PIDFILE=none PIDSHIM_GUARD=$pattern \
		"$helpers/stress-threads" "$dir" 625 >"$dir/out.$copy" 2>&1 &
	pids="$pids $!"
done
started=$pids
for pid in $pids; do
	st=0
	wait "$pid" || st=$?
	[ $st -eq 0 ] || fail "a copy ended with status $st: $(cat "$dir"/out.*)"
done
cat "$dir"/out.*
for g in 0 1; do
	n=$(cat "$dir/guarded-$g")
	[ "$n" -eq 5000 ] || fail "guarded-$g is $n, expected 5000"
done
[ -z "$(find "$dir" -name '*pidshim-lock')" ] || fail "lock files left"
[ ! -s "$dir/unguarded" ] || fail "the unguarded file was written"
echo "ok: $case"

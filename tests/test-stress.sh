#!/bin/sh
# Stress under the shim, with real programs (libpidshim(7)):
#   starters         16 copies of sleep started at once, 200 rounds: one
#                    runs, every other exits 75 naming its PID (or, when
#                    it had not written it in time, saying the file is held)
#   writers-open     8 python3 writers x 500 read-modify-write increments
#                    of one guarded counter, one open each (scope open):
#                    the total is exact
#   writers-process  the same with a read open then a write open for each
#                    increment, which only scope process keeps whole
#   shared-read      4 writers rewriting a value line by line, and 4
#                    readers (guard mode shared-read) that never see it
#                    half-written; the total is exact
#   test-stress.sh SHIM HELPERS CASE
# Without the guard each counter case loses updates (or a reader sees a
# half-written value): PIDSHIM_STRESS_UNGUARDED=1 runs them so, to see
# the test fail.
set -eu
shim=$1
helpers=$2
case=$3
unguarded=${PIDSHIM_STRESS_UNGUARDED:-}
counter=$(dirname "$0")/helpers/stress-counter.py
. "$(dirname "$0")/shell-common.sh"
need python3

guard=$dir/counter
[ "$unguarded" = 1 ] && guard=$dir/nothing

# start N copies of stress-counter.py MODE ROUNDS under the shim; they
# wait for $dir/go
pids=
start_counters() {
	i=0
	while [ $i -lt "$1" ]; do
		LD_PRELOAD=$shim PIDSHIM_PIDFILE=none PIDSHIM_GUARD=$guard \
			python3 "$counter" "$2" "$dir/counter" "$3" \
			"$dir/ready.$2.$i" "$dir/go" 2>"$dir/err.$2.$i" &
		pids="$pids $!"
		i=$((i + 1))
	done
}

all_ready() {
	[ "$(find "$dir" -name 'ready.*' | wc -l)" -eq "$1" ]
}

# once all N copies have started (python3 starts slowly on a loaded
# machine: up to 60 s), release them at once; each must succeed
release_and_wait() {
	i=0
	until all_ready "$1"; do
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "the copies did not start in 60 s"
		sleep 0.05
	done
	: >"$dir/go"
	for pid in $pids; do
		wait "$pid" || {
			cat "$dir"/err.* >&2
			fail "a copy failed (see above)"
		}
	done
}

total() {
	n=$(head -n 1 "$dir/counter" | tr -d ' ')
	[ "$n" -eq "$1" ] || fail "counter is $n, expected $1 (lost updates)"
}

case $case in
starters)
	"$helpers/stress-starters" "$shim" 200 16 "$dir/sleep.pid" sleep 30 ||
		fail "single instance broke"
	;;
writers-open)
	echo 0 >"$dir/counter"
	export PIDSHIM_GUARD_SCOPE=open
	start_counters 8 rmw 500
	release_and_wait 8
	total 4000
	;;
writers-process)
	echo 0 >"$dir/counter"
	export PIDSHIM_GUARD_SCOPE=process
	start_counters 8 rmw2 500
	release_and_wait 8
	total 4000
	;;
shared-read)
	python3 -c 'import sys; sys.stdout.write("%10d\n" % 0 * 32)' \
		>"$dir/counter"
	export PIDSHIM_GUARD_MODE=shared-read
	start_counters 4 read 500
	start_counters 4 write 250
	release_and_wait 8
	total 1000
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok: $case"

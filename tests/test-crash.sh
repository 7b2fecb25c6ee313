#!/bin/sh
# Crashes and stops at every moment (libpidshim(7); pidlock(3)):
#   pidfile   500 starts of sleep under the shim killed (SIGKILL) at random
#             moments of taking the PID file, and 500 holders killed while
#             they clean up after SIGTERM: never a stuck lock, never two
#             holders, the next start always proceeds
#   guard     500 sh loops appending to a guarded file killed at random:
#             the next guarded append always proceeds
#   core      500 libpidlock lock-file and PID-file cycles killed at random:
#             both free at once afterwards
#   stopped   a holder stopped (SIGSTOP) is still the holder: a start that
#             waits 0.5 s is refused naming it, status says running, a
#             guarded open waiting 0.5 s fails; a start waiting without end
#             (on-conflict wait) does not start while the holder is stopped
#             and continued again and again, and starts when it ends
#   test-crash.sh PIDSHIM SHIM HELPERS CASE
set -eu
pidshim=$1
shim=$2
helpers=$3
case=$4
. "$(dirname "$0")/shell-common.sh"

names() {
	[ "$(cat "$2" 2>/dev/null)" = "$1" ]
}

# whether PID holds PIDFILE, as pidshim status says
holds() {
	[ "$("$pidshim" status "$2" 2>/dev/null)" = "$1" ]
}

case $case in
pidfile | guard)
	"$helpers/stress-crash" "$case" "$shim" "$dir" 500 || fail "see above"
	;;
core)
	"$helpers/stress-crash" core "$dir" 500 || fail "see above"
	;;
stopped)
	pidfile=$dir/sleep.pid
	LD_PRELOAD=$shim PIDSHIM_PIDFILE=$pidfile sleep 30 &
	holder=$!
	started="$started $holder"
	# the file names it once locked (a status probe now could make the
	# start find its file busy: pidlock(3), "Queries")
	within_10s names $holder "$pidfile" || fail "the holder did not start"
	kill -STOP $holder
	expect 75 env LD_PRELOAD="$shim" PIDSHIM_PIDFILE="$pidfile" \
		PIDSHIM_ON_CONFLICT=wait:0.5 true
	grep -q "running as PID $holder\$" "$dir/err" ||
		fail "the refused start does not name the stopped holder: $(cat "$dir/err")"
	expect 0 "$pidshim" status "$pidfile"
	[ "$(cat "$dir/out")" = $holder ] || fail "status does not name the holder"
	expect 1 "$pidshim" wait -t 0.5 "$pidfile"

	# a guard held by a stopped process stays held
	LD_PRELOAD=$shim PIDSHIM_PIDFILE=none PIDSHIM_GUARD=$dir/data \
		sh -c 'exec 3>>"$0"; echo held >&3; exec sleep 30' "$dir/data" &
	guard_holder=$!
	started="$started $guard_holder"
	within_10s grep -qs held "$dir/data" || fail "the guard holder did not start"
	kill -STOP $guard_holder
	# shellcheck disable=SC2016 # $0 is the inner shell's
	expect 2 env LD_PRELOAD="$shim" PIDSHIM_PIDFILE=none \
		PIDSHIM_GUARD="$dir/data" PIDSHIM_GUARD_WAIT=0.5 \
		sh -c 'echo late >>"$0"' "$dir/data"
	grep -q late "$dir/data" && fail "a guarded append went past a stopped holder"

	# a start waiting for the holder waits through stops and continues
	LD_PRELOAD=$shim PIDSHIM_PIDFILE=$pidfile PIDSHIM_ON_CONFLICT=wait \
		sleep 30 &
	waiter=$!
	started="$started $waiter"
	i=0
	while [ $i -lt 20 ]; do
		kill -CONT $holder
		sleep 0.05
		kill -STOP $holder
		sleep 0.05
		holds $holder "$pidfile" || fail "the holder lost its file while stopped"
		i=$((i + 1))
	done
	kill -TERM $holder
	kill -CONT $holder
	wait $holder || true
	within_10s holds $waiter "$pidfile" ||
		fail "the waiting start did not take the file when the holder ended"
	kill -CONT $guard_holder
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok: $case"

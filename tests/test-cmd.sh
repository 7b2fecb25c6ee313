#!/bin/sh
# The pidshim command's subcommands on real programs (README, "The pidshim
# command"): status, wait and stop on PID files made by the shim and by
# flock(1); lock against itself and flock(1); usage errors.
#   test-cmd.sh PIDSHIM SHIM
# Sanitizer builds put their runtime first in LD_PRELOAD (tests/meson.build).
set -eu
pidshim=$1
preload=${PIDSHIM_TEST_PRELOAD:+$PIDSHIM_TEST_PRELOAD:}$2
case=
# shellcheck source=shell-common.sh
. "${0%/*}/shell-common.sh"

# run a program under the shim with PID file $1, in the background
under_shim() {
	pidfile=$1
	shift
	LD_PRELOAD=$preload PIDSHIM_PIDFILE=$pidfile "$@" &
	started="$started $!"
	wait_for_lock "$pidfile"
}

wait_for_lock() {
	i=0
	until [ -s "$1" ] && ! flock -n "$1" true; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "$1 never locked"
		sleep 0.05
	done
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

case=status_running
under_shim "$dir/run.pid" sleep 30
pid=$!
expect 0 "$pidshim" status "$dir/run.pid"
[ "$(cat "$dir/out")" = "$pid" ] || fail "printed $(cat "$dir/out"), not $pid"
expect 0 "$pidshim" status -v "$dir/run.pid"
grep -qx "command: sleep 30" "$dir/out" || fail "-v: $(cat "$dir/out")"
grep -q "^running: 0:00:0" "$dir/out" || fail "-v: $(cat "$dir/out")"

case=status_not_running
expect 3 "$pidshim" status "$dir/none.pid"

case=status_unknown
mkdir "$dir/adir"
expect 4 "$pidshim" status "$dir/adir"
mkfifo "$dir/fifo"
expect 4 "$pidshim" status "$dir/fifo"

# the PID of a live, unrelated process in a file nobody locks
case=status_stale_live_pid
sleep 30 &
unrelated=$!
started="$started $unrelated"
echo "$unrelated" >"$dir/stale.pid"
expect 1 "$pidshim" status "$dir/stale.pid"
grep -q "stale" "$dir/err" || fail "no word of staleness: $(cat "$dir/err")"
case=stop_stale_signals_nobody
expect 0 "$pidshim" stop -s KILL "$dir/stale.pid"
sleep 0.2
alive "$unrelated" || fail "the unrelated sleep was signalled"
[ -e "$dir/stale.pid" ] || fail "stop removed a file it does not hold"

# a PID file made the way shell scripts make one with flock(1)
case=status_flock_holder
# shellcheck disable=SC2016 # expanded by the inner shell
flock "$dir/flock.pid" sh -c 'echo $$ >"$1"; exec sleep 30' sh \
	"$dir/flock.pid" &
started="$started $!"
wait_for_lock "$dir/flock.pid"
expect 0 "$pidshim" status "$dir/flock.pid"
holder=$(cat "$dir/out")
[ "$holder" = "$(cat "$dir/flock.pid")" ] || fail "printed $holder"
case=stop_flock_holder
expect 0 "$pidshim" stop -t 5 "$dir/flock.pid"
alive "$holder" && fail "PID $holder still alive"

case=stop_term
expect 0 "$pidshim" stop -t 5 "$dir/run.pid"
alive "$pid" && fail "PID $pid still alive"
[ -e "$dir/run.pid" ] && fail "the shim left its PID file"

case=stop_not_running
expect 0 "$pidshim" stop "$dir/run.pid"

# a program that ignores TERM: only the escalation ends it
case=stop_escalation
under_shim "$dir/deaf.pid" sh -c 'trap "" TERM; while :; do sleep 0.1; done'
pid=$!
# its trap comes after the shim has made the PID file: wait for it
i=0
until [ $(($(printf '0x%s' "$(awk '/^SigIgn:/ {print $2}' \
	"/proc/$pid/status")") & 0x4000)) -ne 0 ] || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect 1 "$pidshim" stop -t 0.3 "$dir/deaf.pid"
alive "$pid" || fail "ended by TERM, which it ignores"
start=$(now_ms)
expect 0 "$pidshim" stop -s TERM -t 1 --then KILL "$dir/deaf.pid"
took=$(($(now_ms) - start))
alive "$pid" && fail "PID $pid survived KILL"
if [ $took -lt 900 ] || [ $took -ge 3000 ]; then
	fail "took $took ms, not 1 s"
fi
grep -q "sending KILL" "$dir/err" || fail "no word of KILL: $(cat "$dir/err")"

case=wait_released
under_shim "$dir/short.pid" sleep 1
pid=$!
expect 1 "$pidshim" wait -t 0.2 "$dir/short.pid"
expect 0 "$pidshim" wait -t 5 "$dir/short.pid"
alive "$pid" && fail "returned while PID $pid lives"
expect 0 "$pidshim" wait "$dir/none.pid"
expect 0 "$pidshim" wait "$dir/stale.pid"

case=lock_runs_holding
# shellcheck disable=SC2016 # expanded by the inner shell
expect 7 "$pidshim" lock "$dir/a.lock" sh -c \
	'flock -n "$1" true && exit 99; cat "$1"; echo "$PPID"; exit 7' sh \
	"$dir/a.lock"
[ "$(sed -n 1p "$dir/out")" = "$(sed -n 2p "$dir/out")" ] ||
	fail "the file does not name pidshim: $(cat "$dir/out")"
[ -e "$dir/a.lock" ] && fail "the lock file is left behind"

case=lock_statuses
expect 137 "$pidshim" lock "$dir/a.lock" sh -c 'kill -KILL $$'
expect 127 "$pidshim" lock "$dir/a.lock" "$dir/no-such-program"
expect 126 "$pidshim" lock "$dir/a.lock" "$dir/stale.pid"
expect 0 "$pidshim" lock "$dir/a.lock" -- true
[ -e "$dir/a.lock" ] && fail "the lock file is left behind"

case=lock_busy
"$pidshim" lock "$dir/b.lock" sleep 30 &
holder=$!
started="$started $holder"
wait_for_lock "$dir/b.lock"
expect 75 "$pidshim" lock -n "$dir/b.lock" true
grep -q "PID $holder\$" "$dir/err" || fail "holder not named: $(cat "$dir/err")"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "more than one line"
expect 9 "$pidshim" lock -n -E 9 "$dir/b.lock" true
expect 9 "$pidshim" lock -n --conflict-exit-code=9 "$dir/b.lock" true
start=$(now_ms)
expect 75 "$pidshim" lock -w 0.5 "$dir/b.lock" true
took=$(($(now_ms) - start))
if [ $took -lt 450 ] || [ $took -ge 2000 ]; then
	fail "-w 0.5 took $took ms"
fi
case=lock_status_and_stop
expect 0 "$pidshim" status "$dir/b.lock"
[ "$(cat "$dir/out")" = "$holder" ] || fail "status says $(cat "$dir/out")"
case=lock_flock_interop
expect 1 flock -n "$dir/b.lock" true
case=lock_forwards_term
kill -TERM "$holder"
st=0
wait "$holder" || st=$?
[ $st -eq 143 ] || fail "exited $st, not 128+TERM"
[ -e "$dir/b.lock" ] && fail "the lock file is left behind"

# an ignore the command would inherit without us (nohup, a background
# job's SIGINT) stays an ignore: HUP is signal 1, the mask's lowest bit
case=lock_keeps_inherited_ignore
(
	trap '' HUP
	exec "$pidshim" lock "$dir/e.lock" grep SigIgn /proc/self/status
) >"$dir/out"
mask=$(sed 's/.*[[:space:]]//' "$dir/out")
case $mask in
*[13579bdf]) ;;
*) fail "SIGHUP no longer ignored: SigIgn $mask" ;;
esac

case=lock_timed_wait_granted
"$pidshim" lock "$dir/c.lock" sleep 0.5 &
holder=$!
started="$started $holder"
wait_for_lock "$dir/c.lock"
expect 0 "$pidshim" lock -w 5 "$dir/c.lock" true
alive "$holder" && fail "granted while PID $holder holds it"
wait "$holder"

case=lock_shared
"$pidshim" lock -s "$dir/d.lock" sleep 30 &
holder=$!
started="$started $holder"
until ! flock -n "$dir/d.lock" true 2>/dev/null; do sleep 0.05; done
expect 0 "$pidshim" lock -s -n "$dir/d.lock" echo in
expect 75 "$pidshim" lock -n "$dir/d.lock" true
kill -TERM "$holder"
wait "$holder" || true

case=usage
for args in "" "bogus" "status" "status a b" "status -x a" "wait -t 1e3 a" \
	"wait -t -1 a" "wait -t" "stop -s NOSIG a" "stop -s 0 a" \
	"stop --then KILL a" "stop -t .5 a" "lock" "lock a" "lock a --" \
	"lock -w x a true" "lock -E 256 a true" "lock --bogus a true"; do
	# shellcheck disable=SC2086 # one word per argument
	expect 64 "$pidshim" $args
	[ "$(wc -l <"$dir/err")" -eq 1 ] ||
		fail "pidshim $args: not one line: $(cat "$dir/err")"
done
[ -e a ] && fail "a usage error created a file"

case=help
for sub in status wait stop lock; do
	expect 0 "$pidshim" "$sub" --help
	grep -q "^Usage: pidshim $sub" "$dir/out" || fail "$sub --help"
done
expect 0 "$pidshim" --help
expect 0 "$pidshim" --version
grep -qx "pidshim [0-9.]*" "$dir/out" || fail "--version: $(cat "$dir/out")"

echo "ok: pidshim status, wait, stop and lock"

#!/bin/sh
# Our PID files and guard locks as other programs see them (README,
# "Interop" and "Recipes"): flock(1), libbsd's pidfile(3),
# pgrep/pkill -F, lslocks, start-stop-daemon; and pidshim status/stop on a
# stale file whose PID a stranger now has. One check per run, so that
# meson counts each:
#   test-interop.sh PIDSHIM SHIM BSD_PIDFILE_HELPER|'' CASE
# CASE: flock-pidfile flock-guard libbsd-probe libbsd-holder pgrep-pkill
#       lslocks ssd-status-stop ssd-start status-stale-live-pid
# Sanitizer builds put their runtime first in LD_PRELOAD (tests/meson.build).
set -eu
# meson passes build paths relative to the build directory;
# start-stop-daemon --background runs its program from /
absolute() {
	case $1 in
	/* | '') echo "$1" ;;
	*) echo "$PWD/$1" ;;
	esac
}
pidshim=$(absolute "$1")
preload=${PIDSHIM_TEST_PRELOAD:+$PIDSHIM_TEST_PRELOAD:}$(absolute "$2")
bsd_helper=$3
case=$4
sanitized=${PIDSHIM_TEST_PRELOAD:-}
# shellcheck source=shell-common.sh
. "${0%/*}/shell-common.sh"

names() {
	[ -s "$1" ] && [ "$(cat "$1")" = "$2" ]
}

not_alive() {
	! alive "$1"
}

absent() {
	[ ! -e "$1" ]
}

# COMMAND... with its status in $st, its output in $dir/out and $dir/err
run() {
	st=0
	"$@" >"$dir/out" 2>"$dir/err" || st=$?
}

# sleep under the shim with PID file $1, in the background: $pid. Waits
# only for the file to name it; whether it is locked is for the checks.
under_shim() {
	LD_PRELOAD=$preload PIDSHIM_PIDFILE=$1 sleep 100 &
	pid=$!
	started="$started $pid"
	within_10s names "$1" "$pid" || fail "$1 never named PID $pid"
}

# The same through `pidshim run` (not in sanitizer builds, whose runtime
# must come first in LD_PRELOAD, before the shim).
under_run() {
	if [ -z "$sanitized" ]; then
		echo "# started with pidshim run"
		"$pidshim" run -p "$1" -- sleep 100 &
		pid=$!
		started="$started $pid"
		within_10s names "$1" "$pid" || fail "$1 never named PID $pid"
	else
		echo "# started with LD_PRELOAD (a sanitizer build)"
		under_shim "$1"
	fi
}

# our PID file is busy to flock(1) while the program runs; free, on the
# very same file, once it has ended
check_flock_pidfile() {
	f=$dir/prog.pid
	under_shim "$f"
	run flock -n "$f" true
	[ "$st" -eq 1 ] || fail "flock -n on the running program's file: $st"
	exec 3<"$f"
	run flock -n 3
	[ "$st" -eq 1 ] || fail "flock -n on a descriptor of that file: $st"
	kill -TERM "$pid"
	wait "$pid" || true
	run flock -n 3
	[ "$st" -eq 0 ] || fail "still busy after the program ended: $st"
	exec 3<&-
	absent "$f" || fail "the shim left $f"
}

# a guard's lock file (.<basename>.pidshim-lock beside the resource,
# README "PIDSHIM_LOCK_STYLE") is busy to flock(1) while the guarded file
# is open, free once it is closed. The program is a shell: it opens the
# file on descriptor 3, closes it when told through a FIFO.
check_flock_guard() {
	data=$dir/data
	lock=$dir/.data.pidshim-lock
	: >"$data"
	# one FIFO per step: a second open of one FIFO could meet the first
	# step's writer still closing, and read its end of file
	mkfifo "$dir/go1" "$dir/go2"
	# shellcheck disable=SC2016 # expanded by the inner shell
	LD_PRELOAD=$preload PIDSHIM_GUARD=$data sh -c '
		exec 3>>"$1"; : >"$2.open"; read -r x <"$3"1
		exec 3>&-; : >"$2.closed"; read -r x <"$3"2' \
		sh "$data" "$dir/mark" "$dir/go" &
	pid=$!
	started="$started $pid"
	within_10s [ -e "$dir/mark.open" ] || fail "the shell never opened $data"
	[ -e "$lock" ] || fail "no lock file $lock while $data is open"
	exec 3<"$lock"
	run flock -n "$lock" true
	[ "$st" -eq 1 ] || fail "flock -n on the lock file while open: $st"
	run flock -n 3
	[ "$st" -eq 1 ] || fail "flock -n on a descriptor of it while open: $st"
	echo >"$dir/go1"
	within_10s [ -e "$dir/mark.closed" ] || fail "the shell never closed it"
	run flock -n 3
	[ "$st" -eq 0 ] || fail "the lock file still busy after close: $st"
	exec 3<&-
	echo >"$dir/go2"
	wait "$pid" || fail "the guarded shell failed"
}

# libbsd's pidfile_open on our running program's file refuses it and
# reads back our program's PID. It says EINVAL, not EEXIST: its parser
# wants the digits alone, and our files end with the newline the FHS asks
# for (README, "Interop"). Our file is left as it was.
check_libbsd_probe() {
	[ -n "$bsd_helper" ] || skip "built without libbsd (libbsd-dev)"
	f=$dir/prog.pid
	under_shim "$f"
	run "$bsd_helper" probe "$f"
	case $st:$(cat "$dir/out") in
	"2:busy $pid" | "3:error Invalid argument (otherpid $pid)") ;;
	*) fail "pidfile_open on our held file: $st: $(cat "$dir/out"), expected a refusal naming $pid" ;;
	esac
	names "$f" "$pid" || fail "pidfile_open changed our file: $(cat "$f")"
	run "$pidshim" status "$f"
	[ "$st" -eq 0 ] || fail "our program no longer running after the probe"
}

# a PID file made and held by libbsd (pidfile_open + pidfile_write):
# pidshim status says running with its PID; once it is killed (the file
# left behind, unlocked), stale (1), or not running (3) without the file
check_libbsd_holder() {
	[ -n "$bsd_helper" ] || skip "built without libbsd (libbsd-dev)"
	f=$dir/bsd.pid
	"$bsd_helper" hold "$f" >"$dir/held" &
	holder=$!
	started="$started $holder"
	within_10s [ -s "$dir/held" ] || fail "the libbsd helper never said"
	[ "$(cat "$dir/held")" = "held $holder" ] ||
		fail "the libbsd helper: $(cat "$dir/held")"
	run "$pidshim" status "$f"
	[ "$st" -eq 0 ] || fail "status on libbsd's held file: $st: $(cat "$dir/err")"
	[ "$(cat "$dir/out")" = "$holder" ] ||
		fail "status printed $(cat "$dir/out"), not $holder"
	kill -KILL "$holder"
	wait "$holder" || true
	run "$pidshim" status "$f"
	if [ -e "$f" ]; then
		[ "$st" -eq 1 ] || fail "status on the killed holder's file: $st, not 1"
		grep -q "stale: names PID $holder" "$dir/err" ||
			fail "status does not say stale: $(cat "$dir/err")"
	else
		[ "$st" -eq 3 ] || fail "status without the file: $st, not 3"
	fi
}

# pgrep -F prints our program (-L: only if the file is locked, procps'
# own test of a live PID file); pkill -F ends it, and the shim then
# removes the file
check_pgrep_pkill() {
	need pgrep
	f=$dir/prog.pid
	under_shim "$f"
	run pgrep -L -F "$f"
	[ "$st" -eq 0 ] || fail "pgrep -L -F: $st: $(cat "$dir/err")"
	[ "$(cat "$dir/out")" = "$pid" ] || fail "pgrep -F printed $(cat "$dir/out")"
	run pkill -L -F "$f"
	[ "$st" -eq 0 ] || fail "pkill -L -F: $st: $(cat "$dir/err")"
	st=0
	wait "$pid" || st=$?
	[ "$st" -eq 143 ] || fail "the program exited $st, not 128+TERM"
	absent "$f" || fail "the shim left $f after pkill"
}

# lslocks names our program as the holder of its PID file
check_lslocks() {
	need lslocks
	f=$dir/prog.pid
	under_shim "$f"
	run lslocks -n -r -u -o PID,TYPE,MODE,PATH
	awk -v pid="$pid" -v path="$f" \
		'$1 == pid && $2 == "FLOCK" && $3 == "WRITE" && $4 == path' \
		"$dir/out" >"$dir/mine"
	[ -s "$dir/mine" ] || fail "lslocks shows no FLOCK WRITE by $pid on $f:
$(cat "$dir/out")"
	run lslocks -n -r -o PATH -p "$pid"
	grep -qxF "$f" "$dir/out" || fail "lslocks -p $pid: $(cat "$dir/out")"
}

ssd=/sbin/start-stop-daemon

# start-stop-daemon --status and --stop --retry on a program started
# under the shim: running (0), stopped by TERM, then not running (3)
check_ssd_status_stop() {
	[ -x $ssd ] || skip "no $ssd (dpkg)"
	f=$dir/prog.pid
	under_run "$f"
	run $ssd --status --pidfile "$f"
	[ "$st" -eq 0 ] || fail "--status while it runs: $st, not 0"
	run $ssd --stop --pidfile "$f" --retry TERM/5
	[ "$st" -eq 0 ] || fail "--stop --retry TERM/5: $st: $(cat "$dir/out" "$dir/err")"
	within_10s not_alive "$pid" || fail "PID $pid still alive after --stop"
	absent "$f" || fail "the shim left $f after --stop"
	run $ssd --status --pidfile "$f"
	[ "$st" -eq 3 ] || fail "--status after --stop: $st, not 3"
}

# start-stop-daemon starts the program in the background itself, our PID
# file its --pidfile: through `pidshim run` as the README's recipe does
# (sanitizer builds, whose runtime must come first: env sets the
# variables for the program only, not for start-stop-daemon); a second
# --start sees it running; --stop ends it
ssd_start() {
	if [ -z "$sanitized" ]; then
		run $ssd --start --background --pidfile "$f" --exec "$sleep" \
			--startas "$pidshim" -- run -p "$f" -- "$sleep" 100
	else
		run $ssd --start --background --pidfile "$f" --exec "$sleep" \
			--startas /usr/bin/env -- LD_PRELOAD="$preload" \
			PIDSHIM_PIDFILE="$f" "$sleep" 100
	fi
}

check_ssd_start() {
	[ -x $ssd ] || skip "no $ssd (dpkg)"
	f=$dir/prog.pid
	sleep=$(command -v sleep)
	ssd_start
	[ "$st" -eq 0 ] || fail "--start --background: $st: $(cat "$dir/err")"
	within_10s [ -s "$f" ] || fail "no PID file $f after --start"
	pid=$(cat "$f")
	started="$started $pid"
	[ "$(ps -o comm= -p "$pid")" = sleep ] || fail "$f names $pid, not sleep"
	run flock -n "$f" true
	[ "$st" -eq 1 ] || fail "the file ssd's program has is not locked"
	ssd_start
	[ "$st" -eq 1 ] || fail "a second --start: $st, not 1 (already running)"
	grep -q "already running" "$dir/out" ||
		fail "a second --start: $(cat "$dir/out")"
	run $ssd --stop --pidfile "$f" --exec "$sleep" --retry TERM/5
	[ "$st" -eq 0 ] || fail "--stop: $st: $(cat "$dir/out" "$dir/err")"
	within_10s not_alive "$pid" || fail "PID $pid still alive after --stop"
	within_10s absent "$f" || fail "the shim left $f after --stop"
}

# a file nobody locks naming a live stranger (a sleep of ours, started
# without the shim) is stale to pidshim status, and pidshim stop signals
# nobody, not even with KILL
check_status_stale_live_pid() {
	f=$dir/stale.pid
	sleep 100 &
	stranger=$!
	started="$started $stranger"
	echo "$stranger" >"$f"
	run "$pidshim" status "$f"
	[ "$st" -eq 1 ] || fail "status on a stale file: $st, not 1"
	grep -q "stale: names PID $stranger" "$dir/err" ||
		fail "status does not say stale: $(cat "$dir/err")"
	[ ! -s "$dir/out" ] || fail "status printed a PID: $(cat "$dir/out")"
	run "$pidshim" stop -s KILL -t 1 "$f"
	[ "$st" -eq 0 ] || fail "stop on a stale file: $st: $(cat "$dir/err")"
	grep -q "stale file), nobody signalled" "$dir/err" ||
		fail "stop does not say stale: $(cat "$dir/err")"
	sleep 0.2
	alive "$stranger" || fail "stop signalled the stranger $stranger"
	names "$f" "$stranger" || fail "stop changed a file it does not hold"
}

case $case in
flock-pidfile | flock-guard | libbsd-probe | libbsd-holder | pgrep-pkill | \
	lslocks | ssd-status-stop | ssd-start | status-stale-live-pid)
	need flock
	"check_$(echo "$case" | tr - _)"
	;;
*)
	echo "test-interop.sh: unknown case $case" >&2
	exit 64
	;;
esac
echo "ok: $case"

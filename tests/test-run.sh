#!/bin/sh
# shellcheck disable=SC2016 # single-quoted scripts are for the inner shells
# pidshim run on real programs (pidshim(1), README "The pidshim command"):
# under the shim (the options become its variables, the shim first in
# LD_PRELOAD, COMMAND's own PID and status), and supervised for programs
# the shim cannot enter: a set-group-ID copy of sleep and Debian's static
# busybox. One case per run, so that meson counts each:
#   test-run.sh PIDSHIM SHIM CASE
# Sanitizer builds put their runtime first in LD_PRELOAD (tests/meson.build).
set -eu
pidshim=$1
shim=$(realpath "$2")
case=$3
sanitizer=${PIDSHIM_TEST_PRELOAD:-}
# shellcheck source=shell-common.sh
. "${0%/*}/shell-common.sh"
# a sanitizer build's runtime first in LD_PRELOAD (shell-common.sh)
pidshim=$(sanitized_pidshim "$sanitizer" "$pidshim")

locked() {
	[ -s "$1" ] && ! flock -n "$1" true
}

# start pidshim run ARGS... in the background, its PID in $runner, and wait
# for the PID file $f to be locked
start_run() {
	"$pidshim" run "$@" >"$dir/run.out" 2>"$dir/run.err" &
	runner=$!
	started="$started $runner"
	within_10s locked "$f" || fail "$f never locked: $(cat "$dir/run.err")"
}

# wait_run STATUS: pidshim run $runner ends with STATUS (not in a
# subshell: only this shell can wait for it)
wait_run() {
	st=0
	wait "$runner" || st=$?
	[ "$st" -eq "$1" ] || fail "pidshim run ended with $st, not $1: $(cat "$dir/run.err")"
}

need_busybox() {
	if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
		return
	fi
	skip "no static /bin/busybox (busybox-static; scripts/setup installs it)"
}

# a set-group-ID copy of sleep, for a group we are not in
setgid_sleep() {
	[ "$(id -u)" -eq 0 ] || skip "making a set-group-ID program needs root"
	cp /bin/sleep "$dir/sgsleep"
	chgrp daemon "$dir/sgsleep"
	chmod 2755 "$dir/sgsleep"
	[ "$(id -g)" != "$(stat -c %g "$dir/sgsleep")" ] || skip "in group daemon"
}

# ---- under the shim --------------------------------------------------------

# the options as the shim's variables, the shim by its absolute path first
# in LD_PRELOAD (after a sanitizer runtime, before what was there), and
# COMMAND as this very process: the PID file names the PID run had
check_under_shim() {
	f=$dir/sh.pid
	other=$(realpath /lib/*-linux-gnu/libm.so.6 | head -n 1)
	LD_PRELOAD="${sanitizer:+$sanitizer:}$other" \
		"$pidshim" run -p "$f" -g "$dir/a*" -g "$dir/b*" --guard-wait 2 \
		--guard-scope process --guard-mode shared-read --lock-style dotlock \
		--lock-dir "$dir" --children none --daemon-follow --mode 0600 \
		-E 9 -w3 -- sh -c 'echo $$; cat "$1"; env' sh "$f" \
		>"$dir/out" 2>"$dir/err" || fail "run: $(cat "$dir/err")"
	pid=$(sed -n 1p "$dir/out")
	[ "$(sed -n 2p "$dir/out")" = "$pid" ] ||
		fail "the PID file named $(sed -n 2p "$dir/out"), not the shell $pid"
	want="LD_PRELOAD=${sanitizer:+$sanitizer:}$shim:$other"
	grep -qx "$want" "$dir/out" || fail "$(grep LD_PRELOAD "$dir/out"), expected $want"
	for v in "PIDSHIM_PIDFILE=$f" "PIDSHIM_GUARD=$dir/a*:$dir/b*" \
		PIDSHIM_GUARD_WAIT=2 PIDSHIM_GUARD_SCOPE=process \
		PIDSHIM_GUARD_MODE=shared-read PIDSHIM_LOCK_STYLE=dotlock \
		"PIDSHIM_LOCK_DIR=$dir" PIDSHIM_CHILDREN=none PIDSHIM_DAEMON=follow \
		PIDSHIM_MODE=0600 PIDSHIM_EXIT_CODE=9 PIDSHIM_ON_CONFLICT=wait:3; do
		grep -qxF "$v" "$dir/out" || fail "no $v in COMMAND's environment"
	done
	[ ! -e "$f" ] || fail "$f left behind"
	# the shim said nothing: every value it got was good
	[ ! -s "$dir/err" ] || fail "messages: $(cat "$dir/err")"
}

# COMMAND's status comes back, 128+N after signal N, the PID file removed
check_status() {
	f=$dir/st.pid
	expect 7 "$pidshim" run -p "$f" sh -c 'exit 7'
	expect 143 "$pidshim" run -p "$f" sh -c 'kill -TERM $$; sleep 5'
	[ ! -e "$f" ] || fail "$f left after SIGTERM"
	expect 0 "$pidshim" run --no-pidfile true
}

# a second instance is refused naming the first, with -E's status, or waits
check_single_instance() {
	f=$dir/one.pid
	start_run -p "$f" sleep 30
	expect 75 "$pidshim" run -p "$f" true
	grep -q "another instance is running as PID $runner" "$dir/err" ||
		fail "not named: $(cat "$dir/err")"
	expect 9 "$pidshim" run -p "$f" -E 9 true
	expect 75 "$pidshim" run -p "$f" --wait=0.2 true
	( sleep 0.5; kill -TERM "$runner" ) &
	expect 0 "$pidshim" run -p "$f" --wait sh -c 'test "$(cat "$1")" = $$' sh "$f"
}

# -v says how COMMAND runs and why, and the shim's debug messages follow
check_verbose() {
	expect 0 "$pidshim" run -v -p "$dir/v.pid" true
	grep -q "^pidshim run: preloading $shim into /.*true: .* is dynamically linked" \
		"$dir/err" || fail "-v: $(cat "$dir/err")"
	grep -q "created and locked" "$dir/err" || fail "no shim debug: $(cat "$dir/err")"
	expect 0 "$pidshim" run -q -p "$dir/v.pid" true
	[ ! -s "$dir/err" ] || fail "-q: $(cat "$dir/err")"
}

# every bad option: 64 and one line naming it and what it accepts; a bad
# variable from the environment: 78; COMMAND not found 127, not runnable
# 126; nothing is run and no file is made
check_usage() {
	touch "$dir/plain"
	for bad in "--guard-scope x:--guard-scope x: expected 'open' or 'process'" \
		"--mode 999:--mode 999: expected an octal" \
		"-E 0:-E 0: expected an exit status from 1 to 255" \
		"-E 256:-E 256: expected an exit status" \
		"--wait=soon:--wait soon: expected SECONDS" \
		"-wsoon:-w soon: expected SECONDS" \
		"-g rel/*:--guard rel/*: expected an absolute path pattern" \
		"--guard-wait later:--guard-wait later: expected 'block', 'fail' or SECONDS" \
		"--lock-style flock:--lock-style flock: expected 'pidshim', 'dotlock' or 'uucp'" \
		"--children some:--children some: expected 'tree' or 'none'" \
		"--lock-dir var:--lock-dir var: expected an absolute directory path" \
		"-p %q:-p %q: expected a path template" \
		"--colour:--colour: unknown option" \
		"-x:-x: unknown option"; do
		opts=${bad%%:*}
		# shellcheck disable=SC2086 # the option and its value are words
		expect 64 "$pidshim" run $opts -- touch "$dir/made"
		[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$opts: $(cat "$dir/err")"
		grep -qF -- "${bad#*:}" "$dir/err" || fail "$opts: $(cat "$dir/err")"
	done
	expect 64 "$pidshim" run -p "$dir/x.pid" --no-pidfile touch "$dir/made"
	expect 64 "$pidshim" run -p "$dir/x.pid"
	grep -q "missing COMMAND" "$dir/err" || fail "$(cat "$dir/err")"
	PIDSHIM_GUARD_MODE=all expect 78 "$pidshim" run touch "$dir/made"
	grep -qF "PIDSHIM_GUARD_MODE=all (from the environment): expected" \
		"$dir/err" || fail "$(cat "$dir/err")"
	expect 127 "$pidshim" run -p "$dir/x.pid" no-such-command-here
	expect 126 "$pidshim" run -p "$dir/x.pid" "$dir/plain"
	expect 126 "$pidshim" run -p "$dir/x.pid" "$dir"
	if [ -e "$dir/made" ] || [ -e "$dir/x.pid" ]; then
		fail "something ran"
	fi
}

# ---- supervised ------------------------------------------------------------

# the loader does not preload into the set-group-ID copy: the shim alone
# makes no PID file; run supervises it: the file names it, single instance,
# SIGTERM passed on, its status back, the file removed
check_setgid() {
	setgid_sleep
	f=$dir/sg.pid
	LD_PRELOAD="${sanitizer:+$sanitizer:}$shim" PIDSHIM_PIDFILE=$f \
		"$dir/sgsleep" 0.2 2>/dev/null || true
	[ ! -e "$f" ] || fail "the shim entered a set-group-ID program"
	start_run -v -p "$f" "$dir/sgsleep" 30
	grep -q "supervising $dir/sgsleep: $dir/sgsleep is set-group-ID" \
		"$dir/run.err" || fail "-v: $(cat "$dir/run.err")"
	child=$(cat "$f")
	started="$started $child"
	[ "$child" != "$runner" ] || fail "the file names the supervisor"
	[ "$(readlink "/proc/$child/exe")" = "$dir/sgsleep" ] ||
		fail "$f names $child, not the program"
	expect 0 "$pidshim" status "$f"
	[ "$(cat "$dir/out")" = "$child" ] || fail "status: $(cat "$dir/out")"
	expect 75 "$pidshim" run -p "$f" "$dir/sgsleep" 1
	grep -q "another instance is running as PID $child" "$dir/err" ||
		fail "not named: $(cat "$dir/err")"
	kill -TERM "$runner"
	wait_run 143
	alive "$child" && fail "the program outlived its supervisor"
	[ ! -e "$f" ] || fail "$f left behind"
}

# a guard for a program the shim cannot enter is refused, saying why
check_guard_refused() {
	setgid_sleep
	expect 78 "$pidshim" run -p "$dir/g.pid" -g "$dir/*" "$dir/sgsleep" 0
	grep -q "set-group-ID.*guards need the shim inside" "$dir/err" ||
		fail "$(cat "$dir/err")"
	expect 78 "$pidshim" run --supervise -p "$dir/g.pid" -g "$dir/*" true
	grep -q "not with --supervise" "$dir/err" || fail "$(cat "$dir/err")"
	[ ! -e "$dir/g.pid" ] || fail "a PID file was made"
}

# Debian's static busybox: supervised, its status back, the file names
# the program, pkill -F on that file ends it and run says 143
check_static() {
	need_busybox
	f=$dir/bb.pid
	expect 5 "$pidshim" run -p "$f" /bin/busybox sh -c 'exit 5'
	start_run -v -p "$f" /bin/busybox sleep 30
	grep -q "statically linked" "$dir/run.err" || fail "-v: $(cat "$dir/run.err")"
	child=$(cat "$f")
	started="$started $child"
	[ "$(readlink "/proc/$child/exe")" = "$(realpath /bin/busybox)" ] || fail "$f names $child"
	pkill -TERM -F "$f"
	wait_run 143
	[ ! -e "$f" ] || fail "$f left behind"
}

# signals sent to run reach the program (HUP, USR1 handled by its
# traps; INT and QUIT are ignored in a background job, and stay so); TERM
# ends it, and run with it
check_forwarded() {
	need_busybox
	f=$dir/fw.pid
	start_run -p "$f" /bin/busybox sh -c \
		'for s in HUP USR1; do trap "echo $s >>$0" $s; done
		 : >$0.ready; while :; do sleep 0.05; done' "$dir/log"
	started="$started $(cat "$f")"
	within_10s [ -e "$dir/log.ready" ] || fail "the traps were never set"
	for sig in HUP USR1; do
		kill -"$sig" "$runner"
		within_10s grep -qx "$sig" "$dir/log" || fail "$sig not passed on"
	done
	alive "$runner" || fail "run ended on a handled signal"
	kill -TERM "$runner"
	wait_run 143
}

# --daemon-follow: a program whose first process ends once its daemon has
# gone off on its own; the file names the daemon, run stays until it ends,
# stop ends it and run gives its status; without follow run ends at once
check_daemon_follow() {
	need_busybox
	f=$dir/d.pid
	start_run -v --daemon-follow -p "$f" /bin/busybox sh -c \
		'/bin/busybox setsid /bin/busybox sleep 30 & exit 0'
	within_10s grep -q "following PID" "$dir/run.err" ||
		fail "never followed: $(cat "$dir/run.err")"
	daemon=$(cat "$f")
	started="$started $daemon"
	grep -q sleep "/proc/$daemon/cmdline" || fail "$f names $daemon"
	alive "$runner" || fail "run ended with the first process"
	expect 0 "$pidshim" stop "$f"
	wait_run 143
	[ ! -e "$f" ] || fail "$f left behind"
	expect 0 "$pidshim" run -p "$f" /bin/busybox sh -c \
		'/bin/busybox sleep 30 & echo $! >"$0"; exit 0' "$dir/bg"
	[ ! -e "$f" ] || fail "$f left without --daemon-follow"
	kill "$(cat "$dir/bg")"
}

# --supervise on a program the shim could enter: supervised anyway, and
# the program gets no shim
check_forced() {
	f=$dir/fs.pid
	start_run -v --supervise -p "$f" sleep 30
	grep -q "supervising .*sleep: --supervise" "$dir/run.err" ||
		fail "-v: $(cat "$dir/run.err")"
	child=$(cat "$f")
	started="$started $child"
	[ "$child" != "$runner" ] || fail "not supervised"
	! tr '\0' '\n' <"/proc/$child/environ" | grep -q libpidshim ||
		fail "the supervised program got the shim"
	expect 0 "$pidshim" stop "$f"
	wait_run 143
}

# supervised, a busy PID file gives -E's status and one that cannot be
# made 73; a program that cannot start gives 126/127 and no file stays
check_supervised_errors() {
	need_busybox
	mkdir "$dir/d.pid"
	expect 73 "$pidshim" run -p "$dir/d.pid" /bin/busybox true
	grep -q "refusing to use the PID file: it is a directory" "$dir/err" ||
		fail "$(cat "$dir/err")"
	f=$dir/e.pid
	start_run -p "$f" /bin/busybox sleep 30
	expect 4 "$pidshim" run -E 4 -p "$f" /bin/busybox true
	kill -TERM "$runner"
	wait_run 143
	expect 127 "$pidshim" run --supervise -p "$f" no-such-command-here
	[ ! -e "$f" ] || fail "$f left behind"
}

case $case in
under-shim | status | single-instance | verbose | usage | setgid | \
	guard-refused | static | forwarded | daemon-follow | forced | \
	supervised-errors)
	"check_$(echo "$case" | tr - _)"
	;;
*)
	echo "test-run.sh: unknown case $case" >&2
	exit 64
	;;
esac
echo "ok: $case"

#!/bin/sh
# PID files against PID reuse and PID namespaces (pidlock(3), "How a lock
# is taken": a file whose lock we obtain is stale, whatever its PID names):
#   pid-reuse   in a PID namespace of its own, a holder is killed and its
#               PID given to an unrelated live process (ns_last_pid makes
#               the next PID exact): pidshim status says stale (1), pidshim
#               stop signals nobody, and a start takes the file over
#   containers  two PID namespaces sharing a directory, each program PID 1
#               in its own: one instance at a time across them, alone or
#               started together; the refused one names the holder as its
#               holder wrote it, "PID 1" — a PID of the holder's namespace,
#               which in the refused one's names its own init, and
#               elsewhere (the host) another process again. Only the lock
#               is shared: the file's PID means something in the holder's
#               namespace alone.
#   init-sigterm  a program under the shim that is PID 1 of its namespace
#               (a container's init) with SIGTERM at its default: a
#               SIGTERM from outside is ignored by the kernel for an init,
#               so the program runs on, and its PID file must stay, locked,
#               and a second start be refused
#   stop-elsewhere  the holder is PID 2 of its namespace, and pidshim stop
#               runs in another namespace whose own PID 2 is a bystander:
#               the file's PID is not that process, and stop must not
#               signal it, and pidshim status here prints no PID
# Root and unshare(1) needed, else skipped.
#   test-namespaces.sh PIDSHIM SHIM CASE
set -eu
pidshim=$1
shim=$2
case=$3
. "$(dirname "$0")/shell-common.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (PID namespaces, ns_last_pid)"
need unshare
unshare --pid --fork --mount-proc true 2>/dev/null ||
	skip "cannot make a PID namespace here"

case $case in
pid-reuse)
	# shellcheck disable=SC2016 # expanded by the inner shell
	inner='set -eu
pidshim=$1 shim=$2 file=$3
fail() { echo "not ok: pid-reuse: $*"; exit 1; }
LD_PRELOAD=$shim PIDSHIM_PIDFILE=$file sleep 30 &
holder=$!
i=0
# the file names it once it is locked (no probe: a start meeting one
# would find the file busy)
until [ "$(cat "$file" 2>/dev/null)" = "$holder" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "the holder did not start"
	sleep 0.05
done
kill -KILL $holder
wait $holder || true
[ "$(cat "$file")" = "$holder" ] || fail "the killed holder left no file"
# the next PID of this namespace is the dead holder'"'"'s
echo $((holder - 1)) >/proc/sys/kernel/ns_last_pid
sleep 30 &
reused=$!
[ $reused -eq "$holder" ] || fail "PID $holder not reused (got $reused)"
st=0
"$pidshim" status "$file" >/dev/null 2>&1 || st=$?
[ $st -eq 1 ] || fail "status says $st for a stale file naming a live PID"
"$pidshim" stop -t 1 "$file" 2>/dev/null || fail "stop failed on a stale file"
sleep 0.2
kill -0 $reused 2>/dev/null || fail "stop signalled the process that reused the PID"
[ -e "$file" ] || fail "stop removed a stale file"
LD_PRELOAD=$shim PIDSHIM_PIDFILE=$file sleep 30 &
next=$!
i=0
until [ "$(cat "$file" 2>/dev/null)" = "$next" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "a start did not take the stale file over"
	sleep 0.05
done
[ "$("$pidshim" status "$file")" = "$next" ] || fail "status does not name the new holder"
kill -0 $reused 2>/dev/null || fail "the process that reused the PID is gone"
kill -KILL $reused $next
echo "PID $holder reused: status stale, stop signalled nobody, taken over"'
	unshare --pid --fork --kill-child --mount-proc \
		sh -c "$inner" sh "$pidshim" "$shim" "$dir/app.pid" ||
		fail "see above"
	;;
containers)
	file=$dir/app.pid
	# a program in a PID namespace of its own, PID 1 there (a script, so
	# that $! is the unshare whose death ends it)
	contained=$dir/contained
	cat >"$contained" <<END
#!/bin/sh
exec unshare --pid --fork --kill-child --mount-proc \\
	env LD_PRELOAD="$shim" PIDSHIM_PIDFILE="$file" "\$@"
END
	chmod +x "$contained"
	# Whether the file is locked, from /proc/locks: a probe taking the
	# lock (flock -n, pidshim status) would make a start in that very
	# moment find it busy (pidlock(3), "Queries").
	locked() {
		[ -e "$file" ] &&
			grep -q ":$(stat -c %i "$file") " /proc/locks
	}
	held() {
		[ "$(cat "$file" 2>/dev/null)" = 1 ] && locked
	}
	# the init dies of its unshare's death, a moment after it
	free() {
		! locked
	}
	[ "$("$contained" sh -c 'echo $$')" = 1 ] || fail "not PID 1 in a namespace"
	round=0
	while [ $round -lt 5 ]; do
		"$contained" sleep 30 &
		first=$!
		started="$started $first"
		within_10s held || fail "round $round: the first did not start"
		expect 75 "$contained" sleep 30
		grep -q "another instance is running as PID 1\$" "$dir/err" ||
			fail "the refused one does not name the holder: $(cat "$dir/err")"
		# SIGKILL ends the namespace's init (unshare --kill-child)
		kill -KILL $first
		wait $first || true
		within_10s free || fail "round $round: the file is still held"
		round=$((round + 1))
	done
	# started together: one runs, the other exits 75
	round=0
	while [ $round -lt 10 ]; do
		"$contained" sleep 30 2>/dev/null &
		a=$!
		"$contained" sleep 30 2>/dev/null &
		b=$!
		started="$started $a $b"
		within_10s held || fail "together: neither started"
		i=0
		while kill -0 $a 2>/dev/null && kill -0 $b 2>/dev/null; do
			i=$((i + 1))
			[ $i -lt 200 ] || fail "together: both run"
			sleep 0.05
		done
		st=0
		if kill -0 $a 2>/dev/null; then
			wait $b || st=$?
			runner=$a
		else
			wait $a || st=$?
			runner=$b
		fi
		[ $st -eq 75 ] || fail "together: the other exited $st, not 75"
		kill -KILL $runner
		wait $runner || true
		within_10s free || fail "together: the file is still held"
		round=$((round + 1))
	done
	;;
init-sigterm)
	file=$dir/app.pid
	unshare --pid --fork --kill-child --mount-proc \
		env LD_PRELOAD="$shim" PIDSHIM_PIDFILE="$file" sleep 30 &
	outer=$!
	started="$started $outer"
	within_10s grep -qs '^1$' "$file" || fail "the init did not start"
	init=$(pgrep -P $outer)
	kill -TERM "$init"
	sleep 0.5
	kill -0 "$init" 2>/dev/null || fail "the init ended (the kernel ignores it)"
	[ -e "$file" ] || fail "the PID file of the running init was removed"
	expect 75 env LD_PRELOAD="$shim" PIDSHIM_PIDFILE="$file" true
	;;
stop-elsewhere)
	file=$dir/app.pid
	# sh is PID 1 there, the holder 2
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --pid --fork --kill-child --mount-proc sh -c \
		'LD_PRELOAD=$0 PIDSHIM_PIDFILE=$1 sleep 30; :' "$shim" "$file" &
	started="$started $!"
	within_10s grep -qs '^2$' "$file" || fail "the holder did not start"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --pid --fork --kill-child --mount-proc sh -c '
sleep 30 &
"$0" stop -t 1 "$1" >/dev/null 2>&1 || :
if kill -0 $! 2>/dev/null; then echo spared; else echo signalled; fi
kill -KILL $! 2>/dev/null || :' "$pidshim" "$file" >"$dir/out"
	[ "$(cat "$dir/out")" = spared ] ||
		fail "pidshim stop signalled another namespace's PID 2"
	# from here too, 2 is not the holder: status says held, prints no PID
	out=$("$pidshim" status "$file" 2>"$dir/err") ||
		fail "status of a held file: not 0"
	[ -z "$out" ] || fail "status printed another namespace's PID: $out"
	grep -q "not its holder" "$dir/err" ||
		fail "status did not say why: $(cat "$dir/err")"
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok: $case"

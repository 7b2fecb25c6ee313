#!/bin/sh
# shellcheck disable=SC2016 # single-quoted scripts are for the inner shells
# Cluster locks on real etcd servers (pidshim(1), the --cluster options):
# members started by the test on 127.0.0.1 (tests/etcd-common.sh), data
# directories under the test's own, stopped by PID when it ends. "Hosts"
# are pidshim processes on this machine with distinct --host names. One
# case per run, so that meson counts each:
#   test-cluster.sh PIDSHIM SHIM CASE
# Skipped (77) without etcd 3.4 or later. Timings are generous timeouts;
# the only comparisons of time are of timestamps the commands themselves
# recorded (one command's end before the next one's start).
set -eu
pidshim=$1
shim=$(realpath "$2")
case=$3
sanitizer=${PIDSHIM_TEST_PRELOAD:-}
# shellcheck source=shell-common.sh
. "${0%/*}/shell-common.sh"
# shellcheck source=etcd-common.sh
. "${0%/*}/etcd-common.sh"
etcd_usable || skip "no etcd 3.4 or later (etcd-server, etcd-client)"
# a sanitizer build's runtime first in LD_PRELOAD (shell-common.sh)
pidshim=$(sanitized_pidshim "$sanitizer" "$pidshim")
[ -e "$shim" ] || fail "no shim at $shim"

ETCD_DIR=$dir/etcd
mkdir "$ETCD_DIR" "$dir/pids"
# the commands write their PIDs into $dir/pids: killed too, should a
# pidshim have left one behind; the members stopped before $dir goes
cluster_cleanup() {
	for f in "$dir"/pids/*; do
		[ ! -s "$f" ] || kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	etcd_stop_all
	cleanup
}
trap cluster_cleanup EXIT

# the timings of short leases: TTL 3 s, renewed every second, KILL half
# a second after TERM (pidshim(1): renew + grace + 0.5 < TTL)
short="--ttl 3 --renew 1 --grace 0.5"
# strace and its options, for start_waiter to run pidshim under
tracer=

now() {
	date +%s.%N
}

# before A B: timestamp A is earlier than timestamp B
before() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

# plus TIME SECONDS: the timestamp SECONDS after TIME
plus() {
	awk -v t="$1" -v s="$2" 'BEGIN { printf "%.6f\n", t + s }'
}

# within SECONDS COMMAND...: up to SECONDS for the command to hold
within() {
	limit=$(($1 * 20))
	shift
	n=0
	until "$@"; do
		n=$((n + 1))
		[ "$n" -lt "$limit" ] || return 1
		sleep 0.05
	done
}

# keys NAME: how many keys etcd has under NAME/ (holders and waiters)
keys() {
	etcd_ctl get --prefix "$1/" --keys-only | grep -c . || true
}

# keys_at_least NAME N
keys_at_least() {
	[ "$(keys "$1")" -ge "$2" ]
}

# gone PID: the process has ended (a zombie has)
gone() {
	! alive "$1"
}

# finish PID SECONDS: up to SECONDS for background job PID to end, then
# its status in $st (not in a subshell: only this shell can wait for it)
finish() {
	within "$2" gone "$1" || fail "PID $1 still running after $2 s"
	st=0
	wait "$1" || st=$?
}

# one_line FILE: FILE holds exactly one line
one_line() {
	[ "$(wc -l <"$1")" -eq 1 ] || fail "not one line: $(cat "$1")"
}

# a port on 127.0.0.1 where nothing listens
free_url() {
	echo "http://127.0.0.1:$(etcd_free_ports 1)"
}

# ---- races and hand-offs -----------------------------------------------

# the race's command (hosts' shared log in $3): it notes its host, token
# and pidshim's PID, then holds the lock until the 7 others have their
# answer (in $1/st.*), 30 s at most
race_command='echo "start $2 $PIDSHIM_FENCING_TOKEN $PPID $(date +%s.%N)" >>"$3"
n=0
while [ "$(ls "$1" | grep -c "^st\.")" -lt 7 ] && [ $n -lt 600 ]; do
	sleep 0.05
	n=$((n + 1))
done
echo "end $2 $(date +%s.%N)" >>"$3"'

# 8 hosts started together for one lock, 100 rounds: one runs, the 7
# others exit 75 each naming it (host and PID), and the fencing tokens
# increase from round to round
check_race() {
	etcd_start_cluster 1
	last=0
	round=1
	while [ "$round" -le 100 ]; do
		r=$dir/r$round
		mkdir "$r"
		: >"$r/log"
		hosts=
		for h in 1 2 3 4 5 6 7 8; do
			(
				s=0
				# shellcheck disable=SC2086 # the options are words
				"$pidshim" lock -n --cluster "$ETCD_ENDPOINTS/race" \
					--host "h$h" $short -- sh -c "$race_command" sh \
					"$r" "h$h" "$r/log" 2>"$r/err.h$h" || s=$?
				echo "$s" >"$r/.st.h$h"
				mv "$r/.st.h$h" "$r/st.h$h"
			) &
			hosts="$hosts $!"
		done
		# each ends: the winner's command waits 30 s at most
		# shellcheck disable=SC2086 # one PID a word
		wait $hosts
		if [ "$(grep -c '^start' "$r/log")" -ne 1 ] ||
			[ "$(grep -c '^end' "$r/log")" -ne 1 ]; then
			fail "round $round: $(cat "$r/log" "$r"/err.*)"
		fi
		# shellcheck disable=SC2046 # four words
		set -- $(sed -n 's/^start //p' "$r/log")
		winner=$1 token=$2 holder=$3
		[ "$(cat "$r/st.$winner")" -eq 0 ] ||
			fail "round $round: $winner ran, exit $(cat "$r/st.$winner"): $(cat "$r/err.$winner")"
		for h in h1 h2 h3 h4 h5 h6 h7 h8; do
			[ "$h" != "$winner" ] || continue
			[ "$(cat "$r/st.$h")" -eq 75 ] ||
				fail "round $round: $h exited $(cat "$r/st.$h"), not 75: $(cat "$r/err.$h")"
			one_line "$r/err.$h"
			grep -qF "held by $winner (PID $holder) since" "$r/err.$h" ||
				fail "round $round: $winner (PID $holder) ran, $h said: $(cat "$r/err.$h")"
		done
		case $token in
		*[!0-9]* | '') fail "round $round: token '$token'" ;;
		esac
		[ "$token" -gt "$last" ] ||
			fail "round $round: token $token after $last"
		last=$token
		round=$((round + 1))
	done
	[ "$(keys race)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix race/)"
}

# start_holder NAME HOST [OPTIONS...]: pidshim lock holds NAME as HOST
# (PID in $holder), its command a shell that notes "start TIME" in
# $dir/NAME.hlog, and on TERM "end TIME" before it exits 143; it runs
# until $dir/NAME.go appears (60 s at most). Its PID in $hcmd.
start_holder() {
	name=$1 host=$2
	shift 2
	"$pidshim" lock --cluster "$ETCD_ENDPOINTS/$name" --host "$host" "$@" -- \
		sh -c 'echo $$ >"$1/pids/$2"
trap "echo end \$(date +%s.%N) >>\"$1/$2.hlog\"; exit 143" TERM
echo start $(date +%s.%N) >>"$1/$2.hlog"
n=0
until [ -e "$1/$2.go" ] || [ $n -ge 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
echo end $(date +%s.%N) >>"$1/$2.hlog"' sh "$dir" "$name" \
		2>"$dir/$name.herr" &
	holder=$!
	started="$started $holder"
	within 20 started_or_gone "$holder" "$dir/$name.hlog" || true
	grep -q '^start' "$dir/$name.hlog" 2>/dev/null ||
		fail "$host never ran: $(cat "$dir/$name.herr")"
	hcmd=$(cat "$dir/pids/$name")
}

# started_or_gone PID LOG: the command of pidshim PID has noted its
# start in LOG, or pidshim has ended
started_or_gone() {
	grep -q '^start' "$2" 2>/dev/null || gone "$1"
}

# waiting_or_gone PID NAME: waiter PID's key is in etcd, or it has ended
waiting_or_gone() {
	keys_at_least "$2" 2 || gone "$1"
}

# start_waiter NAME HOST [OPTIONS...]: pidshim lock waits for NAME as
# HOST (PID in $waiter); its command notes "start TIME" in
# $dir/NAME.wlog, and "holder-alive" when the holder's command ($hcmd)
# still ran then; under $tracer when one is set. Returns once the
# waiter's key is in etcd.
start_waiter() {
	name=$1 host=$2
	shift 2
	# shellcheck disable=SC2086 # the tracer's words, or none
	HOLDER=$hcmd $tracer "$pidshim" lock -v --cluster "$ETCD_ENDPOINTS/$name" \
		--host "$host" "$@" -- sh -c 'echo start $(date +%s.%N) >>"$1"
s=$(ps -o stat= -p "$HOLDER" | cut -c1)
[ -z "$s" ] || [ "$s" = Z ] || echo holder-alive "$s" >>"$1"' \
		sh "$dir/$name.wlog" 2>"$dir/$name.werr" &
	waiter=$!
	started="$started $waiter"
	within 20 waiting_or_gone "$waiter" "$name" || true
	if gone "$waiter" || ! keys_at_least "$name" 2; then
		fail "$host never waited: $(cat "$dir/$name.werr")"
	fi
}

# check_handoff NAME: the waiter's command started after the holder's
# command had ended, and not while it ran
check_handoff() {
	[ -s "$dir/$1.wlog" ] || fail "the waiter's command never ran: $(cat "$dir/$1.werr")"
	! grep -q holder-alive "$dir/$1.wlog" ||
		fail "the waiter started while the holder's command ran"
	wstart=$(sed -n 's/^start //p' "$dir/$1.wlog")
	hend=$(sed -n 's/^end //p' "$dir/$1.hlog")
	[ -z "$hend" ] || before "$hend" "$wstart" ||
		fail "overlap: the holder's command ended at $hend, the waiter's started at $wstart"
}

# requests TRACE FROM TO: the requests but lease keep-alives a traced
# pidshim sent between two times
requests() {
	awk -v from="$2" -v to="$3" '$2 >= from && $2 <= to' "$1" |
		grep -o '"POST /v3/[a-z/]*' | grep -v keepalive || true
}

# the holder killed with kill -9: its command is stopped at once, the
# waiter is woken by the server (no requests while it waits, but lease
# keep-alives) when the lease ends, within the TTL
check_wait_wakeup() {
	etcd_start_cluster 1
	# shellcheck disable=SC2086 # the options are words
	start_holder ww a $short
	tracer=
	if strace -f -o /dev/null true 2>/dev/null; then
		tracer="strace -f -ttt -qq -s 64 -e trace=sendto,sendmsg,write,writev -o $dir/trace"
	fi
	# shellcheck disable=SC2086 # the options are words
	start_waiter ww b $short
	t1=$(now)
	sleep 3
	t2=$(now)
	kill -KILL "$holder"
	within 10 gone "$hcmd" || fail "the command outlived pidshim's kill -9"
	finish "$waiter" 20
	[ "$st" -eq 0 ] || fail "the waiter exited $st: $(cat "$dir/ww.werr")"
	check_handoff ww
	wstart=$(sed -n 's/^start //p' "$dir/ww.wlog")
	# the lease (TTL 3) ran out on the server, with slack for a busy machine
	before "$wstart" "$(plus "$t2" 10)" ||
		fail "the waiter started at $wstart, the holder was killed at $t2"
	if [ -n "$tracer" ]; then
		# the trace saw the wait (the lock service's request) and
		# the lease renewed meanwhile, else it proves nothing
		grep -q '"POST /v3/lock/lock' "$dir/trace" ||
			fail "no lock request traced: $(head -c 2000 "$dir/trace")"
		awk -v from="$t1" -v to="$t2" '$2 >= from && $2 <= to' \
			"$dir/trace" | grep -q '"POST /v3/lease/keepalive' ||
			fail "no renewal traced while waiting"
		polls=$(requests "$dir/trace" "$t1" "$t2")
		[ "$(echo "$polls" | grep -c .)" -le 1 ] ||
			fail "the waiter polled: $polls"
	fi
	[ "$(keys ww)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix ww/)"
}

# the holder's command ends: the lease is revoked, the waiter starts at
# once, long before the TTL (20 s) could run out; pidshim exits with the
# command's status
check_release() {
	etcd_start_cluster 1
	start_holder rel a --ttl 20
	start_waiter rel b --ttl 20
	t0=$(now)
	touch "$dir/rel.go"
	finish "$holder" 20
	[ "$st" -eq 0 ] || fail "the holder exited $st: $(cat "$dir/rel.herr")"
	finish "$waiter" 20
	[ "$st" -eq 0 ] || fail "the waiter exited $st: $(cat "$dir/rel.werr")"
	check_handoff rel
	before "$wstart" "$(plus "$t0" 10)" ||
		fail "the waiter started at $wstart, the holder's command ended at $t0"
	[ "$(keys rel)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix rel/)"
	expect 7 "$pidshim" lock --cluster "$ETCD_ENDPOINTS/rel" -- sh -c 'exit 7'
	expect 143 "$pidshim" lock --cluster "$ETCD_ENDPOINTS/rel" -- \
		sh -c 'kill -TERM $$; sleep 5'
	[ "$(keys rel)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix rel/)"
	# a process that left the command's group (setsid, as a daemon
	# does) is stopped before the lock goes (pidshim(1), CLUSTER LOCKS)
	expect 0 "$pidshim" lock --cluster "$ETCD_ENDPOINTS/rel" -- \
		sh -c 'setsid sleep 60 & echo $! >"$1/escaped"' sh "$dir"
	escaped=$(cat "$dir/escaped")
	state=$(ps -o stat= -p "$escaped" || true)
	case $state in
	'' | Z*) ;;
	*) kill "$escaped"
		fail "a process that left the group outlived the lock: $escaped ($state)" ;;
	esac
	# the watchdog killed: pidshim fences the command itself, and still
	# lets the lock go (no SIGPIPE from telling a watchdog gone)
	"$pidshim" lock --ttl 3 --renew 0.2 --grace 0.5 \
		--cluster "$ETCD_ENDPOINTS/wd" -- sleep 60 \
		>"$dir/wd.out" 2>"$dir/wd.err" &
	holder=$!
	started="$started $holder"
	within 20 pgrep -P "$holder" -x pidshim-fence >/dev/null ||
		fail "no watchdog: $(cat "$dir/wd.err")"
	kill -KILL "$(pgrep -P "$holder" -x pidshim-fence)"
	finish "$holder" 20
	[ "$st" -eq 143 ] || fail "the holder exited $st: $(cat "$dir/wd.err")"
	grep -q "watchdog ended" "$dir/wd.err" ||
		fail "not said: $(cat "$dir/wd.err")"
	[ "$(keys wd)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix wd/)"
}

# cut off, 20 rounds: the holder's pidshim SIGSTOPped (odd rounds), or
# the one member it was given SIGSTOPped, the waiter talking to the
# others (even rounds; each member in turn, whichever leads). The
# holder's command ends (fenced) before the waiter's starts; once
# continued, the holder's pidshim exits 143 or 137, saying why.
check_fence_stopped() {
	etcd_start_cluster 3
	all=$ETCD_ENDPOINTS
	round=1
	while [ "$round" -le 20 ]; do
		name=f$round
		ETCD_ENDPOINTS=$all
		hurls=$all wurls=$all member=
		if [ $((round % 2)) -eq 0 ]; then
			member=$((round / 2 % 3 + 1))
			hurls=$(etcd_member_url "$member")
			wurls=
			for m2 in 1 2 3; do
				[ "$m2" -eq "$member" ] ||
					wurls="$wurls${wurls:+,}$(etcd_member_url "$m2")"
			done
		fi
		ETCD_ENDPOINTS=$hurls
		# shellcheck disable=SC2086 # the options are words
		start_holder "$name" a $short
		# the waiter with the default TTL (10 s): a leader election
		# among the other members outlasts a lease of 3 s's renewals
		ETCD_ENDPOINTS=$wurls
		start_waiter "$name" b
		if [ -z "$member" ]; then
			stopped=$holder
		else
			stopped=$(etcd_member_pid "$member")
		fi
		kill -STOP "$stopped"
		finish "$waiter" 30
		kill -CONT "$stopped"
		[ "$st" -eq 0 ] || fail "round $round: the waiter exited $st: $(cat "$dir/$name.werr")"
		check_handoff "$name"
		[ -n "$(sed -n 's/^end //p' "$dir/$name.hlog")" ] ||
			gone "$hcmd" || fail "round $round: the holder's command runs on"
		finish "$holder" 30
		case $st in
		143 | 137) ;;
		*) fail "round $round: the holder exited $st, not 143 or 137: $(cat "$dir/$name.herr")" ;;
		esac
		grep -q 'not renewed' "$dir/$name.herr" ||
			fail "round $round: the holder did not say why: $(cat "$dir/$name.herr")"
		[ -z "$member" ] || etcd_wait_healthy "$member" ||
			fail "round $round: member $member did not come back"
		round=$((round + 1))
	done
}

# leads_among URLS: one of these members leads
leads_among() {
	[ -n "$(ETCD_ENDPOINTS=$1 etcd_leader)" ]
}

# a three-member cluster, its leader killed while a job holds the lock
# (all three URLs given): the job runs on past its TTL (or is fenced,
# never doubled: the waiter on another host starts only after its end);
# when it ends, the lock is free
check_leader_kill() {
	etcd_start_cluster 3
	old=$(etcd_leader)
	[ -n "$old" ] || fail "no leader"
	# the leader's URL first: the one the job and the waiter ask first
	others=
	for m2 in 1 2 3; do
		[ "$m2" -eq "$old" ] ||
			others="$others${others:+,}$(etcd_member_url "$m2")"
	done
	ETCD_ENDPOINTS=$(etcd_member_url "$old"),$others
	start_holder lk a --ttl 5 --renew 1 --grace 0.5
	start_waiter lk b --ttl 5 --renew 1 --grace 0.5
	kill -KILL "$(etcd_member_pid "$old")"
	within 30 leads_among "$others" || fail "no new leader"
	# past the TTL the lease had when the leader died
	sleep 6
	if alive "$holder"; then
		alive "$hcmd" || fail "the job's command ended, pidshim runs on"
		echo "# the job ran on past the death of the leader"
		[ ! -s "$dir/lk.wlog" ] || fail "doubled: the waiter runs too"
		touch "$dir/lk.go"
		finish "$holder" 20
		[ "$st" -eq 0 ] || fail "the holder exited $st: $(cat "$dir/lk.herr")"
	else
		finish "$holder" 1
		case $st in
		143 | 137) ;;
		*) fail "the holder exited $st, not fenced: $(cat "$dir/lk.herr")" ;;
		esac
		echo "# the job was fenced when the leader died"
	fi
	finish "$waiter" 30
	[ "$st" -eq 0 ] || fail "the waiter exited $st: $(cat "$dir/lk.werr")"
	check_handoff lk
	# all three URLs, the first the dead member's
	expect 3 "$pidshim" status --cluster "$ETCD_ENDPOINTS/lk"
	ETCD_ENDPOINTS=$others
	[ "$(keys lk)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix lk/)"
}

# etcdctl lock and pidshim lock --cluster exclude each other, both ways
check_interop() {
	etcd_start_cluster 1
	log=$dir/il.log
	etcd_ctl lock il -- sh -c 'echo "etcdctl-start $(date +%s.%N)" >>"$1"
until [ -e "$1.go" ]; do sleep 0.05; done
echo "etcdctl-end $(date +%s.%N)" >>"$1"' sh "$log" >/dev/null 2>&1 &
	ctl=$!
	started="$started $ctl"
	within 20 grep -q etcdctl-start "$log" 2>/dev/null || fail "etcdctl lock never ran"
	expect 75 "$pidshim" lock -n --cluster "$ETCD_ENDPOINTS/il" -- touch "$dir/made"
	[ ! -e "$dir/made" ] || fail "pidshim ran while etcdctl held the lock"
	"$pidshim" lock --cluster "$ETCD_ENDPOINTS/il" -- sh -c \
		'echo "pidshim-start $(date +%s.%N)" >>"$1"' sh "$log" 2>"$dir/il.err" &
	p=$!
	started="$started $p"
	within 20 keys_at_least il 2 || fail "pidshim never waited: $(cat "$dir/il.err")"
	touch "$log.go"
	finish "$ctl" 20
	[ "$st" -eq 0 ] || fail "etcdctl lock exited $st"
	finish "$p" 20
	[ "$st" -eq 0 ] || fail "pidshim exited $st: $(cat "$dir/il.err")"
	before "$(sed -n 's/^etcdctl-end //p' "$log")" \
		"$(sed -n 's/^pidshim-start //p' "$log")" || fail "overlap: $(cat "$log")"
	# the other way round
	: >"$log"
	rm -f "$log.go"
	"$pidshim" lock --cluster "$ETCD_ENDPOINTS/il" -- sh -c \
		'echo "pidshim-start $(date +%s.%N)" >>"$1"
until [ -e "$1.go" ]; do sleep 0.05; done
echo "pidshim-end $(date +%s.%N)" >>"$1"' sh "$log" 2>"$dir/il.err" &
	p=$!
	started="$started $p"
	within 20 grep -q pidshim-start "$log" 2>/dev/null ||
		fail "pidshim never ran: $(cat "$dir/il.err")"
	etcd_ctl lock il -- sh -c 'echo "etcdctl-start $(date +%s.%N)" >>"$1"' \
		sh "$log" >/dev/null 2>&1 &
	ctl=$!
	started="$started $ctl"
	within 20 keys_at_least il 2 || fail "etcdctl lock never waited"
	sleep 0.5
	grep -q etcdctl-start "$log" && fail "etcdctl ran while pidshim held the lock"
	touch "$log.go"
	finish "$p" 20
	[ "$st" -eq 0 ] || fail "pidshim exited $st: $(cat "$dir/il.err")"
	finish "$ctl" 20
	[ "$st" -eq 0 ] || fail "etcdctl lock exited $st"
	before "$(sed -n 's/^pidshim-end //p' "$log")" \
		"$(sed -n 's/^etcdctl-start //p' "$log")" || fail "overlap: $(cat "$log")"
}

# ---- run, status, signals ----------------------------------------------

locked() {
	[ -s "$1" ] && ! flock -n "$1" true
}

# pidshim run --cluster: the local PID file as without it (the shim in
# the command), the fencing token in its environment; a second run on
# another host is refused naming the first; SIGTERM ends the command and
# frees the lock
check_run() {
	etcd_start_cluster 1
	f=$dir/x.pid
	"$pidshim" run --cluster "$ETCD_ENDPOINTS/rn" --host h1 -p "$f" -- \
		sh -c 'echo "$PIDSHIM_FENCING_TOKEN" >"$1/token"; echo $$ >"$1/pids/rn"; exec sleep 30' \
		sh "$dir" >"$dir/run.out" 2>"$dir/run.err" &
	runner=$!
	started="$started $runner"
	within 20 locked "$f" || fail "$f never locked: $(cat "$dir/run.err")"
	within 10 test -s "$dir/pids/rn" || fail "no command"
	child=$(cat "$dir/pids/rn")
	[ "$(cat "$f")" = "$child" ] || fail "$f names $(cat "$f"), not the command $child"
	grep -qx '[1-9][0-9]*' "$dir/token" || fail "token: '$(cat "$dir/token")'"
	# none of pidshim's descriptors (its connections to etcd) in the
	# command (pidshim(1), CLUSTER LOCKS)
	for fd in "/proc/$child/fd"/*; do
		case $(readlink "$fd") in
		socket:*) fail "the command inherited a socket: $fd" ;;
		esac
	done
	# the token is the holder's key's create revision
	revision=$(etcd_ctl get --prefix rn/ -w json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["kvs"][0]["create_revision"])')
	[ "$(cat "$dir/token")" = "$revision" ] ||
		fail "token $(cat "$dir/token"), the key's create revision $revision"
	expect 75 "$pidshim" run --cluster "$ETCD_ENDPOINTS/rn" --host h2 \
		-p "$dir/y.pid" -- touch "$dir/made"
	one_line "$dir/err"
	grep -qF "held by h1 (PID $runner) since" "$dir/err" ||
		fail "not named: $(cat "$dir/err")"
	expect 9 "$pidshim" run --cluster "$ETCD_ENDPOINTS/rn" --host h2 -E 9 \
		-p "$dir/y.pid" -- touch "$dir/made"
	expect 75 "$pidshim" run --cluster "$ETCD_ENDPOINTS/rn" --host h2 \
		--wait=1 -p "$dir/y.pid" -- touch "$dir/made"
	if [ -e "$dir/made" ] || [ -e "$dir/y.pid" ]; then
		fail "the second run started something"
	fi
	kill -TERM "$runner"
	finish "$runner" 20
	[ "$st" -eq 143 ] || fail "run exited $st, not 143: $(cat "$dir/run.err")"
	gone "$child" || fail "the command outlived run"
	[ ! -e "$f" ] || fail "$f left behind"
	[ "$(keys rn)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix rn/)"
	# the lock is free: the next run takes it, with a later token
	expect 0 "$pidshim" run --cluster "$ETCD_ENDPOINTS/rn" --host h2 \
		-p "$dir/y.pid" -- sh -c 'echo "$PIDSHIM_FENCING_TOKEN"'
	[ "$(cat "$dir/out")" -gt "$(cat "$dir/token")" ] ||
		fail "token $(cat "$dir/out") after $(cat "$dir/token")"
}

# pidshim status --cluster: 3 free, 0 held (host and PID on stdout), 4
# when it cannot tell
check_status() {
	etcd_start_cluster 1
	expect 3 "$pidshim" status --cluster "$ETCD_ENDPOINTS/st"
	start_holder st somehost
	expect 0 "$pidshim" status --cluster "$ETCD_ENDPOINTS/st"
	one_line "$dir/out"
	grep -qw somehost "$dir/out" || fail "no host: $(cat "$dir/out")"
	grep -qw "$holder" "$dir/out" || fail "no PID $holder: $(cat "$dir/out")"
	touch "$dir/st.go"
	finish "$holder" 20
	[ "$st" -eq 0 ] || fail "the holder exited $st: $(cat "$dir/st.herr")"
	expect 3 "$pidshim" status --cluster "$ETCD_ENDPOINTS/st"
	expect 4 "$pidshim" status --cluster "$(free_url)/st"
}

# SIGTERM, SIGINT, SIGHUP to a waiting pidshim: it ends (128+N), its
# key gone from etcd, its command never run; so does a wait with -w
# when it times out
check_signals_waiting() {
	etcd_start_cluster 1
	start_holder sw a
	for sig in TERM:143 INT:130 HUP:129; do
		# the signals that a shell's background job would ignore, at
		# their default
		env --default-signal=INT,QUIT "$pidshim" lock --cluster \
			"$ETCD_ENDPOINTS/sw" --host b -- touch "$dir/made" \
			2>"$dir/sw.werr" &
		w=$!
		started="$started $w"
		within 20 keys_at_least sw 2 ||
			fail "never waited: $(cat "$dir/sw.werr")"
		kill -"${sig%:*}" "$w"
		finish "$w" 20
		[ "$st" -eq "${sig#*:}" ] ||
			fail "SIG${sig%:*}: exit $st, not ${sig#*:}: $(cat "$dir/sw.werr")"
		[ "$(keys sw)" -eq 1 ] ||
			fail "SIG${sig%:*}: keys left: $(etcd_ctl get --prefix sw/)"
	done
	# a bounded wait: 75 (or -E's) at its end, naming the holder, its
	# key gone
	expect 75 "$pidshim" lock -w 1 --cluster "$ETCD_ENDPOINTS/sw" --host b \
		-- touch "$dir/made"
	one_line "$dir/err"
	grep -qF "held by a (PID $holder) since" "$dir/err" ||
		fail "-w 1: $(cat "$dir/err")"
	expect 9 "$pidshim" lock -w 0.5 -E 9 --cluster "$ETCD_ENDPOINTS/sw" \
		-- touch "$dir/made"
	[ "$(keys sw)" -eq 1 ] || fail "-w: keys left: $(etcd_ctl get --prefix sw/)"
	[ ! -e "$dir/made" ] || fail "a waiter's command ran"
	kill -TERM "$holder"
	finish "$holder" 20
	[ "$st" -eq 143 ] || fail "the holder exited $st, not 143: $(cat "$dir/sw.herr")"
	gone "$hcmd" || fail "the holder's command outlived it"
	[ "$(keys sw)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix sw/)"
}

# ---- errors ------------------------------------------------------------

# nothing_ran: no command ran, no PID file was made
nothing_ran() {
	if [ -e "$dir/made" ] || [ -e "$dir/x.pid" ]; then
		fail "$1: something ran"
	fi
}

# bad URLs, NAMEs and timings: 64, one line, nothing run
check_usage() {
	u=$(free_url)
	for bad in "--cluster ftp://127.0.0.1:2379/x" "--cluster $u" \
		"--cluster $u/" "--cluster http:///x" "--cluster ,$u/x" \
		"--ttl 1" "--ttl 0" "--ttl x" "--ttl 2.5" "--ttl -3" \
		"--renew x" "--renew 0" "--renew -1" "--grace x" "--grace -1" \
		"--ttl 3 --renew 2 --grace 1" "--ttl 10 --renew 9" \
		"--ttl 5 --renew 2 --grace 3" "--grace 2147483" \
		"--renew 2147483" "--renew 2147483 --grace 2147483"; do
		case $bad in
		--cluster*) opts=$bad ;;
		*) opts="--cluster $u/x $bad" ;;
		esac
		# shellcheck disable=SC2086 # the options and values are words
		expect 64 "$pidshim" lock $opts -- touch "$dir/made"
		one_line "$dir/err"
		# shellcheck disable=SC2086 # the options and values are words
		expect 64 "$pidshim" run $opts -p "$dir/x.pid" -- touch "$dir/made"
		one_line "$dir/err"
		nothing_ran "$bad"
	done
	# the rule named
	expect 64 "$pidshim" lock --cluster "$u/x" --ttl 3 --renew 2 --grace 1 -- true
	for word in renew grace ttl; do
		grep -qi "$word" "$dir/err" || fail "the rule not named: $(cat "$dir/err")"
	done
	expect 64 "$pidshim" lock --cluster "$u/x"
	one_line "$dir/err"
	expect 64 "$pidshim" status --cluster "$u"
	one_line "$dir/err"
	expect 64 "$pidshim" status --cluster "$u/x" --ttl x
	one_line "$dir/err"
}

# no endpoint answers: 69, one line naming the URL (the last one asked,
# pidshim(1) EXIT STATUS), nothing run; PIDSHIM_CLUSTER is run's and
# status's default
check_unreachable() {
	u=$(free_url)
	v=$(free_url)
	expect 69 "$pidshim" lock --cluster "$u/x" -- touch "$dir/made"
	one_line "$dir/err"
	grep -qF "$u" "$dir/err" || fail "URL not named: $(cat "$dir/err")"
	expect 69 "$pidshim" lock -n --cluster "$u,$v/x" -- touch "$dir/made"
	one_line "$dir/err"
	grep -qF "$v" "$dir/err" || fail "$v not named: $(cat "$dir/err")"
	expect 69 "$pidshim" run --cluster "$u/x" -p "$dir/x.pid" -- touch "$dir/made"
	one_line "$dir/err"
	PIDSHIM_CLUSTER=$v/x expect 69 "$pidshim" run -p "$dir/x.pid" -- \
		touch "$dir/made"
	grep -qF "$v" "$dir/err" || fail "PIDSHIM_CLUSTER not used: $(cat "$dir/err")"
	expect 4 "$pidshim" status --cluster "$u/x"
	PIDSHIM_CLUSTER=$v/x expect 4 "$pidshim" status
	nothing_ran unreachable
}

# a refused login: 77 (status: 4), nothing run; the right one works
check_auth() {
	etcd_start_cluster 1
	etcd_enable_auth s3cret-pw || fail "could not enable authentication"
	expect 77 "$pidshim" lock --cluster "$ETCD_ENDPOINTS/a" --user root:wrong \
		-- touch "$dir/made"
	one_line "$dir/err"
	expect 77 "$pidshim" run --cluster "$ETCD_ENDPOINTS/a" --user root:wrong \
		-p "$dir/x.pid" -- touch "$dir/made"
	one_line "$dir/err"
	ETCDCTL_PASSWORD=wrong expect 77 "$pidshim" lock --cluster \
		"$ETCD_ENDPOINTS/a" --user root -- touch "$dir/made"
	expect 4 "$pidshim" status --cluster "$ETCD_ENDPOINTS/a" --user root:wrong
	nothing_ran auth
	expect 0 "$pidshim" lock --cluster "$ETCD_ENDPOINTS/a" --user root:s3cret-pw \
		-- sh -c 'echo "$PIDSHIM_FENCING_TOKEN"'
	grep -qx '[1-9][0-9]*' "$dir/out" || fail "token: $(cat "$dir/out")"
	ETCDCTL_PASSWORD=s3cret-pw expect 0 "$pidshim" lock --cluster \
		"$ETCD_ENDPOINTS/a" --user root -- true
	expect 3 "$pidshim" status --cluster "$ETCD_ENDPOINTS/a" --user root:s3cret-pw
	# the password given in the command line is not in what ps shows
	start_holder a somehost --user root:s3cret-pw
	! tr '\0' ' ' <"/proc/$holder/cmdline" | grep -q s3cret ||
		fail "the password shows: $(tr '\0' ' ' <"/proc/$holder/cmdline")"
	expect 0 "$pidshim" status --cluster "$ETCD_ENDPOINTS/a" --user root:s3cret-pw
	grep -qw somehost "$dir/out" || fail "status: $(cat "$dir/out")"
	touch "$dir/a.go"
	finish "$holder" 20
	[ "$st" -eq 0 ] || fail "the holder exited $st: $(cat "$dir/a.herr")"
	[ "$(keys a)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix a/)"
	# the member restarted under a holder: its login's token is gone
	# with it; pidshim logs in again, renews on, and lets go
	start_holder b otherhost --user root:s3cret-pw --renew 0.5
	member=$(etcd_member_pid 1)
	kill "$member"
	wait "$member" 2>/dev/null || true
	etcd_restart 1 || fail "the member did not come back"
	sleep 2
	touch "$dir/b.go"
	finish "$holder" 20
	[ "$st" -eq 0 ] || fail "the holder exited $st: $(cat "$dir/b.herr")"
	! grep -E "cannot revoke|login refused" "$dir/b.herr" ||
		fail "no new login: $(cat "$dir/b.herr")"
	[ "$(keys b)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix b/)"
}

# TLS with client certificates: with --cacert, --cert, --key it works;
# without the CA, or without the client's certificate, 69, nothing run
check_tls() {
	need openssl
	etcd_make_certs || fail "openssl could not make the certificates"
	ETCD_SCHEME=https
	# shellcheck disable=SC2086 # the options are words
	etcd_start_cluster 1 $ETCD_TLS_OPTIONS
	c=$ETCD_ENDPOINTS/t
	expect 0 "$pidshim" lock --cluster "$c" --cacert "$ETCD_CACERT" \
		--cert "$ETCD_CERT" --key "$ETCD_KEY" -- sh -c 'echo "$PIDSHIM_FENCING_TOKEN"'
	grep -qx '[1-9][0-9]*' "$dir/out" || fail "token: $(cat "$dir/out")"
	expect 3 "$pidshim" status --cluster "$c" --cacert "$ETCD_CACERT" \
		--cert "$ETCD_CERT" --key "$ETCD_KEY"
	expect 69 "$pidshim" lock --cluster "$c" --cert "$ETCD_CERT" \
		--key "$ETCD_KEY" -- touch "$dir/made"
	one_line "$dir/err"
	expect 69 "$pidshim" lock --cluster "$c" --cacert "$ETCD_CACERT" \
		-- touch "$dir/made"
	one_line "$dir/err"
	expect 69 "$pidshim" run --cluster "$c" --cert "$ETCD_CERT" \
		--key "$ETCD_KEY" -p "$dir/x.pid" -- touch "$dir/made"
	nothing_ran tls
	[ "$(keys t)" -eq 0 ] || fail "keys left: $(etcd_ctl get --prefix t/)"
}

case $case in
race) check_race ;;
wait-wakeup) check_wait_wakeup ;;
release) check_release ;;
fence-stopped) check_fence_stopped ;;
leader-kill) check_leader_kill ;;
interop) check_interop ;;
run) check_run ;;
status) check_status ;;
signals-waiting) check_signals_waiting ;;
usage) check_usage ;;
unreachable) check_unreachable ;;
auth) check_auth ;;
tls) check_tls ;;
*) fail "unknown case" ;;
esac
echo "ok: $case"

#!/bin/sh
# Daemon follow on real daemons, the shapes that broke it:
# - lighttpd forks workers and, on SIGTERM, signals them and returns: the
#   file must name the master while it runs and go when the last worker
#   has ended (it was left naming a dead worker);
# - dnsmasq (as root) becomes nobody and cannot remove root's file: it
#   must be left empty, unlocked, and the log must say why.
# Each daemon listens on loopback only and is stopped here, by PID.
#   test-shim-daemons.sh SHIM
set -eu
shim=$1
dir=$(mktemp -d)
chmod 755 "$dir"
# every daemon started here goes when the test ends, however it ends
started=
stop_all() {
	for pid in $started; do
		pkill -KILL -P "$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap stop_all EXIT
ran=0

fail() {
	echo "FAIL: $*"
	exit 1
}

# a file present must be locked: a stale file never looks live
locked() {
	! flock -n "$1" true
}

# wait up to 10 s for a file to go
gone() {
	i=0
	while [ -e "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -e "$1" ]
}

# wait up to 10 s for a process to end
ended() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$1" 2>/dev/null
}

# a free loopback TCP port (a few tries in case another test took it)
port=$((20000 + $$ % 20000))

# lighttpd's configuration on PORT; it writes its own PID file too
lighttpd_conf() {
	cat >"$dir/lighttpd.conf" <<EOF
server.document-root = "$dir/www"
server.port = $1
server.bind = "127.0.0.1"
server.max-worker = 3
server.errorlog = "$dir/lighttpd.log"
server.pid-file = "$dir/lighttpd-own.pid"
EOF
}

# Does lighttpd, without the shim, end on SIGTERM here? (Debian 11's
# 1.4.59 in a chroot does not: then there is nothing to compare.)
lighttpd_stops() {
	lighttpd_conf "$port"
	lighttpd -f "$dir/lighttpd.conf" || return 1
	own=$(cat "$dir/lighttpd-own.pid")
	started="$started $own"
	kill -TERM "$own"
	ended "$own"
}

if command -v lighttpd >/dev/null 2>&1 && mkdir "$dir/www" &&
	! lighttpd_stops; then
	echo "lighttpd does not end on SIGTERM here, even without the shim: not tried"
elif command -v lighttpd >/dev/null 2>&1; then
	ran=1
	for round in 1 2 3; do
		pidfile="$dir/lighttpd.pid"
		lighttpd_conf $((port + round))
		LD_PRELOAD=$shim PIDSHIM_PIDFILE=$pidfile PIDSHIM_DAEMON=follow \
			lighttpd -f "$dir/lighttpd.conf" ||
			fail "lighttpd did not start: $(cat "$dir/lighttpd.log")"
		# the launcher may return while the file is still being handed
		# to the master: readers retry, as "How a lock is taken" says
		i=0
		until master=$(cat "$pidfile") && [ -n "$master" ] &&
			[ "$(pgrep -P "$master" | wc -l)" -eq 3 ] || [ $i -ge 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		started="$started $master"
		[ "$(ps -o comm= -p "$master")" = lighttpd ] ||
			fail "round $round: the PID file names $master, not lighttpd"
		locked "$pidfile" || fail "round $round: the PID file is not locked"
		[ "$(pgrep -P "$master" | wc -l)" -eq 3 ] ||
			fail "round $round: lighttpd $master has not 3 workers"
		kill -TERM "$master"
		gone "$pidfile" ||
			fail "round $round: lighttpd ended, the PID file names $(cat "$pidfile")"
		! pgrep -P "$master" >/dev/null || fail "round $round: workers left"
	done
	echo "ok: lighttpd, 3 rounds"
fi

if command -v dnsmasq >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] &&
	id nobody >/dev/null 2>&1; then
	ran=1
	pidfile="$dir/dnsmasq.pid"
	LD_PRELOAD=$shim PIDSHIM_PIDFILE=$pidfile PIDSHIM_DAEMON=follow \
		PIDSHIM_LOG_FILE="$dir/dnsmasq.log" \
		dnsmasq --port=$((port + 10)) --listen-address=127.0.0.1 \
		--bind-interfaces --no-resolv --no-hosts --pid-file= --user=nobody ||
		fail "dnsmasq did not start"
	i=0
	until daemon=$(cat "$pidfile") && [ -n "$daemon" ] &&
		[ "$(ps -o user= -p "$daemon")" = nobody ] || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	started="$started $daemon"
	[ "$(ps -o user= -p "$daemon")" = nobody ] ||
		fail "the PID file names $daemon, not dnsmasq running as nobody"
	locked "$pidfile" || fail "dnsmasq: the PID file is not locked"
	kill -TERM "$daemon"
	ended "$daemon" || fail "dnsmasq did not end on SIGTERM"
	if [ -e "$pidfile" ]; then
		[ ! -s "$pidfile" ] || fail "dnsmasq left its file naming $(cat "$pidfile")"
		! locked "$pidfile" || fail "dnsmasq's file is still locked"
	fi
	grep -q 'cannot remove it as uid' "$dir/dnsmasq.log" ||
		fail "the log does not say why the file stayed: $(cat "$dir/dnsmasq.log")"
	echo "ok: dnsmasq, privileges dropped"
fi

[ $ran -eq 1 ] || { echo "skip: neither lighttpd nor dnsmasq"; exit 77; }

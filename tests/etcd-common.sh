# shellcheck shell=sh
# Real etcd servers for the cluster tests and the benchmark: members on
# 127.0.0.1 only, on ports the kernel picked free, with data directories
# of their own under $ETCD_DIR, stopped by PID (etcd_stop_all, from the
# caller's EXIT trap). Needs Debian's etcd-server and etcd-client 3.4 or
# later (the JSON gateway's /v3 paths); etcd_usable says whether they are.
#   . tests/etcd-common.sh
#   ETCD_DIR=$(mktemp -d)
#   etcd_start_cluster 1          # or 3: a three-member cluster
#   echo "$ETCD_ENDPOINTS"        # http://127.0.0.1:P1,http://...
#   etcd_member_url 2; etcd_member_pid 2; etcd_leader
#   etcd_stop_all

ETCD_ENDPOINTS=

# 0 when etcd and etcdctl are there and speak the /v3 gateway (3.4 on)
etcd_usable() {
	command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1 ||
		return 1
	v=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
	major=${v%%.*}
	rest=${v#*.}
	minor=${rest%%.*}
	[ -n "$major" ] && [ "$major" -ge 3 ] &&
		{ [ "$major" -gt 3 ] || [ "$minor" -ge 4 ]; }
}

# N free TCP ports on 127.0.0.1, one per line (bound and let go: etcd
# binds them a moment later; a port taken meanwhile fails its start,
# which etcd_start_cluster retries)
etcd_free_ports() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
for s in held:
    print(s.getsockname()[1])
PY
}

# etcd_start_cluster N [EXTRA ETCD OPTIONS...]: N members (1 or 3), each
# waited for until healthy; ETCD_ENDPOINTS lists their client URLs.
# $ETCD_SCHEME (http, or https with $ETCD_TLS_OPTIONS given as etcd
# options in EXTRA) names the client URLs' scheme.
etcd_start_cluster() {
	n=$1
	shift
	tries=0
	while ! etcd_try_start "$n" "$@"; do
		etcd_stop_all
		tries=$((tries + 1))
		if [ "$tries" -ge 3 ]; then
			echo "etcd: could not start $n members" >&2
			cat "$ETCD_DIR"/member*.log >&2 2>/dev/null
			return 1
		fi
	done
}

etcd_try_start() {
	n=$1
	shift
	scheme=${ETCD_SCHEME:-http}
	ports=$(etcd_free_ports $((2 * n)))
	initial='' ETCD_ENDPOINTS=''
	i=1
	for p in $ports; do
		if [ "$i" -le "$n" ]; then
			eval "etcd_client_port_$i=$p"
			ETCD_ENDPOINTS="$ETCD_ENDPOINTS${ETCD_ENDPOINTS:+,}$scheme://127.0.0.1:$p"
		else
			m=$((i - n))
			eval "etcd_peer_port_$m=$p"
			initial="$initial${initial:+,}m$m=http://127.0.0.1:$p"
		fi
		i=$((i + 1))
	done
	m=1
	while [ "$m" -le "$n" ]; do
		etcd_launch "$m" "$initial" new "$@"
		m=$((m + 1))
	done
	m=1
	while [ "$m" -le "$n" ]; do
		etcd_wait_healthy "$m" || return 1
		m=$((m + 1))
	done
	ETCD_INITIAL=$initial
}

# etcd_launch M INITIAL STATE [EXTRA...]: member M in the background
etcd_launch() {
	m=$1 initial=$2 state=$3
	shift 3
	cp=$(eval "echo \$etcd_client_port_$m")
	pp=$(eval "echo \$etcd_peer_port_$m")
	scheme=${ETCD_SCHEME:-http}
	mkdir -p "$ETCD_DIR/m$m"
	etcd --name "m$m" --data-dir "$ETCD_DIR/m$m" \
		--listen-client-urls "$scheme://127.0.0.1:$cp" \
		--advertise-client-urls "$scheme://127.0.0.1:$cp" \
		--listen-peer-urls "http://127.0.0.1:$pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pp" \
		--initial-cluster "$initial" --initial-cluster-state "$state" \
		--initial-cluster-token "pidshim-test-$$" \
		--logger zap --log-outputs stderr --log-level warn \
		"$@" >>"$ETCD_DIR/member$m.log" 2>&1 &
	eval "etcd_pid_$m=$!"
	echo "$!" >"$ETCD_DIR/member$m.pid"
}

# etcd_restart M [EXTRA...]: member M again, on its data directory
etcd_restart() {
	m=$1
	shift
	etcd_launch "$m" "$ETCD_INITIAL" existing "$@"
	etcd_wait_healthy "$m"
}

etcd_member_url() {
	echo "${ETCD_SCHEME:-http}://127.0.0.1:$(eval "echo \$etcd_client_port_$1")"
}

etcd_member_pid() {
	eval "echo \$etcd_pid_$1"
}

# etcdctl against ETCD_ENDPOINTS, with $ETCDCTL_OPTIONS (TLS, user)
etcd_ctl() {
	# shellcheck disable=SC2086 # the options are words
	ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" \
		${ETCDCTL_OPTIONS:-} --command-timeout=5s "$@"
}

# up to 20 s for member M to answer a read
etcd_wait_healthy() {
	url=$(etcd_member_url "$1")
	pid=$(etcd_member_pid "$1")
	i=0
	while [ "$i" -lt 200 ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		# shellcheck disable=SC2086 # the options are words
		if ETCDCTL_API=3 etcdctl --endpoints "$url" ${ETCDCTL_OPTIONS:-} \
			--command-timeout=1s endpoint health >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# the number (1..N) of the member that leads now, or nothing
etcd_leader() {
	etcd_ctl endpoint status -w json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
members = json.load(sys.stdin)
for m in members:
    if m["Status"]["header"]["member_id"] == m["Status"]["leader"]:
        url = m["Endpoint"]
        print(url)
' | while read -r url; do
		m=1
		while [ "$m" -le 9 ]; do
			[ "$(etcd_member_url "$m")" = "$url" ] && echo "$m" && break
			m=$((m + 1))
		done
	done
}

# every member started, stopped by its PID (a stopped one continued first)
etcd_stop_all() {
	for f in "$ETCD_DIR"/member*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -CONT "$pid" 2>/dev/null || true
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$f"
	done
}

# etcd_make_certs: a CA, a server certificate for 127.0.0.1 and a client
# certificate, made with openssl into $ETCD_DIR/tls; then
#   ETCD_SCHEME=https etcd_start_cluster 1 $ETCD_TLS_OPTIONS
# starts members that take only clients with a certificate of that CA.
# ETCD_CACERT, ETCD_CERT and ETCD_KEY name the client's files;
# ETCDCTL_OPTIONS gets them, for etcd_ctl and the health checks.
etcd_make_certs() {
	t=$ETCD_DIR/tls
	mkdir -p "$t"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=pidshim-test-ca \
		-keyout "$t/ca.key" -out "$t/ca.crt" >/dev/null 2>&1 || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
		>"$t/server.ext"
	printf 'extendedKeyUsage=clientAuth\n' >"$t/client.ext"
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=pidshim-test-$who" \
			-keyout "$t/$who.key" -out "$t/$who.csr" >/dev/null 2>&1 &&
			openssl x509 -req -in "$t/$who.csr" -CA "$t/ca.crt" \
				-CAkey "$t/ca.key" -CAcreateserial -days 2 \
				-extfile "$t/$who.ext" -out "$t/$who.crt" >/dev/null 2>&1 ||
			return 1
	done
	# shellcheck disable=SC2034 # the callers use it
	ETCD_TLS_OPTIONS="--cert-file $t/server.crt --key-file $t/server.key --trusted-ca-file $t/ca.crt --client-cert-auth"
	ETCD_CACERT=$t/ca.crt ETCD_CERT=$t/client.crt ETCD_KEY=$t/client.key
	ETCDCTL_OPTIONS="--cacert $ETCD_CACERT --cert $ETCD_CERT --key $ETCD_KEY"
}

# etcd_enable_auth PASSWORD: user root with PASSWORD, authentication on;
# etcd_ctl logs in as root from then on
etcd_enable_auth() {
	etcd_ctl user add "root:$1" >/dev/null &&
		etcd_ctl auth enable >/dev/null || return 1
	ETCDCTL_OPTIONS="${ETCDCTL_OPTIONS:-}${ETCDCTL_OPTIONS:+ }--user root:$1"
}

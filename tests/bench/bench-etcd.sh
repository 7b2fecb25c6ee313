#!/bin/sh
# The etcd member of pidshim-bench's cluster row: one member on 127.0.0.1
# (tests/etcd-common.sh), its data directory in DIR, on the filesystem
# being measured. It prints one line, "endpoints URL" once the member
# answers, or "skip WHY" when there is no etcd 3.4 or later, then stays
# until its standard input ends (the harness closes it, or dies) and
# stops the member by its PID: the member never outlives the benchmark.
#   bench-etcd.sh DIR
set -u
ETCD_DIR=$1
# shellcheck source=tests/etcd-common.sh
. "$(dirname "$0")/../etcd-common.sh"

if ! etcd_usable; then
	echo "skip no etcd 3.4 or later (etcd-server, etcd-client)"
	exit 0
fi
trap 'etcd_stop_all' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
mkdir -p "$ETCD_DIR"
# etcd_start_cluster's output is its diagnostics: to the harness's stderr
if ! etcd_start_cluster 1 >&2; then
	echo "failed"
	exit 1
fi
echo "endpoints $ETCD_ENDPOINTS"
while read -r _; do :; done

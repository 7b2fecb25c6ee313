#!/bin/sh
# bench-quick: scripts/bench --quick against this build, as a smoke test:
# every row of every filesystem prints a figure (a ratio, or memory in
# KiB), none failed; the cluster row may say it skipped (no etcd 3.4 or
# later here). Speed is never judged here.
#   test-bench-quick.sh SCRIPTS_BENCH PIDSHIM_BENCH BUILD_DIR
set -eu
out=$(sh "$1" --quick --harness "$2" --build "$3")
printf '%s\n' "$out"
status=0
for row in '1 start-up' '2 unguarded open' '3 guarded open' '4 lock cycle' \
	'5 hand-off' '5 throughput' '6 memory' '7 cluster cycle' \
	'7 cluster hand-off'; do
	printf '%s\n' "$out" | grep -q "^$row" ||
		{ echo "FAIL: no row $row"; status=1; }
done
# a figure in every result column: N.NN× or ±N KiB, or a skip with why
if printf '%s\n' "$out" | grep -E 'failed|[^a-z]nan|[^a-z]inf'; then
	echo "FAIL: a measurement failed"
	status=1
fi
rows=$(printf '%s\n' "$out" | grep -cE '^[1-7] ')
figures=$(printf '%s\n' "$out" | grep -E '^[1-7] ' |
	grep -cE '([0-9]+\.[0-9]+×|[-+][0-9]+ KiB|skipped: ).*([0-9]+\.[0-9]+×|[-+][0-9]+ KiB|skipped: )')
if [ "$rows" -eq 0 ] || [ "$rows" -ne "$figures" ]; then
	echo "FAIL: $figures of $rows rows have a figure on every filesystem"
	status=1
fi
exit $status

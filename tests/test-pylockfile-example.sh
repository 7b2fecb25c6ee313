#!/bin/sh
# pylockfile's README example, in C, run as three processes at once: each
# round exactly one holds each resource, the others are told it is busy,
# and no PID or lock file is left behind.
set -eu
example=$(realpath "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
for i in 1 2 3; do
	"$example" 3 300 >"out.$i" 2>&1 &
done
wait
cat out.*
caught=$(grep -c 'have caught' out.* | awk -F: '{s+=$2} END {print s}')
refused=$(grep -c 'can not catch' out.* | awk -F: '{s+=$2} END {print s}')
in_function=$(grep -c 'in some critical function' out.* | awk -F: '{s+=$2} END {print s}')
[ "$caught" -ge 1 ] || { echo "nobody caught the critical resource"; exit 1; }
[ "$refused" -ge 1 ] || { echo "nobody was refused the critical resource"; exit 1; }
[ $((caught + refused)) -eq 9 ] || { echo "expected 9 attempts, got $((caught + refused))"; exit 1; }
[ "$in_function" -ge 1 ] || { echo "the critical function never ran"; exit 1; }
left=$(ls -A)
case "$left" in
*.pid* | *.lock*) echo "left behind: $left"; exit 1 ;;
esac
echo "ok: caught $caught, refused $refused, function ran $in_function times"

#!/bin/sh
# The shim's one list of interposed functions (shim/interposed.h) against
# what the shim is: the version script made from the list, the names the
# shared object exports, and the wrappers marked SHIM_EXPORT in the
# sources must be the same names, no more, no fewer.
#   test-interposed.sh SHIM VERSION_SCRIPT SHIM_SOURCE_DIR
set -eu
shim=$1
script=$2
sources=$3
if ! command -v nm >/dev/null 2>&1; then
	echo "skip: nm (binutils) is not installed"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# the names between "global:" and "local:"
tr -s ' \t;' '\n' <"$script" |
	sed -n '/^global:$/,/^local:$/p' | grep -Ev '^(global|local):$|^$' |
	sort -u >"$dir/listed"
# type A entries are version nodes, not symbols
nm -D --defined-only "$shim" | awk '$2 != "A" {print $3}' | sed 's/@.*//' |
	sort -u >"$dir/exported"
# SHIM_EXPORT <type> [*]name(: the identifier before the first parenthesis
grep -h '^SHIM_EXPORT' "$sources"/*.c |
	sed 's/^SHIM_EXPORT[^(]*[ *]\([A-Za-z_0-9]*\)(.*/\1/' | sort -u >"$dir/marked"

[ -s "$dir/listed" ] || { echo "no names in $script"; exit 1; }
status=0
for what in exported marked; do
	if ! diff -u "$dir/listed" "$dir/$what" >"$dir/diff"; then
		echo "interposed.h lists (-) and the shim has $what (+) differ:"
		sed -n '/^[-+][^-+]/p' "$dir/diff"
		status=1
	fi
done
[ $status -eq 0 ] && echo "$(wc -l <"$dir/listed") interposed names: listed, exported and marked alike"
exit $status

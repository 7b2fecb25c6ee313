#!/bin/sh
# The shim's structure, from its files (README, "Layout"):
# - the one list of interposed functions (shim/interposed.h): the version
#   script made from it, the names the shim exports, and the wrappers
#   marked SHIM_EXPORT in its sources are the same names;
# - its files depend on each other one way: an edge A -> B for every
#   symbol A's object uses and B's defines; tsort fails on a loop;
# - no object linked into it (its own, or the core's it pulls in) calls an
#   interposed name directly: that call would land in the shim's own
#   wrapper (they go through libc(name));
# - the network stays out of the shim and out of pidshim's start: only
#   pidshim-cluster needs libcurl and json-c (pidshim(1), FILES).
#   test-shim-structure.sh SHIM VERSION_SCRIPT SHIM_SOURCE_DIR \
#       SHIM_OBJECT_DIR CORE_OBJECT_DIR PIDSHIM PIDSHIM_CLUSTER
set -eu
shim=$1
script=$2
sources=$3
objdir=$4
coredir=$5
pidshim=$6
pidshim_cluster=$7
if ! command -v nm >/dev/null 2>&1; then
	echo "skip: nm (binutils) is not installed"
	exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# ---- the list, the exports, the marks

# the names between "global:" and "local:"
tr -s ' \t;' '\n' <"$script" |
	sed -n '/^global:$/,/^local:$/p' | grep -Ev '^(global|local):$|^$' |
	sort -u >"$dir/listed"
[ -s "$dir/listed" ] || { echo "no names in $script"; exit 1; }
# type A entries are version nodes, not symbols
nm -D --defined-only "$shim" | awk '$2 != "A" {print $3}' | sed 's/@.*//' |
	sort -u >"$dir/exported"
# SHIM_EXPORT <type> [*]name(: the identifier before the first parenthesis
grep -h '^SHIM_EXPORT' "$sources"/*.c |
	sed 's/^SHIM_EXPORT[^(]*[ *]\([A-Za-z_0-9]*\)(.*/\1/' | sort -u >"$dir/marked"
for what in exported marked; do
	if ! diff -u "$dir/listed" "$dir/$what" >"$dir/diff"; then
		echo "interposed.h lists (-) and the shim has $what (+) differ:"
		sed -n '/^[-+][^-+]/p' "$dir/diff"
		exit 1
	fi
done
echo "$(wc -l <"$dir/listed") interposed names: listed, exported and marked alike"

# ---- the layers
# "<object> <symbol>" lines: what each defines, what each uses
defs() { nm -g --defined-only "$1" | awk -v o="$2" 'NF == 3 {print o, $3}'; }
uses() { nm -u "$1" | awk -v o="$2" '{print o, $2}'; }
for o in "$objdir"/*.o; do
	name=shim/$(basename "$o" .o)
	defs "$o" "$name" >>"$dir/defined"
	uses "$o" "$name" >>"$dir/used"
done
# the core objects the shim pulls in, transitively
: >"$dir/linked"
while :; do
	added=0
	for o in "$coredir"/*.o; do
		name=core/$(basename "$o" .o)
		grep -qx "$name" "$dir/linked" && continue
		defs "$o" "$name" >"$dir/these"
		# pulled in, as the linker does, only for a symbol still undefined
		if awk 'FILENAME == ARGV[1] {have[$2]; next}
			FILENAME == ARGV[2] {if (!($2 in have)) want[$2]; next}
			$2 in want {found = 1} END {exit !found}' \
			"$dir/defined" "$dir/used" "$dir/these"; then
			echo "$name" >>"$dir/linked"
			cat "$dir/these" >>"$dir/defined"
			uses "$o" "$name" >>"$dir/used"
			added=1
		fi
	done
	[ $added -eq 1 ] || break
done

awk 'NR == FNR {by[$2] = $1; next} ($2 in by) && by[$2] != $1 {print $1, by[$2]}' \
	"$dir/defined" "$dir/used" | sort -u >"$dir/edges"
if ! tsort "$dir/edges" >"$dir/order" 2>"$dir/loops"; then
	echo "the shim's files call each other in a loop:"
	cat "$dir/loops"
	exit 1
fi

awk 'NR == FNR {listed[$1]; next} $2 in listed {print "  " $1 " calls " $2}' \
	"$dir/listed" "$dir/used" >"$dir/direct"
if [ -s "$dir/direct" ]; then
	echo "objects in the shim call interposed names directly (use libc(name)):"
	cat "$dir/direct"
	exit 1
fi
# ---- libcurl and json-c: pidshim-cluster's alone
needed() {
	LC_ALL=C readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
for f in "$shim" "$pidshim"; do
	if needed "$f" | grep -E '^lib(curl|json-c)'; then
		echo "$f needs the cluster client's libraries (above)"
		exit 1
	fi
done
needed "$pidshim_cluster" | grep -q '^libcurl' ||
	{ echo "$pidshim_cluster does not need libcurl: the check above proves nothing"; exit 1; }

echo "one way, top to bottom: $(tr '\n' ' ' <"$dir/order")"
echo "core objects linked in: $(tr '\n' ' ' <"$dir/linked")"

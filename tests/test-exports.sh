#!/bin/sh
# Fails when a shared object exports anything but the names it should.
#   test-exports.sh LIBRARY REGEX
# REGEX (grep -E) must match every defined dynamic symbol.
set -eu
lib=$1
allowed=$2
if ! command -v nm >/dev/null 2>&1; then
	echo "skip: nm (binutils) is not installed"
	exit 77
fi
# type A entries are version nodes, not symbols
syms=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u)
[ -n "$syms" ] || { echo "no exported symbols in $lib"; exit 1; }
leaks=$(printf '%s\n' "$syms" | grep -Ev "^($allowed)\$" || true)
if [ -n "$leaks" ]; then
	echo "$lib exports names it should not:"
	printf '  %s\n' "$leaks"
	exit 1
fi
echo "$lib: $(printf '%s\n' "$syms" | wc -l) exported names, all allowed"

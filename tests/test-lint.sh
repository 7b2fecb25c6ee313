#!/bin/sh
# The house style and the static checks, as a reviewer runs them:
# clang-format (.clang-format) on every C file, cppcheck on the libraries.
#   test-lint.sh SOURCE_DIR
set -eu
cd "$1"
for tool in clang-format cppcheck; do
	command -v $tool >/dev/null 2>&1 || { echo "skip: no $tool"; exit 77; }
done
# Formatting is a function of the formatter's version: the house's are
# Debian 12's (clang-format 14, cppcheck 2.10); elsewhere (Debian 11's
# root in scripts/test-debian11) this is skipped, not failed.
case $(clang-format --version) in
*" version 14."*) ;;
*) echo "skip: clang-format is not version 14"; exit 77 ;;
esac
case $(cppcheck --version) in
"Cppcheck 2.1"[0-9]*) ;;
*) echo "skip: cppcheck is older than 2.10"; exit 77 ;;
esac
status=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null ||
	find core shim cmd tests examples -name '*.[ch]')
# shellcheck disable=SC2086 # one word per file
if ! clang-format --dry-run -Werror $files 2>"${TMPDIR:-/tmp}/lint.$$"; then
	grep -E '^[^ ].*: error' "${TMPDIR:-/tmp}/lint.$$" | cut -d: -f1 | sort -u |
		sed 's/^/not clang-formatted: /'
	status=1
fi
rm -f "${TMPDIR:-/tmp}/lint.$$"
cppcheck --enable=warning,style,performance,portability --inline-suppr \
	--quiet --error-exitcode=1 -I core -I shim -D__GNUC__ --std=c11 \
	core shim cmd || status=1
[ $status -eq 0 ] && echo "ok: clang-format and cppcheck clean"
exit $status

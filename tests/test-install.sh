#!/bin/sh
# meson install, into a throw-away DESTDIR: the shim, libpidlock with its
# header, and the pkg-config files, where pidlock.pc builds a program
# and pidshim.pc names the preload object a harness loads; the pidshim
# command under the binary directory runs.
#   test-install.sh BUILD_DIR [SANITIZERS]
# SANITIZERS: the build's b_sanitize; the program built against the
# installed library is built with them too, or it cannot load it.
set -eu
build=$1
sanitize=${2:-none}
command -v pkg-config >/dev/null 2>&1 || { echo "skip: no pkg-config"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
DESTDIR=$dir meson install -C "$build" >"$dir/log" 2>&1 ||
	{ cat "$dir/log"; exit 1; }
pc=$(find "$dir" -name pidshim.pc)
[ -n "$pc" ] || { echo "pidshim.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="${pc%/*}" PKG_CONFIG_SYSROOT_DIR="$dir"
# pkgconf puts the sysroot, DESTDIR, before the paths it gives; the
# older pkg-config (Debian 11) does not for --variable
in_destdir() {
	case $1 in
	"$dir"/*) echo "$1" ;;
	*) echo "$dir$1" ;;
	esac
}
preload=$(in_destdir "$(pkg-config --variable=preload pidshim)")
[ -f "$preload" ] || { echo "pidshim.pc names $preload: not installed"; exit 1; }
nm -D --defined-only "$preload" | grep -q ' T open$' ||
	{ echo "$preload is not the shim"; exit 1; }
header=$(find "$dir" -name pidlock.h)
[ -n "$header" ] || { echo "pidlock.h not installed"; exit 1; }
libdir=$(in_destdir "$(pkg-config --variable=libdir pidlock)")
cat >"$dir/use.c" <<'C'
#include <pidlock.h>
int main(void) { return pidlock_check("/nonexistent", 0) == PIDLOCK_ABSENT ? 0 : 1; }
C
flags=
[ "$sanitize" = none ] || flags=-fsanitize=$sanitize
# shellcheck disable=SC2046,SC2086 # pkg-config's flags are words
cc $flags -o "$dir/use" "$dir/use.c" $(pkg-config --cflags --libs pidlock)
LD_LIBRARY_PATH="$libdir" "$dir/use" || { echo "a program built with pidlock.pc fails"; exit 1; }
bindir=$(in_destdir "$(pkg-config --variable=prefix pidlock)")/bin
pidshim=$bindir/pidshim
[ -x "$pidshim" ] || { echo "pidshim not installed in $bindir"; exit 1; }
# the installed command, holding a lock, sees itself as its holder
# shellcheck disable=SC2016 # expanded by the inner shell
"$pidshim" lock "$dir/a.lock" sh -c '[ "$("$1" status "$2")" = "$PPID" ]' \
	sh "$pidshim" "$dir/a.lock" ||
	{ echo "the installed pidshim does not see its own lock"; exit 1; }
# the installed run preloads the installed shim, found under the same
# root as itself (here the DESTDIR), and the program gets its PID file
case $sanitize in
*address*) echo "skip run: the installed shim needs the sanitizer runtime first" ;;
*)
	# shellcheck disable=SC2016 # for the inner shell
	"$pidshim" run -v -p "$dir/r.pid" sh -c '[ "$(cat "$1")" = $$ ]' sh \
		"$dir/r.pid" 2>"$dir/run.err" ||
		{ cat "$dir/run.err"; echo "the installed pidshim run fails"; exit 1; }
	grep -q "preloading $(realpath "$preload") into" "$dir/run.err" ||
		{ cat "$dir/run.err"; echo "pidshim run did not preload the installed shim"; exit 1; }
	;;
esac
echo "ok: installed, pidshim.pc names $preload, pidlock.pc builds, pidshim runs"

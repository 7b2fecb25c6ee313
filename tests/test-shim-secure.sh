#!/bin/sh
# Secure execution (setgid here): the environment is not trusted, so the
# shim does nothing and says so once. The dynamic loader preloads only a
# set-user-ID library from a system directory by bare name for such a
# program: this test installs one for the duration, so it needs root.
#   test-shim-secure.sh SHIM
set -eu
shim=$1
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root to install a setuid library"; exit 77; }
libdir=$(dirname "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/x)")
name=libpidshim-securetest-$$.so
dir=$(mktemp -d)
trap 'rm -rf "$dir" "$libdir/$name"' EXIT

install -m 4755 "$shim" "$libdir/$name"
cp /bin/sleep "$dir/sleep"
chgrp nogroup "$dir/sleep"
chmod 2755 "$dir/sleep"

export PIDSHIM_PIDFILE="$dir/app.pid"
LD_PRELOAD=$name "$dir/sleep" 0.3 >"$dir/out" 2>&1 &
pid=$!
sleep 0.1
wait "$pid"
cat "$dir/out"
grep -q 'secure execution' "$dir/out" || { echo "the shim did not say it stands aside"; exit 1; }
[ ! -e "$PIDSHIM_PIDFILE" ] || { echo "a PID file was made under secure execution"; exit 1; }

# the control: the same program without the setgid bit gets its PID file
chmod 0755 "$dir/sleep"
LD_PRELOAD=$name "$dir/sleep" 2 &
pid=$!
i=0
while [ ! -s "$PIDSHIM_PIDFILE" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(cat "$PIDSHIM_PIDFILE")" = "$pid" ] || { echo "control: no PID file"; kill "$pid"; exit 1; }
kill "$pid"
wait "$pid" || true
echo "ok: inert under secure execution, active without it"

#!/bin/sh
# Secure execution (setgid here): the environment is not trusted, so the
# shim does nothing and says so once. The dynamic loader preloads only a
# set-user-ID library from a system directory by bare name for such a
# program, so the test installs one there — inside a private mount
# namespace, on an overlay of that directory: nothing outside the test
# ever sees it, even if the test is killed. Needs root.
#   test-shim-secure.sh SHIM
set -eu
shim=$1
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root to install a setuid library"; exit 77; }
libdir=$(dirname "$(readlink -f /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null || echo /usr/lib/x86_64-linux-gnu/x)")
name=libpidshim-securetest.so

if [ -z "${SECURETEST_INSIDE:-}" ]; then
	self=$(readlink -f "$0")
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "skip: no private mount namespace here (unshare --mount)"
		exit 77
	fi
	# The proof that nothing leaks: a copy paused after installing, seen
	# from outside, then killed with SIGKILL (no trap can run).
	marker=$(mktemp)
	scratch=$(mktemp -d)
	TMPDIR=$scratch SECURETEST_INSIDE=1 SECURETEST_PAUSE="$marker" \
		unshare --mount --propagation private sh "$self" "$shim" &
	paused=$!
	i=0
	while [ ! -s "$marker" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$marker" ] || { echo "the paused copy never installed its library"; kill -9 "$paused"; exit 1; }
	[ ! -e "$libdir/$name" ] || { echo "the test library is visible outside the test"; kill -9 "$paused"; exit 1; }
	kill -9 "$paused"
	wait "$paused" 2>/dev/null || true
	rm -rf "$marker" "$scratch"
	[ ! -e "$libdir/$name" ] || { echo "a killed test left $libdir/$name behind"; exit 1; }
	SECURETEST_INSIDE=1 exec unshare --mount --propagation private sh "$self" "$shim"
fi

# ---- inside the private mount namespace --------------------------------
dir=$(mktemp -d)
# the namespace ends with the test and its mounts with it; the empty
# directory is all that is left to remove
trap 'umount -l "$libdir" 2>/dev/null; umount -l "$dir" 2>/dev/null; rmdir "$dir" || true' EXIT
mount -t tmpfs tmpfs "$dir"
mkdir "$dir/upper" "$dir/work" "$dir/app"
mount -t overlay overlay \
	-o "lowerdir=$libdir,upperdir=$dir/upper,workdir=$dir/work" "$libdir" ||
	{ echo "skip: cannot overlay $libdir"; exit 77; }
install -m 4755 "$shim" "$libdir/$name"
if [ -n "${SECURETEST_PAUSE:-}" ]; then
	echo installed >"$SECURETEST_PAUSE"
	# the process the outer copy kills: nothing of ours outlives it
	exec sleep 60
fi
cp /bin/sleep "$dir/app/sleep"
chgrp nogroup "$dir/app/sleep"
chmod 2755 "$dir/app/sleep"

export PIDSHIM_PIDFILE="$dir/app/app.pid"
LD_PRELOAD=$name "$dir/app/sleep" 0.3 >"$dir/out" 2>&1 &
pid=$!
wait "$pid"
cat "$dir/out"
grep -q 'secure execution' "$dir/out" || { echo "the shim did not say it stands aside"; exit 1; }
[ ! -e "$PIDSHIM_PIDFILE" ] || { echo "a PID file was made under secure execution"; exit 1; }

# the control: the same program without the setgid bit gets its PID file
chmod 0755 "$dir/app/sleep"
LD_PRELOAD=$name "$dir/app/sleep" 2 &
pid=$!
i=0
while [ ! -s "$PIDSHIM_PIDFILE" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ "$(cat "$PIDSHIM_PIDFILE")" = "$pid" ] || { echo "control: no PID file"; kill "$pid"; exit 1; }
kill "$pid"
wait "$pid" || true
echo "ok: inert under secure execution, active without it; nothing left outside"

#!/bin/sh
# The shim in a hostile environment (libpidshim(7), EXIT STATUS and
# "Guards"): each case a clear message, the documented status (73: the
# PID file cannot be created), no partial or empty file left behind, the
# program's own data untouched, and a guarded file never opened unguarded.
#   readonly        the PID file's directory and a guarded file on a
#                   read-only bind mount (a private mount namespace)
#   full            on a full tmpfs
#   missing-dir     the PID file's directory does not exist
#   unwritable-dir  a directory the user cannot write (as nobody)
#   nofile-exhausted  one descriptor left at start (the PID file's), and
#                   none left for a guard's lock file
#   nofile-16       RLIMIT_NOFILE of 16: everything works, nothing leaks
# Root is needed for mounts and for becoming nobody, else skipped.
#   test-hostile.sh SHIM CASE
set -eu
shim=$1
case=$2
# readonly and full mount, so they run again in a mount namespace of their
# own (unshare -m), as root; the mark is read before shell-common.sh
# clears the PIDSHIM_* variables
inner=${PIDSHIM_HOSTILE_INNER:-}
case $case in
readonly | full)
	if [ -z "$inner" ] && [ "$(id -u)" -eq 0 ] &&
		unshare -m true 2>/dev/null; then
		exec unshare -m env PIDSHIM_HOSTILE_INNER=1 "$0" "$@"
	fi
	;;
esac
. "$(dirname "$0")/shell-common.sh"

# run under the shim (the variables given first, as env takes them)
shimmed() {
	env LD_PRELOAD="$shim" "$@"
}

# STATUS and a message with TEXT, from a start with PIDFILE; nothing at
# PIDFILE afterwards
refused_start() {
	want=$1 text=$2 pidfile=$3
	expect "$want" shimmed PIDSHIM_PIDFILE="$pidfile" sleep 0
	grep -q "^pidshim\[[0-9]*\]: $pidfile: cannot create the PID file: $text\$" "$dir/err" ||
		fail "no clear message: $(cat "$dir/err")"
	[ ! -e "$pidfile" ] || fail "$pidfile left behind"
}

# the program's data as it was
untouched() {
	[ "$(cat "$1")" = precious ] || fail "$1 changed: $(cat "$1")"
}

# a guarded open refused with ERRNO_TEXT: the program's open fails (it
# exits STATUS), and no lock file is left next to FILE
guard_refused() {
	status=$1 file=$2 text=$3
	shift 3
	expect "$status" shimmed PIDSHIM_PIDFILE=none PIDSHIM_GUARD="$file" "$@"
	grep -q "cannot take the guard lock .*: $text; open refused" "$dir/err" ||
		fail "no clear guard message: $(cat "$dir/err")"
	[ ! -e "$(dirname "$file")/.$(basename "$file").pidshim-lock" ] ||
		fail "a lock file was left beside $file"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root ($1)"
}

case $case in
readonly | full)
	need_root "mounts in a private mount namespace"
	need unshare
	[ "$inner" = 1 ] || skip "cannot make a mount namespace"
	mkdir "$dir/fs"
	trap 'umount "$dir/fs" 2>/dev/null || true; cleanup' EXIT
	if [ "$case" = readonly ]; then
		echo precious >"$dir/fs/data"
		mount --bind "$dir/fs" "$dir/fs"
		mount -o remount,bind,ro "$dir/fs"
		text="Read-only file system"
	else
		mount -t tmpfs -o size=64k tmpfs "$dir/fs"
		echo precious >"$dir/fs/data"
		dd if=/dev/zero of="$dir/fs/fill" bs=4k 2>/dev/null || true
		text="No space left on device"
	fi
	refused_start 73 "$text" "$dir/fs/app.pid"
	guard_refused 1 "$dir/fs/data" "$text" cat "$dir/fs/data"
	# shellcheck disable=SC2016 # $0 is the inner shell's
	guard_refused 2 "$dir/fs/data" "$text" sh -c 'echo more >>"$0"' "$dir/fs/data"
	untouched "$dir/fs/data"
	;;
missing-dir)
	refused_start 73 "No such file or directory" "$dir/none/app.pid"
	[ ! -e "$dir/none" ] || fail "the missing directory was made"
	;;
unwritable-dir)
	need_root "to become nobody"
	need setpriv
	mkdir "$dir/closed"
	echo precious >"$dir/closed/data"
	cp "$shim" "$dir/libpidshim.so"
	chmod 644 "$dir/libpidshim.so" "$dir/closed/data"
	shim=$dir/libpidshim.so
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	}
	expect 73 as_nobody env LD_PRELOAD="$shim" \
		PIDSHIM_PIDFILE="$dir/closed/app.pid" sleep 0
	grep -q "cannot create the PID file: Permission denied\$" "$dir/err" ||
		fail "no clear message: $(cat "$dir/err")"
	[ ! -e "$dir/closed/app.pid" ] || fail "a PID file was made"
	# a guarded read there needs a lock file it cannot make
	expect 1 as_nobody env LD_PRELOAD="$shim" PIDSHIM_PIDFILE=none \
		PIDSHIM_GUARD="$dir/closed/data" cat "$dir/closed/data"
	grep -q "cannot take the guard lock .*: Permission denied; open refused" "$dir/err" ||
		fail "no clear guard message: $(cat "$dir/err")"
	untouched "$dir/closed/data"
	;;
nofile-exhausted)
	need python3
	# One descriptor left at start (none would leave the dynamic loader
	# none to load the shim with): the PID file takes it and the program
	# runs, its file named and removed.
	python3 -c '
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
fds = []
while True:
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        break
os.close(fds.pop())
for fd in fds:
    os.set_inheritable(fd, True)
os.execvp(sys.argv[1], sys.argv[1:])
' env LD_PRELOAD="$shim" PIDSHIM_PIDFILE="$dir/app.pid" sleep 30 \
		2>"$dir/err" &
	pid=$!
	started="$started $pid"
	within_10s grep -qs "^$pid\$" "$dir/app.pid" ||
		fail "no PID file with one descriptor left: $(cat "$dir/err")"
	kill -TERM $pid
	wait $pid || true
	[ ! -e "$dir/app.pid" ] || fail "the PID file was left"
	# a program with one descriptor left opens a guarded file: the lock
	# file takes it, the open fails and the lock file goes
	echo precious >"$dir/data"
	# shellcheck disable=SC2016 # python, not shell
	expect 0 shimmed PIDSHIM_PIDFILE=none PIDSHIM_GUARD="$dir/data" \
		python3 -c '
import errno, os, sys
held = []
while True:
    try:
        held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e:
        assert e.errno == errno.EMFILE
        break
os.close(held.pop())
try:
    os.open(sys.argv[1], os.O_RDWR | os.O_TRUNC)
    sys.exit("a guarded open succeeded without a descriptor for its lock")
except OSError as e:
    assert e.errno == errno.EMFILE, e
os.close(held.pop())
os.close(held.pop())
fd = os.open(sys.argv[1], os.O_RDONLY)
assert os.read(fd, 100) == b"precious\n"
os.close(fd)
' "$dir/data"
	untouched "$dir/data"
	[ ! -e "$dir/.data.pidshim-lock" ] || fail "a lock file was left"
	;;
nofile-16)
	need python3
	sh -c 'ulimit -n 16 && exec "$@"' sh env LD_PRELOAD="$shim" \
		PIDSHIM_PIDFILE="$dir/app.pid" sleep 30 &
	pid=$!
	started="$started $pid"
	within_10s grep -qs "^$pid\$" "$dir/app.pid" ||
		fail "no PID file under a limit of 16"
	kill -TERM $pid
	wait $pid || true
	[ ! -e "$dir/app.pid" ] || fail "the PID file was left"
	echo 0 >"$dir/data"
	# 200 guarded opens and dups, and as many descriptors after as before
	expect 0 sh -c 'ulimit -n 16 && exec "$@"' sh env LD_PRELOAD="$shim" \
		PIDSHIM_PIDFILE="$dir/py.pid" PIDSHIM_GUARD="$dir/data" python3 -c '
import os, sys
before = len(os.listdir("/proc/self/fd"))
for i in range(200):
    fd = os.open(sys.argv[1], os.O_RDWR)
    n = int(os.read(fd, 20))
    copy = os.dup(fd)
    os.close(fd)
    os.pwrite(copy, b"%d\n" % (n + 1), 0)
    os.close(copy)
after = len(os.listdir("/proc/self/fd"))
assert after == before, (before, after)
' "$dir/data"
	[ "$(cat "$dir/data")" = 200 ] || fail "the counter is $(cat "$dir/data")"
	[ ! -e "$dir/.data.pidshim-lock" ] || fail "a lock file was left"
	[ ! -e "$dir/py.pid" ] || fail "python's PID file was left"
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok: $case"

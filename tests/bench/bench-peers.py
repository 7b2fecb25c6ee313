# SPDX-License-Identifier: MIT
"""The Python peers of pidshim-bench, run with Debian's /usr/bin/python3
(where python3-filelock is installed); each prints nanoseconds per cycle.

  bench-peers.py filelock PATH N      filelock.FileLock acquire+release
                                      (flock; no PID; the file stays)
  bench-peers.py pylockfile PATH N    exists? create exclusively, write
                                      the PID, remove: pylockfile's
                                      PIDLockFile
  bench-peers.py wait-filelock PATH   the waiter side of a hand-off
                                      (pidshim-bench child wait-KIND)
"""
import os
import sys
import time


def filelock_cycles(path, n):
    import filelock
    lock = filelock.FileLock(path)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return (time.perf_counter_ns() - t0) / n


def pylockfile_cycles(path, n):
    pid = b"%d\n" % os.getpid()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        if os.path.exists(path):
            raise SystemExit("lock file left: " + path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, pid)
        os.close(fd)
        os.unlink(path)
    return (time.perf_counter_ns() - t0) / n


def wait_filelock(path):
    import filelock
    lock = filelock.FileLock(path)
    for _ in sys.stdin:
        print("b", flush=True)
        lock.acquire()
        t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        lock.release()
        print(t1, flush=True)


def main():
    what, path = sys.argv[1], sys.argv[2]
    if what == "wait-filelock":
        wait_filelock(path)
        return
    n = int(sys.argv[3])
    cycles = filelock_cycles if what == "filelock" else pylockfile_cycles
    cycles(path, max(1, n // 10))  # warm: imports, dentries
    print("%.1f" % cycles(path, n))


main()

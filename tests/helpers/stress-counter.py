#!/usr/bin/env python3
"""A real program's read-modify-write of a counter file, run under the
shim by test-stress.sh (several at once, the file guarded). Each step is
plain os.open/os.read/os.write, as any program does them.

  stress-counter.py MODE PATH ROUNDS [READY GO]

  rmw     one open for each increment
  rmw2    a read open, then a write open
  write   increment; the value written as LINES lines, one write each
  read    read: every line the same value

With READY and GO, the file READY is made once started, and the rounds
begin when the file GO appears: every copy runs them at the same time
(python3 starts slowly, and copies started apart would not overlap).

Exit status 1 when a read sees a half-written value (read), or the file
does not hold a number (the others)."""
import os
import sys
import time

LINES = 32


def value(text, path):
    first = text.split(b"\n")[0].strip(b" ")
    if not first.isdigit():
        sys.exit(f"{path}: not a counter: {text[:80]!r}")
    return int(first)


def main():
    mode, path, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if len(sys.argv) > 5:
        open(sys.argv[4], "w").close()
        while not os.path.exists(sys.argv[5]):
            time.sleep(0.001)
    for _ in range(rounds):
        if mode == "rmw":
            fd = os.open(path, os.O_RDWR)
            n = value(os.read(fd, 64), path)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, b"%d\n" % (n + 1))
            os.close(fd)
        elif mode == "rmw2":
            fd = os.open(path, os.O_RDONLY)
            n = value(os.read(fd, 64), path)
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, b"%d\n" % (n + 1))
            os.close(fd)
        elif mode == "write":
            fd = os.open(path, os.O_RDWR)
            n = value(os.read(fd, 64), path)
            os.ftruncate(fd, 0)
            for i in range(LINES):
                os.pwrite(fd, b"%10d\n" % (n + 1), 11 * i)
            os.close(fd)
        elif mode == "read":
            fd = os.open(path, os.O_RDONLY)
            text = os.read(fd, 11 * LINES + 1)
            os.close(fd)
            if text != (b"%10d\n" % value(text, path)) * LINES:
                sys.exit(f"{path}: half-written: {text!r}")
        else:
            sys.exit(f"unknown mode {mode}")


main()

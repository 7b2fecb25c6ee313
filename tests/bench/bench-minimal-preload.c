/* SPDX-License-Identifier: MIT */
/*
 * The floor for a PID-file preload, a reference for row 1 only: before
 * main, the file named by BENCH_MINIMAL_PIDFILE is created (never through
 * a symbolic link), locked (a second instance exits 75), checked (a
 * regular, singly-linked file of ours, still the one at the path) and
 * given our PID; at exit it is removed under the lock. It interposes
 * nothing: no signal handling, no exec, no fork, so it is cheaper than
 * any preload with the shim's guarantees can be.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static struct bench_min_held pidfile = { -1, 0, 0 };
static const char *pidfile_path;

__attribute__((constructor)) static void minimal_start(void)
{
	pidfile_path = getenv("BENCH_MINIMAL_PIDFILE");
	if (!pidfile_path)
		return;
	switch (bench_min_lock(pidfile_path, false, &pidfile)) {
	case 0:
		break;
	case -EWOULDBLOCK:
		_exit(75);
	default:
		_exit(73);
	}
}

__attribute__((destructor)) static void minimal_end(void)
{
	if (pidfile.fd >= 0)
		bench_min_unlock(pidfile_path, &pidfile);
}

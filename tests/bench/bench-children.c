/* SPDX-License-Identifier: MIT */
/*
 * The programs the rows run ("pidshim-bench child MODE ..."), most of them
 * under the shim: they time their own loops (a batch's figure leaves out
 * the start of the process) or stamp the moment they got a lock, and
 * speak one line at a time on standard input and output:
 *
 *   open CWD PATH N          open+close PATH N times: ns per cycle
 *   guarded PATH N           the same with O_RDWR (a guarded resource)
 *   hold-KIND ... / wait-KIND ...   the two sides of a hand-off:
 *       holder: "a" -> takes the lock, "h"; "r" -> stamps, releases, T0
 *       waiter: "g" -> "b", blocks for the lock, stamps, releases, T1
 *     KIND flock (raw flock(2)), guard (an open under the shim), core
 *     (libpidlock; the waiter's extra argument is its timeout in ms)
 *   hold-pidfile             under the shim with a PID file: "h"; then
 *                            "r" -> stamps T0 and exits
 *   stamp                    prints the time it reached main
 *   append-guard PATH N / append-min PATH LOCKPATH N
 *                            "r", then on "g" N appends, each in its
 *                            section (the shim's guard, or the minimum):
 *                            a seek to the end and a write, which only
 *                            the section keeps from losing lines
 *                            (no O_APPEND)
 *   sleep                    "r", then sleeps until its input ends
 *   cluster-hold READY STAMP the command a cluster lock holder runs:
 *                            writes its PID to READY, waits for SIGUSR1,
 *                            then writes the time to STAMP and exits
 *   cluster-stamp STAMP      the waiter's command: writes the time it
 *                            reached main to STAMP
 *     (files, not standard input and output: etcdctl lock gives its
 *     command its own, and the two peers must run the same command)
 */
#include "bench.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void say_i64(int64_t v)
{
	char line[32];

	snprintf(line, sizeof(line), "%lld", (long long)v);
	bench_write_line(1, line);
}

static int open_loop(const char *cwd, const char *path, int flags, int n)
{
	int64_t t0;

	if (cwd && chdir(cwd) < 0)
		return 2;
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		int fd = open(path, flags | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	printf("%.1f\n", (double)(bench_now_ns() - t0) / n);
	return 0;
}

/* The lock a hand-off passes, whichever kind it is. */
struct side {
	const char *kind;
	const char *path;
	int fd; /* flock: the file; guard: the resource */
	struct bench_pidlock pl;
	struct pidlock_lock *lock;
	int timeout_ms;
};

static int side_open(struct side *s, const char *kind, char **args)
{
	s->kind = kind;
	s->path = args[0];
	s->fd = -1;
	s->timeout_ms = PIDLOCK_WAIT_FOREVER;
	if (!strcmp(kind, "flock")) {
		s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		return s->fd < 0 ? -1 : 0;
	}
	if (!strcmp(kind, "guard"))
		return 0;
	if (!strcmp(kind, "core")) {
		/* args: LIBPIDLOCK DIR NAME [TIMEOUT_MS] */
		if (bench_pidlock_bind(&s->pl, args[0]) < 0 ||
		    s->pl.lock_new(&s->lock, args[1], args[2], 0) < 0)
			return -1;
		if (args[3])
			s->timeout_ms = atoi(args[3]);
		return 0;
	}
	return -1;
}

static int side_acquire(struct side *s)
{
	if (!strcmp(s->kind, "flock"))
		return flock(s->fd, LOCK_EX);
	if (!strcmp(s->kind, "guard")) {
		s->fd = open(s->path, O_RDWR | O_CLOEXEC);
		return s->fd < 0 ? -1 : 0;
	}
	return s->pl.lock_acquire(s->lock, PIDLOCK_EXCLUSIVE, s->timeout_ms,
				  NULL) < 0
		   ? -1
		   : 0;
}

static void side_release(struct side *s)
{
	if (!strcmp(s->kind, "flock")) {
		flock(s->fd, LOCK_UN);
	} else if (!strcmp(s->kind, "guard")) {
		close(s->fd);
		s->fd = -1;
	} else {
		s->pl.lock_release(s->lock);
	}
}

static int holder(struct side *s)
{
	char cmd[16];

	while (bench_read_line(0, cmd, sizeof(cmd))) {
		if (!strcmp(cmd, "a")) {
			if (side_acquire(s) < 0)
				return 1;
			bench_write_line(1, "h");
		} else {
			int64_t t0 = bench_now_ns();
			side_release(s);
			say_i64(t0);
		}
	}
	return 0;
}

static int waiter(struct side *s)
{
	char cmd[16];

	while (bench_read_line(0, cmd, sizeof(cmd))) {
		bench_write_line(1, "b");
		if (side_acquire(s) < 0)
			return 1;
		int64_t t1 = bench_now_ns();
		side_release(s);
		say_i64(t1);
	}
	return 0;
}

static int append_loop(const char *path, const char *lockpath, int n)
{
	static const char line[] = "0123456789abcdef\n";
	char cmd[16];

	bench_write_line(1, "r");
	if (!bench_read_line(0, cmd, sizeof(cmd)))
		return 1;
	for (int i = 0; i < n; i++) {
		if (lockpath) {
			if (bench_min_guarded_cycle(path, lockpath, O_WRONLY,
						    line) < 0)
				return 1;
			continue;
		}
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || lseek(fd, 0, SEEK_END) < 0 ||
		    write(fd, line, sizeof(line) - 1) < 0)
			return 1;
		close(fd);
	}
	return 0;
}

/* PATH holds VALUE, whole or not at all (written aside, renamed). */
static int put_i64(const char *path, int64_t value)
{
	char tmp[4200], line[32];
	int fd, len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	len = snprintf(line, sizeof(line), "%lld\n", (long long)value);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static int cluster_hold(const char *ready, const char *stamp)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    put_i64(ready, getpid()) < 0 || sigwait(&set, &sig) != 0)
		return 1;
	return put_i64(stamp, bench_now_ns()) < 0 ? 1 : 0;
}

int bench_child_main(int argc, char **argv)
{
	const char *mode = argc > 0 ? argv[0] : "";
	struct side s;
	char cmd[16];

	if (!strcmp(mode, "open") && argc == 4)
		return open_loop(argv[1], argv[2], O_RDONLY, atoi(argv[3]));
	if (!strcmp(mode, "guarded") && argc == 3)
		return open_loop(NULL, argv[1], O_RDWR, atoi(argv[2]));
	if (!strncmp(mode, "hold-", 5) && strcmp(mode, "hold-pidfile") &&
	    argc >= 2)
		return side_open(&s, mode + 5, argv + 1) < 0 ? 2 : holder(&s);
	if (!strncmp(mode, "wait-", 5) && argc >= 2)
		return side_open(&s, mode + 5, argv + 1) < 0 ? 2 : waiter(&s);
	if (!strcmp(mode, "hold-pidfile")) {
		bench_write_line(1, "h");
		if (!bench_read_line(0, cmd, sizeof(cmd)))
			return 1;
		say_i64(bench_now_ns());
		return 0;
	}
	if (!strcmp(mode, "stamp")) {
		say_i64(bench_now_ns());
		return 0;
	}
	if (!strcmp(mode, "append-guard") && argc == 3)
		return append_loop(argv[1], NULL, atoi(argv[2]));
	if (!strcmp(mode, "append-min") && argc == 4)
		return append_loop(argv[1], argv[2], atoi(argv[3]));
	if (!strcmp(mode, "cluster-hold") && argc == 3)
		return cluster_hold(argv[1], argv[2]);
	if (!strcmp(mode, "cluster-stamp") && argc == 2)
		return put_i64(argv[1], bench_now_ns()) < 0 ? 1 : 0;
	if (!strcmp(mode, "sleep")) {
		bench_write_line(1, "r");
		while (bench_read_line(0, cmd, sizeof(cmd)))
			;
		return 0;
	}
	fprintf(stderr, "pidshim-bench: unknown child mode %s\n", mode);
	return 64;
}

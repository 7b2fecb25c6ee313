/* SPDX-License-Identifier: MIT */
/*
 * Row 5, hand-off: how long a waiter blocked on a busy lock takes to
 * return with it once the holder releases it. The holder stamps the
 * clock just before it releases, the waiter just after it returns
 * (CLOCK_MONOTONIC is one clock for all processes); the waiter has been
 * seen blocked, then left so for a few milliseconds, first. Every kind is
 * sampled in turn, round after round; p50 and p99 over the rounds.
 *
 * Kinds: raw flock(2) (the floor), a guard under the shim (a waiter
 * blocking, PIDSHIM_GUARD_WAIT=block, and waiting with a timeout,
 * PIDSHIM_GUARD_WAIT=SECONDS), libpidlock's acquire (forever, and with a
 * timeout), Python filelock (a raw flock holder), and a second instance
 * under the shim waiting for the first one's PID file
 * (PIDSHIM_ON_CONFLICT=wait:SECONDS): its holder releases by exiting.
 */
#include "bench.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* target: a waiter wakes within 4 × raw flock's hand-off (p50), timed
 * waits included */
#define HANDOFF_TARGET 4.0

/* how long a waiter is left blocked before the release */
#define BLOCKED_MS 5
/* how long a waiter may take to block (a loaded machine) */
#define BLOCK_TIMEOUT_MS 3000
/* the timed waits' timeout: far longer than any hand-off */
#define TIMEOUT_MS 5000

enum {
	RAW,
	GUARD_BLOCK,
	GUARD_TIMED,
	CORE_BLOCK,
	CORE_TIMED,
	FILELOCK,
	ON_CONFLICT,
	NKINDS
};

#define MAX_SAMPLES 256

struct handoff {
	struct bench_child holder[NKINDS], waiter[NKINDS];
	bool started[NKINDS];
	double ns[NKINDS][MAX_SAMPLES]; /* latency of each round */
};

static void kind_args(const struct bench *b, int kind, const char *dir,
		      bool is_waiter, char **argv, const char **add,
		      char buf[][4200])
{
	int a = 0, e = 0;
	const char *side = is_waiter ? "wait" : "hold";

	snprintf(buf[0], 4200, "LD_PRELOAD=%s", b->shim);
	argv[a++] = (char *)b->self;
	argv[a++] = "child";
	switch (kind) {
	case RAW:
	case FILELOCK:
		snprintf(buf[1], 4200, "%s/%s.lock", dir,
			 kind == RAW ? "raw" : "filelock");
		if (kind == FILELOCK && is_waiter) {
			a = 0;
			argv[a++] = (char *)b->python;
			argv[a++] = (char *)b->peers_py;
			argv[a++] = "wait-filelock";
		} else {
			snprintf(buf[2], 4200, "%s-flock", side);
			argv[a++] = buf[2];
		}
		argv[a++] = buf[1];
		break;
	case GUARD_BLOCK:
	case GUARD_TIMED:
		snprintf(buf[1], 4200, "%s/resource-%d", dir, kind);
		snprintf(buf[2], 4200, "%s-guard", side);
		snprintf(buf[3], 4200, "PIDSHIM_GUARD=%s", buf[1]);
		argv[a++] = buf[2];
		argv[a++] = buf[1];
		add[e++] = buf[0];
		add[e++] = buf[3];
		add[e++] = "PIDSHIM_PIDFILE=none";
		if (is_waiter)
			add[e++] = kind == GUARD_BLOCK
				       ? "PIDSHIM_GUARD_WAIT=block"
				       : "PIDSHIM_GUARD_WAIT=5";
		break;
	case CORE_BLOCK:
	case CORE_TIMED:
		snprintf(buf[2], 4200, "%s-core", side);
		snprintf(buf[3], 4200, "core-%d.lock", kind);
		snprintf(buf[4], 4200, "%d",
			 kind == CORE_TIMED ? TIMEOUT_MS
					    : PIDLOCK_WAIT_FOREVER);
		argv[a++] = buf[2];
		argv[a++] = (char *)b->libpidlock;
		argv[a++] = (char *)dir;
		argv[a++] = buf[3];
		if (is_waiter)
			argv[a++] = buf[4];
		break;
	case ON_CONFLICT:
		snprintf(buf[1], 4200, "PIDSHIM_PIDFILE=%s/instance.pid", dir);
		argv[a++] = is_waiter ? "stamp" : "hold-pidfile";
		add[e++] = buf[0];
		add[e++] = buf[1];
		if (is_waiter)
			add[e++] = "PIDSHIM_ON_CONFLICT=wait:5";
		break;
	default:
		break;
	}
	argv[a] = NULL;
	add[e] = NULL;
}

static int start(const struct bench *b, int kind, const char *dir,
		 bool is_waiter, struct bench_child *c)
{
	char buf[5][4200];
	char *argv[10];
	const char *add[6];

	kind_args(b, kind, dir, is_waiter, argv, add, buf);
	return bench_child_start(c, argv, bench_env(add), true, 0);
}

/* Whether PID has a descriptor open on a file whose path ends in NAME. */
static bool has_open(pid_t pid, const char *name)
{
	char dirpath[64], link[384], target[4200];
	size_t nlen = strlen(name);
	struct dirent *d;
	bool found = false;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "/proc/%d/fd", (int)pid);
	dir = opendir(dirpath);
	if (!dir)
		return false;
	while (!found && (d = readdir(dir))) {
		ssize_t len;
		snprintf(link, sizeof(link), "%s/%s", dirpath, d->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len >= (ssize_t)nlen &&
		    !memcmp(target + len - nlen, name, nlen))
			found = true;
	}
	closedir(dir);
	return found;
}

/* Whether PID sleeps (its state in /proc/PID/stat, after the name). */
static bool sleeping(pid_t pid)
{
	char path[64], buf[512];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && (paren[2] == 'S' || paren[2] == 'D');
}

/*
 * Wait until the waiter PID is blocked: asleep, with NAME open when it is
 * not NULL (a second instance, which says nothing before it blocks, has
 * its PID file open then), and BLOCKED_MS more. A waiter released before
 * it blocks would measure its own way to the lock, not a hand-off.
 */
static void wait_blocked(pid_t pid, const char *name)
{
	for (int i = 0; i < BLOCK_TIMEOUT_MS * 5; i++) {
		if (sleeping(pid) && (!name || has_open(pid, name)))
			break;
		usleep(200);
	}
	bench_sleep_ms(BLOCKED_MS);
}

/* A waiter that got the lock before it was released never blocked: that
 * sample measured nothing (a lock that does not exclude) and fails. */
static double latency(int64_t t0, int64_t t1)
{
	if (t0 < 0 || t1 < 0 || t1 < t0)
		return NAN;
	return (double)(t1 - t0);
}

static double sample_once(const struct bench *b, struct handoff *h, int kind,
			  const char *dir)
{
	struct bench_child holder, waiter;
	char line[64];
	int64_t t0, t1;

	if (start(b, kind, dir, false, &holder) < 0)
		return NAN;
	if (!bench_read_line(holder.from, line, sizeof(line)) ||
	    start(b, kind, dir, true, &waiter) < 0) {
		bench_child_finish(&holder);
		return NAN;
	}
	wait_blocked(waiter.pid, "/instance.pid");
	bench_write_line(holder.to, "r");
	t0 = bench_read_i64(holder.from);
	t1 = bench_read_i64(waiter.from);
	if (bench_child_finish(&holder) < 0 || bench_child_finish(&waiter) < 0)
		return NAN;
	return latency(t0, t1);
}

static double sample(const struct bench *b, struct handoff *h, int kind,
		     const char *dir)
{
	struct bench_child *holder = &h->holder[kind],
			   *waiter = &h->waiter[kind];
	char line[64];
	int64_t t0, t1;

	if (kind == ON_CONFLICT)
		return sample_once(b, h, kind, dir);
	if (!h->started[kind]) {
		if (start(b, kind, dir, false, holder) < 0)
			return NAN;
		if (start(b, kind, dir, true, waiter) < 0) {
			bench_child_finish(holder);
			return NAN;
		}
		h->started[kind] = true;
	}
	bench_write_line(holder->to, "a");
	if (!bench_read_line(holder->from, line, sizeof(line)))
		return NAN;
	bench_write_line(waiter->to, "g");
	if (!bench_read_line(waiter->from, line, sizeof(line)))
		return NAN;
	wait_blocked(waiter->pid, NULL);
	bench_write_line(holder->to, "r");
	t0 = bench_read_i64(holder->from);
	t1 = bench_read_i64(waiter->from);
	return latency(t0, t1);
}

static void emit(const char *fs, struct handoff *h, int n, int subject,
		 const char *subject_name, int peer, const char *peer_name,
		 struct bench_target t)
{
	double s50 = bench_percentile(h->ns[subject], n, 50);
	double p50 = bench_percentile(h->ns[peer], n, 50);
	char extra[96], a[32], p[32];

	snprintf(
	    extra, sizeof(extra), "p99 %s vs %s",
	    bench_fmt_ns(a, sizeof(a), bench_percentile(h->ns[subject], n, 99)),
	    bench_fmt_ns(p, sizeof(p), bench_percentile(h->ns[peer], n, 99)));
	bench_emit_ratio("5 hand-off, p50", subject_name, peer_name, fs, s50,
			 p50, s50 / p50, t, extra);
}

void bench_row_handoff(const struct bench *b)
{
	static struct handoff h;
	int n = b->quick ? 3 : 101;
	char cmd[4200];
	bool have_filelock;

	snprintf(cmd, sizeof(cmd), "%s -c 'import filelock' 2>/dev/null",
		 b->python);
	have_filelock = system(cmd) == 0;
	for (int f = 0; f < b->nfs; f++) {
		const char *dir = b->fs_dir[f], *fs = b->fs_name[f];
		const char *raw = "raw flock(2)";

		memset(&h, 0, sizeof(h));
		for (int k = GUARD_BLOCK; k <= GUARD_TIMED; k++) {
			char res[4200];
			snprintf(res, sizeof(res), "%s/resource-%d", dir, k);
			close(open(res, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		}
		for (int i = 0; i < n; i++)
			for (int j = 0; j < NKINDS; j++) {
				int k = (i + j) % NKINDS;
				if (k == FILELOCK && !have_filelock)
					h.ns[k][i] = NAN;
				else
					h.ns[k][i] = sample(b, &h, k, dir);
			}
		for (int k = 0; k < NKINDS; k++)
			if (h.started[k]) {
				bench_child_finish(&h.holder[k]);
				bench_child_finish(&h.waiter[k]);
			}
		emit(fs, &h, n, GUARD_BLOCK, "shim guard, GUARD_WAIT=block",
		     RAW, raw, BENCH_AT_MOST(HANDOFF_TARGET));
		emit(fs, &h, n, CORE_BLOCK, "libpidlock acquire, no timeout",
		     RAW, raw, BENCH_AT_MOST(HANDOFF_TARGET));
		emit(fs, &h, n, GUARD_TIMED, "shim guard, GUARD_WAIT=5", RAW,
		     raw, BENCH_AT_MOST(HANDOFF_TARGET));
		emit(fs, &h, n, CORE_TIMED, "libpidlock acquire, timeout 5 s",
		     RAW, raw, BENCH_AT_MOST(HANDOFF_TARGET));
		emit(fs, &h, n, ON_CONFLICT,
		     "shim PID file, ON_CONFLICT=wait:5", RAW, raw,
		     BENCH_AT_MOST(HANDOFF_TARGET));
		if (have_filelock)
			emit(fs, &h, n, GUARD_BLOCK,
			     "shim guard, GUARD_WAIT=block", FILELOCK,
			     "Python filelock", BENCH_NO_TARGET);
		else
			bench_emit_skip(
			    "5 hand-off, p50", "shim guard, GUARD_WAIT=block",
			    "Python filelock", fs, "no python3-filelock");
	}
}

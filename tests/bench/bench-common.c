/* SPDX-License-Identifier: MIT */
/* The harness's plumbing: clocks, medians, child processes, output. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank over the values that are numbers (a failed batch is NaN). */
double bench_percentile(double *v, int n, double p)
{
	double sorted[1024];
	int m = 0;

	for (int i = 0; i < n && m < 1024; i++)
		if (!isnan(v[i]))
			sorted[m++] = v[i];
	if (m == 0)
		return NAN;
	qsort(sorted, (size_t)m, sizeof(*sorted), cmp_double);
	if (p == 50 && m % 2 == 0)
		return (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
	int rank = (int)ceil(p / 100 * m);
	return sorted[rank < 1 ? 0 : rank - 1];
}

double bench_median(double *v, int n)
{
	return bench_percentile(v, n, 50);
}

char **bench_env(const char *const *add)
{
	static char *env[512];
	int n = 0;

	for (char **e = environ; *e && n < 400; e++) {
		if (!strncmp(*e, "LD_PRELOAD=", 11) ||
		    !strncmp(*e, "PIDSHIM_", 8))
			continue;
		env[n++] = *e;
	}
	for (; add && *add && n < 511; add++)
		env[n++] = (char *)*add;
	env[n] = NULL;
	return env;
}

int bench_child_start(struct bench_child *c, char *const argv[],
		      char *const envp[], bool pipes, unsigned long nofile)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };

	if (pipes && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		if (pipes) {
			dup2(in[0], 0);
			dup2(out[1], 1);
		}
		if (nofile) {
			struct rlimit rl = { nofile, nofile };
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(126);
		}
		execve(argv[0], argv, envp);
		_exit(127);
	}
	c->to = c->from = -1;
	if (pipes) {
		close(in[0]);
		close(out[1]);
		c->to = in[1];
		c->from = out[0];
	}
	return 0;
}

int bench_child_finish(struct bench_child *c)
{
	int status;

	if (c->to >= 0)
		close(c->to);
	if (c->from >= 0)
		close(c->from);
	c->to = c->from = -1;
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void bench_write_line(int fd, const char *line)
{
	char buf[256];
	int len = snprintf(buf, sizeof(buf), "%s\n", line);

	if (write(fd, buf, (size_t)len) != len) {
		/* a child that died is seen at its read or its wait */
	}
}

bool bench_read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (ch == '\n') {
			buf[n] = '\0';
			return true;
		}
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return false;
}

int64_t bench_read_i64(int fd)
{
	char line[64];

	if (!bench_read_line(fd, line, sizeof(line)))
		return -1;
	return strtoll(line, NULL, 10);
}

double bench_child_ns(char *const argv[], const char *const *env_add)
{
	struct bench_child c;
	char line[64];
	double ns = NAN;

	if (bench_child_start(&c, argv, bench_env(env_add), true, 0) < 0)
		return NAN;
	close(c.to);
	c.to = -1;
	if (bench_read_line(c.from, line, sizeof(line)))
		ns = strtod(line, NULL);
	if (bench_child_finish(&c) < 0)
		return NAN;
	return ns;
}

void bench_alternate(const struct bench *b, void *ctx, bench_batch_fn fn,
		     int nvariants, const char *dir, int n,
		     struct bench_samples *s)
{
	s->nvariants = nvariants;
	s->reps = b->reps < BENCH_MAX_REPS ? b->reps : BENCH_MAX_REPS;
	/* one untimed warm-up round: page cache, dentries, the loader */
	for (int v = 0; v < nvariants; v++)
		fn(b, ctx, v, dir, n / 10 + 1);
	for (int r = 0; r < s->reps; r++)
		for (int i = 0; i < nvariants; i++) {
			int v = (i + r) % nvariants;
			s->ns[v][r] = fn(b, ctx, v, dir, n);
		}
}

double bench_samples_median(const struct bench_samples *s, int variant)
{
	double v[BENCH_MAX_REPS];

	memcpy(v, s->ns[variant], sizeof(double) * (size_t)s->reps);
	return bench_median(v, s->reps);
}

double bench_samples_ratio(const struct bench_samples *s, int subject, int peer)
{
	double v[BENCH_MAX_REPS];

	for (int r = 0; r < s->reps; r++)
		v[r] = s->ns[subject][r] / s->ns[peer][r];
	return bench_median(v, s->reps);
}

const char *bench_fmt_ns(char *buf, size_t size, double ns)
{
	double us = ns / 1000;

	if (isnan(ns))
		snprintf(buf, size, "failed");
	else if (us >= 10000)
		snprintf(buf, size, "%.1f ms", us / 1000);
	else if (us >= 100)
		snprintf(buf, size, "%.0f µs", us);
	else if (us >= 10)
		snprintf(buf, size, "%.1f µs", us);
	else
		snprintf(buf, size, "%.2f µs", us);
	return buf;
}

static void fmt_target(char *buf, size_t size, struct bench_target t,
		       const char *unit)
{
	if (!t.set)
		snprintf(buf, size, "—");
	else
		snprintf(buf, size, "%s %.2f%s", t.at_most ? "≤" : "<", t.limit,
			 unit);
}

static const char *verdict(struct bench_target t, double result)
{
	if (!t.set)
		return "";
	if (isnan(result))
		return "MISS";
	return (t.at_most ? result <= t.limit : result < t.limit) ? "PASS"
								  : "MISS";
}

void bench_emit_ratio(const char *row, const char *subject, const char *peer,
		      const char *fs, double subject_ns, double peer_ns,
		      double ratio, struct bench_target target,
		      const char *extra)
{
	char a[32], p[32], t[32], r[32];

	fmt_target(t, sizeof(t), target, "×");
	if (isnan(ratio))
		snprintf(r, sizeof(r), "failed");
	else
		snprintf(r, sizeof(r), ratio < 0.1 ? "%.3f×" : "%.2f×", ratio);
	printf("%s\t%s\t%s\t%s\t%s vs %s%s%s\t%s\t%s\t%s\n", row, subject, peer,
	       fs, bench_fmt_ns(a, sizeof(a), subject_ns),
	       bench_fmt_ns(p, sizeof(p), peer_ns), extra ? ", " : "",
	       extra ? extra : "", r, t, verdict(target, ratio));
	fflush(stdout);
}

void bench_emit_kib(const char *row, const char *subject, const char *peer,
		    const char *fs, double subject_kib, double peer_kib,
		    struct bench_target target)
{
	char t[32];
	double extra = subject_kib - peer_kib;

	if (target.set)
		snprintf(t, sizeof(t), "%s %.0f KiB extra",
			 target.at_most ? "≤" : "<", target.limit);
	else
		snprintf(t, sizeof(t), "—");
	if (isnan(extra))
		printf("%s\t%s\t%s\t%s\tfailed\tfailed\t%s\t%s\n", row, subject,
		       peer, fs, t, verdict(target, extra));
	else
		printf(
		    "%s\t%s\t%s\t%s\t%.0f KiB vs %.0f KiB\t%+.0f KiB\t%s\t%s\n",
		    row, subject, peer, fs, subject_kib, peer_kib, extra, t,
		    verdict(target, extra));
	fflush(stdout);
}

void bench_emit_skip(const char *row, const char *subject, const char *peer,
		     const char *fs, const char *why)
{
	printf("%s\t%s\t%s\t%s\tskipped: %s\t—\t—\t\n", row, subject, peer, fs,
	       why);
	fflush(stdout);
}

/* SPDX-License-Identifier: MIT */
/*
 * pidshim-bench: the product against its peers, measured side by side.
 * Every figure is a ratio to a peer measured in the same run, in
 * alternating repetitions, on each filesystem given (the disk's and
 * tmpfs); the targets are informative (a miss prints MISS, never fails).
 *
 * The harness reaches the product only from outside: libpidlock through
 * its public pidlock.h, loaded by path with dlopen, and libpidshim.so
 * preloaded by path into the programs it runs, so one harness measures
 * any build directory's libraries (scripts/bench --build DIR).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pidlock.h"

#define BENCH_MAX_FS 2
#define BENCH_MAX_VARIANTS 8
#define BENCH_MAX_REPS 32

struct bench {
	const char *self;	/* this program, run as the children */
	const char *shim;	/* libpidshim.so to preload */
	const char *libpidlock; /* libpidlock.so to dlopen */
	const char *python;   /* Debian's python3, where python3-filelock is */
	const char *peers_py; /* bench-peers.py */
	const char *minimal_preload;
	const char *pidshim; /* the pidshim command (the cluster row) */
	const char *etcd_sh; /* bench-etcd.sh, the cluster row's etcd */
	bool quick;
	int reps;
	int nfs;
	const char *fs_name[BENCH_MAX_FS];
	const char *fs_dir[BENCH_MAX_FS];
};

/* libpidlock's lock-file calls, bound from the library under test. */
struct bench_pidlock {
	__typeof__(pidlock_lock_new) *lock_new;
	__typeof__(pidlock_lock_free) *lock_free;
	__typeof__(pidlock_lock_acquire) *lock_acquire;
	__typeof__(pidlock_lock_release) *lock_release;
};

/* ---- time, statistics ---------------------------------------------------- */

int64_t bench_now_ns(void);
void bench_sleep_ms(int ms);
double bench_median(double *v, int n);
double bench_percentile(double *v, int n, double p);

/* ---- processes ----------------------------------------------------------- */

/* An environment: the harness's own minus LD_PRELOAD and PIDSHIM_*, plus
 * ADD (NAME=VALUE strings, NULL-terminated; may be NULL). Static storage:
 * valid until the next call. */
char **bench_env(const char *const *add);

struct bench_child {
	pid_t pid;
	int to;	  /* its standard input, or -1 */
	int from; /* its standard output, or -1 */
};

/* Fork and exec ARGV with ENVP, standard input and output on pipes (when
 * PIPES), after raising RLIMIT_NOFILE to NOFILE when it is not 0. */
int bench_child_start(struct bench_child *c, char *const argv[],
		      char *const envp[], bool pipes, unsigned long nofile);
/* Close the pipes and wait: 0 when the child exited with status 0. */
int bench_child_finish(struct bench_child *c);

void bench_write_line(int fd, const char *line);
/* One line without its newline; false at end of file. */
bool bench_read_line(int fd, char *buf, size_t size);
int64_t bench_read_i64(int fd);

/* Run ARGV with ENV_ADD, whose one line of output is nanoseconds per
 * operation; NaN when it fails. */
double bench_child_ns(char *const argv[], const char *const *env_add);

/* ---- alternating repetitions ------------------------------------------- */

/* One batch of N operations of VARIANT in DIR: nanoseconds per operation,
 * NaN when it failed. */
typedef double (*bench_batch_fn)(const struct bench *b, void *ctx, int variant,
				 const char *dir, int n);

struct bench_samples {
	int nvariants;
	int reps;
	double ns[BENCH_MAX_VARIANTS][BENCH_MAX_REPS];
};

/* REPS rounds, each running every variant once, the order rotating. */
void bench_alternate(const struct bench *b, void *ctx, bench_batch_fn fn,
		     int nvariants, const char *dir, int n,
		     struct bench_samples *s);
double bench_samples_median(const struct bench_samples *s, int variant);
/* The median over repetitions of SUBJECT's time over PEER's. */
double bench_samples_ratio(const struct bench_samples *s, int subject,
			   int peer);

/* ---- output ----------------------------------------------------------- */

/* A target: the result must be below (or at, when AT_MOST) LIMIT. */
struct bench_target {
	bool set;
	bool at_most;
	double limit;
};

#define BENCH_AT_MOST(x) ((struct bench_target){ true, true, (x) })
#define BENCH_BELOW(x) ((struct bench_target){ true, false, (x) })
#define BENCH_NO_TARGET ((struct bench_target){ false, false, 0 })

/* One result line (tab-separated, for scripts/bench to lay out):
 *   ROW SUBJECT PEER FS VALUES RESULT TARGET VERDICT */
void bench_emit_ratio(const char *row, const char *subject, const char *peer,
		      const char *fs, double subject_ns, double peer_ns,
		      double ratio, struct bench_target target,
		      const char *extra);
void bench_emit_kib(const char *row, const char *subject, const char *peer,
		    const char *fs, double subject_kib, double peer_kib,
		    struct bench_target target);
void bench_emit_skip(const char *row, const char *subject, const char *peer,
		     const char *fs, const char *why);
/* "12.3 µs" into BUF */
const char *bench_fmt_ns(char *buf, size_t size, double ns);

/* ---- the rows ---------------------------------------------------------- */

int bench_pidlock_bind(struct bench_pidlock *pl, const char *path);

void bench_row_startup(const struct bench *b);
void bench_row_open(const struct bench *b);
void bench_row_guarded(const struct bench *b);
void bench_row_cycle(const struct bench *b);
void bench_row_handoff(const struct bench *b);
void bench_row_throughput(const struct bench *b);
void bench_row_memory(const struct bench *b);
void bench_row_cluster(const struct bench *b);

/* The hand-written minimum for each guarantee (bench-minimum.c). */
struct bench_min_held {
	int fd;
	dev_t dev;
	ino_t ino;
};
int bench_min_lock(const char *path, bool wait, struct bench_min_held *h);
void bench_min_unlock(const char *path, const struct bench_min_held *h);
int bench_min_guarded_cycle(const char *res, const char *lockpath,
			    int open_flags, const char *data);

/* The programs the rows run, this program's "child" modes. */
int bench_child_main(int argc, char **argv);

#endif /* BENCH_H */

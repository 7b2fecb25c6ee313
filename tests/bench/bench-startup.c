/* SPDX-License-Identifier: MIT */
/*
 * Row 1, start-up: /bin/true bare, under the shim with a PID file (the
 * shim's whole life: start, PID file created, locked, written, removed
 * at exit), under flock -n LOCK, and under a minimal PID-file preload
 * (the floor for a preload: bench-minimal-preload.c). Each batch starts
 * N processes one after the other (posix_spawn, waited for).
 */
#include "bench.h"

#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

/* target: a start under the shim with a PID file within 1.25 × bare */
#define STARTUP_TARGET 1.25

enum { BARE, SHIM, FLOCK, MINIMAL, NVARIANTS };

static double spawn_batch(const struct bench *b, void *ctx, int variant,
			  const char *dir, int n)
{
	char pidfile[4200], preload[4200], lockfile[4200], minimal[4200];
	const char *add[4] = { NULL };
	char *argv[5];
	char **envp;
	int64_t t0;

	snprintf(pidfile, sizeof(pidfile), "PIDSHIM_PIDFILE=%s/true.pid", dir);
	snprintf(lockfile, sizeof(lockfile), "%s/true.lock", dir);
	argv[0] = "/bin/true";
	argv[1] = NULL;
	switch (variant) {
	case SHIM:
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", b->shim);
		add[0] = preload;
		add[1] = pidfile;
		break;
	case FLOCK:
		argv[0] = "/usr/bin/flock";
		argv[1] = "-n";
		argv[2] = lockfile;
		argv[3] = "/bin/true";
		argv[4] = NULL;
		break;
	case MINIMAL:
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
			 b->minimal_preload);
		snprintf(minimal, sizeof(minimal),
			 "BENCH_MINIMAL_PIDFILE=%s/true-minimal.pid", dir);
		add[0] = preload;
		add[1] = minimal;
		break;
	default:
		break;
	}
	envp = bench_env(add);
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		pid_t pid;
		int status;
		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, envp) != 0 ||
		    waitpid(pid, &status, 0) < 0 || status != 0)
			return NAN;
	}
	return (double)(bench_now_ns() - t0) / n;
}

void bench_row_startup(const struct bench *b)
{
	/* a start is the figure most shaken by other processes: three
	 * times the rounds, each a third as long */
	struct bench rounds = *b;
	int n = b->quick ? 5 : 20;

	rounds.reps =
	    b->reps * 3 < BENCH_MAX_REPS ? b->reps * 3 : BENCH_MAX_REPS;
	for (int f = 0; f < b->nfs; f++) {
		struct bench_samples s;
		const char *fs = b->fs_name[f];

		bench_alternate(&rounds, NULL, spawn_batch, NVARIANTS,
				b->fs_dir[f], n, &s);
		bench_emit_ratio("1 start-up", "/bin/true, shim + PID file",
				 "/bin/true bare", fs,
				 bench_samples_median(&s, SHIM),
				 bench_samples_median(&s, BARE),
				 bench_samples_ratio(&s, SHIM, BARE),
				 BENCH_AT_MOST(STARTUP_TARGET), NULL);
		bench_emit_ratio("1 start-up", "flock -n LOCK /bin/true",
				 "/bin/true bare", fs,
				 bench_samples_median(&s, FLOCK),
				 bench_samples_median(&s, BARE),
				 bench_samples_ratio(&s, FLOCK, BARE),
				 BENCH_NO_TARGET, NULL);
		bench_emit_ratio("1 start-up", "minimal PID-file preload",
				 "/bin/true bare", fs,
				 bench_samples_median(&s, MINIMAL),
				 bench_samples_median(&s, BARE),
				 bench_samples_ratio(&s, MINIMAL, BARE),
				 BENCH_NO_TARGET, NULL);
		bench_emit_ratio("1 start-up", "/bin/true, shim + PID file",
				 "flock -n LOCK /bin/true", fs,
				 bench_samples_median(&s, SHIM),
				 bench_samples_median(&s, FLOCK),
				 bench_samples_ratio(&s, SHIM, FLOCK),
				 BENCH_NO_TARGET, NULL);
	}
}

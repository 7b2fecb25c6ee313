/* SPDX-License-Identifier: MIT */
/*
 * Row 3, an uncontended guarded open: open+close of a guarded resource in
 * a loop under the shim (scope open: each open takes the guard, each
 * close releases it and removes the lock file), against the hand-written
 * minimum for the same guarantees (bench_min_guarded_cycle).
 */
#include "bench.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

/* target: the shim's guarded open within 1.25 × the minimum */
#define GUARDED_TARGET 1.25

enum { SHIM, MINIMUM, NVARIANTS };

static double guarded_batch(const struct bench *b, void *ctx, int variant,
			    const char *dir, int n)
{
	char res[4200], lockpath[4200];

	snprintf(res, sizeof(res), "%s/resource", dir);
	/* the shim's default lock file (libpidshim(7), PIDSHIM_LOCK_STYLE) */
	snprintf(lockpath, sizeof(lockpath), "%s/.resource.pidshim-lock", dir);
	if (variant == SHIM) {
		char count[16], preload[4200], guard[4300];
		char *argv[] = { (char *)b->self, "child", "guarded", res,
				 count,		  NULL };
		const char *add[] = { preload, guard, "PIDSHIM_PIDFILE=none",
				      NULL };

		snprintf(count, sizeof(count), "%d", n);
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", b->shim);
		snprintf(guard, sizeof(guard), "PIDSHIM_GUARD=%s", res);
		return bench_child_ns(argv, add);
	}
	int64_t t0 = bench_now_ns();
	for (int i = 0; i < n; i++)
		if (bench_min_guarded_cycle(res, lockpath, O_RDWR, NULL) < 0)
			return NAN;
	return (double)(bench_now_ns() - t0) / n;
}

void bench_row_guarded(const struct bench *b)
{
	int n = b->quick ? 50 : 400;

	for (int f = 0; f < b->nfs; f++) {
		struct bench_samples s;
		char res[4200];
		int fd;

		snprintf(res, sizeof(res), "%s/resource", b->fs_dir[f]);
		fd = open(res, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		bench_alternate(b, NULL, guarded_batch, NVARIANTS, b->fs_dir[f],
				n, &s);
		bench_emit_ratio("3 guarded open",
				 "shim, open+close of a guarded file",
				 "hand-written minimum (C)", b->fs_name[f],
				 bench_samples_median(&s, SHIM),
				 bench_samples_median(&s, MINIMUM),
				 bench_samples_ratio(&s, SHIM, MINIMUM),
				 BENCH_AT_MOST(GUARDED_TARGET), NULL);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * Row 5, throughput under contention: 4 processes each append N lines to
 * one file, every append in its own section (open, write, close): under
 * the shim guarding the file, against the same 4 processes doing the
 * hand-written minimum (bench_min_guarded_cycle). The figure is the time
 * per section, all 4 started together; the file must end with every line
 * (each append seeks to the end and writes: without the section, two
 * writers would write at the same offset and a line would be lost).
 */
#include "bench.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITERS 4
#define LINE_LEN 17 /* bench-children.c, append_loop */

enum { SHIM, MINIMUM, NVARIANTS };

static double append_batch(const struct bench *b, void *ctx, int variant,
			   const char *dir, int n)
{
	char path[4200], lockpath[4200], count[16], preload[4200], guard[4300],
	    line[16];
	struct bench_child c[WRITERS];
	const char *add[] = { preload, guard, "PIDSHIM_PIDFILE=none", NULL };
	char *shim_argv[] = { (char *)b->self, "child", "append-guard", path,
			      count,	       NULL };
	char *min_argv[] = { (char *)b->self, "child", "append-min", path,
			     lockpath,	      count,   NULL };
	char **envp;
	struct stat st;
	int started = 0, failed = 0;
	int64_t t0;

	snprintf(path, sizeof(path), "%s/appended", dir);
	snprintf(lockpath, sizeof(lockpath), "%s/.appended.pidshim-lock", dir);
	snprintf(count, sizeof(count), "%d", n);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", b->shim);
	snprintf(guard, sizeof(guard), "PIDSHIM_GUARD=%s", path);
	close(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	envp = bench_env(variant == SHIM ? add : NULL);
	for (; started < WRITERS; started++)
		if (bench_child_start(&c[started],
				      variant == SHIM ? shim_argv : min_argv,
				      envp, true, 0) < 0 ||
		    !bench_read_line(c[started].from, line, sizeof(line))) {
			failed = 1;
			break;
		}
	t0 = bench_now_ns();
	for (int i = 0; i < started; i++)
		bench_write_line(c[i].to, failed ? "" : "g");
	for (int i = 0; i < started; i++) {
		close(c[i].to);
		c[i].to = -1;
	}
	for (int i = 0; i < started; i++)
		if (bench_child_finish(&c[i]) < 0)
			failed = 1;
	double ns = (double)(bench_now_ns() - t0) / (WRITERS * n);
	if (failed || stat(path, &st) < 0 ||
	    st.st_size != (off_t)WRITERS * n * LINE_LEN)
		return NAN;
	return ns;
}

void bench_row_throughput(const struct bench *b)
{
	int n = b->quick ? 10 : 100;

	for (int f = 0; f < b->nfs; f++) {
		struct bench_samples s;
		char extra[64];

		bench_alternate(b, NULL, append_batch, NVARIANTS, b->fs_dir[f],
				n, &s);
		snprintf(extra, sizeof(extra), "per section, %d × %d", WRITERS,
			 n);
		bench_emit_ratio("5 throughput", "shim guard",
				 "hand-written flock minimum (C)",
				 b->fs_name[f], bench_samples_median(&s, SHIM),
				 bench_samples_median(&s, MINIMUM),
				 bench_samples_ratio(&s, SHIM, MINIMUM),
				 BENCH_NO_TARGET, extra);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * Row 2, the shim's cost on opens it does not guard: open+close of a file
 * no guard matches, in a loop inside one process, with no shim, under
 * the shim with no guard configured, and under the shim with 16 guard
 * patterns (half of them in the file's own directory, so the matching
 * cannot stop at the first component), by absolute and relative path.
 */
#include "bench.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* targets: an open no guard matches costs at most this over no shim */
#define OPEN_TARGET_ABSOLUTE 1.2
#define OPEN_TARGET_RELATIVE 1.3

enum { BARE, SHIM_NO_GUARD, SHIM_16, BARE_REL, SHIM_16_REL, NVARIANTS };

struct open_ctx {
	char guard[8192];
};

static double open_batch(const struct bench *b, void *ctx, int variant,
			 const char *dir, int n)
{
	struct open_ctx *oc = ctx;
	char path[4200], count[16], preload[4200];
	const char *add[4] = { NULL };
	bool relative = variant == BARE_REL || variant == SHIM_16_REL;
	char *argv[] = { (char *)b->self,
			 "child",
			 "open",
			 relative ? (char *)dir : "/",
			 relative ? "plain" : path,
			 count,
			 NULL };

	snprintf(path, sizeof(path), "%s/plain", dir);
	snprintf(count, sizeof(count), "%d", n);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", b->shim);
	if (variant != BARE && variant != BARE_REL) {
		add[0] = preload;
		add[1] = "PIDSHIM_PIDFILE=none";
		if (variant != SHIM_NO_GUARD)
			add[2] = oc->guard;
	}
	return bench_child_ns(argv, add);
}

static void guard_patterns(struct open_ctx *oc, const char *dir)
{
	static const char *const elsewhere[] = {
		"/dev/ttyUSB*",		 "/dev/ttyACM*",     "/srv/data/*.db",
		"/var/lib/app/*.sqlite", "/run/app/*.sock",  "/etc/app.d/*",
		"/home/*/.cache/app/*",	 "/var/spool/app/*",
	};
	size_t len =
	    (size_t)snprintf(oc->guard, sizeof(oc->guard), "PIDSHIM_GUARD=");

	for (int i = 0; i < 8; i++)
		len +=
		    (size_t)snprintf(oc->guard + len, sizeof(oc->guard) - len,
				     "%s%s", i ? ":" : "", elsewhere[i]);
	for (int i = 0; i < 8; i++)
		len +=
		    (size_t)snprintf(oc->guard + len, sizeof(oc->guard) - len,
				     ":%s/guarded-%d-*.db", dir, i);
}

void bench_row_open(const struct bench *b)
{
	int n = b->quick ? 200 : 5000;
	static struct open_ctx oc;

	for (int f = 0; f < b->nfs; f++) {
		struct bench_samples s;
		const char *fs = b->fs_name[f];
		char path[4200];
		int fd;

		snprintf(path, sizeof(path), "%s/plain", b->fs_dir[f]);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		guard_patterns(&oc, b->fs_dir[f]);
		bench_alternate(b, &oc, open_batch, NVARIANTS, b->fs_dir[f], n,
				&s);
		bench_emit_ratio("2 unguarded open",
				 "shim, no guard configured", "no shim", fs,
				 bench_samples_median(&s, SHIM_NO_GUARD),
				 bench_samples_median(&s, BARE),
				 bench_samples_ratio(&s, SHIM_NO_GUARD, BARE),
				 BENCH_NO_TARGET, NULL);
		bench_emit_ratio("2 unguarded open",
				 "shim, 16 patterns, absolute path", "no shim",
				 fs, bench_samples_median(&s, SHIM_16),
				 bench_samples_median(&s, BARE),
				 bench_samples_ratio(&s, SHIM_16, BARE),
				 BENCH_AT_MOST(OPEN_TARGET_ABSOLUTE), NULL);
		bench_emit_ratio("2 unguarded open",
				 "shim, 16 patterns, relative path",
				 "no shim, relative path", fs,
				 bench_samples_median(&s, SHIM_16_REL),
				 bench_samples_median(&s, BARE_REL),
				 bench_samples_ratio(&s, SHIM_16_REL, BARE_REL),
				 BENCH_AT_MOST(OPEN_TARGET_RELATIVE), NULL);
	}
}

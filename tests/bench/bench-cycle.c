/* SPDX-License-Identifier: MIT */
/*
 * Row 4, the core lock cycle: take a lock file nobody holds, with our PID
 * written in it, and release it, removing the file (libpidlock's
 * pidlock_lock_acquire/pidlock_lock_release), against the hand-written
 * minimum, libbsd's pidfile(3), liblockfile's lockfile_create(3), Python
 * filelock (no PID, the file kept) and pylockfile's PIDLockFile way (the
 * file exists? create it exclusively with the PID, remove it), both run
 * by Debian's python3 (bench-peers.py).
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_LIBBSD
#include <bsd/libutil.h>
#endif
#ifdef HAVE_LIBLOCKFILE
#include <lockfile.h>
#endif

/* targets: within 1.2 × the minimum, and faster than libbsd and
 * liblockfile, on every filesystem */
#define CYCLE_TARGET_MINIMUM 1.2
#define CYCLE_TARGET_PEER 1.0

enum {
	LIBPIDLOCK,
	MINIMUM,
	LIBBSD,
	LIBLOCKFILE,
	FILELOCK,
	PYLOCKFILE,
	NVARIANTS
};

struct cycle_ctx {
	struct bench_pidlock pl;
	bool have_pidlock;
	bool have_filelock;
};

static double python_batch(const struct bench *b, const char *what,
			   const char *path, int n)
{
	char count[16];
	char *argv[] = { (char *)b->python,
			 (char *)b->peers_py,
			 (char *)what,
			 (char *)path,
			 count,
			 NULL };

	snprintf(count, sizeof(count), "%d", n);
	return bench_child_ns(argv, NULL);
}

static int one_cycle(struct cycle_ctx *cc, int variant, const char *dir,
		     const char *path, struct pidlock_lock *lock)
{
	int err;

	switch (variant) {
	case LIBPIDLOCK:
		err = cc->pl.lock_acquire(lock, PIDLOCK_EXCLUSIVE,
					  PIDLOCK_NOWAIT, NULL);
		return err < 0 ? err : cc->pl.lock_release(lock);
	case MINIMUM: {
		struct bench_min_held h;
		err = bench_min_lock(path, false, &h);
		if (err < 0)
			return err;
		bench_min_unlock(path, &h);
		return 0;
	}
#ifdef HAVE_LIBBSD
	case LIBBSD: {
		pid_t other;
		struct pidfh *pfh = pidfile_open(path, 0644, &other);
		if (!pfh)
			return -errno;
		err = pidfile_write(pfh) < 0 ? -errno : 0;
		pidfile_remove(pfh);
		return err;
	}
#endif
#ifdef HAVE_LIBLOCKFILE
	case LIBLOCKFILE:
		if (lockfile_create(path, 0, 0) != L_SUCCESS)
			return -EAGAIN;
		return lockfile_remove(path) < 0 ? -errno : 0;
#endif
	default:
		return -ENOSYS;
	}
}

static double cycle_batch(const struct bench *b, void *ctx, int variant,
			  const char *dir, int n)
{
	static const char *const name[] = {
		"pidlock.lock",	    "minimum.lock",  "libbsd.pid",
		"liblockfile.lock", "filelock.lock", "pylockfile.lock"
	};
	struct cycle_ctx *cc = ctx;
	struct pidlock_lock *lock = NULL;
	char path[4200];
	int64_t t0;
	double ns;

	snprintf(path, sizeof(path), "%s/%s", dir, name[variant]);
	if (variant == FILELOCK || variant == PYLOCKFILE)
		return python_batch(
		    b, variant == FILELOCK ? "filelock" : "pylockfile", path,
		    n);
	if (variant == LIBPIDLOCK &&
	    (!cc->have_pidlock ||
	     cc->pl.lock_new(&lock, dir, name[variant], 0) < 0))
		return NAN;
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++)
		if (one_cycle(cc, variant, dir, path, lock) < 0) {
			t0 = -1;
			break;
		}
	ns = t0 < 0 ? NAN : (double)(bench_now_ns() - t0) / n;
	if (lock)
		cc->pl.lock_free(lock);
	return ns;
}

static void emit(const char *fs, const struct bench_samples *s, int peer,
		 const char *peer_name, struct bench_target t,
		 const char *missing)
{
	const char *subject = "libpidlock acquire+release";

	if (missing) {
		bench_emit_skip("4 lock cycle", subject, peer_name, fs,
				missing);
		return;
	}
	bench_emit_ratio("4 lock cycle", subject, peer_name, fs,
			 bench_samples_median(s, LIBPIDLOCK),
			 bench_samples_median(s, peer),
			 bench_samples_ratio(s, LIBPIDLOCK, peer), t, NULL);
}

void bench_row_cycle(const struct bench *b)
{
	static struct cycle_ctx cc;
	int n = b->quick ? 20 : 300;
	char cmd[4200];
	const char *no_libbsd = NULL, *no_liblockfile = NULL,
		   *no_filelock = NULL;

	cc.have_pidlock = bench_pidlock_bind(&cc.pl, b->libpidlock) == 0;
	snprintf(cmd, sizeof(cmd), "%s -c 'import filelock' 2>/dev/null",
		 b->python);
	cc.have_filelock = system(cmd) == 0;
#ifndef HAVE_LIBBSD
	no_libbsd = "built without libbsd-dev";
#endif
#ifndef HAVE_LIBLOCKFILE
	no_liblockfile = "built without liblockfile-dev";
#endif
	if (!cc.have_filelock)
		no_filelock = "no python3-filelock";
	for (int f = 0; f < b->nfs; f++) {
		struct bench_samples s;
		const char *fs = b->fs_name[f];

		bench_alternate(b, &cc, cycle_batch, NVARIANTS, b->fs_dir[f], n,
				&s);
		emit(fs, &s, MINIMUM, "hand-written minimum (C)",
		     BENCH_AT_MOST(CYCLE_TARGET_MINIMUM), NULL);
		emit(fs, &s, LIBBSD, "libbsd pidfile_open/write/remove",
		     BENCH_BELOW(CYCLE_TARGET_PEER), no_libbsd);
		emit(fs, &s, LIBLOCKFILE, "liblockfile lockfile_create/remove",
		     BENCH_BELOW(CYCLE_TARGET_PEER), no_liblockfile);
		emit(fs, &s, FILELOCK, "Python filelock (no PID, file kept)",
		     BENCH_NO_TARGET, no_filelock);
		emit(fs, &s, PYLOCKFILE, "Python exists/create/remove loop",
		     BENCH_NO_TARGET, NULL);
	}
}

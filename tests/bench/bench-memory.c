/* SPDX-License-Identifier: MIT */
/*
 * Row 6, memory: what the shim adds to a process that just sleeps, at
 * RLIMIT_NOFILE 1,048,576 (raised in the child, which needs root with
 * CAP_SYS_RESOURCE unless the hard limit already allows it; without, at
 * the highest limit allowed, named in the row). The figure is what the
 * process has of its own, as the shim-memory test counts it: its
 * Private_Clean + Private_Dirty (/proc/PID/smaps_rollup), measured with
 * a twin of the same kind running so that code every such process maps
 * (libc, the shim) counts as shared; its page tables (VmPTE); and the
 * kernel's descriptor table its highest open descriptor implies, which no
 * /proc figure shows. PSS, added to the same table, is a second view.
 */
#include "bench.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOFILE (1UL << 20)
/* target: at most 64 KiB more per process, at any limit */
#define MEMORY_TARGET_KIB 64

enum { SHIM, BARE, NVARIANTS };

/*
 * The descriptor table the kernel allocates for a process whose highest
 * descriptor is MAXFD (Linux fs/file.c, alloc_fdtable): up to 64 slots
 * live inside files_struct, already counted in every process; beyond,
 * S = roundup_pow_of_two(MAXFD / 128 + 1) * 128 slots, capped at
 * fs.nr_open, each a pointer (8 bytes) plus two bitmap bits (open, close
 * on exec) and 1/64 bit (full words):
 *     bytes = 8 S + 2 S / 8 + S / 512
 */
static double fdtable_kib(long maxfd)
{
	unsigned long s = 1;

	if (maxfd < 64)
		return 0;
	while (s < (unsigned long)maxfd / 128 + 1)
		s <<= 1;
	s *= 128;
	if (s > NOFILE)
		s = NOFILE;
	return (8.0 * s + 2.0 * s / 8 + s / 512.0) / 1024;
}

static long highest_fd(pid_t pid)
{
	char path[64];
	struct dirent *d;
	long max = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
		    atol(d->d_name) > max)
			max = atol(d->d_name);
	closedir(dir);
	return max;
}

/* The number after "FIELD:" in /proc/PID/NAME, in KiB; NAN without it. */
static double proc_kib(pid_t pid, const char *name, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	double kib = NAN;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	f = fopen(path, "re");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kib = atof(line + len + 1);
	fclose(f);
	return kib;
}

/* What PID has of its own, and its PSS, in KiB, descriptor table
 * included in both. */
static int footprint(pid_t pid, double *own, double *pss)
{
	double table = fdtable_kib(highest_fd(pid));

	*own = proc_kib(pid, "smaps_rollup", "Private_Clean") +
	       proc_kib(pid, "smaps_rollup", "Private_Dirty") +
	       proc_kib(pid, "status", "VmPTE") + table;
	*pss = proc_kib(pid, "smaps_rollup", "Pss") + table;
	return isnan(*own) || isnan(*pss) ? -1 : 0;
}

static bool names_pid(const char *path, pid_t pid)
{
	FILE *f = fopen(path, "re");
	int named = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &named) != 1)
		named = 0;
	fclose(f);
	return named == (int)pid;
}

/* Two sleepers of VARIANT, each asleep (and, under the shim, named by a
 * PID file of its own); the second one measured. */
static int measure(const struct bench *b, int variant, const char *dir,
		   unsigned long nofile, double *own, double *pss)
{
	char preload[4200], pidfile[2][4200], line[16];
	char *argv[] = { (char *)b->self, "child", "sleep", NULL };
	struct bench_child c[2];
	int started = 0, err = 0;

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", b->shim);
	for (; started < 2; started++) {
		const char *add[] = { preload, pidfile[started], NULL };

		snprintf(pidfile[started], sizeof(pidfile[started]),
			 "PIDSHIM_PIDFILE=%s/sleeper-%d.pid", dir, started);
		if (bench_child_start(&c[started], argv,
				      bench_env(variant == SHIM ? add : NULL),
				      true, nofile) < 0) {
			err = -1;
			break;
		}
		/* under the shim, its PID file names it: the shim was
		 * loaded and worked (ld.so runs a program whose preload
		 * fails without it) */
		if (!bench_read_line(c[started].from, line, sizeof(line)) ||
		    (variant == SHIM &&
		     !names_pid(pidfile[started] + 16, c[started].pid))) {
			started++;
			err = -1;
			break;
		}
	}
	if (err == 0)
		err = footprint(c[1].pid, own, pss);
	while (started-- > 0)
		if (bench_child_finish(&c[started]) < 0)
			err = -1;
	return err;
}

/* Whether a child may raise RLIMIT_NOFILE to NOFILE. */
static bool can_raise(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit rl = { NOFILE, NOFILE };
		_exit(setrlimit(RLIMIT_NOFILE, &rl) < 0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && status == 0;
}

void bench_row_memory(const struct bench *b)
{
	char row[96];
	struct rlimit rl;
	unsigned long nofile = NOFILE;
	int reps = b->reps < 3 ? b->reps : 3;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (!can_raise())
		nofile = rl.rlim_max;
	snprintf(row, sizeof(row), "6 memory, NOFILE %lu%s", nofile,
		 nofile < NOFILE ? " (the most allowed here)" : "");
	for (int f = 0; f < b->nfs; f++) {
		double own[NVARIANTS][BENCH_MAX_REPS],
		    pss[NVARIANTS][BENCH_MAX_REPS];
		const char *fs = b->fs_name[f];
		int r, v;

		for (r = 0; r < reps; r++)
			for (v = 0; v < NVARIANTS; v++)
				if (measure(b, v, b->fs_dir[f], nofile,
					    &own[v][r], &pss[v][r]) < 0)
					own[v][r] = pss[v][r] = NAN;
		bench_emit_kib(row, "sleeping, shim + PID file, own memory",
			       "sleeping, bare, own memory", fs,
			       bench_median(own[SHIM], reps),
			       bench_median(own[BARE], reps),
			       BENCH_AT_MOST(MEMORY_TARGET_KIB));
		bench_emit_kib(row, "sleeping, shim + PID file, PSS",
			       "sleeping, bare, PSS", fs,
			       bench_median(pss[SHIM], reps),
			       bench_median(pss[BARE], reps), BENCH_NO_TARGET);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * pidshim-bench [--quick] [--reps N] [--shim SO] [--libpidlock SO]
 *               [--pidshim PIDSHIM] [--python PYTHON] [--fs NAME=DIR]...
 *               [ROW...]
 *
 * Runs the rows (startup open guarded cycle handoff throughput memory
 * cluster; all by default) on each filesystem (default: the disk's, a directory
 * under /var/tmp, and tmpfs, /dev/shm) and prints one tab-separated line
 * per row and filesystem; scripts/bench lays them out as one table.
 */
#include "bench.h"

#include <dlfcn.h>
#include <ftw.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BENCH_SHIM
#define BENCH_SHIM "libpidshim.so"
#endif
#ifndef BENCH_LIBPIDLOCK
#define BENCH_LIBPIDLOCK "libpidlock.so.0"
#endif
#ifndef BENCH_PEERS_PY
#define BENCH_PEERS_PY "bench-peers.py"
#endif
#ifndef BENCH_MINIMAL_PRELOAD
#define BENCH_MINIMAL_PRELOAD "libbench-minimal-preload.so"
#endif
#ifndef BENCH_PIDSHIM
#define BENCH_PIDSHIM "pidshim"
#endif
#ifndef BENCH_ETCD_SH
#define BENCH_ETCD_SH "bench-etcd.sh"
#endif

int bench_pidlock_bind(struct bench_pidlock *pl, const char *path)
{
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		fprintf(stderr, "pidshim-bench: %s\n", dlerror());
		return -1;
	}
	pl->lock_new = (__typeof__(pl->lock_new))dlsym(lib, "pidlock_lock_new");
	pl->lock_free =
	    (__typeof__(pl->lock_free))dlsym(lib, "pidlock_lock_free");
	pl->lock_acquire =
	    (__typeof__(pl->lock_acquire))dlsym(lib, "pidlock_lock_acquire");
	pl->lock_release =
	    (__typeof__(pl->lock_release))dlsym(lib, "pidlock_lock_release");
	if (!pl->lock_new || !pl->lock_free || !pl->lock_acquire ||
	    !pl->lock_release) {
		fprintf(stderr, "pidshim-bench: %s lacks pidlock_lock_*\n",
			path);
		return -1;
	}
	return 0;
}

static const struct {
	const char *name;
	void (*run)(const struct bench *b);
} rows[] = {
	{ "startup", bench_row_startup },
	{ "open", bench_row_open },
	{ "guarded", bench_row_guarded },
	{ "cycle", bench_row_cycle },
	{ "handoff", bench_row_handoff },
	{ "throughput", bench_row_throughput },
	{ "memory", bench_row_memory },
	{ "cluster", bench_row_cluster },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	remove(path);
	return 0;
}

static char *made[BENCH_MAX_FS];

static void remove_dirs(void)
{
	for (int i = 0; i < BENCH_MAX_FS; i++)
		if (made[i])
			nftw(made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The filesystem's name, from its magic number (ext2, 3 and 4 share). */
static const char *fs_type(const char *dir)
{
	struct statfs st;

	if (statfs(dir, &st) < 0)
		return "disk";
	switch (st.f_type) {
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case TMPFS_MAGIC:
		return "tmpfs";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	default:
		return "disk";
	}
}

static int usage(void)
{
	fprintf(stderr,
		"usage: pidshim-bench [--quick] [--reps N] [--shim SO] "
		"[--libpidlock SO] [--pidshim PIDSHIM] [--python PYTHON] "
		"[--fs [NAME=]DIR]... [ROW...]\n");
	return 64;
}

int main(int argc, char **argv)
{
	static char self[4096];
	struct bench b = {
		.shim = BENCH_SHIM,
		.libpidlock = BENCH_LIBPIDLOCK,
		.python = "/usr/bin/python3",
		.peers_py = BENCH_PEERS_PY,
		.minimal_preload = BENCH_MINIMAL_PRELOAD,
		.pidshim = BENCH_PIDSHIM,
		.etcd_sh = BENCH_ETCD_SH,
		.reps = 0,
	};
	const char *fs_spec[BENCH_MAX_FS];
	int nspec = 0, i;
	bool want[NROWS] = { false }, any = false;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return bench_child_main(argc - 2, argv + 2);
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return 70;
	self[len] = '\0';
	b.self = self;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick"))
			b.quick = true;
		else if (!strcmp(a, "--reps") && i + 1 < argc)
			b.reps = atoi(argv[++i]);
		else if (!strcmp(a, "--shim") && i + 1 < argc)
			b.shim = argv[++i];
		else if (!strcmp(a, "--libpidlock") && i + 1 < argc)
			b.libpidlock = argv[++i];
		else if (!strcmp(a, "--pidshim") && i + 1 < argc)
			b.pidshim = argv[++i];
		else if (!strcmp(a, "--python") && i + 1 < argc)
			b.python = argv[++i];
		else if (!strcmp(a, "--fs") && i + 1 < argc &&
			 nspec < BENCH_MAX_FS)
			fs_spec[nspec++] = argv[++i];
		else if (a[0] == '-')
			return usage();
		else {
			size_t r;
			for (r = 0; r < NROWS; r++)
				if (!strcmp(a, rows[r].name))
					break;
			if (r == NROWS)
				return usage();
			want[r] = any = true;
		}
	}
	if (b.reps <= 0)
		b.reps = b.quick ? 1 : 7;
	if (nspec == 0) {
		fs_spec[nspec++] = "/var/tmp";
		fs_spec[nspec++] = "/dev/shm";
	}
	atexit(remove_dirs);
	for (i = 0; i < nspec; i++) {
		char *name = strdup(fs_spec[i]);
		char *base = strchr(name, '=');
		char tmpl[4096];

		if (base) {
			*base++ = '\0';
		} else {
			base = name;
			name = (char *)fs_type(base);
		}
		snprintf(tmpl, sizeof(tmpl), "%s/pidshim-bench.XXXXXX", base);
		made[i] = mkdtemp(strdup(tmpl));
		if (!made[i]) {
			perror(tmpl);
			return 73;
		}
		b.fs_name[i] = name;
		b.fs_dir[i] = made[i];
	}
	b.nfs = nspec;

	for (size_t r = 0; r < NROWS; r++)
		if (!any || want[r]) {
			int64_t t0 = bench_now_ns();
			rows[r].run(&b);
			fprintf(stderr, "pidshim-bench: %s took %.1f s\n",
				rows[r].name, (bench_now_ns() - t0) / 1e9);
		}
	return 0;
}

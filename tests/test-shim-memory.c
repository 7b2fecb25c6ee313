/* SPDX-License-Identifier: MIT */
/*
 * What the shim costs a process in memory, at the descriptor limit
 * containers give (RLIMIT_NOFILE = 1,048,576): sleep under the shim with a
 * PID file against sleep without it, both asleep in main. The meson test
 * shim-memory-million raises the limit to 1,048,576 in the case's child,
 * which takes root (CAP_SYS_RESOURCE), and is skipped (77) without it;
 * shim-memory measures at the highest limit the process may set.
 *
 * The extra memory of a process is what it has of its own:
 *   Private_Clean + Private_Dirty (smaps_rollup): its pages no other
 *     process maps (two of each kind run, so that the shim's own code,
 *     shared by every process under it, counts as shared);
 *   VmPTE (status): its page tables;
 *   its descriptor table, which the kernel grows past the 64 slots kept
 *     inside every process to the smallest power of two above the highest
 *     open descriptor H (at least 128): 8 bytes a slot for the file
 *     pointers plus the open and close-on-exec bitmaps (a bit each a slot)
 *     and the bitmap of full words (a bit each 64 slots), so
 *       slots = H < 64 ? 0 : max(128, 2^ceil(log2(H + 1)))
 *       bytes = 8 slots + 2 slots / 8 + slots / 512.
 * The shim's part is the difference, and must stay within 64 KiB.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#define MILLION_DESCRIPTORS 1048576
#define BUDGET (64 * 1024L)

static char *dir;

static void setup(void)
{
	dir = test_dir_make();
}

static void teardown(void)
{
	test_dir_remove(dir);
	dir = NULL;
}

struct footprint {
	long rss, pss, private_kb, pte_kb;
	int highest_fd;
};

/* The number after "FIELD:" in the file at PATH, in kB; -1 without it. */
static long field_kb(const char *path, const char *field)
{
	static char text[16384];
	size_t len = strlen(field);
	const char *line;

	if (test_read_file(path, text, sizeof(text)) < 0)
		return -1;
	for (line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			return atol(line + len + 1);
	}
	return -1;
}

static int highest_fd(pid_t pid)
{
	char path[64];
	struct dirent *entry;
	int highest = -1;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	ck_assert_msg(fds, "%s: %s", path, strerror(errno));
	while ((entry = readdir(fds)))
		if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' &&
		    atoi(entry->d_name) > highest)
			highest = atoi(entry->d_name);
	closedir(fds);
	return highest;
}

static struct footprint footprint_of(pid_t pid)
{
	char rollup[64], status[64];
	struct footprint f;

	snprintf(rollup, sizeof(rollup), "/proc/%d/smaps_rollup", (int)pid);
	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	f.rss = field_kb(rollup, "Rss");
	f.pss = field_kb(rollup, "Pss");
	f.private_kb = field_kb(rollup, "Private_Clean") +
		       field_kb(rollup, "Private_Dirty");
	f.pte_kb = field_kb(status, "VmPTE");
	f.highest_fd = highest_fd(pid);
	ck_assert_msg(f.rss >= 0 && f.pss >= 0 && f.pte_kb >= 0,
		      "cannot read %s or %s", rollup, status);
	return f;
}

/* The kernel's descriptor table beyond the one inside every process. */
static long table_bytes(int highest)
{
	long slots = 128;

	if (highest < 64)
		return 0;
	while (slots < highest + 1L)
		slots *= 2;
	return 8 * slots + 2 * slots / 8 + slots / 512;
}

static long own_bytes(const struct footprint *f)
{
	return (f->private_kb + f->pte_kb) * 1024 + table_bytes(f->highest_fd);
}

/* sleep, past every constructor and asleep in main. */
static bool asleep(pid_t pid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0 ||
	    strcmp(buf, "sleep\n") != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	return test_read_file(path, buf, sizeof(buf)) > 0 &&
	       (atol(buf) == SYS_nanosleep || atol(buf) == SYS_clock_nanosleep);
}

static pid_t start_sleep(const char *preload, const char *pidfile)
{
	static char pidfile_var[4200];
	const char *argv[] = { "sleep", "30", NULL };
	const char *env[] = { pidfile_var, preload, NULL };
	pid_t pid;

	snprintf(pidfile_var, sizeof(pidfile_var), "PIDSHIM_PIDFILE=%s",
		 pidfile);
	pid = test_spawn(env, argv, NULL, -1);
	for (int i = 0; i < 10000 && !asleep(pid); i++)
		test_pause_ms(2);
	ck_assert_msg(asleep(pid), "sleep %d never slept", (int)pid);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	test_wait(pid, 10);
}

/* What the harness left open (a runner's descriptors, 251 and the like)
 * stays out of the programs measured: their tables hold 0, 1 and 2. */
static void keep_descriptors_from_programs(void)
{
	for (int fd = 3, highest = highest_fd(getpid()); fd <= highest; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The shim's part of sleep's memory at descriptor limit LIMIT. */
static void measure_at(rlim_t limit)
{
	struct rlimit lim = { limit, limit };
	struct footprint bare, shim;
	pid_t bare_pid[2], shim_pid[2];
	long extra;

	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &lim) == 0,
		      "RLIMIT_NOFILE %ld: %s", (long)limit, strerror(errno));
	keep_descriptors_from_programs();
	for (int i = 0; i < 2; i++) {
		char pidfile[4200];

		snprintf(pidfile, sizeof(pidfile), "%s/sleep%d.pid", dir, i);
		bare_pid[i] = start_sleep("LD_PRELOAD=", pidfile);
		shim_pid[i] = start_sleep(NULL, pidfile);
		ck_assert_msg(test_read_pid(pidfile) == shim_pid[i],
			      "the shim is not in sleep %d", (int)shim_pid[i]);
	}
	bare = footprint_of(bare_pid[1]);
	shim = footprint_of(shim_pid[1]);
	for (int i = 0; i < 2; i++) {
		stop(bare_pid[i]);
		stop(shim_pid[i]);
	}
	extra = own_bytes(&shim) - own_bytes(&bare);
	printf("at RLIMIT_NOFILE %ld: sleep without / with the shim: "
	       "Rss %ld / %ld kB, Pss %ld / %ld kB, private %ld / %ld kB, "
	       "page tables %ld / %ld kB, highest descriptor %d / %d "
	       "(table %ld / %ld bytes); the shim's part %ld bytes\n",
	       (long)limit, bare.rss, shim.rss, bare.pss, shim.pss,
	       bare.private_kb, shim.private_kb, bare.pte_kb, shim.pte_kb,
	       bare.highest_fd, shim.highest_fd, table_bytes(bare.highest_fd),
	       table_bytes(shim.highest_fd), extra);
	fflush(stdout);
	ck_assert_msg(
	    extra <= BUDGET,
	    "the shim costs sleep %ld bytes (private %+ld kB, page "
	    "tables %+ld kB, descriptor table %+ld bytes), more "
	    "than %ld",
	    extra, shim.private_kb - bare.private_kb, shim.pte_kb - bare.pte_kb,
	    table_bytes(shim.highest_fd) - table_bytes(bare.highest_fd),
	    BUDGET);
}

/* At the containers' limit (its own meson test, shim-memory-million:
 * root with CAP_SYS_RESOURCE, else skipped). */
START_TEST(extra_memory_at_a_million_descriptors)
{
	measure_at(MILLION_DESCRIPTORS);
}
END_TEST

/* At the highest limit this process may set (at most 1,048,576). */
START_TEST(extra_memory_at_the_hard_limit)
{
	struct rlimit lim;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > MILLION_DESCRIPTORS)
		lim.rlim_max = MILLION_DESCRIPTORS;
	measure_at(lim.rlim_max);
}
END_TEST

/* Whether a child of ours may raise RLIMIT_NOFILE to 1,048,576. */
static bool million_allowed(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct rlimit lim = { MILLION_DESCRIPTORS,
				      MILLION_DESCRIPTORS };

		_exit(setrlimit(RLIMIT_NOFILE, &lim) == 0 ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("shim-memory");
	const char *preload = getenv("PIDSHIM_TEST_PRELOAD");
	const char *only = getenv("CK_RUN_CASE");
	bool million = only && strcmp(only, "extra_memory_million") == 0;

	/* A check that cannot be made is skipped, never passed. */
	if (preload && *preload) {
		printf(
		    "skip: a sanitizer runtime's memory is not the shim's\n");
		return EXIT_SKIP;
	}
	if (million && !million_allowed()) {
		printf("skip: RLIMIT_NOFILE cannot be raised to %d here (root "
		       "with CAP_SYS_RESOURCE can)\n",
		       MILLION_DESCRIPTORS);
		return EXIT_SKIP;
	}
	if (million)
		test_add(s, "extra_memory_million",
			 extra_memory_at_a_million_descriptors, 60, &fixture,
			 NULL);
	else
		test_add(s, "extra_memory", extra_memory_at_the_hard_limit, 60,
			 &fixture, NULL);
	return test_run_suite(s);
}

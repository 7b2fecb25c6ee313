/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check suites. */
#ifndef PIDSHIM_TEST_COMMON_H
#define PIDSHIM_TEST_COMMON_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Exit status of a test binary that cannot run here (meson: skipped). */
#define EXIT_SKIP 77

/* A fresh private directory for one test, removed by test_dir_remove(). */
char *test_dir_make(void);
void test_dir_remove(char *dir);

/* "DIR/NAME" in a static rotating buffer (valid for a few calls). */
const char *test_path(const char *dir, const char *name);

/* Whole file into BUF (NUL-terminated); length or -1. */
ssize_t test_read_file(const char *path, char *buf, size_t size);
void test_write_file(const char *path, const char *text);

/* waitpid that fails the test after TIMEOUT_S seconds (the child is
 * killed). Returns the wait status. */
int test_wait(pid_t pid, int timeout_s);

/* Milliseconds since START (CLOCK_MONOTONIC). */
long test_ms_since(const struct timespec *start);

/* Fork a child running FN(ARG); its return value is the exit status. */
pid_t test_fork(int (*fn)(void *arg), void *arg);

/* Default dispositions for the signals the tests send (Check leaves its
 * own handlers in forked test processes). */
void test_reset_signals(void);

/* A pipe used as a one-shot "ready" signal between processes. */
struct test_signal {
	int fd[2];
};
void test_signal_init(struct test_signal *s);
void test_signal_post(struct test_signal *s);
void test_signal_wait(struct test_signal *s, int timeout_s);
void test_signal_close(struct test_signal *s);

/* Wait until some process sleeps in the kernel waiting for a flock on
 * PATH's inode (seen in /proc/locks). */
bool test_wait_for_lock_waiter(const char *path, int timeout_s);

/* Whether anyone holds a flock on PATH, this process too through another
 * descriptor: a probe on a fresh open file description, as flock -n does.
 * An absent PATH (or a symlink) is not locked. */
bool test_is_flocked(const char *path);

/* Whether /proc/PID/status's signal mask FIELD ("SigIgn", "SigCgt",
 * "SigBlk") holds SIGNO. */
bool test_proc_mask_has(pid_t pid, const char *field, int signo);

/* Sleep MS milliseconds, signals or not. */
void test_pause_ms(long ms);

/* Whether this process runs under valgrind (meson's valgrind setup):
 * valgrind keeps SIGRTMAX for itself, and emulating delivery it drops
 * sa_mask for SA_NODEFER handlers. */
bool test_under_valgrind(void);

/* ---- running real programs under the shim --------------------------- */

/* LD_PRELOAD for the shim under test: PIDSHIM_TEST_PRELOAD (a sanitizer
 * runtime, in sanitizer builds) first, then PIDSHIM_TEST_SHIM. */
const char *test_shim_preload(void);

/* A helper program built with the tests (PIDSHIM_TEST_HELPERS/NAME). */
const char *test_helper(const char *name);

/*
 * Start ARGV (searched in PATH) under the shim. ENV holds "NAME=VALUE"
 * strings added after every inherited PIDSHIM_* (the harness's own
 * PIDSHIM_TEST_* too) is removed (NULL: none;
 * "LD_PRELOAD=" runs without the shim). Output and errors go to OUT_PATH
 * (NULL: /dev/null); standard input comes from STDIN_FD (-1: /dev/null).
 */
pid_t test_spawn(const char *const *env, const char *const *argv,
		 const char *out_path, int stdin_fd);

/* test_spawn, then wait (at most TIMEOUT_S): the wait status. */
int test_run(const char *const *env, const char *const *argv,
	     const char *out_path, int timeout_s);

/* The PID a PID file names, 0 when absent or unparseable. */
pid_t test_read_pid(const char *path);

/* Wait until PATH names PID (true), or TIMEOUT_S passes (false). */
bool test_wait_for_pid(const char *path, pid_t pid, int timeout_s);

/* Wait until PATH no longer exists. */
bool test_wait_gone(const char *path, int timeout_s);

/* Whether the file at PATH contains NEEDLE. */
bool test_file_contains(const char *path, const char *needle);

/* ---- system calls a program makes ------------------------------------- */

/* Whether strace(1) is installed and may trace here (ptrace allowed). */
bool test_strace_usable(void);

/* Run ARGV (ARGV[0] a path) with ENV ("NAME=VALUE" strings added to the
 * environment; NULL-terminated, or NULL) under strace -f, tracing the
 * system calls in the comma-separated TRACE, only those on PATH unless
 * NULL (strace -P); at most TIMEOUT_S seconds. Returns how many calls
 * were made (successful or not), -1 when the program did not exit 0. */
int test_strace_count(const char *trace, const char *path,
		      const char *const *env, const char *const *argv,
		      int timeout_s);

/* ---- registering and running ------------------------------------------ */

/* A checked fixture: SETUP before each test and TEARDOWN after it, in the
 * test's own process (either may be NULL). */
struct test_fixture {
	void (*setup)(void);
	void (*teardown)(void);
};

/* A loop test runs once for each _i from START to END - 1. */
struct test_loop {
	int start, end;
};

/* _i over [0, N): one run per entry of a table. */
#define TEST_LOOP(n) (&(const struct test_loop){ 0, (int)(n) })

/*
 * Registers TEST as the case NAME of S (the name CK_RUN_CASE selects):
 * run once, or once per _i of LOOP; TIMEOUT_S seconds per run (0: Check's
 * default, CK_DEFAULT_TIMEOUT or 4 s); with FIXTURE unless it is NULL.
 * Tests registered under one NAME make one case: CK_RUN_CASE runs them all.
 * A TIMEOUT_S of 60 or more tags the case "long" (CK_EXCLUDE_TAGS=long
 * leaves it out).
 */
void test_add(Suite *s, const char *name, const TTest *test, int timeout_s,
	      const struct test_fixture *fixture, const struct test_loop *loop);

/* Run the suite; honours CK_RUN_CASE. Returns the exit status. */
int test_run_suite(Suite *suite);

#endif

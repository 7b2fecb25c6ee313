/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check suites. */
#ifndef PIDSHIM_TEST_COMMON_H
#define PIDSHIM_TEST_COMMON_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/* Whether flock(1)-style probing finds PATH locked. */
bool test_is_flocked(const char *path);

/* Run the suite; honours CK_RUN_CASE. Returns the exit status. */
int test_run_suite(Suite *suite);

#endif

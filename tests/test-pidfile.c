/* SPDX-License-Identifier: MIT */
/* PID files: templates, create/lock/write, removal rules, SinglePidFile,
 * reading someone else's file. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidlock.h"
#include "test-common.h"

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

static void assert_names_pid(const char *path, pid_t pid)
{
	char buf[64], want[32];

	snprintf(want, sizeof(want), "%d\n", pid);
	ck_assert_int_gt(test_read_file(path, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(template_expands_fields)
{
	char buf[PATH_MAX], want[PATH_MAX], host[256];

	ck_assert_int_gt(
	    pidlock_path_expand("/run/pid_%p.pid", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "/run/pid_%d.pid", getpid());
	ck_assert_str_eq(buf, want);

	gethostname(host, sizeof(host));
	pidlock_path_expand("/x/%n-%u@%h%%", buf, sizeof(buf));
	snprintf(want, sizeof(want), "/x/%s-%u@%s%%",
		 program_invocation_short_name, getuid(), host);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(template_errors)
{
	char small[8], buf[64];

	ck_assert_int_eq(pidlock_path_expand("/x/%q", buf, sizeof(buf)),
			 -EINVAL);
	ck_assert_int_eq(pidlock_path_expand("/x/%", buf, sizeof(buf)),
			 -EINVAL);
	ck_assert_int_eq(pidlock_path_expand("", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(
	    pidlock_path_expand("/a/long/path", small, sizeof(small)),
	    -ENAMETOOLONG);
}
END_TEST

START_TEST(pidfile_created_locked_and_removed)
{
	struct pidlock_pidfile *pf = NULL;
	char template[PATH_MAX], path[PATH_MAX];

	snprintf(template, sizeof(template), "%s/pid_%%p.pid", dir);
	ck_assert_int_eq(pidlock_pidfile_open(&pf, template, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/pid_%d.pid", dir, getpid());
	ck_assert_str_eq(pidlock_pidfile_path(pf), path);
	assert_names_pid(path, getpid());
	ck_assert(test_is_flocked(path));
	ck_assert(pidlock_pidfile_is_held(pf));
	ck_assert_int_ge(pidlock_pidfile_fd(pf), 0);
	ck_assert_int_eq(pidlock_pidfile_close(pf), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(pidfile_mode_is_used_and_umask_untouched)
{
	struct pidlock_pidfile_options opts = { .mode = 0600 };
	struct pidlock_pidfile *pf = NULL;
	mode_t before = umask(022), after;
	struct stat st;

	ck_assert_int_eq(
	    pidlock_pidfile_open(&pf, test_path(dir, "m.pid"), &opts, NULL), 0);
	ck_assert_int_eq(stat(test_path(dir, "m.pid"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	after = umask(before);
	ck_assert_int_eq(after, 022);
	pidlock_pidfile_close(pf);
}
END_TEST

START_TEST(pidfile_second_open_reports_holder)
{
	struct pidlock_pidfile *a = NULL, *b = NULL;
	pid_t holder = 0;

	ck_assert_int_eq(
	    pidlock_pidfile_open(&a, test_path(dir, "p.pid"), NULL, NULL), 0);
	ck_assert_int_eq(
	    pidlock_pidfile_open(&b, test_path(dir, "p.pid"), NULL, &holder),
	    -EAGAIN);
	ck_assert_int_eq(holder, getpid());
	ck_assert_ptr_null(b);
	/* the refused open must not have touched the holder's file */
	assert_names_pid(test_path(dir, "p.pid"), getpid());
	pidlock_pidfile_close(a);
}
END_TEST

START_TEST(pidfile_forked_child_never_removes)
{
	struct pidlock_pidfile *pf = NULL;
	const char *path = test_path(dir, "f.pid");
	pid_t child;
	int status;

	ck_assert_int_eq(pidlock_pidfile_open(&pf, path, NULL, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		pidlock_pidfile_close(pf);
		_exit(0);
	}
	status = test_wait(child, 10);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(access(path, F_OK), 0);
	assert_names_pid(path, getpid());
	ck_assert(test_is_flocked(path));
	pidlock_pidfile_close(pf);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(pidfile_rewrite_after_fork_hands_over)
{
	struct pidlock_pidfile *pf = NULL;
	const char *path = test_path(dir, "d.pid");
	struct test_signal written;
	pid_t child;
	int status;

	test_signal_init(&written);
	ck_assert_int_eq(pidlock_pidfile_open(&pf, path, NULL, NULL), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* a daemon's second half: it now owns the file */
		if (pidlock_pidfile_rewrite(pf) != 0)
			_exit(2);
		test_signal_post(&written);
		pause();
		_exit(0);
	}
	test_signal_wait(&written, 10);
	assert_names_pid(path, child);
	/* the parent leaves: its close is not the owner's, the file stays and
	 * stays locked by the child */
	pidlock_pidfile_close(pf);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert(test_is_flocked(path));
	kill(child, SIGKILL);
	status = test_wait(child, 10);
	ck_assert(WIFSIGNALED(status));
	ck_assert(!test_is_flocked(path));
	test_signal_close(&written);
}
END_TEST

START_TEST(pidfile_check_states)
{
	struct pidlock_pidfile *pf = NULL;
	const char *path = test_path(dir, "c.pid");
	pid_t holder = -1;

	ck_assert_int_eq(pidlock_check(path, &holder), PIDLOCK_ABSENT);
	ck_assert_int_eq(pidlock_pidfile_open(&pf, path, NULL, NULL), 0);
	ck_assert_int_eq(pidlock_check(path, &holder), PIDLOCK_HELD);
	ck_assert_int_eq(holder, getpid());
	pidlock_pidfile_close(pf);
	test_write_file(path, "1\n");
	ck_assert_int_eq(pidlock_check(path, &holder), PIDLOCK_STALE);
	ck_assert_int_eq(holder, 0);
	ck_assert_int_eq(mkdir(test_path(dir, "d"), 0700), 0);
	ck_assert_int_eq(pidlock_check(test_path(dir, "d"), &holder), -EISDIR);
	ck_assert_int_eq(symlink(path, test_path(dir, "l")), 0);
	ck_assert_int_eq(pidlock_check(test_path(dir, "l"), &holder), -ELOOP);
}
END_TEST

START_TEST(pidfile_wait_for_holder)
{
	struct pidlock_pidfile_options opts = { .timeout_ms = 200 };
	struct pidlock_pidfile *a = NULL, *b = NULL;
	pid_t holder = 0;

	ck_assert_int_eq(
	    pidlock_pidfile_open(&a, test_path(dir, "w.pid"), NULL, NULL), 0);
	ck_assert_int_eq(
	    pidlock_pidfile_open(&b, test_path(dir, "w.pid"), &opts, &holder),
	    -ETIMEDOUT);
	ck_assert_int_eq(holder, getpid());
	pidlock_pidfile_close(a);
	ck_assert_int_eq(
	    pidlock_pidfile_open(&b, test_path(dir, "w.pid"), &opts, NULL), 0);
	pidlock_pidfile_close(b);
}
END_TEST

START_TEST(single_pidfile_is_one_object)
{
	struct pidlock_pidfile *a = NULL, *b = NULL, *c = NULL;

	ck_assert_int_eq(pidlock_single_pidfile(&a, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(
	    pidlock_single_pidfile(&a, test_path(dir, "s.pid"), NULL, NULL), 0);
	ck_assert_int_eq(pidlock_single_pidfile(&b, NULL, NULL, NULL), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(
	    pidlock_single_pidfile(&c, test_path(dir, "s.pid"), NULL, NULL), 0);
	ck_assert_ptr_eq(a, c);
	ck_assert_int_eq(
	    pidlock_single_pidfile(&c, test_path(dir, "other.pid"), NULL, NULL),
	    -EEXIST);
	ck_assert(pidlock_pidfile_is_held(a));
	ck_assert_int_eq(pidlock_single_pidfile_close(), 0);
	ck_assert_int_eq(access(test_path(dir, "s.pid"), F_OK), -1);
	ck_assert_int_eq(pidlock_single_pidfile_close(), -ENOLCK);
}
END_TEST

START_TEST(single_pidfile_closed_directly_is_forgotten)
{
	struct pidlock_pidfile *a = NULL, *b = NULL;

	ck_assert_int_eq(
	    pidlock_single_pidfile(&a, test_path(dir, "s.pid"), NULL, NULL), 0);
	/* closed (and freed) through the general call: the process-wide
	 * object must not be handed out again */
	ck_assert_int_eq(pidlock_pidfile_close(a), 0);
	ck_assert_int_eq(pidlock_single_pidfile(&b, NULL, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(pidlock_single_pidfile_close(), -ENOLCK);
	ck_assert_int_eq(
	    pidlock_single_pidfile(&b, test_path(dir, "s.pid"), NULL, NULL), 0);
	ck_assert_int_eq(pidlock_single_pidfile_close(), 0);
}
END_TEST

static int hold_pidfile_with_sigterm_removal(void *arg)
{
	struct pidlock_pidfile_options opts = { .flags =
						    PIDLOCK_REMOVE_ON_SIGTERM };
	struct test_signal *ready = arg;
	struct pidlock_pidfile *pf = NULL;

	if (pidlock_single_pidfile(&pf, test_path(dir, "t.pid"), &opts, NULL))
		return 1;
	test_signal_post(ready);
	for (;;)
		pause();
}

START_TEST(pidfile_remove_on_sigterm)
{
	struct test_signal ready;
	pid_t child;
	int status;

	test_signal_init(&ready);
	child = test_fork(hold_pidfile_with_sigterm_removal, &ready);
	test_signal_wait(&ready, 10);
	assert_names_pid(test_path(dir, "t.pid"), child);
	kill(child, SIGTERM);
	status = test_wait(child, 10);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_assert_int_eq(access(test_path(dir, "t.pid"), F_OK), -1);
	test_signal_close(&ready);
}
END_TEST

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("pidfile");

	test_add(s, "template", template_expands_fields, 30, &fixture, NULL);
	test_add(s, "template_errors", template_errors, 30, &fixture, NULL);
	test_add(s, "create_remove", pidfile_created_locked_and_removed, 30,
		 &fixture, NULL);
	test_add(s, "mode_umask", pidfile_mode_is_used_and_umask_untouched, 30,
		 &fixture, NULL);
	test_add(s, "second_open", pidfile_second_open_reports_holder, 30,
		 &fixture, NULL);
	test_add(s, "fork_child", pidfile_forked_child_never_removes, 30,
		 &fixture, NULL);
	test_add(s, "rewrite", pidfile_rewrite_after_fork_hands_over, 30,
		 &fixture, NULL);
	test_add(s, "check", pidfile_check_states, 30, &fixture, NULL);
	test_add(s, "wait", pidfile_wait_for_holder, 30, &fixture, NULL);
	test_add(s, "single", single_pidfile_is_one_object, 30, &fixture, NULL);
	test_add(s, "single_closed_directly",
		 single_pidfile_closed_directly_is_forgotten, 30, &fixture,
		 NULL);
	test_add(s, "remove_on_sigterm", pidfile_remove_on_sigterm, 30,
		 &fixture, NULL);
	return test_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/* The signal dispatcher: set / add / restore, chaining order, SA_SIGINFO
 * data, and the default action re-raised. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidlock.h"
#include "test-common.h"

/* What ran, in order: each handler appends its tag. */
static char trace[64];
static volatile sig_atomic_t trace_len;

static void tag(char c)
{
	if (trace_len < (sig_atomic_t)sizeof(trace) - 1)
		trace[trace_len++] = c;
	trace[trace_len] = '\0';
}

static void tagging_handler(int signo, siginfo_t *info, void *uc, void *data)
{
	(void)signo;
	(void)info;
	(void)uc;
	tag(*(const char *)data);
}

static void program_handler(int signo)
{
	(void)signo;
	tag('P');
}

static void reset_trace(void)
{
	trace_len = 0;
	trace[0] = '\0';
}

static void install_program_handler(int signo)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = program_handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(signo, &sa, NULL), 0);
}

static void restore_default(int signo)
{
	signal(signo, SIG_DFL);
}

START_TEST(dispatch_add_set_restore_order)
{
	static const char one = '1', two = '2', three = '3';
	struct sigaction now;
	int id1, id2, id3;

	install_program_handler(SIGUSR1);
	id1 = pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&one);
	id2 = pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&two);
	ck_assert_int_gt(id1, 0);
	ck_assert_int_gt(id2, id1);

	reset_trace();
	raise(SIGUSR1);
	/* newest first, then the disposition the signal had before */
	ck_assert_str_eq(trace, "21P");

	id3 = pidlock_sig_set(SIGUSR1, tagging_handler, (void *)&three);
	reset_trace();
	raise(SIGUSR1);
	ck_assert_str_eq(trace, "3");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id3), 0);
	reset_trace();
	raise(SIGUSR1);
	ck_assert_str_eq(trace, "21P");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id1), 0);
	reset_trace();
	raise(SIGUSR1);
	ck_assert_str_eq(trace, "2P");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id2), 0);
	/* the last restore gives the kernel back the program's handler */
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &now), 0);
	ck_assert_ptr_eq((void *)now.sa_handler, (void *)program_handler);
	reset_trace();
	raise(SIGUSR1);
	ck_assert_str_eq(trace, "P");
	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id2), -ENOENT);
	restore_default(SIGUSR1);
}
END_TEST

START_TEST(dispatch_several_handlers_one_signal)
{
	static const char tags[] = "abcdefgh";
	int ids[8];

	install_program_handler(SIGUSR2);
	for (int i = 0; i < 8; i++) {
		ids[i] = pidlock_sig_add(SIGUSR2, tagging_handler,
					 (void *)&tags[i]);
		ck_assert_int_gt(ids[i], 0);
	}
	reset_trace();
	raise(SIGUSR2);
	ck_assert_str_eq(trace, "hgfedcbaP");
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pidlock_sig_restore(SIGUSR2, ids[i]), 0);
	restore_default(SIGUSR2);
}
END_TEST

START_TEST(dispatch_set_over_default_keeps_process_alive)
{
	static const char s = 's';
	int id = pidlock_sig_set(SIGTERM, tagging_handler, (void *)&s);

	ck_assert_int_gt(id, 0);
	ck_assert(!pidlock_sig_will_terminate(SIGTERM));
	reset_trace();
	raise(SIGTERM);
	ck_assert_str_eq(trace, "s");
	ck_assert_int_eq(pidlock_sig_restore(SIGTERM, id), 0);
	ck_assert(pidlock_sig_will_terminate(SIGTERM));
}
END_TEST

START_TEST(dispatch_previous_ignore_is_kept)
{
	static const char i = 'i';
	int id;

	signal(SIGHUP, SIG_IGN);
	id = pidlock_sig_add(SIGHUP, tagging_handler, (void *)&i);
	ck_assert(!pidlock_sig_will_terminate(SIGHUP));
	reset_trace();
	raise(SIGHUP);
	ck_assert_str_eq(trace, "i");
	pidlock_sig_restore(SIGHUP, id);
	ck_assert_ptr_eq((void *)signal(SIGHUP, SIG_DFL), (void *)SIG_IGN);
}
END_TEST

static int seen_value;
static void *seen_data;
static int seen_code;

static void info_handler(int signo, siginfo_t *info, void *uc, void *data)
{
	(void)signo;
	(void)uc;
	seen_value = info->si_value.sival_int;
	seen_code = info->si_code;
	seen_data = data;
}

START_TEST(dispatch_passes_siginfo_and_data)
{
	static int cookie;
	union sigval value = { .sival_int = 4242 };
	int id = pidlock_sig_set(SIGRTMIN + 1, info_handler, &cookie);

	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(sigqueue(getpid(), SIGRTMIN + 1, value), 0);
	ck_assert_int_eq(seen_value, 4242);
	ck_assert_int_eq(seen_code, SI_QUEUE);
	ck_assert_ptr_eq(seen_data, &cookie);
	pidlock_sig_restore(SIGRTMIN + 1, id);
}
END_TEST

START_TEST(dispatch_refuses_bad_input)
{
	static const char x = 'x';
	int ids[PIDLOCK_SIG_MAX_HANDLERS];

	ck_assert_int_eq(pidlock_sig_add(SIGKILL, tagging_handler, (void *)&x),
			 -EINVAL);
	ck_assert_int_eq(pidlock_sig_add(SIGSTOP, tagging_handler, (void *)&x),
			 -EINVAL);
	ck_assert_int_eq(pidlock_sig_add(0, tagging_handler, (void *)&x), -EINVAL);
	ck_assert_int_eq(pidlock_sig_add(SIGUSR1, NULL, NULL), -EINVAL);
	for (int i = 0; i < PIDLOCK_SIG_MAX_HANDLERS; i++)
		ids[i] = pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&x);
	ck_assert_int_eq(pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&x),
			 -ENOSPC);
	for (int i = 0; i < PIDLOCK_SIG_MAX_HANDLERS; i++)
		ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, ids[i]), 0);
}
END_TEST

/* ---- terminating signals re-raised --------------------------------------- */

struct death {
	int signo;
	struct test_signal ready;
	struct test_signal ran;
};

static void post_ran(int signo, siginfo_t *info, void *uc, void *data)
{
	(void)signo;
	(void)info;
	(void)uc;
	test_signal_post(&((struct death *)data)->ran);
}

static int wait_for_death(void *arg)
{
	struct death *d = arg;

	if (pidlock_sig_add(d->signo, post_ran, d) <= 0)
		return 1;
	test_signal_post(&d->ready);
	for (;;)
		pause();
}

static void assert_dies_of(int signo, bool may_dump)
{
	struct death d = { .signo = signo };
	pid_t child;
	int status;

	test_signal_init(&d.ready);
	test_signal_init(&d.ran);
	child = test_fork(wait_for_death, &d);
	test_signal_wait(&d.ready, 10);
	kill(child, signo);
	status = test_wait(child, 20);
	test_signal_wait(&d.ran, 1);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == signo,
		      "signal %d: status %#x", signo, status);
	if (!may_dump)
		ck_assert(!WCOREDUMP(status));
	test_signal_close(&d.ready);
	test_signal_close(&d.ran);
}

START_TEST(dispatch_reraises_terminating_signals)
{
	static const int fatal[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2,
				     SIGALRM, SIGPIPE, SIGVTALRM, SIGPROF };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		assert_dies_of(fatal[i], false);
}
END_TEST

START_TEST(dispatch_reraises_core_signals_with_core)
{
	static const int fatal[] = { SIGQUIT, SIGABRT, SIGSEGV, SIGBUS,
				     SIGFPE, SIGILL, SIGSYS, SIGTRAP };
	/* No core files littering the build tree: the wait status still
	 * names the signal, which is what the dispatcher must keep. */
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		assert_dies_of(fatal[i], true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sigdispatch");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_add_set_restore_order);
	suite_add_tcase(s, tc);
	tc = tcase_create("several");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_several_handlers_one_signal);
	suite_add_tcase(s, tc);
	tc = tcase_create("set_keeps_alive");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_set_over_default_keeps_process_alive);
	suite_add_tcase(s, tc);
	tc = tcase_create("previous_ignore");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_previous_ignore_is_kept);
	suite_add_tcase(s, tc);
	tc = tcase_create("siginfo");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_passes_siginfo_and_data);
	suite_add_tcase(s, tc);
	tc = tcase_create("bad_input");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_refuses_bad_input);
	suite_add_tcase(s, tc);
	tc = tcase_create("reraise");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_reraises_terminating_signals);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("reraise_core");
	tcase_add_checked_fixture(tc, test_reset_signals, NULL);
	tcase_add_test(tc, dispatch_reraises_core_signals_with_core);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return test_run_suite(s);
}

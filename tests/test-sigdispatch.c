/* SPDX-License-Identifier: MIT */
/* The signal dispatcher: set / add / restore, chaining order, SA_SIGINFO
 * data, and the default action re-raised. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
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

/* Whether PID sleeps in the kernel (state S in /proc/PID/stat). */
static bool sleeps(pid_t pid)
{
	char path[64], buf[512];
	const char *state;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	state = strrchr(buf, ')');
	return state && state[1] == ' ' && state[2] == 'S';
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
	ck_assert_int_eq(raise(SIGUSR1), 0);
	/* newest first, then the disposition the signal had before */
	ck_assert_str_eq(trace, "21P");

	id3 = pidlock_sig_set(SIGUSR1, tagging_handler, (void *)&three);
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_str_eq(trace, "3");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id3), 0);
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_str_eq(trace, "21P");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id1), 0);
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_str_eq(trace, "2P");

	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id2), 0);
	/* the last restore gives the kernel back the program's handler */
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &now), 0);
	ck_assert_ptr_eq((void *)now.sa_handler, (void *)program_handler);
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR1), 0);
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
		ids[i] =
		    pidlock_sig_add(SIGUSR2, tagging_handler, (void *)&tags[i]);
		ck_assert_int_gt(ids[i], 0);
	}
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR2), 0);
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
	ck_assert_int_eq(raise(SIGTERM), 0);
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
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_str_eq(trace, "i");
	pidlock_sig_restore(SIGHUP, id);
	ck_assert_ptr_eq((void *)signal(SIGHUP, SIG_DFL), (void *)SIG_IGN);
}
END_TEST

START_TEST(dispatch_restore_keeps_handler_installed_since)
{
	static const char a = 'a';
	struct sigaction now;
	int id = pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&a);

	ck_assert_int_gt(id, 0);
	/* the program takes the signal over from the dispatcher: the last
	 * restore must not put the older disposition back over it */
	install_program_handler(SIGUSR1);
	ck_assert_int_eq(pidlock_sig_restore(SIGUSR1, id), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &now), 0);
	ck_assert_ptr_eq((void *)now.sa_handler, (void *)program_handler);
	reset_trace();
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_str_eq(trace, "P");
	restore_default(SIGUSR1);
}
END_TEST

static int interrupt_parent(void *arg)
{
	struct test_signal *done = arg;
	pid_t parent = getppid();

	/* only once the parent blocks in read() */
	for (int i = 0; !sleeps(parent); i++) {
		if (i == 10000)
			return 1;
		usleep(1000);
	}
	kill(parent, SIGUSR2);
	/* a read that restarted gets this byte instead of EINTR */
	sleep(3);
	test_signal_post(done);
	return 0;
}

START_TEST(dispatch_keeps_previous_handler_eintr)
{
	static const char a = 'a';
	struct test_signal done;
	struct sigaction sa;
	ssize_t n;
	pid_t child;
	char c;
	int id;

	/* a program handler without SA_RESTART: the program wants its
	 * blocking calls interrupted, and must still get EINTR once the
	 * dispatcher chains it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = program_handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	id = pidlock_sig_add(SIGUSR2, tagging_handler, (void *)&a);
	ck_assert_int_gt(id, 0);
	test_signal_init(&done);
	reset_trace();
	child = test_fork(interrupt_parent, &done);
	n = read(done.fd[0], &c, 1);
	ck_assert_msg(n < 0 && errno == EINTR, "read: %zd (%s), want EINTR", n,
		      n < 0 ? strerror(errno) : "restarted");
	ck_assert_str_eq(trace, "aP");
	kill(child, SIGKILL);
	test_wait(child, 10);
	test_signal_close(&done);
	ck_assert_int_eq(pidlock_sig_restore(SIGUSR2, id), 0);
	restore_default(SIGUSR2);
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
	ck_assert_int_eq(pidlock_sig_add(0, tagging_handler, (void *)&x),
			 -EINVAL);
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

	/* The case is about a default action under the chain: make it the
	 * default, as sanitizer runtimes keep their own handlers on SIGSEGV,
	 * SIGBUS and SIGFPE (which the dispatcher rightly chains to). */
	if (signal(d->signo, SIG_DFL) == SIG_ERR)
		return 2;
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
	/* Only once the child sleeps in pause(): valgrind queues a SIGSEGV,
	 * SIGBUS, SIGFPE, SIGILL or SIGTRAP that kill() sends while the
	 * thread runs and delivers it at the end of a time slice, which a
	 * thread asleep in pause() never reaches. */
	for (int i = 0; !sleeps(child); i++) {
		ck_assert_msg(i < 10000, "child %d never went to sleep", child);
		usleep(1000);
	}
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
	static const int fatal[] = { SIGTERM, SIGINT,	 SIGHUP,
				     SIGUSR1, SIGUSR2,	 SIGALRM,
				     SIGPIPE, SIGVTALRM, SIGPROF };

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		assert_dies_of(fatal[i], false);
}
END_TEST

START_TEST(dispatch_reraises_core_signals_with_core)
{
	static const int fatal[] = { SIGQUIT, SIGABRT, SIGSEGV, SIGBUS,
				     SIGFPE,  SIGILL,  SIGSYS,	SIGTRAP };
	/* No core files littering the build tree: the wait status still
	 * names the signal, which is what the dispatcher must keep. */
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		assert_dies_of(fatal[i], true);
}
END_TEST

/* atomic: the changing thread reads it while the test sets it */
static atomic_int stop_changing;

static void *keep_changing(void *arg)
{
	static const char c = 'c';

	(void)arg;
	while (!stop_changing) {
		int id = pidlock_sig_add(SIGUSR2, tagging_handler, (void *)&c);

		if (id > 0)
			pidlock_sig_restore(SIGUSR2, id);
		/* valgrind runs one thread at a time: let the forks through */
		sched_yield();
	}
	return NULL;
}

static int add_in_child(void *arg)
{
	static const char k = 'k';
	int id;

	(void)arg;
	id = pidlock_sig_add(SIGUSR1, tagging_handler, (void *)&k);
	return id > 0 && pidlock_sig_restore(SIGUSR1, id) == 0 ? 0 : 1;
}

/* A fork while another thread changes a chain: the child must not start
 * with the dispatcher's lock held by a thread it does not have. */
START_TEST(dispatch_fork_while_another_thread_changes)
{
	/* under valgrind (its test setup) every fork is slow: fewer rounds */
	int rounds = getenv("PIDLOCK_TEST_VALGRIND") ? 20 : 300;
	pthread_t thread;

	ck_assert_int_eq(pthread_create(&thread, NULL, keep_changing, NULL), 0);
	for (int i = 0; i < rounds; i++) {
		int status = test_wait(test_fork(add_in_child, NULL), 10);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "round %d: child status %#x", i, status);
	}
	stop_changing = 1;
	pthread_join(thread, NULL);
}
END_TEST

/* Check leaves its own handlers in the forked test processes. */
static const struct test_fixture fixture = { test_reset_signals, NULL };

int main(void)
{
	Suite *s = suite_create("sigdispatch");

	test_add(s, "order", dispatch_add_set_restore_order, 0, &fixture, NULL);
	test_add(s, "several", dispatch_several_handlers_one_signal, 0,
		 &fixture, NULL);
	test_add(s, "restore_keeps_newer",
		 dispatch_restore_keeps_handler_installed_since, 0, &fixture,
		 NULL);
	test_add(s, "previous_eintr", dispatch_keeps_previous_handler_eintr, 30,
		 &fixture, NULL);
	test_add(s, "set_keeps_alive",
		 dispatch_set_over_default_keeps_process_alive, 0, &fixture,
		 NULL);
	test_add(s, "previous_ignore", dispatch_previous_ignore_is_kept, 0,
		 &fixture, NULL);
	test_add(s, "siginfo", dispatch_passes_siginfo_and_data, 0, &fixture,
		 NULL);
	test_add(s, "bad_input", dispatch_refuses_bad_input, 0, &fixture, NULL);
	test_add(s, "reraise", dispatch_reraises_terminating_signals, 60,
		 &fixture, NULL);
	test_add(s, "reraise_core", dispatch_reraises_core_signals_with_core,
		 60, &fixture, NULL);
	test_add(s, "fork_while_changing",
		 dispatch_fork_while_another_thread_changes, 120, &fixture,
		 NULL);
	return test_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The program's own side of its signals under the shim, seen from inside:
 * this binary runs under LD_PRELOAD of the shim (tests/meson.build sets it
 * in the test's environment), so every installer and every query here is
 * the shim's. What it reports is the program's own previous disposition,
 * flags and mask; handlers get their siginfo, masks, alternate stack and
 * restart behaviour; SA_RESETHAND's reset is emulated; ignores reach the
 * kernel (libpidshim(7), BEHAVIOUR, Signals). How a program *ends* is
 * seen from outside, in test-shim-signals.
 *
 * The PID file is PIDSHIM_PIDFILE, owned by the process that runs main.
 * Forked (Check's default) each case runs in a child of it, a descendant;
 * with CK_FORK=no every case runs in the owner, whose PID file must stay
 * while its handlers run. meson runs the suite both ways.
 *
 *     test-shim-signals-in-process SIG-HELPER
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

/* glibc exports both; its headers declare them only in some modes. */
sighandler_t __sysv_signal(int signo, sighandler_t handler);
sighandler_t bsd_signal(int signo, sighandler_t handler);

/* sigset, sigignore and siginterrupt are deprecated in glibc's headers;
 * programs still call them, and the shim wraps them: they are the point. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *pidfile; /* PIDSHIM_PIDFILE */
static pid_t owner;	    /* the process that runs main: the file's owner */
static const char *sig_helper; /* for the exec'd child of ignore_exec */

/* Every signal whose default ends the process. */
static int terminating[40];
static int terminating_count;

/* What main saw before anything changed a disposition: the shim's view of
 * what the process started with. */
static struct sigaction at_start[NSIG];
static bool ignored_at_start[NSIG]; /* SigIgn, the kernel's word */

/* What the handlers saw: written in the handler, read after. */
static volatile sig_atomic_t hits;
static volatile sig_atomic_t file_missing; /* the PID file did not name owner */
static volatile sig_atomic_t seen_signo, seen_code, seen_value, seen_pid;
static volatile sig_atomic_t dfl_inside;  /* query in the handler: SIG_DFL */
static volatile sig_atomic_t info_ok;	  /* a one-shot SA_SIGINFO's siginfo */
static volatile sig_atomic_t on_altstack; /* the handler ran on it */
static sigset_t mask_inside;		  /* the blocked set in the handler */
static volatile int wake_fd = -1;	  /* write_handler writes a byte here */

static int signal_rtmax(void)
{
	return test_under_valgrind() ? SIGRTMAX - 1 : SIGRTMAX;
}

static int terminating_signals(int *out)
{
	static const int fixed[] = {
		SIGTERM, SIGINT,  SIGHUP,  SIGQUIT,   SIGABRT, SIGSEGV,
		SIGBUS,	 SIGFPE,  SIGILL,  SIGSYS,    SIGTRAP, SIGXCPU,
		SIGXFSZ, SIGPIPE, SIGALRM, SIGUSR1,   SIGUSR2, SIGVTALRM,
		SIGPROF, SIGIO,	  SIGPWR,  SIGSTKFLT,
	};
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		out[n++] = fixed[i];
	out[n++] = SIGRTMIN;
	out[n++] = SIGRTMIN + 1;
	out[n++] = signal_rtmax();
	return n;
}

static const char *handler_name(sighandler_t handler)
{
	static char text[4][32];
	static int next;
	char *t = text[next++ % 4];

	if (handler == SIG_DFL)
		return "SIG_DFL";
	if (handler == SIG_IGN)
		return "SIG_IGN";
	if (handler == SIG_HOLD)
		return "SIG_HOLD";
	if (handler == SIG_ERR)
		return "SIG_ERR";
	snprintf(t, sizeof(text[0]), "%p", (void *)handler);
	return t;
}

/* ---- handlers ------------------------------------------------------------ */

/* open, read and close: async-signal-safe enough for a handler that runs
 * while the interrupted code is ours. */
static void note_delivery(int signo)
{
	sigset_t now;

	if (test_read_pid(pidfile) != owner)
		file_missing = 1;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	mask_inside = now;
	seen_signo = signo;
	hits++;
}

static void count_handler(int signo)
{
	note_delivery(signo);
}

static void other_handler(int signo)
{
	note_delivery(signo);
}

static void info_handler(int signo, siginfo_t *info, void *uc)
{
	(void)uc;
	seen_code = info->si_code;
	seen_value = info->si_value.sival_int;
	seen_pid = info->si_pid;
	note_delivery(signo);
	seen_signo = info->si_signo;
}

/* For one-shot handlers: the program must already see SIG_DFL inside. */
static void query_handler(int signo)
{
	struct sigaction now;

	dfl_inside = sigaction(signo, NULL, &now) == 0 &&
		     now.sa_handler == SIG_DFL && !(now.sa_flags & SA_SIGINFO);
	note_delivery(signo);
}

static void query_info_handler(int signo, siginfo_t *info, void *uc)
{
	(void)uc;
	/* raise() is tgkill(): SI_TKILL from ourselves */
	info_ok = info && info->si_signo == signo &&
		  info->si_code == SI_TKILL && info->si_pid == getpid();
	query_handler(signo);
}

static void altstack_handler(int signo)
{
	stack_t now;

	on_altstack =
	    sigaltstack(NULL, &now) == 0 && (now.ss_flags & SS_ONSTACK);
	note_delivery(signo);
}

static void write_handler(int signo)
{
	note_delivery(signo);
	if (wake_fd >= 0 && write(wake_fd, "x", 1) != 1)
		file_missing = 1;
}

static void reset_seen(void)
{
	hits = 0;
	file_missing = 0;
	seen_signo = seen_code = seen_value = seen_pid = 0;
	dfl_inside = 0;
	info_ok = 0;
	sigemptyset(&mask_inside);
}

/* ---- what the tests do and check --------------------------------------- */

/* raise(), checked: to this thread, synchronously when unblocked. */
static void deliver(int signo)
{
	ck_assert_msg(raise(signo) == 0, "raise(%d): %s", signo,
		      strerror(errno));
}

/* Delivery to ourselves is synchronous when unblocked; wait a little
 * anyway (a sanitizer runtime, or valgrind, may deliver later). */
static void assert_hits(int want, const char *what)
{
	for (int i = 0; i < 5000 && hits < want; i++)
		test_pause_ms(1);
	ck_assert_msg(hits == want, "%s: the handler ran %d times, expected %d",
		      what, (int)hits, want);
	ck_assert_msg(!file_missing,
		      "%s: the PID file did not name %d in the handler", what,
		      (int)owner);
}

static void assert_pidfile(const char *when)
{
	ck_assert_msg(test_read_pid(pidfile) == owner,
		      "%s: the PID file %s names %d, not the suite's %d", when,
		      pidfile, (int)test_read_pid(pidfile), (int)owner);
}

/* The disposition a fresh process has: HANDLER (SIG_DFL, or SIG_IGN
 * inherited), no flags, empty mask — nothing of the shim's dispatcher
 * (SA_SIGINFO, SA_ONSTACK, full mask). */
static void assert_pristine(const struct sigaction *sa, int signo,
			    sighandler_t handler, const char *when)
{
	ck_assert_msg(!(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == handler,
		      "%s: signal %d (%s): the program sees handler %s flags "
		      "%#x, not %s",
		      when, signo, strsignal(signo),
		      handler_name(sa->sa_handler), (unsigned)sa->sa_flags,
		      handler_name(handler));
	ck_assert_msg(!(sa->sa_flags &
			(SA_ONSTACK | SA_RESTART | SA_RESETHAND | SA_NODEFER)),
		      "%s: signal %d (%s): %s with flags %#x", when, signo,
		      strsignal(signo), handler_name(handler),
		      (unsigned)sa->sa_flags);
	ck_assert_msg(sigisemptyset(&sa->sa_mask),
		      "%s: signal %d (%s): non-empty mask", when, signo,
		      strsignal(signo));
}

static void assert_pristine_default(const struct sigaction *sa, int signo,
				    const char *when)
{
	assert_pristine(sa, signo, SIG_DFL, when);
}

static void query(int signo, struct sigaction *out)
{
	ck_assert_msg(sigaction(signo, NULL, out) == 0,
		      "sigaction(%d, NULL, &old): %s", signo, strerror(errno));
}

static void assert_view(int signo, sighandler_t want, const char *when)
{
	struct sigaction now;

	query(signo, &now);
	ck_assert_msg(!(now.sa_flags & SA_SIGINFO) && now.sa_handler == want,
		      "%s: signal %d (%s): the program sees %s (flags %#x), "
		      "expected %s",
		      when, signo, strsignal(signo),
		      handler_name(now.sa_handler), (unsigned)now.sa_flags,
		      handler_name(want));
}

static void assert_all_default(const char *when)
{
	for (int i = 0; i < terminating_count; i++)
		assert_view(terminating[i], SIG_DFL, when);
}

static void set_action(int signo, void (*handler)(int), int flags, int masked,
		       struct sigaction *old)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	if (masked > 0)
		sigaddset(&act.sa_mask, masked);
	ck_assert_msg(sigaction(signo, &act, old) == 0, "sigaction(%d): %s",
		      signo, strerror(errno));
}

/* The kernel's own word: SigIgn in /proc/self/status. */
static bool kernel_ignores(int signo)
{
	ck_assert_msg(access("/proc/self/status", R_OK) == 0,
		      "/proc/self/status: %s", strerror(errno));
	return test_proc_mask_has(getpid(), "SigIgn", signo);
}

static bool blocked_now(int signo)
{
	sigset_t now;

	pthread_sigmask(SIG_BLOCK, NULL, &now);
	return sigismember(&now, signo) == 1;
}

static int flags_of(int signo)
{
	struct sigaction now;

	query(signo, &now);
	return now.sa_flags;
}

/* ---- fixture ----------------------------------------------------------- */

static void set_clean(int signo, sighandler_t handler)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaction(signo, &act, NULL); /* fails for SIGKILL, SIGSTOP... */
}

static bool same_action(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags)
		return false;
	for (int signo = 1; signo < NSIG; signo++)
		if (sigismember(&a->sa_mask, signo) !=
		    sigismember(&b->sa_mask, signo))
			return false;
	return true;
}

/* Every case starts as a fresh process would. A disposition still as it
 * was at start is left alone, so that the case gets the shim's first
 * answer about it; what the runner, an earlier case (CK_FORK=no) or the
 * environment (an inherited ignore) set becomes a clean SIG_DFL. Nothing
 * blocked. */
static void setup(void)
{
	sigset_t none;

	for (int signo = 1; signo < NSIG; signo++) {
		struct sigaction now;

		if (sigaction(signo, NULL, &now) == 0 &&
		    (ignored_at_start[signo] ||
		     !same_action(&now, &at_start[signo])))
			set_clean(signo, SIG_DFL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	reset_seen();
}

/* What a case leaves must not reach the next one (CK_FORK=no): pending
 * signals (an ignore drops them), siginterrupt's memory, the altstack. */
static void teardown(void)
{
	stack_t off = { .ss_flags = SS_DISABLE };
	sigset_t none;

	for (int signo = 1; signo < NSIG; signo++) {
		set_clean(signo, SIG_IGN);
		siginterrupt(signo, 0);
		set_clean(signo, SIG_DFL);
	}
	sigaltstack(&off, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static const struct test_fixture fixture = { setup, teardown };

/* ---- the shim is there ------------------------------------------------- */

START_TEST(pidfile_names_the_suite)
{
	ck_assert_msg(test_read_pid(pidfile) == owner,
		      "the PID file %s names %d, not %d: is the shim "
		      "preloaded?",
		      pidfile, (int)test_read_pid(pidfile), (int)owner);
	ck_assert_msg(test_is_flocked(pidfile), "the PID file is not locked");
}
END_TEST

/* ---- view: every installer reports the program's own previous value -- */

START_TEST(view_at_start_is_the_default)
{
	int signo = terminating[_i];

	assert_pristine(&at_start[signo], signo,
			ignored_at_start[signo] ? SIG_IGN : SIG_DFL,
			"at start");
}
END_TEST

typedef sighandler_t (*installer_fn)(int, sighandler_t);

static const struct installer {
	const char *name;
	installer_fn install;
	int signo; /* 0: the table's real-time signal (not a constant) */
} round_trips[] = {
	{ "signal", signal, SIGTERM },
	{ "bsd_signal", bsd_signal, SIGINT },
	{ "sysv_signal", sysv_signal, SIGHUP },
	{ "__sysv_signal", __sysv_signal, SIGALRM },
	{ "sigset", sigset, SIGPIPE },
	{ "signal", signal, 0 }, /* SIGRTMIN */
};

START_TEST(view_installer_returns_previous)
{
	const char *name = round_trips[_i].name;
	installer_fn install = round_trips[_i].install;
	int signo = round_trips[_i].signo ? round_trips[_i].signo : SIGRTMIN;
	sighandler_t prev;

	prev = install(signo, count_handler);
	ck_assert_msg(prev == SIG_DFL,
		      "%s(%s, handler) returned %s, expected SIG_DFL", name,
		      strsignal(signo), handler_name(prev));
	assert_view(signo, count_handler, name);
	prev = install(signo, other_handler);
	ck_assert_msg(prev == count_handler,
		      "%s(%s, other) returned %s, expected the first handler",
		      name, strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_IGN);
	ck_assert_msg(prev == other_handler,
		      "%s(%s, SIG_IGN) returned %s, expected the second "
		      "handler",
		      name, strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_DFL);
	ck_assert_msg(prev == SIG_IGN,
		      "%s(%s, SIG_DFL) returned %s, expected SIG_IGN", name,
		      strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_DFL);
	ck_assert_msg(prev == SIG_DFL, "%s(%s, SIG_DFL) again returned %s",
		      name, strsignal(signo), handler_name(prev));
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

/* sigaction: oldact is the program's previous struct, all of it */
START_TEST(view_sigaction_oldact_is_the_whole_struct)
{
	struct sigaction act, old, now;

	memset(&act, 0, sizeof(act));
	act.sa_handler = count_handler;
	act.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	sigaddset(&act.sa_mask, SIGRTMIN + 3);
	ck_assert_msg(sigaction(SIGUSR1, &act, &old) == 0, "sigaction: %s",
		      strerror(errno));
	assert_pristine_default(&old, SIGUSR1, "sigaction's oldact");
	query(SIGUSR1, &now);
	ck_assert_msg(now.sa_handler == count_handler &&
			  (now.sa_flags & (SA_RESTART | SA_NODEFER |
					   SA_SIGINFO | SA_RESETHAND)) ==
			      (SA_RESTART | SA_NODEFER),
		      "sigaction query after install: %s flags %#x",
		      handler_name(now.sa_handler), (unsigned)now.sa_flags);
	ck_assert_msg(sigismember(&now.sa_mask, SIGUSR2) == 1 &&
			  sigismember(&now.sa_mask, SIGRTMIN + 3) == 1 &&
			  sigismember(&now.sa_mask, SIGHUP) == 0,
		      "sigaction query: the mask is not the one installed");
	set_action(SIGUSR1, SIG_DFL, 0, 0, &old);
	ck_assert_msg(old.sa_handler == count_handler, "oldact after reset: %s",
		      handler_name(old.sa_handler));
	assert_view(SIGUSR1, SIG_DFL, "after sigaction back to SIG_DFL");
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

/* SA_SIGINFO: the same function pointer and flags come back */
START_TEST(view_siginfo_handler_comes_back)
{
	struct sigaction act, old, now;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&act.sa_mask);
	ck_assert_msg(sigaction(SIGUSR2, &act, &old) == 0, "sigaction: %s",
		      strerror(errno));
	assert_pristine_default(&old, SIGUSR2, "SA_SIGINFO install oldact");
	query(SIGUSR2, &now);
	ck_assert_msg((now.sa_flags & SA_SIGINFO) &&
			  (now.sa_flags & SA_RESETHAND) &&
			  now.sa_sigaction == info_handler,
		      "SA_SIGINFO query: flags %#x", (unsigned)now.sa_flags);
	ck_assert_msg((void *)signal(SIGUSR2, SIG_DFL) == (void *)info_handler,
		      "signal() over an SA_SIGINFO handler must return it");
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

/* sigignore, then the next installer reports SIG_IGN */
START_TEST(view_sigignore_then_installer_reports_ignore)
{
	ck_assert_msg(sigignore(SIGXCPU) == 0, "sigignore: %s",
		      strerror(errno));
	assert_view(SIGXCPU, SIG_IGN, "after sigignore");
	ck_assert_msg(signal(SIGXCPU, SIG_DFL) == SIG_IGN,
		      "signal() after sigignore must return SIG_IGN");
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

/* siginterrupt on a default disposition leaves it the default */
START_TEST(view_siginterrupt_keeps_the_default)
{
	ck_assert_msg(siginterrupt(SIGPROF, 1) == 0, "siginterrupt: %s",
		      strerror(errno));
	assert_view(SIGPROF, SIG_DFL, "after siginterrupt(SIGPROF, 1)");
	ck_assert_msg(siginterrupt(SIGPROF, 0) == 0, "siginterrupt: %s",
		      strerror(errno));
	assert_view(SIGPROF, SIG_DFL, "after siginterrupt(SIGPROF, 0)");
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

START_TEST(view_errors_stay_errors)
{
	struct sigaction act, now;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	errno = 0;
	ck_assert_msg(
	    signal(SIGKILL, count_handler) == SIG_ERR && errno == EINVAL,
	    "signal(SIGKILL) must fail with EINVAL (errno %d)", errno);
	errno = 0;
	ck_assert_msg(signal(0, count_handler) == SIG_ERR && errno == EINVAL,
		      "signal(0) must fail with EINVAL");
	errno = 0;
	ck_assert_msg(sigaction(SIGSTOP, &act, NULL) < 0 && errno == EINVAL,
		      "sigaction(SIGSTOP) must fail with EINVAL");
	errno = 0;
	ck_assert_msg(sigaction(NSIG + 1, NULL, &now) < 0 && errno == EINVAL,
		      "sigaction(NSIG + 1) must fail with EINVAL");
	assert_all_default("at the end");
	assert_pidfile("at the end");
}
END_TEST

/* ---- siginfo: SA_SIGINFO data and sa_mask ------------------------------ */

START_TEST(siginfo_sigqueue_value_and_mask)
{
	struct sigaction act, old, now;
	union sigval value = { .sival_int = 4242 };

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	ck_assert_msg(sigaction(SIGUSR1, &act, &old) == 0, "sigaction: %s",
		      strerror(errno));
	assert_pristine_default(&old, SIGUSR1, "oldact");

	ck_assert_msg(sigqueue(getpid(), SIGUSR1, value) == 0, "sigqueue: %s",
		      strerror(errno));
	assert_hits(1, "sigqueue SIGUSR1");
	ck_assert_msg(seen_signo == SIGUSR1, "si_signo %d", (int)seen_signo);
	ck_assert_msg(seen_code == SI_QUEUE, "si_code %d, expected SI_QUEUE",
		      (int)seen_code);
	ck_assert_msg(seen_value == 4242, "si_value %d, expected 4242",
		      (int)seen_value);
	ck_assert_msg(seen_pid == getpid(), "si_pid %d", (int)seen_pid);
	ck_assert_msg(sigismember(&mask_inside, SIGUSR1) == 1,
		      "SIGUSR1 not blocked in its own handler (no SA_NODEFER)");
	ck_assert_msg(sigismember(&mask_inside, SIGUSR2) == 1,
		      "SIGUSR2 (in sa_mask) not blocked in the handler");
	ck_assert_msg(sigismember(&mask_inside, SIGHUP) == 0,
		      "SIGHUP blocked in the handler: not asked for");
	ck_assert_msg(!blocked_now(SIGUSR1) && !blocked_now(SIGUSR2),
		      "the mask was not restored after the handler");
	query(SIGUSR1, &now);
	ck_assert_msg(now.sa_sigaction == info_handler &&
			  (now.sa_flags & SA_SIGINFO),
		      "query: the SA_SIGINFO handler is not reported");
	assert_pidfile("at the end");
}
END_TEST

/* a terminating signal with a SA_SIGINFO handler: handled, alive */
START_TEST(siginfo_handler_on_a_terminating_signal)
{
	struct sigaction act, old;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&act.sa_mask);
	ck_assert_msg(sigaction(SIGTERM, &act, &old) == 0, "sigaction: %s",
		      strerror(errno));
	assert_pristine_default(&old, SIGTERM, "SIGTERM oldact");
	ck_assert_msg(kill(getpid(), SIGTERM) == 0, "kill: %s",
		      strerror(errno));
	assert_hits(1, "kill SIGTERM");
	ck_assert_msg(seen_signo == SIGTERM && seen_code == SI_USER &&
			  seen_pid == getpid(),
		      "SIGTERM siginfo: signo %d code %d pid %d",
		      (int)seen_signo, (int)seen_code, (int)seen_pid);
	assert_pidfile("at the end");
}
END_TEST

/* queued real-time signals: each one, with its own value, in order */
START_TEST(siginfo_realtime_signals_queue_in_order)
{
	struct sigaction act;
	union sigval value;

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	ck_assert_msg(sigaction(SIGRTMIN + 1, &act, NULL) == 0, "sigaction: %s",
		      strerror(errno));
	for (int i = 1; i <= 3; i++) {
		value.sival_int = i;
		ck_assert_msg(sigqueue(getpid(), SIGRTMIN + 1, value) == 0,
			      "sigqueue: %s", strerror(errno));
		assert_hits(i, "sigqueue SIGRTMIN+1");
		ck_assert_msg(seen_value == i,
			      "real-time value %d, expected %d",
			      (int)seen_value, i);
	}
	assert_pidfile("at the end");
}
END_TEST

/* ---- masks: SA_NODEFER and sa_mask inside the handler ------------------ */

static void assert_none_blocked(void)
{
	ck_assert_msg(!blocked_now(SIGUSR1) && !blocked_now(SIGUSR2) &&
			  !blocked_now(SIGINT) && !blocked_now(SIGTERM) &&
			  !blocked_now(SIGHUP),
		      "signals left blocked after the handlers");
}

/* without SA_NODEFER: the signal itself is blocked inside */
START_TEST(masks_signal_blocked_in_its_handler)
{
	struct sigaction old;

	set_action(SIGUSR1, count_handler, 0, SIGUSR2, &old);
	deliver(SIGUSR1);
	assert_hits(1, "plain sigaction");
	ck_assert_msg(sigismember(&mask_inside, SIGUSR1) == 1,
		      "without SA_NODEFER the signal must be blocked in its "
		      "handler");
	ck_assert_msg(sigismember(&mask_inside, SIGUSR2) == 1,
		      "sa_mask's SIGUSR2 not blocked in the handler");
	ck_assert_msg(sigismember(&mask_inside, SIGINT) == 0,
		      "SIGINT blocked without being asked for");
	assert_none_blocked();
	assert_pidfile("at the end");
}
END_TEST

/* SA_NODEFER: not blocked inside; sa_mask still applies */
START_TEST(masks_nodefer_leaves_the_signal_unblocked)
{
	struct sigaction old;

	set_action(SIGUSR1, count_handler, 0, SIGUSR2, &old);
	set_action(SIGUSR1, count_handler, SA_NODEFER, SIGINT, &old);
	ck_assert_msg(old.sa_handler == count_handler &&
			  !(old.sa_flags & SA_NODEFER),
		      "oldact: %s flags %#x", handler_name(old.sa_handler),
		      (unsigned)old.sa_flags);
	deliver(SIGUSR1);
	assert_hits(1, "SA_NODEFER");
	ck_assert_msg(sigismember(&mask_inside, SIGUSR1) == 0,
		      "with SA_NODEFER the signal must not be blocked in its "
		      "handler");
	ck_assert_msg(sigismember(&mask_inside, SIGINT) == 1 ||
			  test_under_valgrind(),
		      "sa_mask's SIGINT not blocked in the SA_NODEFER handler");
	ck_assert_msg(sigismember(&mask_inside, SIGUSR2) == 0,
		      "SIGUSR2 still blocked: the old mask was kept");
	assert_none_blocked();
	assert_pidfile("at the end");
}
END_TEST

/* a terminating signal, sa_mask of a real-time one */
START_TEST(masks_terminating_signal_handler_gets_its_mask)
{
	struct sigaction old;

	set_action(SIGTERM, count_handler, SA_RESTART, SIGRTMIN + 2, &old);
	assert_pristine_default(&old, SIGTERM, "SIGTERM oldact");
	deliver(SIGTERM);
	assert_hits(1, "SIGTERM handler");
	ck_assert_msg(sigismember(&mask_inside, SIGTERM) == 1 &&
			  sigismember(&mask_inside, SIGRTMIN + 2) == 1,
		      "SIGTERM handler: its mask is not the one asked for");
	assert_none_blocked();
	assert_pidfile("at the end");
}
END_TEST

/* signal(): BSD, blocked inside; sysv_signal(): not blocked */
START_TEST(masks_signal_blocks_sysv_signal_does_not)
{
	ck_assert_msg(signal(SIGINT, count_handler) == SIG_DFL,
		      "signal(SIGINT)");
	deliver(SIGINT);
	assert_hits(1, "signal() handler");
	ck_assert_msg(sigismember(&mask_inside, SIGINT) == 1,
		      "signal(): the signal must be blocked in its handler");
	ck_assert_msg(sysv_signal(SIGHUP, count_handler) == SIG_DFL,
		      "sysv_signal(SIGHUP)");
	reset_seen();
	deliver(SIGHUP);
	assert_hits(1, "sysv_signal() handler");
	ck_assert_msg(sigismember(&mask_inside, SIGHUP) == 0,
		      "sysv_signal(): the signal must not be blocked in its "
		      "handler");
	assert_view(SIGHUP, SIG_DFL, "after the sysv_signal() handler ran");
	assert_none_blocked();
	assert_pidfile("at the end");
}
END_TEST

/* SA_ONSTACK: the handler runs on the alternate stack, and only then. */
START_TEST(masks_onstack_runs_on_the_alternate_stack)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction old, now;

	ck_assert_msg(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s",
		      strerror(errno));
	set_action(SIGUSR2, altstack_handler, SA_ONSTACK, 0, &old);
	query(SIGUSR2, &now);
	ck_assert_msg(now.sa_flags & SA_ONSTACK, "SA_ONSTACK not reported");
	on_altstack = 0;
	deliver(SIGUSR2);
	assert_hits(1, "SA_ONSTACK handler");
	ck_assert_msg(on_altstack, "SA_ONSTACK: the handler did not run on "
				   "the alternate stack");
	set_action(SIGUSR2, altstack_handler, 0, 0, &old);
	reset_seen();
	on_altstack = 1;
	deliver(SIGUSR2);
	assert_hits(1, "handler without SA_ONSTACK");
	ck_assert_msg(!on_altstack, "without SA_ONSTACK the handler ran on the "
				    "alternate stack");
	assert_none_blocked();
	assert_pidfile("at the end");
}
END_TEST

/* ---- oneshot: SA_RESETHAND, sysv_signal, the first delivery ---------- */

static const struct oneshot {
	const char *kind;
	int signo;
} oneshots[] = {
	{ "sigaction", SIGUSR2 },	  { "sigaction", SIGQUIT },
	{ "sigaction-siginfo", SIGTERM }, { "sysv_signal", SIGTERM },
	{ "sysv_signal", SIGINT },	  { "__sysv_signal", SIGHUP },
	{ "__sysv_signal", SIGALRM },
};

/* Inside the handler and after it the program sees SIG_DFL, as the
 * kernel's own reset would show; test-shim-signals sees the second
 * delivery end the program. */
START_TEST(oneshot_handler_sees_the_default)
{
	const char *kind = oneshots[_i].kind;
	int signo = oneshots[_i].signo;
	bool info = strcmp(kind, "sigaction-siginfo") == 0;
	struct sigaction act, now;
	sighandler_t prev;

	if (info || strcmp(kind, "sigaction") == 0) {
		memset(&act, 0, sizeof(act));
		if (info)
			act.sa_sigaction = query_info_handler;
		else
			act.sa_handler = query_handler;
		act.sa_flags = SA_RESETHAND | (info ? SA_SIGINFO : 0);
		sigemptyset(&act.sa_mask);
		ck_assert_msg(sigaction(signo, &act, &now) == 0,
			      "sigaction: %s", strerror(errno));
		assert_pristine_default(&now, signo, "oldact");
		query(signo, &now);
		ck_assert_msg(now.sa_flags & SA_RESETHAND,
			      "query: SA_RESETHAND not reported");
	} else {
		installer_fn install = strcmp(kind, "sysv_signal") == 0
					   ? sysv_signal
					   : __sysv_signal;

		prev = install(signo, query_handler);
		ck_assert_msg(prev == SIG_DFL, "%s returned %s", kind,
			      handler_name(prev));
	}

	deliver(signo);
	assert_hits(1, "first delivery");
	ck_assert_msg(dfl_inside,
		      "%s: inside the one-shot handler the program must "
		      "already see SIG_DFL",
		      kind);
	if (info)
		ck_assert_msg(info_ok, "the one-shot SA_SIGINFO handler got no "
				       "or wrong siginfo");
	assert_view(signo, SIG_DFL, "after the one-shot handler");
	assert_pidfile("after the one-shot handler");
}
END_TEST

/* ---- bsd: signal() and bsd_signal() handlers stay ------------------- */

static const struct installer persistents[] = {
	{ "signal", signal, SIGUSR1 },
	{ "signal", signal, SIGTERM },
	{ "bsd_signal", bsd_signal, SIGUSR2 },
	{ "bsd_signal", bsd_signal, SIGHUP },
	{ "signal", signal, 0 }, /* SIGRTMAX */
};

START_TEST(bsd_handler_stays_installed)
{
	const char *name = persistents[_i].name;
	installer_fn install = persistents[_i].install;
	int signo =
	    persistents[_i].signo ? persistents[_i].signo : signal_rtmax();
	struct sigaction now;
	sighandler_t prev;

	prev = install(signo, count_handler);
	ck_assert_msg(prev == SIG_DFL, "%s returned %s", name,
		      handler_name(prev));
	query(signo, &now);
	ck_assert_msg(now.sa_handler == count_handler, "%s: query shows %s",
		      name, handler_name(now.sa_handler));
	ck_assert_msg((now.sa_flags & SA_RESTART) &&
			  !(now.sa_flags & (SA_RESETHAND | SA_NODEFER)),
		      "%s: BSD semantics need SA_RESTART, no SA_RESETHAND, no "
		      "SA_NODEFER; flags %#x",
		      name, (unsigned)now.sa_flags);
	ck_assert_msg(sigismember(&now.sa_mask, signo) == 1,
		      "%s: glibc's mask holds the signal itself", name);
	deliver(signo);
	assert_hits(1, name);
	ck_assert_msg(sigismember(&mask_inside, signo) == 1,
		      "%s: the signal must be blocked in its handler", name);
	kill(getpid(), signo);
	assert_hits(2, name);
	assert_view(signo, count_handler, "after two deliveries");
	prev = install(signo, SIG_DFL);
	ck_assert_msg(prev == count_handler, "%s(SIG_DFL) returned %s", name,
		      handler_name(prev));
	assert_pidfile("at the end");
}
END_TEST

/* ---- sigset, SIG_HOLD ---------------------------------------------------- */

START_TEST(sigset_holds_and_releases)
{
	sighandler_t prev;
	sigset_t pending;

	prev = sigset(SIGUSR1, count_handler);
	ck_assert_msg(prev == SIG_DFL, "sigset returned %s",
		      handler_name(prev));
	assert_view(SIGUSR1, count_handler, "after sigset");

	prev = sigset(SIGUSR1, SIG_HOLD);
	ck_assert_msg(prev == count_handler,
		      "sigset(SIG_HOLD) on an unblocked signal returned %s, "
		      "expected the handler",
		      handler_name(prev));
	ck_assert_msg(blocked_now(SIGUSR1), "SIG_HOLD did not block SIGUSR1");
	prev = sigset(SIGUSR1, SIG_HOLD);
	ck_assert_msg(prev == SIG_HOLD, "sigset(SIG_HOLD) twice returned %s",
		      handler_name(prev));
	deliver(SIGUSR1);
	ck_assert_msg(hits == 0, "a held signal reached its handler");
	sigpending(&pending);
	ck_assert_msg(sigismember(&pending, SIGUSR1) == 1,
		      "SIGUSR1 is not pending");
	prev = sigset(SIGUSR1, count_handler);
	ck_assert_msg(prev == SIG_HOLD, "sigset on a held signal returned %s",
		      handler_name(prev));
	assert_hits(1, "released SIGUSR1");
	ck_assert_msg(!blocked_now(SIGUSR1), "sigset(handler) did not unblock");
	assert_pidfile("at the end");
}
END_TEST

/* holding a terminating signal at its default: it waits, harmless */
START_TEST(sigset_holds_a_terminating_default)
{
	sighandler_t prev;
	sigset_t pending;

	prev = sigset(SIGTERM, SIG_HOLD);
	ck_assert_msg(prev == SIG_DFL, "sigset(SIGTERM, SIG_HOLD) returned %s",
		      handler_name(prev));
	kill(getpid(), SIGTERM);
	test_pause_ms(20);
	sigpending(&pending);
	ck_assert_msg(sigismember(&pending, SIGTERM) == 1,
		      "SIGTERM is not pending");
	assert_pidfile("with SIGTERM held and pending");
	prev = sigset(SIGTERM, SIG_IGN);
	ck_assert_msg(prev == SIG_HOLD, "sigset(SIGTERM, SIG_IGN) returned %s",
		      handler_name(prev));
	sigpending(&pending);
	ck_assert_msg(sigismember(&pending, SIGTERM) == 0,
		      "an ignored SIGTERM is still pending");
	ck_assert_msg(kernel_ignores(SIGTERM),
		      "sigset(SIG_IGN): the kernel does not ignore SIGTERM");
	prev = sigset(SIGTERM, SIG_DFL);
	ck_assert_msg(prev == SIG_IGN, "sigset(SIGTERM, SIG_DFL) returned %s",
		      handler_name(prev));
	ck_assert_msg(!kernel_ignores(SIGTERM),
		      "SIGTERM still ignored by the kernel");
	assert_pidfile("at the end");
}
END_TEST

/* ---- ignore: SIG_IGN reaches the kernel and an exec'd child ----------- */

static const int ignored_set[] = { SIGUSR1, SIGTERM, SIGINT,
				   SIGHUP,  SIGALRM, SIGUSR2 };

/* ignored_set, each one ignored by another installer */
static void ignore_every_way(void)
{
	struct sigaction old;
	sighandler_t prev;

	ck_assert_msg(sigignore(SIGUSR1) == 0, "sigignore: %s",
		      strerror(errno));
	prev = signal(SIGTERM, SIG_IGN);
	ck_assert_msg(prev == SIG_DFL, "signal(SIG_IGN) returned %s",
		      handler_name(prev));
	set_action(SIGINT, SIG_IGN, 0, 0, &old);
	assert_pristine_default(&old, SIGINT, "sigaction(SIG_IGN) oldact");
	prev = bsd_signal(SIGHUP, SIG_IGN);
	ck_assert_msg(prev == SIG_DFL, "bsd_signal(SIG_IGN) returned %s",
		      handler_name(prev));
	prev = sysv_signal(SIGALRM, SIG_IGN);
	ck_assert_msg(prev == SIG_DFL, "sysv_signal(SIG_IGN) returned %s",
		      handler_name(prev));
	prev = sigset(SIGUSR2, SIG_IGN);
	ck_assert_msg(prev == SIG_DFL, "sigset(SIG_IGN) returned %s",
		      handler_name(prev));
}

START_TEST(ignore_reaches_the_kernel)
{
	ignore_every_way();
	for (size_t i = 0; i < ARRAY_SIZE(ignored_set); i++) {
		int signo = ignored_set[i];

		assert_view(signo, SIG_IGN, "after ignoring");
		ck_assert_msg(kernel_ignores(signo),
			      "%s: the program ignores it, the kernel does not",
			      strsignal(signo));
		deliver(signo);
		kill(getpid(), signo);
	}
	test_pause_ms(20);
	assert_pidfile("after ignored signals");
	/* one-shot SIG_IGN (sysv_signal) stays an ignore after deliveries */
	assert_view(SIGALRM, SIG_IGN, "after SIGALRM deliveries");
}
END_TEST

/* sig-helper's mode inherited-ignore checks the exec'd image's view. */
START_TEST(ignore_survives_exec)
{
	char owner_arg[16];
	pid_t child;
	int status;

	ignore_every_way();
	snprintf(owner_arg, sizeof(owner_arg), "%d", (int)owner);
	child = fork();
	ck_assert_msg(child >= 0, "fork: %s", strerror(errno));
	if (child == 0) {
		execl(sig_helper, "sig-helper", "inherited-ignore", pidfile,
		      owner_arg, (char *)NULL);
		_exit(127);
	}
	status = test_wait(child, 60);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the exec'd child did not see the ignores (status %#x)",
		      status);
	assert_pidfile("at the end");
}
END_TEST

/* ---- siginterrupt: SA_RESTART, reported and in effect ----------------- */

struct kicker {
	pthread_t target;
	pid_t tid;
	int signo;
};

static bool blocked_in_read(pid_t tid)
{
	char path[64], buf[128];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	return test_read_file(path, buf, sizeof(buf)) > 0 && buf[0] >= '0' &&
	       buf[0] <= '9' && atol(buf) == SYS_read;
}

static void *kick(void *arg)
{
	const struct kicker *k = arg;

	/* Signal only once the target sleeps in read(): then the read is
	 * either restarted or fails with EINTR, nothing in between. */
	for (int i = 0; i < 10000 && !blocked_in_read(k->tid); i++)
		test_pause_ms(1);
	pthread_kill(k->target, k->signo);
	return NULL;
}

/* read() from an empty pipe, interrupted by SIGNO whose handler writes a
 * byte into it: 1 when restarted, -1 with EINTR when interrupted. */
static ssize_t interrupted_read(int signo, int *err)
{
	struct kicker k = { pthread_self(), gettid(), signo };
	pthread_t thread;
	int fds[2];
	ssize_t n;
	char c;

	ck_assert_msg(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	wake_fd = fds[1];
	ck_assert_msg(pthread_create(&thread, NULL, kick, &k) == 0,
		      "pthread_create");
	n = read(fds[0], &c, 1);
	*err = errno;
	pthread_join(thread, NULL);
	wake_fd = -1;
	close(fds[0]);
	close(fds[1]);
	return n;
}

START_TEST(siginterrupt_1_makes_calls_fail_with_eintr)
{
	ssize_t n;
	int err;

	ck_assert_msg(signal(SIGUSR1, write_handler) == SIG_DFL,
		      "signal(SIGUSR1)");
	ck_assert_msg(flags_of(SIGUSR1) & SA_RESTART,
		      "signal() without SA_RESTART");
	ck_assert_msg(siginterrupt(SIGUSR1, 1) == 0, "siginterrupt: %s",
		      strerror(errno));
	ck_assert_msg(!(flags_of(SIGUSR1) & SA_RESTART),
		      "siginterrupt(sig, 1) must clear SA_RESTART (flags %#x)",
		      (unsigned)flags_of(SIGUSR1));
	assert_view(SIGUSR1, write_handler, "after siginterrupt(1)");
	n = interrupted_read(SIGUSR1, &err);
	ck_assert_msg(hits == 1, "the handler did not run during read()");
	ck_assert_msg(n < 0 && err == EINTR,
		      "siginterrupt(sig, 1): read() returned %zd (%s), "
		      "expected EINTR",
		      n, n < 0 ? strerror(err) : "data");
	ck_assert_msg(!file_missing,
		      "the PID file did not name %d in the handler",
		      (int)owner);
	assert_pidfile("at the end");
}
END_TEST

START_TEST(siginterrupt_0_makes_calls_restart)
{
	ssize_t n;
	int err;

	ck_assert_msg(signal(SIGUSR1, write_handler) == SIG_DFL,
		      "signal(SIGUSR1)");
	ck_assert_msg(siginterrupt(SIGUSR1, 1) == 0, "siginterrupt: %s",
		      strerror(errno));
	ck_assert_msg(siginterrupt(SIGUSR1, 0) == 0, "siginterrupt: %s",
		      strerror(errno));
	ck_assert_msg(flags_of(SIGUSR1) & SA_RESTART,
		      "siginterrupt(sig, 0) must set SA_RESTART (flags %#x)",
		      (unsigned)flags_of(SIGUSR1));
	n = interrupted_read(SIGUSR1, &err);
	ck_assert_msg(hits == 1, "the handler did not run during read()");
	ck_assert_msg(n == 1,
		      "siginterrupt(sig, 0): read() returned %zd (%s), "
		      "expected the restarted read's byte",
		      n, n < 0 ? strerror(err) : "");
	ck_assert_msg(!file_missing,
		      "the PID file did not name %d in the handler",
		      (int)owner);
	assert_pidfile("at the end");
}
END_TEST

/* glibc's signal() remembers siginterrupt() for that signal */
START_TEST(siginterrupt_is_remembered_by_signal)
{
	ssize_t n;
	int err;

	ck_assert_msg(siginterrupt(SIGTERM, 1) == 0, "siginterrupt: %s",
		      strerror(errno));
	ck_assert_msg(signal(SIGTERM, write_handler) == SIG_DFL,
		      "signal(SIGTERM)");
	ck_assert_msg(!(flags_of(SIGTERM) & SA_RESTART),
		      "signal() after siginterrupt(sig, 1) must not set "
		      "SA_RESTART");
	n = interrupted_read(SIGTERM, &err);
	ck_assert_msg(n < 0 && err == EINTR,
		      "SIGTERM: read() returned %zd, expected EINTR", n);
	ck_assert_msg(!file_missing,
		      "the PID file did not name %d in the handler",
		      (int)owner);
	assert_pidfile("at the end");
}
END_TEST

/* ---- the suite --------------------------------------------------------- */

/* Before Check installs anything: what the process started with. */
static void note_the_start(void)
{
	terminating_count = terminating_signals(terminating);
	for (int signo = 1; signo < NSIG; signo++) {
		if (sigaction(signo, NULL, &at_start[signo]) < 0)
			memset(&at_start[signo], 0, sizeof(at_start[signo]));
		ignored_at_start[signo] =
		    test_proc_mask_has(getpid(), "SigIgn", signo);
	}
}

int main(int argc, char **argv)
{
	Suite *s = suite_create("shim-signals-in-process");

	note_the_start();
	owner = getpid();
	pidfile = getenv("PIDSHIM_PIDFILE");
	if (argc != 2 || !pidfile || pidfile[0] != '/') {
		fprintf(stderr,
			"usage: PIDSHIM_PIDFILE=/PATH "
			"LD_PRELOAD=libpidshim.so %s SIG-HELPER "
			"(meson test runs it so)\n",
			argv[0]);
		return EXIT_FAILURE;
	}
	sig_helper = argv[1];

	test_add(s, "shim_loaded", pidfile_names_the_suite, 30, &fixture, NULL);
	test_add(s, "view_at_start", view_at_start_is_the_default, 30, &fixture,
		 TEST_LOOP(terminating_count));
	test_add(s, "view_round_trip", view_installer_returns_previous, 30,
		 &fixture, TEST_LOOP(ARRAY_SIZE(round_trips)));
	test_add(s, "view_sigaction_oldact",
		 view_sigaction_oldact_is_the_whole_struct, 30, &fixture, NULL);
	test_add(s, "view_siginfo_handler", view_siginfo_handler_comes_back, 30,
		 &fixture, NULL);
	test_add(s, "view_sigignore",
		 view_sigignore_then_installer_reports_ignore, 30, &fixture,
		 NULL);
	test_add(s, "view_siginterrupt", view_siginterrupt_keeps_the_default,
		 30, &fixture, NULL);
	test_add(s, "view_errors", view_errors_stay_errors, 30, &fixture, NULL);
	test_add(s, "siginfo_sigqueue", siginfo_sigqueue_value_and_mask, 30,
		 &fixture, NULL);
	test_add(s, "siginfo_terminating",
		 siginfo_handler_on_a_terminating_signal, 30, &fixture, NULL);
	test_add(s, "siginfo_realtime", siginfo_realtime_signals_queue_in_order,
		 30, &fixture, NULL);
	test_add(s, "masks_deferred", masks_signal_blocked_in_its_handler, 30,
		 &fixture, NULL);
	test_add(s, "masks_nodefer", masks_nodefer_leaves_the_signal_unblocked,
		 30, &fixture, NULL);
	test_add(s, "masks_terminating",
		 masks_terminating_signal_handler_gets_its_mask, 30, &fixture,
		 NULL);
	test_add(s, "masks_signal_sysv",
		 masks_signal_blocks_sysv_signal_does_not, 30, &fixture, NULL);
	test_add(s, "masks_altstack", masks_onstack_runs_on_the_alternate_stack,
		 30, &fixture, NULL);
	test_add(s, "oneshot_view", oneshot_handler_sees_the_default, 30,
		 &fixture, TEST_LOOP(ARRAY_SIZE(oneshots)));
	test_add(s, "bsd_signal", bsd_handler_stays_installed, 30, &fixture,
		 TEST_LOOP(ARRAY_SIZE(persistents)));
	test_add(s, "sigset_hold", sigset_holds_and_releases, 30, &fixture,
		 NULL);
	test_add(s, "sigset_hold_terminating",
		 sigset_holds_a_terminating_default, 30, &fixture, NULL);
	test_add(s, "ignore", ignore_reaches_the_kernel, 30, &fixture, NULL);
	test_add(s, "ignore_exec", ignore_survives_exec, 60, &fixture, NULL);
	test_add(s, "siginterrupt_eintr",
		 siginterrupt_1_makes_calls_fail_with_eintr, 60, &fixture,
		 NULL);
	test_add(s, "siginterrupt_restart", siginterrupt_0_makes_calls_restart,
		 60, &fixture, NULL);
	test_add(s, "siginterrupt_signal", siginterrupt_is_remembered_by_signal,
		 60, &fixture, NULL);
	return test_run_suite(s);
}

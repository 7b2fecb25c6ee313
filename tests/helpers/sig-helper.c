/* SPDX-License-Identifier: MIT */
/*
 * Run under the shim by test-shim-signals: every signal installer, seen
 * from the program's side.
 *
 *     sig-helper MODE PIDFILE [ARG...]
 *
 * Each mode prints what it found and exits 0 when everything held, or 1
 * with a message naming the first mismatch (2: bad usage). The modes
 * "oneshot", "term-handler" and "survive" end in ways the test checks
 * from outside (a signal, a chosen status).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* glibc exports both; its headers declare them only in some modes. */
sighandler_t __sysv_signal(int signo, sighandler_t handler);
sighandler_t bsd_signal(int signo, sighandler_t handler);

/* sigset, sigignore and siginterrupt are deprecated in glibc's headers;
 * programs still call them, and the shim wraps them: they are the point. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static const char *pidfile;

/* What the handlers saw: written in the handler, read after. */
static volatile sig_atomic_t hits;
static volatile sig_atomic_t file_missing; /* the PID file did not name us */
static volatile sig_atomic_t seen_signo, seen_code, seen_value, seen_pid;
static volatile sig_atomic_t dfl_inside; /* query in the handler: SIG_DFL */
static volatile sig_atomic_t info_ok;	 /* a one-shot SA_SIGINFO's siginfo */
static volatile sig_atomic_t on_altstack; /* the handler ran on it */
static sigset_t mask_inside;		 /* the blocked set in the handler */
static volatile int wake_fd = -1;	 /* write_handler writes a byte here */

#define expect(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			fail(__LINE__, #cond, __VA_ARGS__);                    \
	} while (0)

__attribute__((noreturn, format(printf, 3, 4))) static void
fail(int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sig-helper: FAIL line %d (%s): ", line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* valgrind keeps SIGRTMAX for itself and, emulating signal delivery,
 * drops sa_mask for SA_NODEFER handlers; it shows in LD_PRELOAD. */
static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "/vgpreload_");
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

/* Async-signal-safe: handlers call it too. */
static bool pidfile_names(pid_t pid)
{
	char buf[32];
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	long value = 0;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 1 || buf[n - 1] != '\n')
		return false;
	for (ssize_t i = 0; i < n - 1; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return false;
		value = value * 10 + (buf[i] - '0');
	}
	return value == pid;
}

static void note_delivery(int signo)
{
	sigset_t now;

	if (!pidfile_names(getpid()))
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

	on_altstack = sigaltstack(NULL, &now) == 0 &&
		      (now.ss_flags & SS_ONSTACK);
	note_delivery(signo);
}

static void write_handler(int signo)
{
	note_delivery(signo);
	if (wake_fd >= 0 && write(wake_fd, "x", 1) != 1)
		file_missing = 1;
}

/* raise(), checked: to this thread, synchronously when unblocked. */
static void deliver(int signo)
{
	expect(raise(signo) == 0, "raise(%d): %s", signo, strerror(errno));
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

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* Delivery to ourselves is synchronous when unblocked; wait a little
 * anyway (a sanitizer runtime may run threads of its own). */
static void expect_hits(int want, const char *what)
{
	for (int i = 0; i < 5000 && hits < want; i++)
		pause_ms(1);
	expect(hits == want, "%s: the handler ran %d times, expected %d", what,
	       (int)hits, want);
	expect(!file_missing, "%s: the PID file did not name us in the handler",
	       what);
}

static void expect_pidfile(const char *when)
{
	expect(pidfile_names(getpid()), "%s: the PID file %s does not name %d",
	       when, pidfile, (int)getpid());
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

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		out[n++] = fixed[i];
	out[n++] = SIGRTMIN;
	out[n++] = SIGRTMIN + 1;
	out[n++] = under_valgrind() ? SIGRTMAX - 1 : SIGRTMAX;
	return n;
}

/* The disposition a fresh process has: SIG_DFL, no flags, empty mask —
 * nothing of the shim's dispatcher (SA_SIGINFO, SA_ONSTACK, full mask). */
static void expect_pristine_default(const struct sigaction *sa, int signo,
				    const char *when)
{
	expect(!(sa->sa_flags & SA_SIGINFO) && sa->sa_handler == SIG_DFL,
	       "%s: signal %d (%s): the program sees handler %s flags %#x, "
	       "not SIG_DFL",
	       when, signo, strsignal(signo), handler_name(sa->sa_handler),
	       (unsigned)sa->sa_flags);
	expect(!(sa->sa_flags & (SA_ONSTACK | SA_RESTART | SA_RESETHAND |
				 SA_NODEFER)),
	       "%s: signal %d (%s): SIG_DFL with flags %#x", when, signo,
	       strsignal(signo), (unsigned)sa->sa_flags);
	expect(sigisemptyset(&sa->sa_mask), "%s: signal %d (%s): non-empty mask",
	       when, signo, strsignal(signo));
}

static void query(int signo, struct sigaction *out)
{
	expect(sigaction(signo, NULL, out) == 0, "sigaction(%d, NULL, &old): %s",
	       signo, strerror(errno));
}

static void expect_view(int signo, sighandler_t want, const char *when)
{
	struct sigaction now;

	query(signo, &now);
	expect(!(now.sa_flags & SA_SIGINFO) && now.sa_handler == want,
	       "%s: signal %d (%s): the program sees %s (flags %#x), expected %s",
	       when, signo, strsignal(signo), handler_name(now.sa_handler),
	       (unsigned)now.sa_flags, handler_name(want));
}

static void set_action(int signo, void (*handler)(int), int flags,
		       int masked, struct sigaction *old)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	if (masked > 0)
		sigaddset(&act.sa_mask, masked);
	expect(sigaction(signo, &act, old) == 0, "sigaction(%d): %s", signo,
	       strerror(errno));
}

/* The kernel's own word: SigIgn in /proc/self/status. */
static bool kernel_ignores(int signo)
{
	char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	const char *line;

	expect(fd >= 0, "open /proc/self/status: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	expect(n > 0, "read /proc/self/status");
	buf[n] = '\0';
	line = strstr(buf, "\nSigIgn:");
	expect(line, "no SigIgn in /proc/self/status");
	return (strtoull(line + 8, NULL, 16) >> (signo - 1)) & 1;
}

static bool blocked_now(int signo)
{
	sigset_t now;

	pthread_sigmask(SIG_BLOCK, NULL, &now);
	return sigismember(&now, signo) == 1;
}

/* ---- view: every installer reports the program's own previous value -- */

typedef sighandler_t (*installer_fn)(int, sighandler_t);

static void round_trip(const char *name, installer_fn install, int signo)
{
	sighandler_t prev;

	prev = install(signo, count_handler);
	expect(prev == SIG_DFL, "%s(%s, handler) returned %s, expected SIG_DFL",
	       name, strsignal(signo), handler_name(prev));
	expect_view(signo, count_handler, name);
	prev = install(signo, other_handler);
	expect(prev == count_handler,
	       "%s(%s, other) returned %s, expected the first handler", name,
	       strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_IGN);
	expect(prev == other_handler,
	       "%s(%s, SIG_IGN) returned %s, expected the second handler",
	       name, strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_DFL);
	expect(prev == SIG_IGN, "%s(%s, SIG_DFL) returned %s, expected SIG_IGN",
	       name, strsignal(signo), handler_name(prev));
	prev = install(signo, SIG_DFL);
	expect(prev == SIG_DFL, "%s(%s, SIG_DFL) again returned %s", name,
	       strsignal(signo), handler_name(prev));
	printf("view: %s round trip on %s ok\n", name, strsignal(signo));
}

static void mode_view(void)
{
	int sigs[40], n = terminating_signals(sigs);
	struct sigaction act, old, now;

	for (int i = 0; i < n; i++) {
		query(sigs[i], &now);
		expect_pristine_default(&now, sigs[i], "at start");
	}
	printf("view: every terminating signal is SIG_DFL at start\n");

	round_trip("signal", signal, SIGTERM);
	round_trip("bsd_signal", bsd_signal, SIGINT);
	round_trip("sysv_signal", sysv_signal, SIGHUP);
	round_trip("__sysv_signal", __sysv_signal, SIGALRM);
	round_trip("sigset", sigset, SIGPIPE);
	round_trip("signal", signal, SIGRTMIN);

	/* sigaction: oldact is the program's previous struct, all of it */
	memset(&act, 0, sizeof(act));
	act.sa_handler = count_handler;
	act.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	sigaddset(&act.sa_mask, SIGRTMIN + 3);
	expect(sigaction(SIGUSR1, &act, &old) == 0, "sigaction: %s",
	       strerror(errno));
	expect_pristine_default(&old, SIGUSR1, "sigaction's oldact");
	query(SIGUSR1, &now);
	expect(now.sa_handler == count_handler &&
		       (now.sa_flags & (SA_RESTART | SA_NODEFER | SA_SIGINFO |
					SA_RESETHAND)) ==
			       (SA_RESTART | SA_NODEFER),
	       "sigaction query after install: %s flags %#x",
	       handler_name(now.sa_handler), (unsigned)now.sa_flags);
	expect(sigismember(&now.sa_mask, SIGUSR2) == 1 &&
		       sigismember(&now.sa_mask, SIGRTMIN + 3) == 1 &&
		       sigismember(&now.sa_mask, SIGHUP) == 0,
	       "sigaction query: the mask is not the one installed");
	set_action(SIGUSR1, SIG_DFL, 0, 0, &old);
	expect(old.sa_handler == count_handler, "oldact after reset: %s",
	       handler_name(old.sa_handler));
	expect_view(SIGUSR1, SIG_DFL, "after sigaction back to SIG_DFL");

	/* SA_SIGINFO: the same function pointer and flags come back */
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&act.sa_mask);
	expect(sigaction(SIGUSR2, &act, &old) == 0, "sigaction: %s",
	       strerror(errno));
	expect_pristine_default(&old, SIGUSR2, "SA_SIGINFO install oldact");
	query(SIGUSR2, &now);
	expect((now.sa_flags & SA_SIGINFO) && (now.sa_flags & SA_RESETHAND) &&
		       now.sa_sigaction == info_handler,
	       "SA_SIGINFO query: flags %#x", (unsigned)now.sa_flags);
	expect((void *)signal(SIGUSR2, SIG_DFL) == (void *)info_handler,
	       "signal() over an SA_SIGINFO handler must return it");

	/* sigignore, then the next installer reports SIG_IGN */
	expect(sigignore(SIGXCPU) == 0, "sigignore: %s", strerror(errno));
	expect_view(SIGXCPU, SIG_IGN, "after sigignore");
	expect(signal(SIGXCPU, SIG_DFL) == SIG_IGN,
	       "signal() after sigignore must return SIG_IGN");

	/* siginterrupt on a default disposition leaves it the default */
	expect(siginterrupt(SIGPROF, 1) == 0, "siginterrupt: %s",
	       strerror(errno));
	expect_view(SIGPROF, SIG_DFL, "after siginterrupt(SIGPROF, 1)");
	expect(siginterrupt(SIGPROF, 0) == 0, "siginterrupt: %s",
	       strerror(errno));
	expect_view(SIGPROF, SIG_DFL, "after siginterrupt(SIGPROF, 0)");

	/* errors stay errors */
	errno = 0;
	expect(signal(SIGKILL, count_handler) == SIG_ERR && errno == EINVAL,
	       "signal(SIGKILL) must fail with EINVAL (errno %d)", errno);
	errno = 0;
	expect(signal(0, count_handler) == SIG_ERR && errno == EINVAL,
	       "signal(0) must fail with EINVAL");
	errno = 0;
	expect(sigaction(SIGSTOP, &act, NULL) < 0 && errno == EINVAL,
	       "sigaction(SIGSTOP) must fail with EINVAL");
	errno = 0;
	expect(sigaction(NSIG + 1, NULL, &now) < 0 && errno == EINVAL,
	       "sigaction(NSIG + 1) must fail with EINVAL");

	/* after all that: every terminating signal is the default again */
	for (int i = 0; i < n; i++)
		expect_view(sigs[i], SIG_DFL, "at the end");
	expect_pidfile("view: at the end");
	printf("view: ok\n");
}

/* ---- siginfo: SA_SIGINFO data and sa_mask ------------------------------ */

static void mode_siginfo(void)
{
	struct sigaction act, old, now;
	union sigval value = { .sival_int = 4242 };

	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, SIGUSR2);
	expect(sigaction(SIGUSR1, &act, &old) == 0, "sigaction: %s",
	       strerror(errno));
	expect_pristine_default(&old, SIGUSR1, "oldact");

	reset_seen();
	expect(sigqueue(getpid(), SIGUSR1, value) == 0, "sigqueue: %s",
	       strerror(errno));
	expect_hits(1, "sigqueue SIGUSR1");
	expect(seen_signo == SIGUSR1, "si_signo %d", (int)seen_signo);
	expect(seen_code == SI_QUEUE, "si_code %d, expected SI_QUEUE",
	       (int)seen_code);
	expect(seen_value == 4242, "si_value %d, expected 4242",
	       (int)seen_value);
	expect(seen_pid == getpid(), "si_pid %d", (int)seen_pid);
	expect(sigismember(&mask_inside, SIGUSR1) == 1,
	       "SIGUSR1 not blocked in its own handler (no SA_NODEFER)");
	expect(sigismember(&mask_inside, SIGUSR2) == 1,
	       "SIGUSR2 (in sa_mask) not blocked in the handler");
	expect(sigismember(&mask_inside, SIGHUP) == 0,
	       "SIGHUP blocked in the handler: not asked for");
	expect(!blocked_now(SIGUSR1) && !blocked_now(SIGUSR2),
	       "the mask was not restored after the handler");
	query(SIGUSR1, &now);
	expect(now.sa_sigaction == info_handler && (now.sa_flags & SA_SIGINFO),
	       "query: the SA_SIGINFO handler is not reported");
	printf("siginfo: sigqueue value and mask ok\n");

	/* a terminating signal with a SA_SIGINFO handler: handled, alive */
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&act.sa_mask);
	expect(sigaction(SIGTERM, &act, &old) == 0, "sigaction: %s",
	       strerror(errno));
	expect_pristine_default(&old, SIGTERM, "SIGTERM oldact");
	reset_seen();
	expect(kill(getpid(), SIGTERM) == 0, "kill: %s", strerror(errno));
	expect_hits(1, "kill SIGTERM");
	expect(seen_signo == SIGTERM && seen_code == SI_USER &&
		       seen_pid == getpid(),
	       "SIGTERM siginfo: signo %d code %d pid %d", (int)seen_signo,
	       (int)seen_code, (int)seen_pid);

	/* queued real-time signals: each one, with its own value, in order */
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = info_handler;
	act.sa_flags = SA_SIGINFO;
	sigemptyset(&act.sa_mask);
	expect(sigaction(SIGRTMIN + 1, &act, NULL) == 0, "sigaction: %s",
	       strerror(errno));
	reset_seen();
	for (int i = 1; i <= 3; i++) {
		value.sival_int = i;
		expect(sigqueue(getpid(), SIGRTMIN + 1, value) == 0,
		       "sigqueue: %s", strerror(errno));
		expect_hits(i, "sigqueue SIGRTMIN+1");
		expect(seen_value == i, "real-time value %d, expected %d",
		       (int)seen_value, i);
	}
	expect_pidfile("siginfo: at the end");
	printf("siginfo: ok\n");
}

/* ---- masks: SA_NODEFER and sa_mask inside the handler ------------------ */

/* SA_ONSTACK: the handler runs on the alternate stack, and only then. */
static void check_onstack(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction old, now;

	expect(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));
	set_action(SIGUSR2, altstack_handler, SA_ONSTACK, 0, &old);
	query(SIGUSR2, &now);
	expect(now.sa_flags & SA_ONSTACK, "SA_ONSTACK not reported");
	reset_seen();
	on_altstack = 0;
	deliver(SIGUSR2);
	expect_hits(1, "SA_ONSTACK handler");
	expect(on_altstack, "SA_ONSTACK: the handler did not run on the "
			    "alternate stack");
	set_action(SIGUSR2, altstack_handler, 0, 0, &old);
	reset_seen();
	on_altstack = 1;
	deliver(SIGUSR2);
	expect_hits(1, "handler without SA_ONSTACK");
	expect(!on_altstack, "without SA_ONSTACK the handler ran on the "
			     "alternate stack");
}

static void mode_masks(void)
{
	struct sigaction old;

	/* without SA_NODEFER: the signal itself is blocked inside */
	set_action(SIGUSR1, count_handler, 0, SIGUSR2, &old);
	reset_seen();
	deliver(SIGUSR1);
	expect_hits(1, "plain sigaction");
	expect(sigismember(&mask_inside, SIGUSR1) == 1,
	       "without SA_NODEFER the signal must be blocked in its handler");
	expect(sigismember(&mask_inside, SIGUSR2) == 1,
	       "sa_mask's SIGUSR2 not blocked in the handler");
	expect(sigismember(&mask_inside, SIGINT) == 0,
	       "SIGINT blocked without being asked for");

	/* SA_NODEFER: not blocked inside; sa_mask still applies */
	set_action(SIGUSR1, count_handler, SA_NODEFER, SIGINT, &old);
	expect(old.sa_handler == count_handler && !(old.sa_flags & SA_NODEFER),
	       "oldact: %s flags %#x", handler_name(old.sa_handler),
	       (unsigned)old.sa_flags);
	reset_seen();
	deliver(SIGUSR1);
	expect_hits(1, "SA_NODEFER");
	expect(sigismember(&mask_inside, SIGUSR1) == 0,
	       "with SA_NODEFER the signal must not be blocked in its handler");
	expect(sigismember(&mask_inside, SIGINT) == 1 || under_valgrind(),
	       "sa_mask's SIGINT not blocked in the SA_NODEFER handler");
	expect(sigismember(&mask_inside, SIGUSR2) == 0,
	       "SIGUSR2 still blocked: the old mask was kept");

	/* a terminating signal, sa_mask of a real-time one */
	set_action(SIGTERM, count_handler, SA_RESTART, SIGRTMIN + 2, &old);
	expect_pristine_default(&old, SIGTERM, "SIGTERM oldact");
	reset_seen();
	deliver(SIGTERM);
	expect_hits(1, "SIGTERM handler");
	expect(sigismember(&mask_inside, SIGTERM) == 1 &&
		       sigismember(&mask_inside, SIGRTMIN + 2) == 1,
	       "SIGTERM handler: its mask is not the one asked for");

	/* signal(): BSD, blocked inside; sysv_signal(): not blocked */
	expect(signal(SIGINT, count_handler) == SIG_DFL, "signal(SIGINT)");
	reset_seen();
	deliver(SIGINT);
	expect_hits(1, "signal() handler");
	expect(sigismember(&mask_inside, SIGINT) == 1,
	       "signal(): the signal must be blocked in its handler");
	expect(sysv_signal(SIGHUP, count_handler) == SIG_DFL,
	       "sysv_signal(SIGHUP)");
	reset_seen();
	deliver(SIGHUP);
	expect_hits(1, "sysv_signal() handler");
	expect(sigismember(&mask_inside, SIGHUP) == 0,
	       "sysv_signal(): the signal must not be blocked in its handler");
	expect_view(SIGHUP, SIG_DFL, "after the sysv_signal() handler ran");

	check_onstack();

	expect(!blocked_now(SIGUSR1) && !blocked_now(SIGUSR2) &&
		       !blocked_now(SIGINT) && !blocked_now(SIGTERM),
	       "signals left blocked after the handlers");
	expect_pidfile("masks: at the end");
	printf("masks: ok\n");
}

/* ---- oneshot: SA_RESETHAND, sysv_signal -------------------------------- */

static void mode_oneshot(const char *kind, int signo)
{
	struct sigaction act, now;
	sighandler_t prev;

	if (strcmp(kind, "sigaction") == 0 ||
	    strcmp(kind, "sigaction-siginfo") == 0) {
		bool info = strcmp(kind, "sigaction-siginfo") == 0;

		memset(&act, 0, sizeof(act));
		if (info)
			act.sa_sigaction = query_info_handler;
		else
			act.sa_handler = query_handler;
		act.sa_flags = SA_RESETHAND | (info ? SA_SIGINFO : 0);
		sigemptyset(&act.sa_mask);
		expect(sigaction(signo, &act, &now) == 0, "sigaction: %s",
		       strerror(errno));
		expect_pristine_default(&now, signo, "oldact");
		query(signo, &now);
		expect(now.sa_flags & SA_RESETHAND,
		       "query: SA_RESETHAND not reported");
	} else if (strcmp(kind, "sysv_signal") == 0) {
		prev = sysv_signal(signo, query_handler);
		expect(prev == SIG_DFL, "sysv_signal returned %s",
		       handler_name(prev));
	} else if (strcmp(kind, "__sysv_signal") == 0) {
		prev = __sysv_signal(signo, query_handler);
		expect(prev == SIG_DFL, "__sysv_signal returned %s",
		       handler_name(prev));
	} else {
		fprintf(stderr, "sig-helper: unknown one-shot kind %s\n", kind);
		exit(2);
	}

	reset_seen();
	deliver(signo);
	expect_hits(1, "first delivery");
	expect(dfl_inside, "%s: inside the one-shot handler the program must "
			   "already see SIG_DFL",
	       kind);
	if (strcmp(kind, "sigaction-siginfo") == 0)
		expect(info_ok, "the one-shot SA_SIGINFO handler got no or "
				"wrong siginfo");
	expect_view(signo, SIG_DFL, "after the one-shot handler");
	expect_pidfile("after the one-shot handler");
	printf("first delivery handled (%s, %s)\n", kind, strsignal(signo));
	fflush(stdout);

	/* the default again: this one ends us, by this signal */
	deliver(signo);
	for (int i = 0; i < 200; i++)
		pause_ms(10);
	fprintf(stderr, "sig-helper: still alive after the second %s\n",
		strsignal(signo));
	exit(1);
}

/* ---- bsd: signal() and bsd_signal() handlers stay ------------------- */

static void persistent(const char *name, installer_fn install, int signo)
{
	struct sigaction now;
	sighandler_t prev;

	prev = install(signo, count_handler);
	expect(prev == SIG_DFL, "%s returned %s", name, handler_name(prev));
	query(signo, &now);
	expect(now.sa_handler == count_handler, "%s: query shows %s", name,
	       handler_name(now.sa_handler));
	expect((now.sa_flags & SA_RESTART) &&
		       !(now.sa_flags & (SA_RESETHAND | SA_NODEFER)),
	       "%s: BSD semantics need SA_RESTART, no SA_RESETHAND, no "
	       "SA_NODEFER; flags %#x",
	       name, (unsigned)now.sa_flags);
	expect(sigismember(&now.sa_mask, signo) == 1,
	       "%s: glibc's mask holds the signal itself", name);
	reset_seen();
	deliver(signo);
	expect_hits(1, name);
	expect(sigismember(&mask_inside, signo) == 1,
	       "%s: the signal must be blocked in its handler", name);
	kill(getpid(), signo);
	expect_hits(2, name);
	expect_view(signo, count_handler, "after two deliveries");
	prev = install(signo, SIG_DFL);
	expect(prev == count_handler, "%s(SIG_DFL) returned %s", name,
	       handler_name(prev));
	printf("bsd: %s on %s stays installed\n", name, strsignal(signo));
}

static void mode_bsd(void)
{
	persistent("signal", signal, SIGUSR1);
	persistent("signal", signal, SIGTERM);
	persistent("bsd_signal", bsd_signal, SIGUSR2);
	persistent("bsd_signal", bsd_signal, SIGHUP);
	persistent("signal", signal,
		   under_valgrind() ? SIGRTMAX - 1 : SIGRTMAX);
	expect_pidfile("bsd: at the end");
	printf("bsd: ok\n");
}

/* ---- sigset, SIG_HOLD ---------------------------------------------------- */

static void mode_sigset(void)
{
	sighandler_t prev;
	sigset_t pending;

	prev = sigset(SIGUSR1, count_handler);
	expect(prev == SIG_DFL, "sigset returned %s", handler_name(prev));
	expect_view(SIGUSR1, count_handler, "after sigset");

	prev = sigset(SIGUSR1, SIG_HOLD);
	expect(prev == count_handler,
	       "sigset(SIG_HOLD) on an unblocked signal returned %s, expected "
	       "the handler",
	       handler_name(prev));
	expect(blocked_now(SIGUSR1), "SIG_HOLD did not block SIGUSR1");
	prev = sigset(SIGUSR1, SIG_HOLD);
	expect(prev == SIG_HOLD, "sigset(SIG_HOLD) twice returned %s",
	       handler_name(prev));
	reset_seen();
	deliver(SIGUSR1);
	expect(hits == 0, "a held signal reached its handler");
	sigpending(&pending);
	expect(sigismember(&pending, SIGUSR1) == 1, "SIGUSR1 is not pending");
	prev = sigset(SIGUSR1, count_handler);
	expect(prev == SIG_HOLD, "sigset on a held signal returned %s",
	       handler_name(prev));
	expect_hits(1, "released SIGUSR1");
	expect(!blocked_now(SIGUSR1), "sigset(handler) did not unblock");

	/* holding a terminating signal at its default: it waits, harmless */
	prev = sigset(SIGTERM, SIG_HOLD);
	expect(prev == SIG_DFL, "sigset(SIGTERM, SIG_HOLD) returned %s",
	       handler_name(prev));
	kill(getpid(), SIGTERM);
	pause_ms(20);
	sigpending(&pending);
	expect(sigismember(&pending, SIGTERM) == 1, "SIGTERM is not pending");
	expect_pidfile("with SIGTERM held and pending");
	prev = sigset(SIGTERM, SIG_IGN);
	expect(prev == SIG_HOLD, "sigset(SIGTERM, SIG_IGN) returned %s",
	       handler_name(prev));
	sigpending(&pending);
	expect(sigismember(&pending, SIGTERM) == 0,
	       "an ignored SIGTERM is still pending");
	expect(kernel_ignores(SIGTERM), "sigset(SIG_IGN): the kernel does not "
					"ignore SIGTERM");
	prev = sigset(SIGTERM, SIG_DFL);
	expect(prev == SIG_IGN, "sigset(SIGTERM, SIG_DFL) returned %s",
	       handler_name(prev));
	expect(!kernel_ignores(SIGTERM), "SIGTERM still ignored by the kernel");

	expect_pidfile("sigset: at the end");
	printf("sigset: ok\n");
}

/* ---- ignore: SIG_IGN reaches the kernel and an exec'd child ----------- */

static const int ignored_set[] = { SIGUSR1, SIGTERM, SIGINT,
				   SIGHUP,  SIGALRM, SIGUSR2 };

static void mode_ignore(const char *self)
{
	struct sigaction old;
	sighandler_t prev;
	pid_t child;
	int status;

	expect(sigignore(SIGUSR1) == 0, "sigignore: %s", strerror(errno));
	prev = signal(SIGTERM, SIG_IGN);
	expect(prev == SIG_DFL, "signal(SIG_IGN) returned %s",
	       handler_name(prev));
	set_action(SIGINT, SIG_IGN, 0, 0, &old);
	expect_pristine_default(&old, SIGINT, "sigaction(SIG_IGN) oldact");
	prev = bsd_signal(SIGHUP, SIG_IGN);
	expect(prev == SIG_DFL, "bsd_signal(SIG_IGN) returned %s",
	       handler_name(prev));
	prev = sysv_signal(SIGALRM, SIG_IGN);
	expect(prev == SIG_DFL, "sysv_signal(SIG_IGN) returned %s",
	       handler_name(prev));
	prev = sigset(SIGUSR2, SIG_IGN);
	expect(prev == SIG_DFL, "sigset(SIG_IGN) returned %s",
	       handler_name(prev));

	for (size_t i = 0; i < sizeof(ignored_set) / sizeof(ignored_set[0]);
	     i++) {
		int signo = ignored_set[i];

		expect_view(signo, SIG_IGN, "after ignoring");
		expect(kernel_ignores(signo),
		       "%s: the program ignores it, the kernel does not",
		       strsignal(signo));
		deliver(signo);
		kill(getpid(), signo);
	}
	pause_ms(20);
	expect_pidfile("after ignored signals");
	printf("ignore: ignored signals delivered, still running\n");

	/* one-shot SIG_IGN (sysv_signal) stays an ignore after deliveries */
	expect_view(SIGALRM, SIG_IGN, "after SIGALRM deliveries");

	fflush(stdout);
	child = fork();
	expect(child >= 0, "fork: %s", strerror(errno));
	if (child == 0) {
		execl(self, "sig-helper", "inherited-ignore", pidfile,
		      (char *)NULL);
		_exit(127);
	}
	expect(waitpid(child, &status, 0) == child, "waitpid: %s",
	       strerror(errno));
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the exec'd child did not see the ignores (status %#x)", status);
	expect_pidfile("ignore: at the end");
	printf("ignore: ok\n");
}

/* The exec'd child of mode "ignore": a descendant, the file is not ours. */
static void mode_inherited_ignore(void)
{
	for (size_t i = 0; i < sizeof(ignored_set) / sizeof(ignored_set[0]);
	     i++) {
		int signo = ignored_set[i];

		expect(kernel_ignores(signo), "exec'd child: %s not ignored",
		       strsignal(signo));
		expect_view(signo, SIG_IGN, "exec'd child");
		deliver(signo);
	}
	expect(pidfile_names(getppid()),
	       "exec'd child: the PID file does not name the parent");
	printf("inherited-ignore: ok\n");
}

/* ---- siginterrupt: SA_RESTART, reported and in effect ----------------- */

struct kicker {
	pthread_t target;
	pid_t tid;
	int signo;
};

static bool blocked_in_read(pid_t tid)
{
	char path[64], buf[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return buf[0] >= '0' && buf[0] <= '9' && atol(buf) == SYS_read;
}

static void *kick(void *arg)
{
	const struct kicker *k = arg;

	/* Signal only once the target sleeps in read(): then the read is
	 * either restarted or fails with EINTR, nothing in between. */
	for (int i = 0; i < 10000 && !blocked_in_read(k->tid); i++)
		pause_ms(1);
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

	expect(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	wake_fd = fds[1];
	expect(pthread_create(&thread, NULL, kick, &k) == 0, "pthread_create");
	n = read(fds[0], &c, 1);
	*err = errno;
	pthread_join(thread, NULL);
	wake_fd = -1;
	close(fds[0]);
	close(fds[1]);
	return n;
}

static int flags_of(int signo)
{
	struct sigaction now;

	query(signo, &now);
	return now.sa_flags;
}

static void mode_siginterrupt(void)
{
	ssize_t n;
	int err;

	expect(signal(SIGUSR1, write_handler) == SIG_DFL, "signal(SIGUSR1)");
	expect(flags_of(SIGUSR1) & SA_RESTART, "signal() without SA_RESTART");
	expect(siginterrupt(SIGUSR1, 1) == 0, "siginterrupt: %s",
	       strerror(errno));
	expect(!(flags_of(SIGUSR1) & SA_RESTART),
	       "siginterrupt(sig, 1) must clear SA_RESTART (flags %#x)",
	       (unsigned)flags_of(SIGUSR1));
	expect_view(SIGUSR1, write_handler, "after siginterrupt(1)");
	reset_seen();
	n = interrupted_read(SIGUSR1, &err);
	expect(hits == 1, "the handler did not run during read()");
	expect(n < 0 && err == EINTR,
	       "siginterrupt(sig, 1): read() returned %zd (%s), expected EINTR",
	       n, n < 0 ? strerror(err) : "data");
	printf("siginterrupt: 1 clears SA_RESTART, read() fails with EINTR\n");

	expect(siginterrupt(SIGUSR1, 0) == 0, "siginterrupt: %s",
	       strerror(errno));
	expect(flags_of(SIGUSR1) & SA_RESTART,
	       "siginterrupt(sig, 0) must set SA_RESTART (flags %#x)",
	       (unsigned)flags_of(SIGUSR1));
	reset_seen();
	n = interrupted_read(SIGUSR1, &err);
	expect(hits == 1, "the handler did not run during read()");
	expect(n == 1, "siginterrupt(sig, 0): read() returned %zd (%s), "
		       "expected the restarted read's byte",
	       n, n < 0 ? strerror(err) : "");
	printf("siginterrupt: 0 sets SA_RESTART, read() restarts\n");

	/* glibc's signal() remembers siginterrupt() for that signal */
	expect(siginterrupt(SIGTERM, 1) == 0, "siginterrupt: %s",
	       strerror(errno));
	expect(signal(SIGTERM, write_handler) == SIG_DFL, "signal(SIGTERM)");
	expect(!(flags_of(SIGTERM) & SA_RESTART),
	       "signal() after siginterrupt(sig, 1) must not set SA_RESTART");
	reset_seen();
	n = interrupted_read(SIGTERM, &err);
	expect(n < 0 && err == EINTR,
	       "SIGTERM: read() returned %zd, expected EINTR", n);
	expect(!file_missing, "the PID file did not name us in the handler");
	expect_pidfile("siginterrupt: at the end");
	printf("siginterrupt: ok\n");
}

/* ---- term-handler: handle SIGTERM, run on a moment, exit STATUS ------- */

static void mode_term_handler(int status)
{
	struct sigaction old;

	set_action(SIGTERM, count_handler, SA_RESTART, 0, &old);
	expect_pristine_default(&old, SIGTERM, "oldact");
	reset_seen();
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 120 * 100 && hits == 0; i++)
		pause_ms(10);
	expect(hits == 1, "no SIGTERM came (%d)", (int)hits);
	expect(!file_missing, "the PID file did not name us in the handler");
	printf("handled\n");
	fflush(stdout);
	for (int i = 0; i < 30; i++) {
		expect_pidfile("running on after SIGTERM");
		pause_ms(10);
	}
	printf("exiting %d\n", status);
	exit(status);
}

/* ---- fork-sysv: a SysV-style handler re-installing itself, and forks --- */

static void sysv_reinstalling_handler(int signo)
{
	signal(signo, sysv_reinstalling_handler);
	hits++;
}

/* Old forking servers: the handler calls signal() while the main line
 * forks; a signal landing inside fork's preparation must not hang it. */
static void mode_fork_sysv(int rounds)
{
	struct itimerval every = { { 0, 100 }, { 0, 100 } };

	signal(SIGALRM, sysv_reinstalling_handler);
	expect(setitimer(ITIMER_REAL, &every, NULL) == 0, "setitimer: %m");
	for (int i = 0; i < rounds; i++) {
		pid_t pid = fork();
		int status;

		expect(pid >= 0, "fork: %m");
		if (pid == 0)
			_exit(0);
		while (waitpid(pid, &status, 0) < 0)
			expect(errno == EINTR, "waitpid: %m");
	}
	memset(&every, 0, sizeof(every));
	setitimer(ITIMER_REAL, &every, NULL);
	printf("forked %d, %d signals\n", rounds, (int)hits);
	exit(0);
}

/* ---- siginfo-default: SIG_DFL or SIG_IGN installed with SA_SIGINFO ---- */

static void ignoring_info_handler(int signo, siginfo_t *info, void *ucontext)
{
	(void)signo;
	(void)info;
	(void)ucontext;
}

/* SHAPE: "dfl-kept" (a SA_SIGINFO handler, then SIG_DFL with the flags
 * kept), "resethand-dfl" or "resethand-ign" (SA_SIGINFO|SA_RESETHAND
 * with SIG_DFL or SIG_IGN). Then it waits for SIGTERM. */
static void mode_siginfo_default(const char *shape)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	sigemptyset(&act.sa_mask);
	act.sa_flags = SA_SIGINFO;
	if (strcmp(shape, "dfl-kept") == 0) {
		act.sa_sigaction = ignoring_info_handler;
		expect(sigaction(SIGTERM, &act, NULL) == 0, "sigaction: %m");
		act.sa_handler = SIG_DFL;
	} else if (strcmp(shape, "resethand-dfl") == 0) {
		act.sa_flags |= SA_RESETHAND;
		act.sa_handler = SIG_DFL;
	} else if (strcmp(shape, "resethand-ign") == 0) {
		act.sa_flags |= SA_RESETHAND;
		act.sa_handler = SIG_IGN;
	} else {
		fprintf(stderr, "sig-helper: unknown shape %s\n", shape);
		exit(2);
	}
	expect(sigaction(SIGTERM, &act, NULL) == 0, "sigaction: %m");
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 120 * 200; i++)
		pause_ms(5);
	exit(0);
}

/* ---- survive: a handler that does not end the program --------------- */

static void mode_survive(void)
{
	struct sigaction old;
	int reported = 0;

	set_action(SIGTERM, count_handler, SA_RESTART, 0, &old);
	expect_pristine_default(&old, SIGTERM, "oldact");
	reset_seen();
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 120 * 200; i++) {
		if (hits != reported) {
			reported = hits;
			expect(!file_missing,
			       "the PID file did not name us in the handler");
			expect_pidfile("after a handled SIGTERM");
			printf("handled %d\n", reported);
			fflush(stdout);
		}
		pause_ms(5);
	}
	fprintf(stderr, "sig-helper: nobody ended us\n");
	exit(1);
}

int main(int argc, char **argv)
{
	/* One-shot cases end by signals that dump core: not here. */
	struct rlimit no_core = { 0, 0 };
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: sig-helper MODE PIDFILE [ARG...]\n");
		return 2;
	}
	mode = argv[1];
	pidfile = argv[2];
	setrlimit(RLIMIT_CORE, &no_core);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(mode, "inherited-ignore") == 0) {
		mode_inherited_ignore();
		return 0;
	}
	expect_pidfile("at start (is the shim loaded?)");
	if (strcmp(mode, "view") == 0)
		mode_view();
	else if (strcmp(mode, "siginfo") == 0)
		mode_siginfo();
	else if (strcmp(mode, "masks") == 0)
		mode_masks();
	else if (strcmp(mode, "oneshot") == 0 && argc == 5)
		mode_oneshot(argv[3], atoi(argv[4]));
	else if (strcmp(mode, "bsd") == 0)
		mode_bsd();
	else if (strcmp(mode, "sigset") == 0)
		mode_sigset();
	else if (strcmp(mode, "ignore") == 0)
		mode_ignore(argv[0]);
	else if (strcmp(mode, "siginterrupt") == 0)
		mode_siginterrupt();
	else if (strcmp(mode, "term-handler") == 0 && argc == 4)
		mode_term_handler(atoi(argv[3]));
	else if (strcmp(mode, "survive") == 0)
		mode_survive();
	else if (strcmp(mode, "fork-sysv") == 0 && argc == 4)
		mode_fork_sysv(atoi(argv[3]));
	else if (strcmp(mode, "siginfo-default") == 0 && argc == 4)
		mode_siginfo_default(argv[3]);
	else {
		fprintf(stderr, "sig-helper: unknown mode %s\n", mode);
		return 2;
	}
	return 0;
}

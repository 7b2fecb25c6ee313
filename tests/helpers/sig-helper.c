/* SPDX-License-Identifier: MIT */
/*
 * Run under the shim by test-shim-signals: programs whose *ending* the
 * test sees from outside (a signal, a chosen status, the PID file gone
 * after them). What a program sees of its own signals is checked in
 * process, by test-shim-signals-in-process.
 *
 *     sig-helper MODE PIDFILE [ARG...]
 *
 * A mode exits 1 with a message when something only it can see went wrong
 * (the PID file not naming it inside its handler), 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* glibc exports it; its headers declare it only in some modes. */
sighandler_t __sysv_signal(int signo, sighandler_t handler);

static const char *pidfile;

/* What the handlers saw: written in the handler, read after. */
static volatile sig_atomic_t hits;
static volatile sig_atomic_t file_missing; /* the PID file did not name us */

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

static const char *handler_name(sighandler_t handler)
{
	static char text[4][32];
	static int next;
	char *t = text[next++ % 4];

	if (handler == SIG_DFL)
		return "SIG_DFL";
	if (handler == SIG_IGN)
		return "SIG_IGN";
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

static void count_handler(int signo)
{
	(void)signo;
	if (!pidfile_names(getpid()))
		file_missing = 1;
	hits++;
}

static void count_info_handler(int signo, siginfo_t *info, void *uc)
{
	(void)info;
	(void)uc;
	count_handler(signo);
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
}

static void pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static void expect_pidfile(const char *when)
{
	expect(pidfile_names(getpid()), "%s: the PID file %s does not name %d",
	       when, pidfile, (int)getpid());
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
	expect(!(sa->sa_flags &
		 (SA_ONSTACK | SA_RESTART | SA_RESETHAND | SA_NODEFER)),
	       "%s: signal %d (%s): SIG_DFL with flags %#x", when, signo,
	       strsignal(signo), (unsigned)sa->sa_flags);
	expect(sigisemptyset(&sa->sa_mask),
	       "%s: signal %d (%s): non-empty mask", when, signo,
	       strsignal(signo));
}

static void expect_view(int signo, sighandler_t want, const char *when)
{
	struct sigaction now;

	expect(sigaction(signo, NULL, &now) == 0, "sigaction(%d, NULL): %s",
	       signo, strerror(errno));
	expect(
	    !(now.sa_flags & SA_SIGINFO) && now.sa_handler == want,
	    "%s: signal %d (%s): the program sees %s (flags %#x), expected %s",
	    when, signo, strsignal(signo), handler_name(now.sa_handler),
	    (unsigned)now.sa_flags, handler_name(want));
}

static void set_action(int signo, void (*handler)(int), int flags,
		       struct sigaction *old)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
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

/* ---- oneshot: SA_RESETHAND, sysv_signal -------------------------------- */

/* The first delivery is handled, the second ends us by that signal. What
 * the program sees in between: test-shim-signals-in-process, oneshot_view. */
static void mode_oneshot(const char *kind, int signo)
{
	struct sigaction act;

	if (strcmp(kind, "sigaction") == 0 ||
	    strcmp(kind, "sigaction-siginfo") == 0) {
		bool info = strcmp(kind, "sigaction-siginfo") == 0;

		memset(&act, 0, sizeof(act));
		if (info)
			act.sa_sigaction = count_info_handler;
		else
			act.sa_handler = count_handler;
		act.sa_flags = SA_RESETHAND | (info ? SA_SIGINFO : 0);
		sigemptyset(&act.sa_mask);
		expect(sigaction(signo, &act, NULL) == 0, "sigaction: %s",
		       strerror(errno));
	} else if (strcmp(kind, "sysv_signal") == 0) {
		expect(sysv_signal(signo, count_handler) != SIG_ERR,
		       "sysv_signal: %s", strerror(errno));
	} else if (strcmp(kind, "__sysv_signal") == 0) {
		expect(__sysv_signal(signo, count_handler) != SIG_ERR,
		       "__sysv_signal: %s", strerror(errno));
	} else {
		fprintf(stderr, "sig-helper: unknown one-shot kind %s\n", kind);
		exit(2);
	}

	reset_seen();
	deliver(signo);
	for (int i = 0; i < 5000 && hits < 1; i++)
		pause_ms(1);
	expect(hits == 1, "first delivery: the handler ran %d times",
	       (int)hits);
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

/* ---- inherited-ignore: the exec'd child of the in-process ignore_exec --- */

static const int ignored_set[] = { SIGUSR1, SIGTERM, SIGINT,
				   SIGHUP,  SIGALRM, SIGUSR2 };

/* A descendant of OWNER, whose PID file is not ours: it must still name
 * OWNER after our ignored signals. */
static void mode_inherited_ignore(pid_t owner)
{
	for (size_t i = 0; i < sizeof(ignored_set) / sizeof(ignored_set[0]);
	     i++) {
		int signo = ignored_set[i];

		expect(kernel_ignores(signo), "exec'd child: %s not ignored",
		       strsignal(signo));
		expect_view(signo, SIG_IGN, "exec'd child");
		deliver(signo);
	}
	expect(pidfile_names(owner),
	       "exec'd child: the PID file does not name the owner %d",
	       (int)owner);
	printf("inherited-ignore: ok\n");
}

/* ---- term-handler: handle SIGTERM, run on a moment, exit STATUS ------- */

static void mode_term_handler(int status)
{
	struct sigaction old;

	set_action(SIGTERM, count_handler, SA_RESTART, &old);
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
 * forks; a signal landing inside fork's preparation must not hang it.
 * ROUNDS forks, or as many as 20 s allow: a hang is inside one fork, so
 * the bound never hides it, and a slow runtime (sanitizers on a loaded
 * machine) still ends within the test's limit. */
static void mode_fork_sysv(int rounds)
{
	struct itimerval every = { { 0, 100 }, { 0, 100 } };
	time_t until = time(NULL) + 20;
	int done = 0;

	signal(SIGALRM, sysv_reinstalling_handler);
	expect(setitimer(ITIMER_REAL, &every, NULL) == 0, "setitimer: %m");
	for (; done < rounds && time(NULL) < until; done++) {
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
	printf("forked %d, %d signals\n", done, (int)hits);
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

	set_action(SIGTERM, count_handler, SA_RESTART, &old);
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

	if (strcmp(mode, "inherited-ignore") == 0 && argc == 4) {
		mode_inherited_ignore((pid_t)atoi(argv[3]));
		return 0;
	}
	expect_pidfile("at start (is the shim loaded?)");
	if (strcmp(mode, "oneshot") == 0 && argc == 5)
		mode_oneshot(argv[3], atoi(argv[4]));
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

/* SPDX-License-Identifier: MIT */
/*
 * libearly.so: a library whose constructor installs and queries signal
 * handlers before the shim's constructor has run (test-shim-signals
 * preloads it after the shim: the dynamic linker runs the constructors of
 * preloaded objects last-to-first). It writes what it saw, one
 * "name: value" line each, to the file named by EARLY_REPORT; the PID
 * file's absence on entry proves the order. It leaves behind what the
 * shim's constructor must take over from: SIGUSR1 handled, SIGUSR2
 * ignored, SIGINT handled once (SA_RESETHAND); its handler appends
 * "handled N" to the report.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int report_fd = -1;

static void early_handler(int signo)
{
	/* "handled NN\n", without stdio: this is a signal handler */
	char line[] = "handled NN\n";

	line[8] = (char)('0' + signo / 10);
	line[9] = (char)('0' + signo % 10);
	if (report_fd >= 0 && write(report_fd, line, sizeof(line) - 1) < 0) {
		/* the test sees the line missing */
	}
}

static const char *disposition(sighandler_t handler)
{
	if (handler == SIG_DFL)
		return "SIG_DFL";
	if (handler == SIG_IGN)
		return "SIG_IGN";
	if (handler == SIG_ERR)
		return "SIG_ERR";
	if (handler == early_handler)
		return "early_handler";
	return "other";
}

static const char *presence(const char *path)
{
	return access(path, F_OK) == 0 ? "present" : "absent";
}

static const char *old_action(int ret, const struct sigaction *old)
{
	if (ret != 0)
		return "failed";
	if (old->sa_flags & SA_SIGINFO)
		return "SA_SIGINFO handler";
	return disposition(old->sa_handler);
}

/* The report, gathered in memory: fopen is one of the calls the shim
 * interposes, and nothing but the signal calls may reach it first. */
static char text[1024];
static size_t text_len;

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text + text_len, sizeof(text) - text_len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(text) - text_len)
		text_len += (size_t)n;
}

__attribute__((constructor)) static void early_constructor(void)
{
	const char *report = getenv("EARLY_REPORT");
	const char *pidfile = getenv("PIDSHIM_PIDFILE");
	struct sigaction act, old;
	FILE *out;
	int ret;

	if (!report || !pidfile)
		return;
	note("pidfile-on-entry: %s\n", presence(pidfile));
	note("signal-set: %s\n", disposition(signal(SIGTERM, early_handler)));
	note("pidfile-after-calls: %s\n", presence(pidfile));
	note("signal-restore: %s\n", disposition(signal(SIGTERM, SIG_DFL)));

	memset(&act, 0, sizeof(act));
	sigemptyset(&act.sa_mask);
	ret = sigaction(SIGHUP, NULL, &old);
	note("sigaction-query: %s\n", old_action(ret, &old));
	act.sa_handler = early_handler;
	ret = sigaction(SIGHUP, &act, &old);
	note("sigaction-set: %s\n", old_action(ret, &old));
	act.sa_handler = SIG_DFL;
	ret = sigaction(SIGHUP, &act, &old);
	note("sigaction-restore: %s\n", old_action(ret, &old));

	/* left for the shim's constructor to find */
	note("leave-usr1: %s\n", disposition(signal(SIGUSR1, early_handler)));
	act.sa_handler = SIG_IGN;
	ret = sigaction(SIGUSR2, &act, &old);
	note("leave-usr2: %s\n", old_action(ret, &old));
	act.sa_handler = early_handler;
	act.sa_flags = SA_RESETHAND;
	ret = sigaction(SIGINT, &act, &old);
	note("leave-int: %s\n", old_action(ret, &old));

	out = fopen(report, "we");
	if (!out)
		return;
	fputs(text, out);
	fputs("end\n", out);
	fclose(out);
	report_fd = open(report, O_WRONLY | O_APPEND | O_CLOEXEC);
}

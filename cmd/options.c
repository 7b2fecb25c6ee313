/* SPDX-License-Identifier: MIT */
/*
 * Option values shared by the subcommands, each checked strictly before
 * anything runs: a bad one is a usage error (exit 64) naming the option
 * and what it accepts.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "seconds.h"

static __attribute__((format(printf, 2, 0))) void
vsay(const char *sub, const char *fmt, va_list ap)
{
	fprintf(stderr, "pidshim%s%s: ", sub ? " " : "", sub ? sub : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cmd_say(const char *sub, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(sub, fmt, ap);
	va_end(ap);
}

void cmd_usage_error(const char *sub, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(sub, fmt, ap);
	va_end(ap);
	exit(CMD_EXIT_USAGE);
}

void cmd_bad_option(const char *sub, char **argv, int got)
{
	/* optopt is 0 for an unknown long option: its text is in argv */
	if (got == ':')
		cmd_usage_error(sub, "%s: needs a value (see --help)",
				argv[optind - 1]);
	if (optopt)
		cmd_usage_error(sub, "-%c: unknown option (see --help)",
				optopt);
	cmd_usage_error(sub, "%s: unknown option (see --help)",
			argv[optind - 1]);
}

int cmd_seconds_ms(const char *sub, const char *option, const char *value)
{
	int ms = seconds_parse_ms(value);

	if (ms < 0)
		cmd_usage_error(sub,
				"%s %s: expected SECONDS (digits, optionally a "
				"fraction: 10, 0.5; at most 2147483)",
				option, value);
	return ms;
}

static bool parse_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Linux's signal names (glibc's sigabbrev_np came in 2.32: Debian 11 has
 * 2.31). Real-time signals go by number. */
static const char *const signal_names[] = {
	[SIGHUP] = "HUP",	[SIGINT] = "INT",	[SIGQUIT] = "QUIT",
	[SIGILL] = "ILL",	[SIGTRAP] = "TRAP",	[SIGABRT] = "ABRT",
	[SIGBUS] = "BUS",	[SIGFPE] = "FPE",	[SIGKILL] = "KILL",
	[SIGUSR1] = "USR1",	[SIGSEGV] = "SEGV",	[SIGUSR2] = "USR2",
	[SIGPIPE] = "PIPE",	[SIGALRM] = "ALRM",	[SIGTERM] = "TERM",
	[SIGSTKFLT] = "STKFLT", [SIGCHLD] = "CHLD",	[SIGCONT] = "CONT",
	[SIGSTOP] = "STOP",	[SIGTSTP] = "TSTP",	[SIGTTIN] = "TTIN",
	[SIGTTOU] = "TTOU",	[SIGURG] = "URG",	[SIGXCPU] = "XCPU",
	[SIGXFSZ] = "XFSZ",	[SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",
	[SIGWINCH] = "WINCH",	[SIGIO] = "IO",		[SIGPWR] = "PWR",
	[SIGSYS] = "SYS",
};

const char *cmd_signal_name(int sig)
{
	if (sig > 0 &&
	    (size_t)sig < sizeof(signal_names) / sizeof(*signal_names) &&
	    signal_names[sig])
		return signal_names[sig];
	return "a real-time signal";
}

int cmd_signal(const char *sub, const char *option, const char *value)
{
	const char *name = value;
	long number;

	if (parse_number(value, 1, NSIG - 1, &number))
		return (int)number;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t sig = 1; sig < sizeof(signal_names) / sizeof(*signal_names);
	     sig++)
		if (signal_names[sig] &&
		    strcasecmp(signal_names[sig], name) == 0)
			return (int)sig;
	cmd_usage_error(sub,
			"%s %s: expected a signal name or number (TERM, "
			"SIGKILL, 9)",
			option, value);
}

int cmd_exit_code(const char *sub, const char *option, const char *value)
{
	long code;

	if (!parse_number(value, 0, 255, &code))
		cmd_usage_error(sub, "%s %s: expected an exit status, 0-255",
				option, value);
	return (int)code;
}

const char *cmd_one_operand(const char *sub, int argc, char **argv,
			    const char *what)
{
	if (optind >= argc)
		cmd_usage_error(sub, "missing %s (see --help)", what);
	if (optind + 1 < argc)
		cmd_usage_error(sub, "%s: one %s only (see --help)",
				argv[optind + 1], what);
	if (!*argv[optind])
		cmd_usage_error(sub, "%s: must not be empty", what);
	return argv[optind];
}

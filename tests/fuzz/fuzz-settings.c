/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the shim's environment parser (libpidshim(7),
 * ENVIRONMENT), config_load over settings.c's validators and the
 * seconds and path-template parsers. Each input is an environment, one
 * NAME=VALUE a line. Every variable holding a value its page refuses must
 * end the start with status 78; otherwise the configuration read must be
 * what the values say. The accepted forms are written out here
 * independently of settings.c.
 *
 * Only the log is replaced (log.c would open PIDSHIM_LOG_FILE and write to
 * stderr): its messages are formatted, and shim_die returns here.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sanitizer/lsan_interface.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "seconds.h"
#include "settings.h"
#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;
#define MAX_VARS 256

/* ---- the log, replaced ------------------------------------------------- */

static jmp_buf died;
static int died_status;
static char message[8192];

void log_set_level(enum shim_log_level level)
{
	(void)level;
}

void log_start(const char *file)
{
	(void)file;
}

void shim_log(enum shim_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
}

void shim_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	died_status = status;
	longjmp(died, 1);
}

/* ---- the accepted forms, written out ----------------------------------- */

static bool all_in(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* "N" or "N.F" in milliseconds, rounded at the fourth decimal; -1 when
 * refused (or above INT_MAX milliseconds). */
static long long seconds_ms(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t int_len = dot ? (size_t)(dot - s) : strlen(s);
	long long ms = 0;

	if (int_len == 0 || strspn(s, "0123456789") != int_len)
		return -1;
	if (dot && !all_in(dot + 1, "0123456789"))
		return -1;
	for (size_t i = 0; i < int_len; i++) {
		ms = ms * 10 + (s[i] - '0') * 1000LL;
		if (ms > INT_MAX)
			return -1;
	}
	if (dot) {
		const char *f = dot + 1;
		size_t n = strlen(f);

		ms += (f[0] - '0') * 100LL;
		ms += n > 1 ? (f[1] - '0') * 10LL : 0;
		ms += n > 2 ? (f[2] - '0') : 0;
		ms += n > 3 && f[3] >= '5';
	}
	return ms > INT_MAX ? -1 : ms;
}

/* A decimal or octal number made of DIGITS only, at most MAX; -1 if not */
static long number(const char *s, const char *digits, int base, long max)
{
	long v = 0;

	if (!all_in(s, digits))
		return -1;
	for (; *s; s++) {
		v = v * base + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

static bool one_of(const char *value, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(value, *words) == 0)
			return true;
	return false;
}

static bool valid(const char *name, const char *v)
{
	static const char *const scopes[] = { "open", "process", NULL };
	static const char *const modes[] = { "exclusive", "shared-read", NULL };
	static const char *const styles[] = { "pidshim", "dotlock", "uucp",
					      "suffix", NULL };
	static const char *const children[] = { "tree", "none", NULL };
	static const char *const daemons[] = { "off", "follow", NULL };
	static const char *const levels[] = { "quiet", "warn", "debug", NULL };

	if (strcmp(name, "PIDSHIM_ON_CONFLICT") == 0)
		return strcmp(v, "exit") == 0 || strcmp(v, "wait") == 0 ||
		       (strncmp(v, "wait:", 5) == 0 && seconds_ms(v + 5) >= 0);
	if (strcmp(name, "PIDSHIM_EXIT_CODE") == 0)
		return number(v, "0123456789", 10, 255) >= 1;
	if (strcmp(name, "PIDSHIM_GUARD") == 0) {
		for (const char *p = v; *p; p++)
			if ((p == v || p[-1] == ':') && *p != ':' && *p != '/')
				return false;
		return true;
	}
	if (strcmp(name, "PIDSHIM_GUARD_WAIT") == 0)
		return strcmp(v, "block") == 0 || strcmp(v, "fail") == 0 ||
		       seconds_ms(v) >= 0;
	if (strcmp(name, "PIDSHIM_GUARD_SCOPE") == 0)
		return one_of(v, scopes);
	if (strcmp(name, "PIDSHIM_GUARD_MODE") == 0)
		return one_of(v, modes);
	if (strcmp(name, "PIDSHIM_LOCK_STYLE") == 0)
		return one_of(v, styles);
	if (strcmp(name, "PIDSHIM_LOCK_DIR") == 0)
		return v[0] == '/' && strlen(v) < PATH_MAX;
	if (strcmp(name, "PIDSHIM_CHILDREN") == 0)
		return one_of(v, children);
	if (strcmp(name, "PIDSHIM_DAEMON") == 0)
		return one_of(v, daemons);
	if (strcmp(name, "PIDSHIM_MODE") == 0)
		return number(v, "01234567", 8, 0777) >= 0;
	if (strcmp(name, "PIDSHIM_LOG") == 0)
		return one_of(v, levels);
	if (strcmp(name, "PIDSHIM_LOG_FILE") == 0)
		return *v && strlen(v) < PATH_MAX;
	if (strcmp(name, "PIDSHIM_PIDFILE") == 0) {
		char out[PATH_MAX];
		int n;

		if (!*v || strcmp(v, "none") == 0)
			return true;
		n = pidlock_path_expand(v, out, sizeof(out));
		return n > 0 && out[n - 1] != '/';
	}
	return true; /* unknown: a warning only */
}

/* ---- the check ----------------------------------------------------------- */

static const char *value_of(const char *name)
{
	return getenv(name);
}

/* PIDSHIM_GUARD's non-empty ':'-separated parts, in order, as read. */
static void check_guards(void)
{
	const char *v = value_of("PIDSHIM_GUARD");
	size_t i = 0;

	if (!v || !*v) {
		if (shim_config.guard_count != 0)
			abort();
		return;
	}
	for (const char *p = v; *p;) {
		size_t len = strcspn(p, ":");

		if (len > 0) {
			if (i >= shim_config.guard_count ||
			    strlen(shim_config.guards[i]) != len ||
			    memcmp(shim_config.guards[i], p, len) != 0)
				abort();
			i++;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	if (i != shim_config.guard_count || shim_config.guards[i] != NULL)
		abort();
}

/* What the configuration read must be, the start having succeeded. */
static void check_config(void)
{
	const char *v;

	v = value_of("PIDSHIM_EXIT_CODE");
	if (shim_config.conflict_exit_code !=
	    (v ? number(v, "0123456789", 10, 255) : 75))
		abort();
	v = value_of("PIDSHIM_MODE");
	if ((long)shim_config.mode !=
	    (v ? number(v, "01234567", 8, 0777) : 0644))
		abort();
	v = value_of("PIDSHIM_ON_CONFLICT");
	if ((shim_config.on_conflict == SHIM_CONFLICT_WAIT) !=
	    (v && strncmp(v, "wait", 4) == 0))
		abort();
	if (shim_config.conflict_timeout_ms !=
	    (v && strncmp(v, "wait:", 5) == 0 ? seconds_ms(v + 5) : -1))
		abort();
	v = value_of("PIDSHIM_GUARD_WAIT");
	if (v && strcmp(v, "block") != 0 && strcmp(v, "fail") != 0 &&
	    (shim_config.guard_wait != SHIM_GUARD_WAIT_TIMEOUT ||
	     shim_config.guard_timeout_ms != seconds_ms(v)))
		abort();
	/* the seconds, against the C library's reading of them */
	if (v && shim_config.guard_wait == SHIM_GUARD_WAIT_TIMEOUT &&
	    fabsl(strtold(v, NULL) * 1000 - shim_config.guard_timeout_ms) > 1)
		abort();
	v = value_of("PIDSHIM_LOCK_DIR");
	if (strcmp(shim_config.lock_dir,
		   v ? v
		   : shim_config.lock_style == SHIM_LOCK_STYLE_UUCP
		       ? "/var/lock"
		       : "") != 0)
		abort();
	check_guards();
	/* the PID file is named by its absolute path, the program may chdir */
	if (shim_config.pidfile_enabled && shim_config.pidfile[0] != '/')
		abort();
	if (strlen(shim_config.pidfile) >= PATH_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *env[MAX_VARS + 1];
	char *text = malloc(size + 1);
	bool refused = false;
	size_t vars = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	/* the environment is the input's lines (setenv would allocate a
	 * string per value and keep it) */
	for (char *line = text, *next; line && *line && vars < MAX_VARS;
	     line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strchr(line, '=') > line)
			env[vars++] = line;
	}
	env[vars] = NULL;
	environ = env;
	for (size_t i = 0; i < setting_count(); i++) {
		const char *v = value_of(setting_name(i));

		if (v && !valid(setting_name(i), v))
			refused = true;
	}

	/* config_load runs once in a process, on the configuration as it
	 * starts: all zeros */
	memset(&shim_config, 0, sizeof(shim_config));
	died_status = 0;
	/* The patterns are kept for the life of the process: freed here,
	 * so that libFuzzer's leak check (run when an input leaves memory
	 * behind) runs only for a PIDSHIM_GUARD of ':' alone, whose
	 * copy nothing points to. */
	__lsan_disable();
	if (setjmp(died) == 0)
		config_load();
	__lsan_enable();

	if (died_status != 0 && died_status != SHIM_EXIT_CONFIG)
		abort();
	if (refused && died_status == 0)
		abort();
	/* a start refused with every value accepted: only a PID file path
	 * too long once made absolute */
	if (!refused && died_status != 0 &&
	    strncmp(message, "PIDSHIM_PIDFILE=", 16) != 0 &&
	    strncmp(message, "cannot name", 11) != 0)
		abort();
	if (died_status == 0)
		check_config();
	if (shim_config.guard_count > 0)
		free(shim_config.guards[0] -
		     strspn(getenv("PIDSHIM_GUARD"), ":"));
	free(shim_config.guards);
	shim_config.guards = NULL;
	shim_config.guard_count = 0;
	env[0] = NULL;
	free(text);
	return 0;
}

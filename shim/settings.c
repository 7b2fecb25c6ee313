/* SPDX-License-Identifier: MIT */
/*
 * The shim's variables and their accepted values (libpidshim(7)). Only
 * whether a value is accepted is decided here; what it means is the
 * reader's (config.c for the shim, cmd/run.c for `pidshim run`).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "seconds.h"
#include "settings.h"

static bool number_in(const char *s, long min, long max, int base)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, base);
	return !errno && !*end && v >= min && v <= max;
}

bool setting_pidfile_expand(const char *value, char *buf, size_t size)
{
	int len = pidlock_path_expand(value, buf, size);

	return len > 0 && buf[len - 1] != '/';
}

static bool valid_pidfile(const char *value)
{
	char expanded[PATH_MAX];

	if (!*value || strcmp(value, "none") == 0)
		return true;
	return setting_pidfile_expand(value, expanded, sizeof(expanded));
}

static bool valid_conflict(const char *value)
{
	return strcmp(value, "exit") == 0 || strcmp(value, "wait") == 0 ||
	       (strncmp(value, "wait:", 5) == 0 &&
		seconds_parse_ms(value + 5) >= 0);
}

static bool valid_exit_code(const char *value)
{
	return number_in(value, 1, 255, 10);
}

/* ':'-separated, each absolute; empty parts are skipped */
static bool valid_guard(const char *value)
{
	for (const char *p = value; *p; p++)
		if ((p == value || p[-1] == ':') && *p != ':' && *p != '/')
			return false;
	return true;
}

static bool valid_guard_wait(const char *value)
{
	return strcmp(value, "block") == 0 || strcmp(value, "fail") == 0 ||
	       seconds_parse_ms(value) >= 0;
}

static bool valid_directory(const char *value)
{
	return value[0] == '/' && strlen(value) < PATH_MAX;
}

static bool valid_mode(const char *value)
{
	return number_in(value, 0, 0777, 8);
}

static bool valid_file(const char *value)
{
	return *value && strlen(value) < PATH_MAX;
}

static bool valid_cluster(const char *value)
{
	return strchr(value, '/') != NULL;
}

static bool valid_token(const char *value)
{
	return number_in(value, 0, LONG_MAX, 10);
}

static const char *const scopes[] = { "open", "process", NULL };
static const char *const modes[] = { "exclusive", "shared-read", NULL };
/* "suffix" is the former name of "dotlock" */
static const char *const styles[] = { "pidshim", "dotlock", "uucp", "suffix",
				      NULL };
static const char *const children[] = { "tree", "none", NULL };
static const char *const daemon_modes[] = { "off", "follow", NULL };
static const char *const levels[] = { "quiet", "warn", "debug", NULL };

static const struct setting settings[] = {
	{ "PIDSHIM_PIDFILE",
	  "a path template (%p pid, %n program, %u uid, %h host, %% percent) "
	  "naming a file, empty or 'none'",
	  NULL, valid_pidfile },
	{ "PIDSHIM_ON_CONFLICT", "'exit', 'wait' or 'wait:SECONDS'", NULL,
	  valid_conflict },
	{ "PIDSHIM_EXIT_CODE", "an exit status from 1 to 255", NULL,
	  valid_exit_code },
	{ "PIDSHIM_GUARD",
	  "':'-separated absolute path patterns (fnmatch), e.g. "
	  "/dev/ttyUSB*:/srv/data/*.db",
	  NULL, valid_guard },
	{ "PIDSHIM_GUARD_WAIT",
	  "'block', 'fail' or SECONDS (fractions allowed)", NULL,
	  valid_guard_wait },
	{ "PIDSHIM_GUARD_SCOPE", "'open' or 'process'", scopes, NULL },
	{ "PIDSHIM_GUARD_MODE", "'exclusive' or 'shared-read'", modes, NULL },
	{ "PIDSHIM_LOCK_STYLE", "'pidshim', 'dotlock' or 'uucp'", styles,
	  NULL },
	{ "PIDSHIM_LOCK_DIR", "an absolute directory path", NULL,
	  valid_directory },
	{ "PIDSHIM_CHILDREN", "'tree' or 'none'", children, NULL },
	{ "PIDSHIM_DAEMON", "'off' or 'follow'", daemon_modes, NULL },
	{ "PIDSHIM_MODE", "an octal file mode from 0 to 0777, e.g. 0644", NULL,
	  valid_mode },
	{ "PIDSHIM_LOG", "'quiet', 'warn' or 'debug'", levels, NULL },
	{ "PIDSHIM_LOG_FILE", "a file path", NULL, valid_file },
	/* pidshim's, not the shim's (pidshim(1), "Cluster locks"): the
	 * command's cluster lock, and the token it gives the program */
	{ "PIDSHIM_CLUSTER",
	  "URL[,URL...]/NAME, read by pidshim run, lock "
	  "and status",
	  NULL, valid_cluster },
	{ "PIDSHIM_FENCING_TOKEN", "digits (set by pidshim for the program)",
	  NULL, valid_token },
};
#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

const struct setting *setting_find(const char *variable)
{
	for (size_t i = 0; i < SETTING_COUNT; i++)
		if (strcmp(settings[i].variable, variable) == 0)
			return &settings[i];
	return NULL;
}

int setting_word(const struct setting *s, const char *value)
{
	for (int i = 0; s->words && s->words[i]; i++)
		if (strcmp(value, s->words[i]) == 0)
			return i;
	return -1;
}

bool setting_valid(const struct setting *s, const char *value)
{
	return s->words ? setting_word(s, value) >= 0 : s->valid(value);
}

const char *setting_name(size_t i)
{
	return i < SETTING_COUNT ? settings[i].variable : NULL;
}

size_t setting_count(void)
{
	return SETTING_COUNT;
}

bool setting_default_pidfile(char *buf, size_t size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");

	size_t len = 0;

	if (geteuid() == 0)
		return (size_t)snprintf(buf, size, "/run/%%n.pid") < size;
	if (!runtime || runtime[0] != '/')
		return (size_t)snprintf(buf, size, "/tmp/%%n-%%u.pid") < size;
	/* the directory is a path, not a template: its % are doubled */
	for (const char *r = runtime; *r; r++) {
		if (len + 2 >= size)
			return false;
		if (*r == '%')
			buf[len++] = '%';
		buf[len++] = *r;
	}
	buf[len] = '\0';
	return (size_t)snprintf(buf + len, size - len, "/%%n.pid") < size - len;
}

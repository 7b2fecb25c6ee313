/* SPDX-License-Identifier: MIT */
/*
 * The environment contract: every PIDSHIM_* variable is read here, once,
 * and validated. A bad value ends the process with status 78 before main,
 * with one message naming the variable and the accepted forms.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "seconds.h"
#include "shim.h"

struct shim_config shim_config;

static const char *const known_names[] = {
	"PIDSHIM_PIDFILE",    "PIDSHIM_ON_CONFLICT", "PIDSHIM_EXIT_CODE",
	"PIDSHIM_GUARD",      "PIDSHIM_GUARD_WAIT",  "PIDSHIM_GUARD_SCOPE",
	"PIDSHIM_GUARD_MODE", "PIDSHIM_LOCK_STYLE",  "PIDSHIM_LOCK_DIR",
	"PIDSHIM_CHILDREN",   "PIDSHIM_DAEMON",	     "PIDSHIM_MODE",
	"PIDSHIM_LOG",	      "PIDSHIM_LOG_FILE",    SHIM_OWNER_VAR,
};
#define KNOWN_COUNT (sizeof(known_names) / sizeof(known_names[0]))

static __attribute__((noreturn)) void
bad_value(const char *name, const char *value, const char *expected)
{
	shim_die(SHIM_EXIT_CONFIG, "%s=%s: expected %s", name, value, expected);
}

static bool parse_int(const char *s, long min, long max, int base, long *out)
{
	char *end;
	long v;

	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The variable NAME: one of WORDS (NULL-terminated) as its index, or
 * FALLBACK when unset. */
static int word_variable(const char *name, const char *const *words,
			 const char *expected, int fallback);

/* One of NAMES (NULL-terminated), as its index. */
static int parse_word(const char *name, const char *value,
		      const char *const *words, const char *expected)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(value, words[i]) == 0)
			return i;
	bad_value(name, value, expected);
}

static int word_variable(const char *name, const char *const *words,
			 const char *expected, int fallback)
{
	const char *value = getenv(name);

	return value ? parse_word(name, value, words, expected) : fallback;
}

static void default_pidfile(char *buf, size_t size)
{
	const char *runtime = getenv("XDG_RUNTIME_DIR");
	int len;

	if (geteuid() == 0)
		len = pidlock_path_expand("/run/%n.pid", buf, size);
	else if (runtime && runtime[0] == '/') {
		char template[PATH_MAX];

		snprintf(template, sizeof(template), "%s/%%n.pid", runtime);
		len = pidlock_path_expand(template, buf, size);
	} else
		len = pidlock_path_expand("/tmp/%n-%u.pid", buf, size);
	if (len < 0)
		shim_die(SHIM_EXIT_CONFIG, "cannot name the default PID file");
}

static void load_pidfile(void)
{
	const char *value = getenv("PIDSHIM_PIDFILE");
	char expanded[PATH_MAX];
	int len;

	shim_config.pidfile_enabled = true;
	if (value && strlen(value) >= sizeof(shim_config.pidfile_template))
		bad_value("PIDSHIM_PIDFILE", value,
			  "a path that fits in PATH_MAX");
	strcpy(shim_config.pidfile_template, value ? value : "");
	if (!value) {
		default_pidfile(shim_config.pidfile,
				sizeof(shim_config.pidfile));
		return;
	}
	if (!*value || strcmp(value, "none") == 0) {
		shim_config.pidfile_enabled = false;
		return;
	}
	len = pidlock_path_expand(value, expanded, sizeof(expanded));
	if (len <= 0)
		bad_value("PIDSHIM_PIDFILE", value,
			  "a path template (%p pid, %n program, %u uid, "
			  "%h host, %% percent), empty or 'none'");
	else if (expanded[len - 1] == '/')
		bad_value("PIDSHIM_PIDFILE", value,
			  "a file name, not a directory");
	/* Relative to where the program started: it may chdir later, and the
	 * file must still be removed by its right name. */
	if (expanded[0] != '/') {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(shim_config.pidfile,
				     sizeof(shim_config.pidfile), "%s/%s", cwd,
				     expanded) >= sizeof(shim_config.pidfile))
			bad_value("PIDSHIM_PIDFILE", value,
				  "a path that fits in PATH_MAX");
	} else {
		memcpy(shim_config.pidfile, expanded, (size_t)len + 1);
	}
}

static void load_conflict(void)
{
	const char *value = getenv("PIDSHIM_ON_CONFLICT");
	const char *expected = "'exit', 'wait' or 'wait:SECONDS'";
	long code;

	shim_config.on_conflict = SHIM_CONFLICT_EXIT;
	shim_config.conflict_timeout_ms = -1;
	if (value && strcmp(value, "exit") == 0) {
		/* the default */
	} else if (value && strcmp(value, "wait") == 0) {
		shim_config.on_conflict = SHIM_CONFLICT_WAIT;
	} else if (value && strncmp(value, "wait:", 5) == 0) {
		int ms = seconds_parse_ms(value + 5);

		if (ms < 0)
			bad_value("PIDSHIM_ON_CONFLICT", value, expected);
		shim_config.on_conflict = SHIM_CONFLICT_WAIT;
		shim_config.conflict_timeout_ms = ms;
	} else if (value) {
		bad_value("PIDSHIM_ON_CONFLICT", value, expected);
	}

	value = getenv("PIDSHIM_EXIT_CODE");
	shim_config.conflict_exit_code = SHIM_EXIT_CONFLICT;
	if (value) {
		if (!parse_int(value, 1, 255, 10, &code))
			bad_value("PIDSHIM_EXIT_CODE", value,
				  "an exit status from 1 to 255");
		shim_config.conflict_exit_code = (int)code;
	}
}

static void load_guards(void)
{
	const char *value = getenv("PIDSHIM_GUARD");
	char *copy, *pattern, *save = NULL;
	size_t count = 1;

	shim_config.guards = NULL;
	shim_config.guard_count = 0;
	if (!value || !*value)
		return;
	for (const char *p = value; *p; p++)
		count += *p == ':';
	copy = strdup(value);
	shim_config.guards = calloc(count + 1, sizeof(char *));
	if (!copy || !shim_config.guards)
		shim_die(SHIM_EXIT_CONFIG,
			 "out of memory reading PIDSHIM_GUARD");
	for (pattern = strtok_r(copy, ":", &save); pattern;
	     pattern = strtok_r(NULL, ":", &save)) {
		if (pattern[0] != '/')
			bad_value(
			    "PIDSHIM_GUARD", value,
			    "':'-separated absolute path patterns "
			    "(fnmatch), e.g. /dev/ttyUSB*:/srv/data/*.db");
		shim_config.guards[shim_config.guard_count++] = pattern;
	}
}

static void load_guard_options(void)
{
	static const char *const scopes[] = { "open", "process", NULL };
	static const char *const modes[] = { "exclusive", "shared-read", NULL };
	static const char *const styles[] = { "pidshim", "dotlock", "uucp",
					      "suffix", NULL };
	/* "suffix" is the former name of "dotlock" */
	static const enum shim_lock_style style_of[] = {
		SHIM_LOCK_STYLE_PIDSHIM,
		SHIM_LOCK_STYLE_DOTLOCK,
		SHIM_LOCK_STYLE_UUCP,
		SHIM_LOCK_STYLE_DOTLOCK,
	};
	const char *value;

	shim_config.guard_wait = SHIM_GUARD_WAIT_BLOCK;
	value = getenv("PIDSHIM_GUARD_WAIT");
	if (value && strcmp(value, "block") == 0) {
		/* the default */
	} else if (value && strcmp(value, "fail") == 0) {
		shim_config.guard_wait = SHIM_GUARD_WAIT_FAIL;
	} else if (value) {
		int ms = seconds_parse_ms(value);

		if (ms < 0)
			bad_value("PIDSHIM_GUARD_WAIT", value,
				  "'block', 'fail' or SECONDS (fractions "
				  "allowed)");
		shim_config.guard_wait = SHIM_GUARD_WAIT_TIMEOUT;
		shim_config.guard_timeout_ms = ms;
	}

	shim_config.guard_scope =
	    word_variable("PIDSHIM_GUARD_SCOPE", scopes, "'open' or 'process'",
			  SHIM_GUARD_SCOPE_OPEN);
	shim_config.guard_mode = word_variable("PIDSHIM_GUARD_MODE", modes,
					       "'exclusive' or 'shared-read'",
					       SHIM_GUARD_MODE_EXCLUSIVE);
	shim_config.lock_style = style_of[word_variable(
	    "PIDSHIM_LOCK_STYLE", styles, "'pidshim', 'dotlock' or 'uucp'", 0)];

	value = getenv("PIDSHIM_LOCK_DIR");
	shim_config.lock_dir[0] = '\0';
	if (value) {
		if (value[0] != '/' ||
		    strlen(value) >= sizeof(shim_config.lock_dir))
			bad_value("PIDSHIM_LOCK_DIR", value,
				  "an absolute directory path");
		strcpy(shim_config.lock_dir, value);
	} else if (shim_config.lock_style == SHIM_LOCK_STYLE_UUCP) {
		strcpy(shim_config.lock_dir, "/var/lock");
	}
}

static void load_process_options(void)
{
	static const char *const children[] = { "tree", "none", NULL };
	static const char *const daemon[] = { "off", "follow", NULL };
	const char *value;
	long v;

	shim_config.children =
	    word_variable("PIDSHIM_CHILDREN", children, "'tree' or 'none'",
			  SHIM_CHILDREN_TREE);
	shim_config.daemon_follow = word_variable("PIDSHIM_DAEMON", daemon,
						  "'off' or 'follow'", 0) == 1;

	value = getenv("PIDSHIM_MODE");
	shim_config.mode = 0644;
	if (value) {
		if (!parse_int(value, 0, 0777, 8, &v))
			bad_value(
			    "PIDSHIM_MODE", value,
			    "an octal file mode from 0 to 0777, e.g. 0644");
		shim_config.mode = (mode_t)v;
	}
}

/* The log settings come first: every later message depends on them.
 * Returns PIDSHIM_LOG_FILE (NULL: stderr). */
static const char *load_log(void)
{
	static const char *const levels[] = { "quiet", "warn", "debug", NULL };
	const char *value = getenv("PIDSHIM_LOG");
	const char *file = getenv("PIDSHIM_LOG_FILE");

	if (value) {
		int level;

		for (level = 0; levels[level]; level++)
			if (strcmp(value, levels[level]) == 0)
				break;
		if (!levels[level])
			bad_value("PIDSHIM_LOG", value,
				  "'quiet', 'warn' or 'debug'");
		log_set_level((enum shim_log_level)level);
	}
	if (file && (!*file || strlen(file) >= PATH_MAX))
		bad_value("PIDSHIM_LOG_FILE", file, "a file path");
	return file;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (lb >= sizeof(row) / sizeof(row[0]))
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void warn_unknown_names(void)
{
	extern char **environ;

	for (char **env = environ; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		char name[128];
		const char *nearest = NULL;
		size_t best = (size_t)-1;
		size_t len;
		bool known = false;

		if (strncmp(*env, "PIDSHIM_", 8) != 0 || !eq)
			continue;
		len = (size_t)(eq - *env);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, *env, len);
		name[len] = '\0';
		for (size_t i = 0; i < KNOWN_COUNT; i++) {
			size_t d = edit_distance(name, known_names[i]);

			if (d == 0)
				known = true;
			if (d < best) {
				best = d;
				nearest = known_names[i];
			}
		}
		if (!known)
			log_warn("unknown variable %s (did you mean %s?)", name,
				 nearest);
	}
}

/*
 * PIDSHIM_OWNER is "<pid>:<length>:<PID file path><PIDSHIM_PIDFILE>", set
 * by the owner's shim (lifecycle.c): the owner's PID, the PID file path it
 * expanded (absolute), and the template it expanded it from. Under the
 * same PIDSHIM_PIDFILE, this process is the owner after an exec or one of
 * its descendants, and the PID file is the one the owner expanded, not
 * what the template names in this image (%n, a relative path after cd).
 */
static void load_owner(void)
{
	const char *value = getenv(SHIM_OWNER_VAR);
	const char *template = shim_config.pidfile_template;
	const char *path;
	unsigned long len;
	char *end;
	long pid;

	shim_config.owner_from_env = 0;
	shim_config.under_owners_template = false;
	if (!value)
		return;
	errno = 0;
	pid = strtol(value, &end, 10);
	if (errno || *end != ':' || pid <= 0 || pid > 0x7fffffff)
		return;
	shim_config.owner_from_env = (pid_t)pid;
	if (end[1] < '0' || end[1] > '9')
		return;
	len = strtoul(end + 1, &end, 10);
	if (errno || *end != ':' || len >= PATH_MAX)
		return;
	path = end + 1;
	if (strnlen(path, len) < len || strcmp(path + len, template) != 0)
		return;
	shim_config.under_owners_template = true;
	if (len > 0 && path[0] == '/') {
		memcpy(shim_config.pidfile, path, len);
		shim_config.pidfile[len] = '\0';
	}
}

void config_load(void)
{
	log_start(load_log());
	warn_unknown_names();
	load_pidfile();
	load_owner();
	load_conflict();
	load_guards();
	load_guard_options();
	load_process_options();
}

/* SPDX-License-Identifier: MIT */
/*
 * The environment contract: every PIDSHIM_* variable is read here, once,
 * and validated. A bad value ends the process with status 78 before main,
 * with one message naming the variable and the accepted forms.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidlock.h"
#include "seconds.h"
#include "settings.h"
#include "shim.h"

struct shim_config shim_config;

static __attribute__((noreturn)) void
bad_value(const char *name, const char *value, const char *expected)
{
	shim_die(SHIM_EXIT_CONFIG, "%s=%s: expected %s", name, value, expected);
}

/* The variable NAME, checked against what it accepts (settings.c); NULL
 * when unset. */
static const char *checked(const char *name)
{
	const struct setting *s = setting_find(name);
	const char *value = getenv(name);

	if (value && !setting_valid(s, value))
		bad_value(name, value, s->expected);
	return value;
}

/* The word variable NAME as its index among the setting's words, or
 * FALLBACK when unset. */
static int word_variable(const char *name, int fallback)
{
	const char *value = checked(name);

	return value ? setting_word(setting_find(name), value) : fallback;
}

static void expand_or_die(const char *template, char *buf, size_t size)
{
	if (pidlock_path_expand(template, buf, size) <= 0)
		shim_die(SHIM_EXIT_CONFIG, "cannot name the PID file %s",
			 template);
}

/* The buffers of the rarer cases sit in functions of their own, off the
 * constructor's usual path: its stack stays within the pages the dynamic
 * linker has touched already. */
static __attribute__((noinline)) void load_default_pidfile(void)
{
	char template[PATH_MAX];

	if (!setting_default_pidfile(template, sizeof(template)))
		shim_die(SHIM_EXIT_CONFIG, "cannot name the default PID file");
	expand_or_die(template, shim_config.pidfile,
		      sizeof(shim_config.pidfile));
}

/* Relative to where the program started: it may chdir later, and the file
 * must still be removed by its right name. */
static __attribute__((noinline)) void pidfile_from_cwd(const char *value)
{
	char *path = shim_config.pidfile;
	char cwd[PATH_MAX];
	size_t dir_len, len = strlen(path);

	if (!getcwd(cwd, sizeof(cwd)))
		bad_value("PIDSHIM_PIDFILE", value,
			  "a path that fits in PATH_MAX");
	dir_len = strlen(cwd);
	if (dir_len + 1 + len >= sizeof(shim_config.pidfile))
		bad_value("PIDSHIM_PIDFILE", value,
			  "a path that fits in PATH_MAX");
	memmove(path + dir_len + 1, path, len + 1);
	memcpy(path, cwd, dir_len);
	path[dir_len] = '/';
}

static void load_pidfile(void)
{
	const char *value = getenv("PIDSHIM_PIDFILE");

	shim_config.pidfile_enabled = true;
	if (value && strlen(value) >= PATH_MAX)
		bad_value("PIDSHIM_PIDFILE", value,
			  "a path that fits in PATH_MAX");
	shim_config.pidfile_template = value ? value : "";
	if (!value) {
		load_default_pidfile();
		return;
	}
	if (!*value || strcmp(value, "none") == 0) {
		shim_config.pidfile_enabled = false;
		return;
	}
	/* checked (settings.c) and expanded at once, in its place */
	if (!setting_pidfile_expand(value, shim_config.pidfile,
				    sizeof(shim_config.pidfile)))
		bad_value("PIDSHIM_PIDFILE", value,
			  setting_find("PIDSHIM_PIDFILE")->expected);
	if (shim_config.pidfile[0] != '/')
		pidfile_from_cwd(value);
}

static void load_conflict(void)
{
	const char *value = checked("PIDSHIM_ON_CONFLICT");

	shim_config.on_conflict = SHIM_CONFLICT_EXIT;
	shim_config.conflict_timeout_ms = -1;
	if (value && strncmp(value, "wait", 4) == 0) {
		shim_config.on_conflict = SHIM_CONFLICT_WAIT;
		if (value[4] == ':')
			shim_config.conflict_timeout_ms =
			    seconds_parse_ms(value + 5);
	}
	value = checked("PIDSHIM_EXIT_CODE");
	shim_config.conflict_exit_code =
	    value ? atoi(value) : SHIM_EXIT_CONFLICT;
}

static void load_guards(void)
{
	const char *value = checked("PIDSHIM_GUARD");
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
	     pattern = strtok_r(NULL, ":", &save))
		shim_config.guards[shim_config.guard_count++] = pattern;
}

static void load_guard_options(void)
{
	/* in the order of the setting's words: "suffix" is the former
	 * name of "dotlock" */
	static const enum shim_lock_style style_of[] = {
		SHIM_LOCK_STYLE_PIDSHIM,
		SHIM_LOCK_STYLE_DOTLOCK,
		SHIM_LOCK_STYLE_UUCP,
		SHIM_LOCK_STYLE_DOTLOCK,
	};
	const char *value = checked("PIDSHIM_GUARD_WAIT");

	shim_config.guard_wait = SHIM_GUARD_WAIT_BLOCK;
	if (value && strcmp(value, "fail") == 0) {
		shim_config.guard_wait = SHIM_GUARD_WAIT_FAIL;
	} else if (value && strcmp(value, "block") != 0) {
		shim_config.guard_wait = SHIM_GUARD_WAIT_TIMEOUT;
		shim_config.guard_timeout_ms = seconds_parse_ms(value);
	}
	shim_config.guard_scope =
	    word_variable("PIDSHIM_GUARD_SCOPE", SHIM_GUARD_SCOPE_OPEN);
	shim_config.guard_mode =
	    word_variable("PIDSHIM_GUARD_MODE", SHIM_GUARD_MODE_EXCLUSIVE);
	shim_config.lock_style =
	    style_of[word_variable("PIDSHIM_LOCK_STYLE", 0)];

	value = checked("PIDSHIM_LOCK_DIR");
	/* unset, lock_dir stays as it starts, empty (this runs once): its
	 * page is not touched */
	if (value)
		strcpy(shim_config.lock_dir, value);
	else if (shim_config.lock_style == SHIM_LOCK_STYLE_UUCP)
		strcpy(shim_config.lock_dir, "/var/lock");
}

static void load_process_options(void)
{
	const char *value;

	shim_config.children =
	    word_variable("PIDSHIM_CHILDREN", SHIM_CHILDREN_TREE);
	shim_config.daemon_follow = word_variable("PIDSHIM_DAEMON", 0) == 1;
	value = checked("PIDSHIM_MODE");
	shim_config.mode = value ? (mode_t)strtol(value, NULL, 8) : 0644;
}

/* The log settings come first: every later message depends on them.
 * Returns PIDSHIM_LOG_FILE (NULL: stderr). */
static const char *load_log(void)
{
	int level = word_variable("PIDSHIM_LOG", -1);

	if (level >= 0)
		log_set_level((enum shim_log_level)level);
	return checked("PIDSHIM_LOG_FILE");
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

/* The known name nearest to NAME, an unknown one: the settings, and the
 * variable the shim passes on (the first of equals). */
static const char *nearest_name(const char *name)
{
	const char *nearest = NULL;
	size_t best = (size_t)-1;

	for (size_t i = 0; i <= setting_count(); i++) {
		const char *candidate =
		    i < setting_count() ? setting_name(i) : SHIM_OWNER_VAR;
		size_t d = edit_distance(name, candidate);

		if (d < best) {
			best = d;
			nearest = candidate;
		}
	}
	return nearest;
}

static void warn_unknown_names(void)
{
	extern char **environ;
	bool cluster = false, token = false;

	for (char **env = environ; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		char name[128];
		size_t len;

		if (strncmp(*env, "PIDSHIM_", 8) != 0 || !eq)
			continue;
		len = (size_t)(eq - *env);
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, *env, len);
		name[len] = '\0';
		/* Every process under the shim starts here: the distances,
		 * the bulk of its start-up's own work, only for a name that
		 * is not known. */
		cluster |= strcmp(name, "PIDSHIM_CLUSTER") == 0;
		token |= strcmp(name, "PIDSHIM_FENCING_TOKEN") == 0;
		if (setting_find(name) || strcmp(name, SHIM_OWNER_VAR) == 0)
			continue;
		log_warn("unknown variable %s (did you mean %s?)", name,
			 nearest_name(name));
	}
	/* PIDSHIM_CLUSTER names a lock only pidshim can take (it keeps a
	 * lease alive over the network, which the shim never does inside a
	 * program): a program preloaded without it holds no cluster lock,
	 * and is told so (libpidshim(7), ENVIRONMENT) */
	if (cluster && !token)
		log_warn("PIDSHIM_CLUSTER: the shim alone takes no cluster "
			 "lock: start the program with pidshim run (or lock) "
			 "to hold it");
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

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the name a guard pattern matches (libpidshim(7),
 * "Guards": the path made absolute, "." and "//" dropped, the kernel's up
 * to its last "..") and the lock file named after it.
 *
 * - A path without "..": its name is the lexical one (written out here
 *   independently); with "..": a name with no ".", ".." or empty
 *   component either way.
 * - The name of a name is itself, and the other spellings of a path
 *   ("//" and "/./" for "/") have the same name, so a pattern matches
 *   all spellings or none.
 * - Each style's lock file for a name is recognised as a lock file by
 *   that style, and lies beside the resource unless PIDSHIM_LOCK_DIR.
 *
 * Input: a style byte, a spelling byte, the pattern, a NUL, the path.
 * guard_path.c is compiled in whole; the shim's configuration is the one
 * piece of the shim it reads, defined here.
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct shim_config shim_config;

/* The working directory relative paths are taken from. */
#define CWD "/tmp"

static bool has_dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

/* The lexical name of PATH (no ".."): components but "" and ".", joined
 * under "/", relative ones under CWD. False when "<base>/<path>" does not
 * fit in PATH_MAX, as the shim measures it. */
static bool lexical_name(const char *path, char *out)
{
	const char *base = path[0] == '/' ? "" : CWD;
	size_t len = 0;

	if (strlen(base) + 1 + strlen(path) >= PATH_MAX)
		return false;
	strcpy(out, base);
	len = strlen(out);
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n > 0 && !(n == 1 && p[0] == '.')) {
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		if (*p)
			p++;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return true;
}

/* A name as the shim makes them: absolute, and no "", "." or ".."
 * component. */
static bool canonical(const char *name)
{
	if (name[0] != '/')
		return false;
	if (strcmp(name, "/") == 0)
		return true;
	for (const char *p = name + 1;; p++) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (!*p)
			return true;
	}
}

/* PATH spelt otherwise: each "/" made "//" or "/./" as BITS say. */
static char *respell(const char *path, unsigned bits)
{
	char *out = malloc(strlen(path) * 3 + 1);
	size_t len = 0, slash = 0;

	if (!out)
		abort();
	for (const char *p = path; *p; p++) {
		out[len++] = *p;
		if (*p != '/')
			continue;
		switch ((bits >> (2 * (slash++ % 4))) & 3) {
		case 1:
			out[len++] = '/';
			break;
		case 2:
			memcpy(out + len, "./", 2);
			len += 2;
			break;
		default:
			break;
		}
	}
	out[len] = '\0';
	return out;
}

static void check_lock_path(const char *name, int style)
{
	static const char *const dirs[] = { "", "", "/var/lock", "/srv/locks" };
	char lock[PATH_MAX];

	shim_config.lock_style = (enum shim_lock_style)(style % 3);
	strcpy(shim_config.lock_dir, dirs[style % 4]);
	if (shim_config.lock_style == SHIM_LOCK_STYLE_UUCP &&
	    !shim_config.lock_dir[0])
		strcpy(shim_config.lock_dir, "/var/lock");
	if (!guard_lock_path_for(name, lock))
		return;
	if (!guard_named_as_lock(lock) || strcmp(lock, name) == 0)
		abort();
	if (!shim_config.lock_dir[0]) {
		size_t dir = (size_t)(strrchr(name, '/') - name);

		if (strncmp(lock, name, dir + 1) != 0 ||
		    strchr(lock + dir + 1, '/'))
			abort();
	} else {
		size_t dir = strlen(shim_config.lock_dir);

		if (strncmp(lock, shim_config.lock_dir, dir) != 0 ||
		    lock[dir] != '/' || strchr(lock + dir + 1, '/'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char name[PATH_MAX], again[PATH_MAX], want[PATH_MAX];
	char *input, *pattern, *path, *other;
	const char *nul;
	char *guards[2];
	bool ok;

	if (size < 2)
		return 0;
	if (!getcwd(name, sizeof(name)) || strcmp(name, CWD) != 0)
		if (chdir(CWD) < 0)
			abort();
	input = malloc(size);
	if (!input)
		abort();
	memcpy(input, data + 2, size - 2);
	input[size - 2] = '\0';
	nul = memchr(input, '\0', size - 2);
	pattern = input;
	path = nul ? (char *)nul + 1 : input + size - 2;
	guards[0] = pattern;
	guards[1] = NULL;
	shim_config.guards = guards;
	shim_config.guard_count = *pattern ? 1 : 0;

	ok = guard_absolute_form(AT_FDCWD, path, name);
	if (!has_dotdot(path)) {
		if (ok != lexical_name(path, want) ||
		    (ok && strcmp(name, want) != 0))
			abort();
	}
	if (!ok)
		goto out;
	if (!canonical(name))
		abort();
	/* a name is its own name */
	if (!guard_absolute_form(AT_FDCWD, name, again) ||
	    strcmp(again, name) != 0)
		abort();
	if (guard_matches(name) !=
	    (*pattern && fnmatch(pattern, name, FNM_PATHNAME) == 0))
		abort();
	/* another spelling, the same name and the same match */
	other = respell(path, data[1]);
	if (!has_dotdot(path) && strlen(other) + sizeof(CWD) < PATH_MAX) {
		if (!guard_absolute_form(AT_FDCWD, other, again) ||
		    strcmp(again, name) != 0 ||
		    guard_matches(again) != guard_matches(name))
			abort();
	}
	free(other);
	check_lock_path(name, data[0]);
out:
	free(input);
	return 0;
}

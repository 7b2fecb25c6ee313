/* SPDX-License-Identifier: MIT */
/*
 * A guarded path's names: the forms a path given to open takes (the name
 * the patterns match, the real path that keys the lock), and the name and
 * convention of its lock file (libpidshim(7), "Guards").
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard_int.h"

/* Lexically normalize an absolute path in place: no "//", ".", "..". */
static void normalize(char *path)
{
	char *out = path;
	const char *in = path;

	while (*in) {
		const char *end;
		size_t len;

		while (*in == '/')
			in++;
		end = strchrnul(in, '/');
		len = (size_t)(end - in);
		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* nothing */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in = end;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* The absolute path the kernel has for descriptor FD (PATH_MAX bytes). */
bool guard_fd_path(int fd, char *out)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, PATH_MAX - 1);
	if (n <= 0 || out[0] != '/')
		return false;
	out[n] = '\0';
	return true;
}

/* The directory DIRFD names, as the kernel has it. The working directory
 * is asked for each time, never kept: a program changes it where the shim
 * does not see (nftw(3) with FTW_CHDIR and fts(3) call libc's own chdir,
 * a thread may make the system call), and a rename of a directory above
 * it changes its name without any call of the program's. A kept copy
 * could leave a guarded relative name unguarded (libpidshim(7),
 * "Guards"). */
static bool directory_of(int dirfd, char *buf, size_t size)
{
	if (dirfd == AT_FDCWD)
		return getcwd(buf, size) != NULL;
	return size >= PATH_MAX && guard_fd_path(dirfd, buf);
}

/* The kernel's path (PATH_MAX bytes) for PATH, relative to DIRFD, opened
 * O_PATH with EXTRA (O_DIRECTORY, O_NOFOLLOW): 0, the open's errno, or
 * ENOSYS when the kernel does not say (no /proc). */
static int kernel_path(int dirfd, const char *path, int extra, char *out)
{
	int fd = libc(openat)(dirfd, path, O_PATH | O_CLOEXEC | extra, 0);
	bool known;

	if (fd < 0)
		return errno;
	known = guard_fd_path(fd, out);
	libc(close)(fd);
	/* realpath resolves as the kernel does (a symlink before the ".."
	 * after it), but it follows a final symlink */
	if (!known && !(extra & O_NOFOLLOW) &&
	    (dirfd == AT_FDCWD || path[0] == '/'))
		known = realpath(path, out) != NULL;
	return known ? 0 : ENOSYS;
}

/* Where the last ".." component of PATH ends (0: it has none). */
static size_t past_last_dotdot(const char *path)
{
	size_t end = 0;

	for (const char *p = path; *p;) {
		const char *next = strchrnul(p, '/');

		if (next - p == 2 && p[0] == '.' && p[1] == '.')
			end = (size_t)(next - path);
		p = *next ? next + 1 : next;
	}
	return end;
}

/*
 * PATH by name, made absolute: relative to DIRFD, "." and "//" dropped,
 * symlinks kept as named (a pattern may name a file through a symlinked
 * directory). Up to its last "..", though, the path is the kernel's: it
 * follows a symlink before the ".." after it, where a lexical ".." would
 * name another file (libpidshim(7), "Guards").
 */
bool guard_absolute_form(int dirfd, const char *path, char *out)
{
	size_t cut = past_last_dotdot(path);
	char base[PATH_MAX];

	if (cut > 0) {
		char prefix[PATH_MAX];

		if (cut >= sizeof(prefix))
			return false;
		memcpy(prefix, path, cut);
		prefix[cut] = '\0';
		/* unresolvable: the program's open fails there too */
		if (kernel_path(dirfd, prefix, O_DIRECTORY, base) != 0)
			return false;
	} else if (path[0] == '/') {
		base[0] = '\0';
	} else if (!directory_of(dirfd, base, sizeof(base))) {
		return false;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", base, path + cut) >=
	    PATH_MAX)
		return false;
	normalize(out);
	return true;
}

/* Whether an open with FLAGS follows a final symlink: not with
 * O_NOFOLLOW, nor with O_CREAT|O_EXCL (which fails on a link). */
static bool follows_final_symlink(int flags)
{
	return !(flags & O_NOFOLLOW) &&
	       (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

/* Whether NAME (LEN bytes) is "." or "..": never a file to create. */
static bool is_dot_name(const char *name, size_t len)
{
	return (len == 1 || len == 2) && strncmp(name, "..", len) == 0;
}

/*
 * What the kernel resolves PATH (relative to DIRFD) to for an open with
 * FLAGS, from the path as the program gave it: symlinks followed as that
 * open follows them, so a final symlink the open does not follow is the
 * file itself (its lock goes beside the link, never where the open does
 * not reach: libpidshim(7), "Guards"). A file not there yet: its
 * directory, as named, resolved, and its name.
 */
bool guard_real_form(int dirfd, const char *path, int flags, char *out)
{
	int nofollow = follows_final_symlink(flags) ? 0 : O_NOFOLLOW;
	char real_dir[PATH_MAX];
	const char *name, *end;
	int err = kernel_path(dirfd, path, nofollow, out);

	if (err != ENOENT)
		return err == 0;
	for (end = path + strlen(path); end > path + 1 && end[-1] == '/';)
		end--;
	for (name = end; name > path && name[-1] != '/';)
		name--;
	if (name == end || is_dot_name(name, (size_t)(end - name)) ||
	    name - path >= PATH_MAX)
		return false;
	if (name == path) {
		if (!directory_of(dirfd, real_dir, sizeof(real_dir)))
			return false;
	} else {
		char dir[PATH_MAX];

		memcpy(dir, path, (size_t)(name - path));
		dir[name - path] = '\0';
		if (kernel_path(dirfd, dir, O_DIRECTORY, real_dir) != 0)
			return false;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s/%.*s", real_dir,
			     (int)(end - name), name) >= PATH_MAX)
		return false;
	normalize(out);
	return true;
}

/* A character that is not itself in a pattern: a wildcard, a bracket or
 * an escape. */
static bool is_pattern_special(char c)
{
	return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
}

/* Whether NAME (LEN bytes) may end as PATTERN does: the literal run at
 * PATTERN's end must be NAME's end, as far as the two overlap. */
static bool literal_tail_agrees(const char *pattern, const char *name,
				size_t len)
{
	const char *p = pattern + strlen(pattern), *n = name + len;

	while (p > pattern && n > name && !is_pattern_special(p[-1]))
		if (*--p != *--n)
			return false;
	return true;
}

/* Whether PATH (absolute, normalized) may match PATTERN: its literal
 * head and tail, before fnmatch, rule out most names at once (an open
 * of a path no guard names is the common case and must stay cheap). */
static bool pattern_matches(const char *pattern, const char *path)
{
	size_t i = 0;

	for (; pattern[i] && !is_pattern_special(pattern[i]); i++)
		if (pattern[i] != path[i])
			return false;
	if (!pattern[i])
		return !path[i];
	return literal_tail_agrees(pattern, path, strlen(path)) &&
	       fnmatch(pattern, path, FNM_PATHNAME) == 0;
}

bool guard_matches(const char *path)
{
	for (size_t i = 0; i < shim_config.guard_count; i++)
		if (pattern_matches(shim_config.guards[i], path))
			return true;
	return false;
}

/* Whether every '/' of PATTERN separates components as a path's do: not
 * escaped, not inside a bracket expression (conservatively: no '\\' at
 * all, no '/' after a '['). */
static bool slashes_are_plain(const char *pattern)
{
	const char *bracket = strchr(pattern, '[');

	return !strchr(pattern, '\\') && !(bracket && strchr(bracket, '/'));
}

/* Where the last COMPONENTS components of PATTERN start, NULL when it has
 * fewer. */
static const char *pattern_tail(const char *pattern, size_t components)
{
	const char *p = pattern + strlen(pattern);

	while (p > pattern) {
		if (*--p == '/' && --components == 0)
			return p + 1;
	}
	return NULL;
}

/*
 * With FNM_PATHNAME no wildcard matches a '/': a pattern whose slashes are
 * plain matches DIR/REL only if its last components match REL's, one for
 * one. So REL (relative, normalized, no ".." in it, COMPONENTS of them)
 * can be ruled out without knowing the directory it is relative to: no
 * getcwd, no /proc lookup for a path no guard names.
 */
bool guard_tail_may_match(const char *rel, size_t components)
{
	size_t len = strlen(rel);

	for (size_t i = 0; i < shim_config.guard_count; i++) {
		const char *pattern = shim_config.guards[i], *tail;

		/* a pattern matches no absolute path unless it starts with a
		 * '/', and ends, as a path does, with REL's end: most patterns
		 * go here, before anything costlier */
		if (pattern[0] != '/' ||
		    !literal_tail_agrees(pattern, rel, len))
			continue;
		if (!slashes_are_plain(pattern))
			return true;
		tail = pattern_tail(pattern, components);
		if (tail && fnmatch(tail, rel, FNM_PATHNAME) == 0)
			return true;
	}
	return false;
}

/* PATH, relative, normalized into OUT (PATH_MAX bytes): "." and "//"
 * dropped. Its number of components, or -1 when it has a ".." (which
 * climbs into the directory it is relative to). */
static int relative_components(const char *path, char *out)
{
	char *o = out;
	int count = 0;

	for (const char *p = path; *p;) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (count++ > 0)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p = *end ? end + 1 : end;
	}
	*o = '\0';
	return count;
}

/* Whether PATH (absolute) is as normalize leaves it: no "//", no "." or
 * ".." component, no '/' at its end (but "/" itself). */
static bool is_normalized(const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p != '/')
			continue;
		if (p[1] == '/' || (p[1] == '\0' && p != path))
			return false;
		if (p[1] == '.' &&
		    (p[2] == '/' || p[2] == '\0' ||
		     (p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))
			return false;
	}
	return true;
}

enum guard_name guard_name_of(int dirfd, const char *path, char *out)
{
	size_t len = strlen(path);

	if (len >= PATH_MAX)
		return GUARD_NAME_UNKNOWN;
	/* the common case, an absolute name as it should be: no copy */
	if (path[0] == '/' && is_normalized(path)) {
		if (!guard_matches(path))
			return GUARD_NAME_UNMATCHED;
		memcpy(out, path, len + 1);
		return GUARD_NAME_MATCHES;
	}
	if (path[0] != '/') {
		char base[PATH_MAX];
		int components = relative_components(path, out);

		if (components > 0 &&
		    !guard_tail_may_match(out, (size_t)components))
			return GUARD_NAME_UNMATCHED;
		if (!directory_of(dirfd, base, sizeof(base)) ||
		    (size_t)snprintf(out, PATH_MAX, "%s/%s", base, path) >=
			PATH_MAX)
			return GUARD_NAME_UNKNOWN;
	} else {
		memcpy(out, path, len + 1);
	}
	normalize(out);
	return guard_matches(out) ? GUARD_NAME_MATCHES : GUARD_NAME_UNMATCHED;
}

/* The names of lock files in each style (libpidshim(7), ENVIRONMENT). */
#define PIDSHIM_LOCK_SUFFIX ".pidshim-lock"
#define DOTLOCK_SUFFIX ".lock"
#define UUCP_PREFIX "LCK.."

/* The lock file of RESOURCE. By default a hidden name beside it that no
 * program uses as its own lock: "<resource>.lock" is git's index.lock and
 * the mail spool's dotlock, and taking it breaks those programs' own
 * locking (libpidshim(7), "Guards"). */
bool guard_lock_path_for(const char *resource, char *out)
{
	const char *base = strrchr(resource, '/') + 1;
	bool beside = !shim_config.lock_dir[0]; /* uucp always has a dir */
	const char *dir = beside ? resource : shim_config.lock_dir;
	int dir_len = beside ? (int)(base - 1 - resource) : (int)strlen(dir);
	int n;

	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		n = snprintf(out, PATH_MAX, "%.*s/" UUCP_PREFIX "%s", dir_len,
			     dir, base);
		break;
	case SHIM_LOCK_STYLE_DOTLOCK:
		n = snprintf(out, PATH_MAX, "%.*s/%s" DOTLOCK_SUFFIX, dir_len,
			     dir, base);
		break;
	default:
		/* beside the resource, hidden */
		n = snprintf(out, PATH_MAX, "%.*s/%s%s" PIDSHIM_LOCK_SUFFIX,
			     dir_len, dir, beside ? "." : "", base);
		break;
	}
	return n > 0 && n < PATH_MAX;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether the base name of PATH (absolute) is one guard_lock_path_for makes in
 * the configured style. */
bool guard_named_as_lock(const char *path)
{
	const char *base = strrchr(path, '/') + 1;

	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		return strncmp(base, UUCP_PREFIX, strlen(UUCP_PREFIX)) == 0;
	case SHIM_LOCK_STYLE_DOTLOCK:
		return ends_with(base, DOTLOCK_SUFFIX);
	default:
		return ends_with(base, PIDSHIM_LOCK_SUFFIX) &&
		       (shim_config.lock_dir[0] || base[0] == '.');
	}
}

/* The lock file's convention: in the UUCP and dotlock styles a file
 * naming a live process is held, flock or not. */
enum lockfd_format guard_pid_format(void)
{
	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		return LOCKFD_PID_UUCP;
	case SHIM_LOCK_STYLE_DOTLOCK:
		return LOCKFD_PID_DOTLOCK;
	default:
		return LOCKFD_PID_LINE;
	}
}

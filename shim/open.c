/* SPDX-License-Identifier: MIT */
/*
 * Every entry point that opens a path by name: the guard (guard.c) is
 * claimed before the real open and attached to the descriptor after it.
 * With no guard configured, one test and the real call; a path no
 * pattern names, the real open made with the proof (guard_open.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "guard.h"
#include "shim.h"

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define MODE_ARG(flags, mode)                                                  \
	do {                                                                   \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                       \
			va_list ap;                                            \
                                                                               \
			va_start(ap, flags);                                   \
			mode = va_arg(ap, mode_t);                             \
			va_end(ap);                                            \
		}                                                              \
	} while (0)

/* Open with CALL, guarded when PATH matches. BY_NAME: the open may be
 * made by guard_open_by_name, with the same flags and mode; the checked
 * opens of _FORTIFY_SOURCE leave theirs with O_CREAT to libc, which
 * stops the program there. */
#define GUARDED_OPEN(dirfd, path, flags, mode, by_name, call)                  \
	do {                                                                   \
		struct guard_claim claim;                                      \
		int fd, saved;                                                 \
                                                                               \
		if (!(shim_ready() && guards_configured()) ||                  \
		    ((flags)&O_PATH))                                          \
			return (call);                                         \
		if (by_name) {                                                 \
			fd = guard_open_by_name((dirfd), (path), (flags),      \
						(mode));                       \
			if (fd != GUARD_OPEN_BY_PATH)                          \
				return fd;                                     \
		}                                                              \
		if (!shim_in_own_process())                                    \
			return (call);                                         \
		if (guard_claim((dirfd), (path), (flags), &claim) < 0)         \
			return -1;                                             \
		fd = (call);                                                   \
		saved = errno;                                                 \
		guard_attach(&claim, fd);                                      \
		errno = saved;                                                 \
		return fd;                                                     \
	} while (0)

/* The checked opens take no mode: by name only without one. */
#define NO_MODE_NEEDED(flags) (!((flags) & (O_CREAT | __O_TMPFILE)))

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	GUARDED_OPEN(AT_FDCWD, path, flags, mode, true,
		     libc(open)(path, flags, mode));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	GUARDED_OPEN(AT_FDCWD, path, flags, mode, true,
		     libc(open64)(path, flags, mode));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	GUARDED_OPEN(dirfd, path, flags, mode, true,
		     libc(openat)(dirfd, path, flags, mode));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	GUARDED_OPEN(dirfd, path, flags, mode, true,
		     libc(openat64)(dirfd, path, flags, mode));
}

SHIM_EXPORT int creat(const char *path, mode_t mode)
{
	GUARDED_OPEN(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, true,
		     libc(creat)(path, mode));
}

SHIM_EXPORT int creat64(const char *path, mode_t mode)
{
	GUARDED_OPEN(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, true,
		     libc(creat64)(path, mode));
}

/* _FORTIFY_SOURCE builds call these for opens without a mode. */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	GUARDED_OPEN(AT_FDCWD, path, flags, 0, NO_MODE_NEEDED(flags),
		     libc(__open_2)(path, flags));
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	GUARDED_OPEN(AT_FDCWD, path, flags, 0, NO_MODE_NEEDED(flags),
		     libc(__open64_2)(path, flags));
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	GUARDED_OPEN(dirfd, path, flags, 0, NO_MODE_NEEDED(flags),
		     libc(__openat_2)(dirfd, path, flags));
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	GUARDED_OPEN(dirfd, path, flags, 0, NO_MODE_NEEDED(flags),
		     libc(__openat64_2)(dirfd, path, flags));
}

/* ---- stdio ------------------------------------------------------------------
 */

/* open(2) flags for an fopen mode string ("r", "w+", "ab", ...). */
static int fopen_flags(const char *mode)
{
	int flags;

	if (!mode)
		return O_RDONLY;
	switch (mode[0]) {
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		flags = O_RDONLY;
		break;
	}
	/* glibc's "x" is O_EXCL: the final symlink is then not followed */
	for (const char *m = mode + 1; *m && *m != ','; m++)
		if (*m == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*m == 'x')
			flags |= O_EXCL;
	return flags;
}

typedef FILE *(*fopen_fn)(const char *path, const char *mode);
typedef FILE *(*freopen_fn)(const char *path, const char *mode, FILE *stream);

static FILE *guarded_fopen(fopen_fn real_fopen, const char *path,
			   const char *mode)
{
	struct guard_claim claim;
	FILE *f;
	int saved;

	if (!(shim_ready() && guards_configured()) ||
	    guard_unguarded_by_name(path, fopen_flags(mode)) ||
	    !shim_in_own_process())
		return real_fopen(path, mode);
	if (guard_claim(AT_FDCWD, path, fopen_flags(mode), &claim) < 0)
		return NULL;
	f = real_fopen(path, mode);
	saved = errno;
	guard_attach(&claim, f ? fileno(f) : -1);
	errno = saved;
	return f;
}

static FILE *guarded_freopen(freopen_fn real_freopen, const char *path,
			     const char *mode, FILE *stream)
{
	struct guard_claim claim = { NULL };
	int oldfd, saved;
	FILE *f;

	if (!(shim_ready() && guards_active()))
		return real_freopen(path, mode, stream);
	oldfd = stream ? fileno(stream) : -1;
	if (path && !guard_unguarded_by_name(path, fopen_flags(mode)) &&
	    guard_claim(AT_FDCWD, path, fopen_flags(mode), &claim) < 0)
		return NULL;
	f = real_freopen(path, mode, stream);
	saved = errno;
	/* freopen closed the old descriptor inside libc, success or not */
	if (path || !f || fileno(f) != oldfd)
		guard_closed(oldfd);
	guard_attach(&claim, f ? fileno(f) : -1);
	errno = saved;
	return f;
}

SHIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return guarded_fopen(libc(fopen), path, mode);
}

SHIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return guarded_fopen(libc(fopen64), path, mode);
}

SHIM_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
	return guarded_freopen(libc(freopen), path, mode, stream);
}

SHIM_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
	return guarded_freopen(libc(freopen64), path, mode, stream);
}

/* SPDX-License-Identifier: MIT */
/*
 * Every way a descriptor ends or multiplies: a guard is released when the
 * last descriptor of its open is closed, whichever call closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/close_range.h>

/* Linux 5.11; Debian 11's kernel headers are 5.10 */
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#include "guard.h"
#include "shim.h"

/* Return CLOSE_IT (a close or fclose of descriptor FD, which a guard
 * tracks), detaching before the real close — the moment it returns, another
 * thread's open may be given this number and attach its guard — and drop
 * the reference after it, whatever it reports (Linux closes even on EINTR;
 * EBADF means it was closed behind our back: the reference is dead too). */
#define CLOSING_GUARDED(fd, close_it)                                          \
	do {                                                                   \
		int handle_ = guard_detach(fd), ret_, saved_;                  \
                                                                               \
		ret_ = (close_it);                                             \
		saved_ = errno;                                                \
		guard_put(handle_);                                            \
		errno = saved_;                                                \
		return ret_;                                                   \
	} while (0)

static int shim_close(int fd)
{
	/* ours: the program's "close every descriptor" must not drop the
	 * PID file's or a guard's lock */
	if (private_fd_is(fd))
		return 0;
	if (!(shim_ready() && guards_configured()) || !guard_tracks(fd) ||
	    !shim_in_own_process())
		return libc(close)(fd);
	CLOSING_GUARDED(fd, libc(close)(fd));
}

static int after_dup(int oldfd, int newfd)
{
	int saved = errno;

	/* untracked both: nothing to do, and no getpid for the vfork test */
	if (newfd >= 0 && newfd != oldfd &&
	    (guard_tracks(oldfd) || guard_tracks(newfd)) &&
	    shim_in_own_process()) {
		/* dup2 onto a guarded descriptor closed that one first */
		guard_closed(newfd);
		guard_duplicated(oldfd, newfd);
	}
	errno = saved;
	return newfd;
}

SHIM_EXPORT int close(int fd)
{
	return shim_close(fd);
}

SHIM_EXPORT int fclose(FILE *stream)
{
	if (!(shim_ready() && guards_configured()) || !stream ||
	    !guard_tracks(fileno(stream)) || !shim_in_own_process())
		return libc(fclose)(stream);
	CLOSING_GUARDED(fileno(stream), libc(fclose)(stream));
}

SHIM_EXPORT int dup(int fd)
{
	if (!(shim_ready() && guards_configured()))
		return libc(dup)(fd);
	return after_dup(fd, libc(dup)(fd));
}

/* dup2 and dup3 onto one of the shim's descriptors move ours first; a
 * dup2 that then fails leaves our old copy open: close it. */
static int shim_dup3(int fd, int newfd, int flags, bool is_dup2)
{
	bool moved = private_fd_make_room(newfd, fd);
	int ret =
	    is_dup2 ? libc(dup2)(fd, newfd) : libc(dup3)(fd, newfd, flags);

	if (ret < 0 && moved) {
		int saved = errno;

		libc(close)(newfd);
		errno = saved;
	}
	if (!(shim_ready() && guards_configured()))
		return ret;
	return after_dup(fd, ret);
}

SHIM_EXPORT int dup2(int fd, int newfd)
{
	return shim_dup3(fd, newfd, 0, true);
}

SHIM_EXPORT int dup3(int fd, int newfd, int flags)
{
	return shim_dup3(fd, newfd, flags, false);
}

static int shim_fcntl(int fd, int cmd, void *arg)
{
	if ((cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) ||
	    !(shim_ready() && guards_configured()))
		return libc(fcntl)(fd, cmd, arg);
	return after_dup(fd, libc(fcntl)(fd, cmd, arg));
}

/* The third argument is an int or a pointer: passed on as it came, the
 * way glibc's own fcntl reads it. */
SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return shim_fcntl(fd, cmd, arg);
}

/* the same function under its large-file name */
SHIM_EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* close_range over [FIRST, LAST] without the shim's own descriptors. */
static int close_range_around_private(unsigned first, unsigned last, int flags)
{
	unsigned from = first;
	int ret = 0;

	while (from <= last) {
		int priv = private_fd_lowest_at_or_above(
		    from > INT_MAX ? INT_MAX : (int)from);
		unsigned to = priv < 0 || (unsigned)priv > last
				  ? last
				  : (unsigned)priv - 1;

		if (priv >= 0 && (unsigned)priv == from) {
			from++;
			continue;
		}
		if (libc(close_range)(from, to, flags) < 0)
			ret = -1;
		if (to == last)
			break;
		from = to + 2; /* past the private one */
	}
	return ret;
}

SHIM_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	struct guard_range range;
	bool closes = !(flags & CLOSE_RANGE_CLOEXEC) && first <= last &&
		      !(flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE));
	bool tracked = closes && shim_ready() && guards_active();
	int ret, saved;

	if (!closes)
		return libc(close_range)(first, last, flags);
	/* detach first, as in shim_close. Should the call still fail (out of
	 * memory with CLOSE_RANGE_UNSHARE), the guards stay until exit. */
	if (tracked)
		guard_detach_range(first, last, &range);
	ret = close_range_around_private(first, last, flags);
	saved = errno;
	if (tracked && ret == 0)
		guard_range_done(&range);
	errno = saved;
	return ret;
}

SHIM_EXPORT void closefrom(int lowfd)
{
	struct guard_range range;
	bool tracked = shim_ready() && guards_active() && lowfd >= 0;

	if (tracked)
		guard_detach_range((unsigned)lowfd, ~0U, &range);
	if (lowfd >= 0 && private_fd_lowest_at_or_above(lowfd) >= 0)
		close_range_around_private((unsigned)lowfd, ~0U, 0);
	else
		/* glibc's closefrom does not fail: it aborts if it cannot */
		libc(closefrom)(lowfd);
	if (tracked)
		guard_range_done(&range);
}

/* SPDX-License-Identifier: MIT */
/*
 * An open decided by the name the program gives. Resolving every path it
 * opens (an O_PATH open, a readlink of /proc/self/fd, a close) would cost
 * more than the open itself, for the common open no guard concerns. So
 * the name decides, and the program's own open, made with openat2's
 * RESOLVE_NO_SYMLINKS, proves that the name is the real path: when a
 * symlink is on the way it fails with ELOOP, having created and truncated
 * nothing, and only then is the path resolved (libpidshim(7), "Guards").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "guard_int.h"

/* Kernel headers before glibc's list of names know the number. */
#if !defined(SYS_openat2) && defined(__NR_openat2)
#define SYS_openat2 __NR_openat2
#endif

/* The kernel (before Linux 5.6) or a seccomp filter refuses openat2:
 * every path is then resolved, as it was before openat2 existed. */
static atomic_bool openat2_refused;

/* openat2 with RESOLVE_NO_SYMLINKS for an open(PATH, FLAGS, MODE).
 * open ignores the mode's bits above 07777 (and the mode itself without
 * O_CREAT or O_TMPFILE), openat2 refuses them: they are left out. */
static int open_without_symlinks(int dirfd, const char *path, int flags,
				 mode_t mode)
{
#ifdef SYS_openat2
	struct open_how how = {
		.flags = (uint64_t)(unsigned)flags,
		.mode = flags & (O_CREAT | __O_TMPFILE) ? mode & 07777 : 0,
		.resolve = RESOLVE_NO_SYMLINKS,
	};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
#else
	(void)dirfd, (void)path, (void)flags, (void)mode;
	errno = ENOSYS;
	return -1;
#endif
}

/* Whether an openat2 that failed with ERR proves nothing about the
 * program's open, which must then go by the resolved path: a symlink on
 * the way (ELOOP, or O_NOFOLLOW's own), flag bits open ignores and
 * openat2 refuses (EINVAL), or no openat2 at all. A seccomp filter may
 * answer EPERM, which an open also can: one probe of "/" tells them
 * apart. */
static bool proves_nothing(int err)
{
	switch (err) {
	case ELOOP:
	case EINVAL:
		return true;
	case ENOSYS:
		atomic_store(&openat2_refused, true);
		return true;
	case EPERM: {
		int fd =
		    open_without_symlinks(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0);

		if (fd >= 0)
			libc(close)(fd);
		else if (errno == EPERM || errno == ENOSYS)
			atomic_store(&openat2_refused, true);
		return true;
	}
	default:
		return false;
	}
}

int guard_open_by_name(int dirfd, const char *path, int flags, mode_t mode)
{
	char name[PATH_MAX];
	struct guard_claim claim = { NULL };
	int fd, saved = errno;

	if (!path ||
	    atomic_load_explicit(&openat2_refused, memory_order_relaxed))
		return GUARD_OPEN_BY_PATH;
	switch (guard_name_of(dirfd, path, name)) {
	case GUARD_NAME_UNMATCHED:
		break;
	case GUARD_NAME_MATCHES:
		/* The name is the real path if the open below proves it: its
		 * guard first, as for any guarded open. Without waiting: a
		 * busy lock, or a name that is not the real path after all
		 * (a lock file beside a symlink), goes by the resolved
		 * path, which waits as configured. A vfork child leaves the
		 * guards to its parent. */
		if (!shim_in_own_process() ||
		    guard_try_claim(name, flags, &claim) < 0) {
			errno = saved;
			return GUARD_OPEN_BY_PATH;
		}
		break;
	default:
		errno = saved;
		return GUARD_OPEN_BY_PATH;
	}
	fd = open_without_symlinks(dirfd, path, flags, mode);
	if (fd < 0 && proves_nothing(errno)) {
		guard_abandon(&claim);
		errno = saved;
		return GUARD_OPEN_BY_PATH;
	}
	if (fd >= 0)
		errno = saved;
	saved = errno;
	guard_attach(&claim, fd);
	errno = saved;
	return fd;
}

bool guard_unguarded_by_name(const char *path, int flags)
{
	char name[PATH_MAX];
	int fd, err, saved = errno;

	if (!path ||
	    atomic_load_explicit(&openat2_refused, memory_order_relaxed) ||
	    guard_name_of(AT_FDCWD, path, name) != GUARD_NAME_UNMATCHED)
		return false;
	/* libc opens the file itself: an O_PATH open proves the name, and
	 * opens nothing (no FIFO blocks, no device wakes) */
	fd = open_without_symlinks(AT_FDCWD, path, O_PATH | O_CLOEXEC, 0);
	err = errno;
	errno = saved;
	if (fd >= 0) {
		libc(close)(fd);
		return true;
	}
	/* Not there, and not to be created: libc's open fails the same way.
	 * To be created: where, through which directories, is not proven. */
	if (err == ENOENT)
		return !(flags & O_CREAT);
	proves_nothing(err);
	errno = saved;
	return false;
}

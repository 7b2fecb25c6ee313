/* SPDX-License-Identifier: MIT */
/*
 * The hand-written minimum for each guarantee: the fewest system calls
 * that give what libpidlock and the shim promise (pidlock(3), "How a
 * lock is taken"; libpidshim(7), "Guards"), written out in C so every
 * ratio is against a floor and not against another implementation.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Lock PATH, created when missing: never through a symbolic link
 * (O_NOFOLLOW), and only a regular, singly-linked file of ours or root's
 * that is still the one at PATH once locked. A releaser unlinks the file
 * under its lock, so a waiter that wakes on an unlinked inode starts
 * over. Returns 0, -EWOULDBLOCK (busy, when not WAIT) or a negative errno.
 */
int bench_min_lock(const char *path, bool wait, int *fdp)
{
	for (;;) {
		struct stat held, named;
		int fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0 ||
		    fstat(fd, &held) < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (!S_ISREG(held.st_mode) || held.st_nlink > 1 ||
		    (held.st_uid != geteuid() && held.st_uid != 0)) {
			close(fd);
			return -EPERM;
		}
		if (lstat(path, &named) == 0 && named.st_dev == held.st_dev &&
		    named.st_ino == held.st_ino) {
			*fdp = fd;
			return 0;
		}
		close(fd);
	}
}

/* The PID, at the start of a file that was empty (a file left by a
 * killed holder is unlinked by nobody but is truncated here only when it
 * is longer: a truncation of an empty file costs ext4 a flush at close). */
int bench_min_write_pid(int fd)
{
	char buf[24];
	struct stat st;
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (pwrite(fd, buf, (size_t)len, 0) != len)
		return -EIO;
	if (fstat(fd, &st) == 0 && st.st_size > len && ftruncate(fd, len) < 0)
		return -errno;
	return 0;
}

/* Remove the file while it is still locked, so nobody locks a name that
 * is about to go, then drop the lock. */
void bench_min_unlock(const char *path, int fd)
{
	unlink(path);
	close(fd);
}

/*
 * One guarded open of RES: the lock file, then the resource opened,
 * written (DATA, when not NULL), closed, and the lock file released.
 */
int bench_min_guarded_cycle(const char *res, const char *lockpath,
			    int open_flags, const char *data)
{
	int lock, fd, err = 0;

	err = bench_min_lock(lockpath, true, &lock);
	if (err < 0)
		return err;
	fd = open(res, open_flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
	} else {
		if (data && write(fd, data, strlen(data)) < 0)
			err = -errno;
		close(fd);
	}
	bench_min_unlock(lockpath, lock);
	return err;
}

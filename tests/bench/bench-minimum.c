/* SPDX-License-Identifier: MIT */
/*
 * The hand-written minimum for each guarantee: the fewest system calls
 * that give what every lock and PID file of libpidlock and the shim
 * promises (pidlock(3); libpidshim(7), "Guards"), written out in C so
 * every ratio is against a floor and not against another implementation:
 *
 *   open(O_CREAT|O_NOFOLLOW)  never through a symbolic link
 *   flock                     the lock; a dead holder's is gone with it
 *   fstat                     a regular, singly-linked file of ours or root's
 *   lstat                     still the file at the path (a releaser may
 *                             have removed it while we waited: start over)
 *   pwrite                    our PID (truncated only when the file was
 *                             longer: an ftruncate of an empty file costs
 *                             ext4 a flush at close)
 *   ...                       the guarded work
 *   lstat, unlink             removed under the lock, only while the path
 *                             still names our file
 *   close                     the lock goes with the descriptor
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_pid(int fd, off_t size)
{
	char buf[24];
	int len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (pwrite(fd, buf, (size_t)len, 0) != len)
		return -EIO;
	if (size > len && ftruncate(fd, len) < 0)
		return -errno;
	return 0;
}

/* Returns 0, -EWOULDBLOCK (busy, when not WAIT) or a negative errno. */
int bench_min_lock(const char *path, bool wait, struct bench_min_held *h)
{
	for (;;) {
		struct stat held, named;
		int fd =
		    open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		int err;

		if (fd < 0)
			return -errno;
		if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0 ||
		    fstat(fd, &held) < 0) {
			err = -errno;
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
			err = write_pid(fd, held.st_size);
			if (err < 0) {
				close(fd);
				return err;
			}
			h->fd = fd;
			h->dev = held.st_dev;
			h->ino = held.st_ino;
			return 0;
		}
		close(fd);
	}
}

void bench_min_unlock(const char *path, const struct bench_min_held *h)
{
	struct stat named;

	if (lstat(path, &named) == 0 && named.st_dev == h->dev &&
	    named.st_ino == h->ino)
		unlink(path);
	close(h->fd);
}

/*
 * One guarded open of RES: the lock file, then the resource opened,
 * DATA (when not NULL) written at its end, closed, and the lock file
 * released.
 */
int bench_min_guarded_cycle(const char *res, const char *lockpath,
			    int open_flags, const char *data)
{
	struct bench_min_held lock;
	int fd, err;

	err = bench_min_lock(lockpath, true, &lock);
	if (err < 0)
		return err;
	fd = open(res, open_flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
	} else {
		err = 0;
		if (data && (lseek(fd, 0, SEEK_END) < 0 ||
			     write(fd, data, strlen(data)) < 0))
			err = -errno;
		close(fd);
	}
	bench_min_unlock(lockpath, &lock);
	return err;
}

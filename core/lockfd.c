/* SPDX-License-Identifier: MIT */
/* The locking algorithm: one place that opens, locks, verifies and removes
 * every lock and PID file we create. */
#include "lockfd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Longest content we ever parse: a PID file is a number and a newline. */
#define PID_TEXT_MAX 32
/* How often a file held by a live PID (no flock to sleep on) is looked at
 * again. */
#define HOLDER_POLL_MS 50

/* Step 1's open of a lock or PID file. */
#define OPEN_FLAGS                                                             \
	(O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

#define sys_open lockfd_sys_open
#define sys_close lockfd_sys_close

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A lock or PID file is a regular file: -EISDIR, -EINVAL otherwise. */
static int refuse_not_regular(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	return 0;
}

/* Step 2: only a regular file with one link, owned by EUID (ours) or by
 * root. */
static int refuse_unsafe(const struct stat *st, uid_t euid)
{
	int err = refuse_not_regular(st);

	if (err < 0)
		return err;
	if (st->st_nlink > 1)
		return -EMLINK;
	if (st->st_uid != euid && st->st_uid != 0)
		return -EPERM;
	return 0;
}

/* The errnos of steps 1 and 2 (O_NOFOLLOW's ELOOP, refuse_unsafe's): the
 * one list of what "unsafe file" means to our callers. */
const char *lockfd_unsafe_reason(int err)
{
	switch (err) {
	case -ELOOP:
		return "it is a symbolic link";
	case -EISDIR:
		return "it is a directory";
	case -EINVAL:
		return "it is not a regular file";
	case -EMLINK:
		return "it has more than one hard link";
	case -EPERM:
		return "it belongs to another user";
	default:
		return NULL;
	}
}

bool lockfd_is_unsafe(int err)
{
	return lockfd_unsafe_reason(err) != NULL;
}

int lockfd_parse_pid(const char *buf, size_t len)
{
	size_t i = 0;
	long value = 0;
	size_t digits = 0;

	while (i < len && buf[i] == ' ')
		i++;
	if (i == len)
		return i == 0 ? 0 : -EINVAL;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		/* pid_max is at most 2^22: ten digits are already absurd */
		if (++digits > 10)
			return -EINVAL;
		value = value * 10 + (buf[i] - '0');
	}
	if (digits == 0 || value <= 0 || value > 0x7fffffff)
		return -EINVAL;
	if (i < len && buf[i] == '\n')
		i++;
	if (i != len)
		return -EINVAL;
	return (int)value;
}

pid_t lockfd_read_pid(int fd, bool wait_for_writer)
{
	/* one byte more than a PID file may hold: a longer file is garbage,
	 * not a PID followed by what was not read */
	char buf[PID_TEXT_MAX + 1];
	/* The holder truncates and writes right after it locks: a few ms is
	 * plenty, and a reader must not hang on a holder that never writes. */
	int tries = wait_for_writer ? 50 : 1;

	for (int i = 0; i < tries; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		int pid;

		if (n < 0 || (size_t)n > PID_TEXT_MAX)
			return 0;
		pid = lockfd_parse_pid(buf, (size_t)n);
		if (pid > 0)
			return pid;
		if (pid < 0)
			return 0;
		if (i + 1 < tries)
			sleep_ms(1);
	}
	return 0;
}

static size_t format_pid(char *buf, pid_t pid, enum lockfd_format format)
{
	char digits[16];
	size_t n = 0, len = 0;
	unsigned long v = (unsigned long)pid;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (format == LOCKFD_PID_UUCP)
		for (size_t pad = n; pad < 10; pad++)
			buf[len++] = ' ';
	while (n > 0)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	return len;
}

/* Write PID over the content of LK's file, whose length is SIZE (as seen
 * under the lock). Step 5 truncates, but only a longer file: an ftruncate
 * to 0, even of an empty file, arms ext4's flush on close (auto_da_alloc)
 * and makes the close that releases the lock wait for the disk. The PID
 * goes first and the rest is cut after it, so a reader in between finds
 * no number but garbage, which the strict parse refuses (step 7). */
static int write_pid_over(struct lockfd *lk, enum lockfd_format format,
			  pid_t pid, off_t size)
{
	char buf[PID_TEXT_MAX];
	size_t len;
	ssize_t n;

	lk->names_owner = format != LOCKFD_NO_PID && pid == lk->owner;
	if (format == LOCKFD_NO_PID)
		return 0;
	len = format_pid(buf, pid, format);
	n = pwrite(lk->fd, buf, len, 0);
	if (n < 0)
		return -errno;
	/* A short write sets no errno: what errno holds is left over from an
	 * earlier step (EWOULDBLOCK after a wait would read as "busy"). */
	if ((size_t)n != len)
		return -EIO;
	if (size > (off_t)len && ftruncate(lk->fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

int lockfd_name_pid(struct lockfd *lk, enum lockfd_format format, pid_t pid)
{
	struct stat st;

	if (format != LOCKFD_NO_PID && fstat(lk->fd, &st) < 0)
		return -errno;
	return write_pid_over(lk, format, pid,
			      format == LOCKFD_NO_PID ? 0 : st.st_size);
}

int lockfd_write_pid(struct lockfd *lk, enum lockfd_format format)
{
	lk->owner = getpid();
	return lockfd_name_pid(lk, format, lk->owner);
}

/* Sleep MS as a blocking flock waits: a handler installed with
 * SA_RESTART resumes the wait, one without ends it with -EINTR. nanosleep
 * cannot tell the two apart (any handler ends it); the read of a timerfd
 * is restarted exactly as flock is. */
static int sleep_as_flock_waits(long ms)
{
	struct itimerspec due = {
		.it_value = { ms / 1000, (ms % 1000) * 1000000L },
	};
	uint64_t expirations;
	int err = 0, fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0) {
		/* no descriptor to spare: a wait no handler ends */
		sleep_ms(ms);
		return 0;
	}
	if (timerfd_settime(fd, 0, &due, NULL) == 0 &&
	    read(fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
		err = -EINTR;
	sys_close(fd);
	return err;
}

/* The lock the caller holds (or is about to) on FD, whose file is ST. */
static struct lockfd held_lock(int fd, const struct stat *st, bool shared)
{
	return (struct lockfd){ .fd = fd,
				.dev = st->st_dev,
				.ino = st->st_ino,
				.owner = getpid(),
				.shared = shared };
}

/*
 * Hand-over (pidlock(3), "How a lock is taken"): a waiter marks the file
 * before it blocks, and a releaser that sees a mark keeps the file for
 * it instead of removing it, so the waiter wakes on the file at the path
 * rather than on a removed inode it must let go of and create again. The
 * marks are OFD record locks on bytes far past any content: they belong
 * to the waiter's open file description, so they are gone with it, even
 * after a SIGKILL, and flock ignores them.
 */
#define MARK_WAITING (INT64_MAX - 2)   /* read-locked by each waiter */
#define MARK_RELEASING (INT64_MAX - 1) /* a hand-over in progress */

/* fcntl on a struct flock, by the system call itself: the shim
 * interposes fcntl, and its wrapper must not be entered from here (it
 * may hold the very lock this is called under). */
static int lock_fcntl(int fd, int cmd, struct flock *fl)
{
#ifdef SYS_fcntl64
	return (int)syscall(SYS_fcntl64, fd, cmd, fl);
#else
	return (int)syscall(SYS_fcntl, fd, cmd, fl);
#endif
}

static int mark_byte(int fd, int cmd, short type, off_t at)
{
	struct flock fl = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = at, .l_len = 1
	};

	return lock_fcntl(fd, cmd, &fl);
}

/* Take the hand-over's MARK_RELEASING byte (TYPE) without waiting
 * longer than a few hundred scheduling rounds: the other side holds it
 * for a few system calls only, but a stranger's POSIX lock over the
 * whole file (lockf) would hold it for as long as it likes, and neither
 * a process's end nor a waiter giving up may hang on that. */
static bool take_releasing_mark(int fd, short type)
{
	for (int tries = 0; tries < 500; tries++) {
		if (mark_byte(fd, F_OFD_SETLK, type, MARK_RELEASING) == 0)
			return true;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return false;
		sched_yield();
	}
	return false;
}

/* Whether another open file description than FD's waits for its file. */
static bool others_wait(int fd)
{
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_start = MARK_WAITING,
			    .l_len = 1 };

	return lock_fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

/*
 * LK's holder releases its file while a waiter has marked it: keep the
 * file for it, and let go of the lock (UNLOCK) or leave that to the
 * close. Returns false when no waiter is left (remove it then).
 * Async-signal-safe: the end of a process hands over too.
 * A waiter that gives up meanwhile takes MARK_RELEASING before it looks
 * at the file again (give_up_waiting): we hold it from our last look at
 * the marks until our close, and let go of the lock before, so such a
 * waiter finds the file free and removes it itself.
 */
static bool hand_over_to_waiter(const struct lockfd *lk, bool unlock)
{
	if (!others_wait(lk->fd))
		return false;
	if (!take_releasing_mark(lk->fd, F_WRLCK))
		return false;
	if (!others_wait(lk->fd))
		return false;
	/* It names us no longer: a reader retries on an empty file until
	 * the waiter has written its own PID (step 7). */
	if (lk->names_owner && ftruncate(lk->fd, 0) < 0)
		return false;
	if (unlock)
		flock(lk->fd, LOCK_UN);
	return true;
}

/* A waiter that marked FD's file (at PATH, ST) stops waiting without the
 * lock: a releaser may have kept the file for it. If the file is free
 * once any hand-over is over, and nobody else waits for it, it is
 * removed as its releaser would have (step 6). */
static void give_up_waiting(int fd, const char *path, const struct stat *st)
{
	struct stat now;

	mark_byte(fd, F_OFD_SETLK, F_UNLCK, MARK_WAITING);
	/* not to be had: the file stays, and the next start takes it over */
	if (!take_releasing_mark(fd, F_RDLCK))
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && lstat(path, &now) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino &&
	    !others_wait(fd))
		unlink(path);
}

/* Conventions where a file naming a live process is held, flock or not. */
static bool live_pid_holds(enum lockfd_format format)
{
	return format == LOCKFD_PID_UUCP || format == LOCKFD_PID_DOTLOCK;
}

/* The PID a UUCP or dotlock file names: blanks, the decimal PID, then the
 * end, a newline or a blank and more (minicom writes "%10ld minicom
 * USER\n"); 0 for anything else. Bounded: the first PID_TEXT_MAX bytes. */
static pid_t named_pid(int fd)
{
	char buf[PID_TEXT_MAX];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	size_t end = 0;
	int pid;

	if (n <= 0)
		return 0;
	while (end < (size_t)n && buf[end] == ' ')
		end++;
	while (end < (size_t)n && buf[end] >= '0' && buf[end] <= '9')
		end++;
	if (end < (size_t)n && buf[end] != '\n' && buf[end] != ' ')
		return 0;
	pid = lockfd_parse_pid(buf, end);
	return pid > 0 ? pid : 0;
}

static bool process_lives(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* A file a live process holds by its existence: wait TIMEOUT_MS (as
 * lockfd_acquire takes it) for that process to end, polling. 0 to look
 * again, -EAGAIN without waiting, -ETIMEDOUT past DEADLINE, -EINTR as a
 * LOCKFD_WAIT_INTERRUPTIBLE flock would end. */
static int wait_for_named_holder(int timeout_ms, long long deadline)
{
	long long left;

	if (timeout_ms == 0)
		return -EAGAIN;
	if (timeout_ms == LOCKFD_WAIT_INTERRUPTIBLE)
		return sleep_as_flock_waits(HOLDER_POLL_MS);
	if (timeout_ms < 0) {
		sleep_ms(HOLDER_POLL_MS);
		return 0;
	}
	left = deadline - monotonic_ms();
	if (left <= 0)
		return -ETIMEDOUT;
	sleep_ms(left < HOLDER_POLL_MS ? (long)left : HOLDER_POLL_MS);
	return 0;
}

/* The PID of the process holding FD's file exclusively, 0 when it is held
 * shared: shared holders write none, and the file may still name a dead
 * exclusive holder from before. */
static pid_t exclusive_holder(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	return lockfd_read_pid(fd, true);
}

int lockfd_wait_for_lock(struct lockfd *lk, int op, int timeout_ms,
			 lockfd_between_fn between, void *arg)
{
	long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	long backoff = 1;
	/* A conversion's refused attempts have lost the old lock, and BETWEEN
	 * takes it back: it polls, so that it holds it most of the time. */
	bool helper_tried = between != NULL;

	for (;;) {
		long long left;

		if (flock(lk->fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (timeout_ms == 0)
			return -EAGAIN;
		if (timeout_ms < 0) {
			/* The kernel queues us and wakes us on release: no
			 * polling. */
			while (flock(lk->fd, op) < 0)
				if (errno != EINTR ||
				    timeout_ms == LOCKFD_WAIT_INTERRUPTIBLE)
					return -errno;
			return 0;
		}
		left = deadline - monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* Woken by the kernel at the release, through a helper that
		 * waits in flock for us. */
		if (!helper_tried) {
			int err = lockfd_timed_flock(lk->fd, op, (int)left);

			if (err != -ENOSYS)
				return err;
			helper_tried = true;
			continue;
		}
		/* No helper could wait: flock has no timeout of its own, and
		 * a library may not install a timer signal handler behind the
		 * program's back. Poll with backoff, by the clock. */
		if (between)
			between(arg);
		sleep_ms(backoff < left ? backoff : (long)left);
		if (backoff < 16)
			backoff *= 2;
	}
}

int lockfd_acquire(struct lockfd *lk, const char *path, mode_t mode,
		   bool shared, int timeout_ms, enum lockfd_format format,
		   pid_t *holder)
{
	int op = shared ? LOCK_SH : LOCK_EX;
	long long deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	/* asked once, and only for a file we did not create */
	uid_t euid = 0;
	bool euid_known = false;

	if (holder)
		*holder = 0;
	for (;;) {
		struct stat st, now;
		struct lockfd got;
		int err, fd;
		int left = timeout_ms;
		bool marked, created = true;
		uid_t mine;

		/* Step 1: never O_TRUNC before the lock is held. O_NONBLOCK
		 * keeps a FIFO planted at the path from hanging us. A file we
		 * create (O_EXCL) is ours, regular and linked once:
		 * step 2 needs no system call for it. */
		fd = sys_open(path, OPEN_FLAGS | O_EXCL, mode);
		if (fd < 0) {
			created = false;
			fd = sys_open(path, OPEN_FLAGS, mode);
		}
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0) {
			err = -errno;
			goto fail;
		}
		if (!created && !euid_known) {
			euid = geteuid();
			euid_known = true;
		}
		mine = created ? st.st_uid : euid;
		err = refuse_unsafe(&st, mine);
		if (err < 0)
			goto fail;
		got = held_lock(fd, &st, shared);
		got.hand_over = !live_pid_holds(format);

		/* Step 3: the lock. */
		if (timeout_ms > 0) {
			long long rest = deadline - monotonic_ms();

			left = rest > 0 ? (int)rest : 0;
		}
		marked = false;
		err = lockfd_wait_for_lock(&got, op, 0, NULL, NULL);
		if (err == -EAGAIN && left != 0) {
			/* a releaser keeps the file for a marked waiter */
			marked =
			    got.hand_over && mark_byte(fd, F_OFD_SETLK, F_RDLCK,
						       MARK_WAITING) == 0;
			err = lockfd_wait_for_lock(&got, op, left, NULL, NULL);
		}
		if (err == -EAGAIN && timeout_ms > 0)
			err = -ETIMEDOUT;
		if (err == -EAGAIN || err == -ETIMEDOUT) {
			if (holder)
				*holder = shared ? lockfd_read_pid(fd, true)
						 : exclusive_holder(fd);
		}
		if (err < 0) {
			if (marked)
				give_up_waiting(fd, path, &st);
			goto fail;
		}
		if (marked)
			mark_byte(fd, F_OFD_SETLK, F_UNLCK, MARK_WAITING);

		/* Step 4: the previous holder may have removed the file while
		 * we waited; then our lock is on an orphan inode. */
		if (lstat(path, &now) < 0 || now.st_dev != st.st_dev ||
		    now.st_ino != st.st_ino) {
			sys_close(fd);
			continue;
		}
		/* Step 2 once more, now that nobody else can be writing it. */
		err = refuse_unsafe(&now, mine);
		if (err < 0)
			goto fail;
		/* The UUCP and dotlock tools hold the file by its existence
		 * and their PID in it, without flock: our flock proves nothing
		 * then, and the file is not ours to take over while that
		 * process lives (libpidshim(7), "Guards"). Let go of it
		 * and wait for that process. */
		if (live_pid_holds(format)) {
			pid_t named = named_pid(fd);

			if (named > 0 && named != getpid() &&
			    process_lives(named)) {
				sys_close(fd);
				if (holder)
					*holder = named;
				err =
				    wait_for_named_holder(timeout_ms, deadline);
				if (err < 0)
					return err;
				continue;
			}
		}

		*lk = got;
		/* Steps 3 and 5: whatever the file said, we hold its lock, so
		 * its previous writer is gone: take it over. The lstat above
		 * saw its length under the lock. */
		if (!shared) {
			err =
			    write_pid_over(lk, format, lk->owner, now.st_size);
			if (err < 0) {
				/* the file names nobody now, but it is ours:
				 * remove it by the lock alone */
				lk->names_owner = false;
				lockfd_release(lk, path, true);
				return err;
			}
		}
		return 0;
fail:
		sys_close(fd);
		return err;
	}
}

bool lockfd_still_ours(const struct lockfd *lk, const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == lk->dev &&
	       st.st_ino == lk->ino;
}

/* The owner is the process the file names: after a hand-over (a daemon's
 * child rewrote it) the parent's copy of the lock still says "mine". */
static bool owned_by_caller(const struct lockfd *lk)
{
	char buf[PID_TEXT_MAX];
	pid_t self = lk->released_by_owner ? lk->owner : getpid();
	ssize_t n;

	if (lk->owner != self)
		return false;
	if (!lk->names_owner || lk->sole_writer)
		return true;
	n = pread(lk->fd, buf, sizeof(buf), 0);
	return n > 0 && lockfd_parse_pid(buf, (size_t)n) == self;
}

enum lockfd_end lockfd_unlink_if_ours(const struct lockfd *lk, const char *path)
{
	int saved = errno;
	enum lockfd_end end = LOCKFD_LEFT;

	/* Step 6: only the owner, only our inode; the lock is still held,
	 * so nobody can have taken the file over in between. A waiter's
	 * mark keeps the file for it, as lockfd_release does; the lock goes
	 * with the process (pidlock(3), "How a lock is taken"). */
	if (lk->fd >= 0 && owned_by_caller(lk) && lockfd_still_ours(lk, path)) {
		if (lk->hand_over && hand_over_to_waiter(lk, false))
			end = LOCKFD_HANDED_OVER;
		else if (unlink(path) == 0)
			end = LOCKFD_REMOVED;
	}
	errno = saved;
	return end;
}

bool lockfd_remove_at_exit(struct lockfd *lk, const char *path)
{
	int saved = errno;
	bool removed = false;

	/* A shared holder cannot learn it is the last without converting,
	 * which drops its lock first: its file stays (empty, and free once
	 * the process is gone; the next holder takes it over). */
	if (lk->fd >= 0 && !lk->shared)
		removed = lockfd_unlink_if_ours(lk, path) == LOCKFD_REMOVED;
	errno = saved;
	return removed;
}

bool lockfd_release(struct lockfd *lk, const char *path, bool remove)
{
	int saved = errno;
	bool removed = false;

	if (lk->fd < 0)
		return false;
	/* A shared holder may remove the file only when it is the last one:
	 * an exclusive lock obtained without waiting proves that. */
	if (remove && lk->shared && owned_by_caller(lk) &&
	    flock(lk->fd, LOCK_EX | LOCK_NB) < 0)
		remove = false;
	/* Step 6, or a hand-over: a waiter has marked the file, and it is
	 * kept for it (a file the next holder takes over at once is no
	 * leftover). */
	if (remove && owned_by_caller(lk) && lockfd_still_ours(lk, path))
		removed = !(lk->hand_over && hand_over_to_waiter(lk, true)) &&
			  unlink(path) == 0;
	sys_close(lk->fd);
	lk->fd = -1;
	errno = saved;
	return removed;
}

int lockfd_check(const char *path, pid_t *holder)
{
	struct stat st;
	int fd, err;

	if (holder)
		*holder = 0;
	fd = sys_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
				O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 /* PIDLOCK_ABSENT */ : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	err = refuse_not_regular(&st);
	if (err < 0)
		goto out;
	/* A probe with an exclusive lock sees shared holders as well. It holds
	 * the lock for two system calls when the file is free. */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		err = 1; /* PIDLOCK_STALE */
	} else if (errno == EWOULDBLOCK) {
		err = 2; /* PIDLOCK_HELD */
		if (holder)
			*holder = exclusive_holder(fd);
	} else {
		err = -errno;
	}
out:
	sys_close(fd);
	return err;
}

bool lockfd_adopt(struct lockfd *lk, int fd, const char *path)
{
	struct lockfd inherited;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	inherited = held_lock(fd, &st, false);
	if (path && !lockfd_still_ours(&inherited, path))
		return false;
	/* The file must name us: a descriptor of the same file that the
	 * program opened itself is no proof of the lock. */
	if (lockfd_read_pid(fd, false) != getpid())
		return false;
	inherited.names_owner = true;
	*lk = inherited;
	return true;
}

bool lockfd_walk_start(struct lockfd_walk *walk)
{
	walk->dir = opendir("/proc/self/fd");
	return walk->dir != NULL;
}

int lockfd_walk_next(struct lockfd_walk *walk)
{
	struct dirent *entry;

	while ((entry = readdir(walk->dir))) {
		int fd = atoi(entry->d_name);

		/* "." and "..", and the walk's own descriptor */
		if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9' &&
		    fd != dirfd(walk->dir))
			return fd;
	}
	return -1;
}

void lockfd_walk_end(struct lockfd_walk *walk)
{
	closedir(walk->dir);
	walk->dir = NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * The locking algorithm (pidlock(3), "How a lock is taken"), shared by lock
 * files, PID files and the shim's guards. Internal: hidden symbols, not
 * part of pidlock.h.
 */
#ifndef PIDLOCK_LOCKFD_H
#define PIDLOCK_LOCKFD_H

#include <dirent.h>
#include <stdbool.h>
#include <sys/types.h>

#define PIDLOCK_HIDDEN __attribute__((visibility("hidden")))
#define PIDLOCK_EXPORT __attribute__((visibility("default")))

/* A held lock file: enough to remove it safely, even from a signal
 * handler (no allocation, the path is copied in). */
struct lockfd {
	int fd;
	dev_t dev;
	ino_t ino;
	pid_t owner;
	bool shared;
	bool names_owner; /* the file holds the owner's PID */
	/* released, the file is kept for a waiter that marked it (not in
	 * the conventions where a PID alone holds the file) */
	bool hand_over;
	/* only the owner's copy of the lock ever writes the file (a lock
	 * file: no process it forks can name itself in it), so a release
	 * need not read the file to know who owns it */
	bool sole_writer;
	/* the caller releases this copy only in the process that took it
	 * (it checks that itself, and drops a forked child's copy without
	 * a release): a release need not ask getpid */
	bool released_by_owner;
};

/* How the PID is written into a lock file we hold exclusively, and what
 * a PID found there means. In the UUCP and dotlock conventions a file
 * naming a live process other than ours is held whether or not it is
 * flocked: those tools lock by the file's existence and never flock. */
enum lockfd_format {
	LOCKFD_PID_LINE = 0,	/* "<pid>\n"; only flock holds */
	LOCKFD_PID_UUCP = 1,	/* "%10d\n", the UUCP/HDB lock file format */
	LOCKFD_NO_PID = 2,	/* leave the content alone */
	LOCKFD_PID_DOTLOCK = 3, /* "<pid>\n", as liblockfile's dotlocks */
};

/*
 * Open, lock, verify and (exclusive) write our PID: steps 1–5 of the
 * algorithm. TIMEOUT_MS: 0 non-blocking, < 0 forever, > 0 milliseconds.
 * Returns 0, or a negative errno (see pidlock.h); on -EAGAIN/-ETIMEDOUT
 * *HOLDER gets the holder's PID when the file names one. A file held by
 * a live PID (UUCP, dotlock) is waited for by polling, every 50 ms.
 */
/* A TIMEOUT_MS for lockfd_acquire: wait forever, but a signal handler that
 * interrupts the wait ends it with -EINTR (flock is restarted by the
 * kernel for a handler with SA_RESTART), as a blocking open would end. */
#define LOCKFD_WAIT_INTERRUPTIBLE (-2)

PIDLOCK_HIDDEN int lockfd_acquire(struct lockfd *lk, const char *path,
				  mode_t mode, bool shared, int timeout_ms,
				  enum lockfd_format format, pid_t *holder);

/* Whether ERR, a negative errno from lockfd_acquire, says the file at the
 * path is unsafe to use (steps 1 and 2): a symbolic link (-ELOOP), a
 * directory (-EISDIR), another kind of non-regular file (-EINVAL), more
 * than one hard link (-EMLINK), another user's (-EPERM). The one place
 * that lists them. */
PIDLOCK_HIDDEN bool lockfd_is_unsafe(int err);
/* What is unsafe about the file, for a message ("it is a symbolic link"),
 * or NULL when ERR is not one of those. */
PIDLOCK_HIDDEN const char *lockfd_unsafe_reason(int err);

/* Called between the attempts of a timed lockfd_wait_for_lock. */
typedef void (*lockfd_between_fn)(void *arg);

/*
 * Step 3: flock OP on LK->fd, waiting TIMEOUT_MS as lockfd_acquire takes
 * it. A timed wait is woken by the kernel at the release
 * (lockfd_timed_flock), and no signal ends it. With BETWEEN not NULL it
 * polls by the clock instead (1 ms, doubling to 16 ms), as it does when
 * no helper can be started, and calls BETWEEN(ARG) after each refused
 * attempt but the last: flock converts a lock by dropping the old one
 * first, so a refused conversion has lost it, and a caller that must hold
 * it meanwhile takes it back there (it may replace LK->fd). Returns 0,
 * -EAGAIN (TIMEOUT_MS 0) or -ETIMEDOUT busy, -EINTR as
 * LOCKFD_WAIT_INTERRUPTIBLE says, or another negative errno.
 */
PIDLOCK_HIDDEN int lockfd_wait_for_lock(struct lockfd *lk, int op,
					int timeout_ms,
					lockfd_between_fn between, void *arg);

/*
 * flock(FD, OP) (LOCK_SH or LOCK_EX), waiting at most TIMEOUT_MS (> 0)
 * in the kernel: a helper process blocks in flock on FD's open file
 * description for us (timedflock.c). No signal ends the wait, and the
 * program never sees the helper (no SIGCHLD, reaped here). Returns 0,
 * -ETIMEDOUT, another negative errno, or -ENOSYS when no helper could
 * wait (clone refused: the caller polls). errno is preserved.
 */
PIDLOCK_HIDDEN int lockfd_timed_flock(int fd, int op, int timeout_ms);

/* Write the caller's PID into a lock held exclusively and make the caller
 * its owner. */
PIDLOCK_HIDDEN int lockfd_write_pid(struct lockfd *lk,
				    enum lockfd_format format);
/* Write PID, another process's, into a lock held exclusively: the caller
 * stays its owner (a supervisor holding its child's PID file). */
PIDLOCK_HIDDEN int lockfd_name_pid(struct lockfd *lk, enum lockfd_format format,
				   pid_t pid);

/*
 * Step 6: remove PATH only while holding the lock, only if it still names
 * our inode, only from the owner; then close. Async-signal-safe; errno is
 * preserved. Returns true when the file was removed.
 */
PIDLOCK_HIDDEN bool lockfd_release(struct lockfd *lk, const char *path,
				   bool remove);

/* What lockfd_unlink_if_ours did with the file. */
enum lockfd_end {
	LOCKFD_LEFT,	    /* not ours, or could not be removed */
	LOCKFD_REMOVED,	    /* removed */
	LOCKFD_HANDED_OVER, /* kept, emptied, for a waiter that marked it */
};

/* Remove without closing (signal path: the process is about to end and
 * its exit drops the lock), or, when a waiter has marked the file, keep
 * it emptied for that waiter, still locked: either way it names us no
 * longer. Async-signal-safe; errno is preserved. */
PIDLOCK_HIDDEN enum lockfd_end lockfd_unlink_if_ours(const struct lockfd *lk,
						     const char *path);

/* The process is ending: remove PATH as lockfd_release would (not for a
 * shared holder, which cannot tell it is the last without losing its
 * lock), but leave the descriptor, and so the lock, to the kernel: other
 * threads may still be writing under it. Async-signal-safe; errno is
 * preserved. */
PIDLOCK_HIDDEN bool lockfd_remove_at_exit(struct lockfd *lk, const char *path);

/* Whether PATH still names the inode we hold. */
PIDLOCK_HIDDEN bool lockfd_still_ours(const struct lockfd *lk,
				      const char *path);

/* Step 7: bounded, strict parse of "<pid>\n" (leading blanks allowed, for
 * UUCP's "%10d\n"). Returns the PID, 0 for empty, -EINVAL for garbage. */
PIDLOCK_HIDDEN int lockfd_parse_pid(const char *buf, size_t len);

/* Read the PID in FD's file; retries briefly while the file is empty when
 * WAIT_FOR_WRITER (its holder is between create and write). */
PIDLOCK_HIDDEN pid_t lockfd_read_pid(int fd, bool wait_for_writer);

/* The open and close the algorithm calls. libpidlock's are libc's
 * (lockfd_libc.c). The shim interposes open and close: it defines these
 * two itself as libc's real functions (shim/libc.c), so that the linker
 * never pulls lockfd_libc.o into it and the core never calls the shim's
 * own wrappers. */
typedef int (*lockfd_open_fn)(const char *path, int flags, ...);
typedef int (*lockfd_close_fn)(int fd);
PIDLOCK_HIDDEN extern lockfd_open_fn lockfd_sys_open;
PIDLOCK_HIDDEN extern lockfd_close_fn lockfd_sys_close;

/* pidlock_check() for internal callers. */
PIDLOCK_HIDDEN int lockfd_check(const char *path, pid_t *holder);

/*
 * Take over FD, a lock this process inherited across exec (the previous
 * image, the same process, kept it open for the new one): a regular file
 * that names the caller's PID and, when PATH is not NULL, the file at
 * PATH. LK becomes that lock, exclusive and the caller's; it is left as it
 * was when FD is no such lock.
 */
PIDLOCK_HIDDEN bool lockfd_adopt(struct lockfd *lk, int fd, const char *path);

/* The descriptors open in this process (/proc/self/fd), where an
 * inherited lock is looked for: start, next until -1, end. */
struct lockfd_walk {
	DIR *dir;
};
PIDLOCK_HIDDEN bool lockfd_walk_start(struct lockfd_walk *walk);
PIDLOCK_HIDDEN int lockfd_walk_next(struct lockfd_walk *walk);
PIDLOCK_HIDDEN void lockfd_walk_end(struct lockfd_walk *walk);

#endif

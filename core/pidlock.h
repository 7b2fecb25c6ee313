/* SPDX-License-Identifier: MIT */
/*
 * libpidlock — lock files, PID files and a signal dispatcher done with
 * kernel locks (flock), so a killed holder never leaves a live-looking lock.
 *
 * Conventions: functions returning int return 0 (or a documented
 * non-negative value) on success and a negative errno on failure. Nothing
 * in this library exits, prints, or changes process-wide state (umask,
 * signal dispositions) except the signal dispatcher, whose job that is.
 */
#ifndef PIDLOCK_H
#define PIDLOCK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Timeouts, in milliseconds, for every acquire. */
#define PIDLOCK_NOWAIT 0
#define PIDLOCK_WAIT_FOREVER (-1)

enum pidlock_how {
	PIDLOCK_EXCLUSIVE = 0,
	PIDLOCK_SHARED = 1,
};

/* Remove the lock or PID file when the signal is about to end the process
 * (pylockfile's delete_lock_on_sigint / delete_lock_on_sigterm). */
enum pidlock_flags {
	PIDLOCK_REMOVE_ON_SIGINT = 1 << 0,
	PIDLOCK_REMOVE_ON_SIGTERM = 1 << 1,
};

/* Answers of pidlock_check(). */
enum pidlock_state {
	PIDLOCK_ABSENT = 0, /* no file at the path */
	PIDLOCK_STALE = 1,  /* a file nobody holds */
	PIDLOCK_HELD = 2,   /* a file somebody holds locked */
};

/*
 * Errors with a meaning of their own:
 *   -EAGAIN     busy: somebody else holds the lock (holder PID reported)
 *   -ETIMEDOUT  busy for the whole timeout (holder PID reported)
 *   -EALREADY   this object already holds the lock
 *   -ENOLCK     release of a lock this object does not hold
 *   -ELOOP      the path is a symbolic link
 *   -EISDIR     the path is a directory
 *   -EINVAL     the path is another kind of non-regular file (FIFO, device,
 *               socket), or an argument is invalid
 *   -EMLINK     the file has more than one hard link
 *   -EPERM      the file belongs to another user (and not to root)
 */

/* ---- Lock files (pylockfile LockFile) ---------------------------------- */

struct pidlock_lock;

/**
 * Create a lock object for DIR/NAME (DIR NULL: current directory; NAME
 * NULL: a random name). ".lock" is appended unless NAME ends with it.
 * Nothing is created on disk until pidlock_lock_acquire().
 */
int pidlock_lock_new(struct pidlock_lock **lockp, const char *dir,
		     const char *name, unsigned flags);

/** Release (if held) and free. */
void pidlock_lock_free(struct pidlock_lock *lock);

/** Mode for the lock file when it has to be created (default 0644). */
int pidlock_lock_set_mode(struct pidlock_lock *lock, mode_t mode);

/** The lock file's path. */
const char *pidlock_lock_path(const struct pidlock_lock *lock);

/**
 * Acquire: TIMEOUT_MS is PIDLOCK_NOWAIT, PIDLOCK_WAIT_FOREVER or a number
 * of milliseconds. On -EAGAIN/-ETIMEDOUT, *HOLDER (if not NULL) gets the
 * holder's PID, 0 when it is unknown (a shared holder, or an empty file).
 */
int pidlock_lock_acquire(struct pidlock_lock *lock, enum pidlock_how how,
			 int timeout_ms, pid_t *holder);

/** Release and remove the lock file (pylockfile IsNotLocked: -ENOLCK). */
int pidlock_lock_release(struct pidlock_lock *lock);

/** Whether this object holds its lock now. */
bool pidlock_lock_is_held(const struct pidlock_lock *lock);

/**
 * Is anybody holding the lock? Returns enum pidlock_state or a negative
 * errno, without acquiring; *HOLDER gets the holder's PID when known.
 */
int pidlock_lock_query(const struct pidlock_lock *lock, pid_t *holder);

/**
 * Run FN(ARG) holding the lock (pylockfile's decorator). Returns the
 * acquire or release error, or 0; *RESULT (if not NULL) gets FN's result.
 */
int pidlock_lock_call(struct pidlock_lock *lock, enum pidlock_how how,
		      int timeout_ms, void *(*fn)(void *arg), void *arg,
		      void **result);

/* ---- Scoped block (pylockfile's context manager) ----------------------- */

struct pidlock_scope {
	struct pidlock_lock *lock;
	int active;
};

struct pidlock_scope pidlock_scope_begin(struct pidlock_lock *lock,
					 enum pidlock_how how, int timeout_ms,
					 int *err);
void pidlock_scope_end(struct pidlock_scope *scope);

#define PIDLOCK_CONCAT_(a, b) a##b
#define PIDLOCK_CONCAT(a, b) PIDLOCK_CONCAT_(a, b)
/**
 * PIDLOCK_SCOPED(lock, how, timeout_ms, &err) { ... }
 * The block runs only when the lock was acquired (*err == 0); the lock is
 * released on every way out of the block: its end, break, return, goto.
 * Needs GCC or clang (__attribute__((cleanup))).
 */
#define PIDLOCK_SCOPED(lock, how, timeout_ms, errp)                            \
	for (struct pidlock_scope PIDLOCK_CONCAT(pidlock_scope_, __LINE__)     \
		 __attribute__((cleanup(pidlock_scope_end))) =                 \
		     pidlock_scope_begin((lock), (how), (timeout_ms), (errp)); \
	     PIDLOCK_CONCAT(pidlock_scope_, __LINE__).active;                  \
	     pidlock_scope_end(&PIDLOCK_CONCAT(pidlock_scope_, __LINE__)))

/* ---- PID files (pylockfile PidFile, SinglePidFile) --------------------- */

struct pidlock_pidfile;

/* All-zero options are the defaults: mode 0644, no flags, no waiting. */
struct pidlock_pidfile_options {
	mode_t mode;
	unsigned flags; /* enum pidlock_flags */
	int timeout_ms; /* PIDLOCK_NOWAIT, PIDLOCK_WAIT_FOREVER or ms */
};

/**
 * Expand a path template: %p pid, %n program name, %u uid, %h hostname,
 * %% a percent sign. Returns the length, -ENAMETOOLONG, or -EINVAL for an
 * unknown % sequence.
 */
int pidlock_path_expand(const char *path_template, char *buf, size_t size);

/**
 * Create, lock and write the PID file named by PATH_TEMPLATE. OPTS may be
 * NULL. On -EAGAIN/-ETIMEDOUT *HOLDER gets the running instance's PID.
 */
int pidlock_pidfile_open(struct pidlock_pidfile **pfp,
			 const char *path_template,
			 const struct pidlock_pidfile_options *opts,
			 pid_t *holder);

/** Remove the file (only from the owning process) and free. */
int pidlock_pidfile_close(struct pidlock_pidfile *pf);

/**
 * Make the calling process the owner and write its PID (a daemon after
 * fork). The lock is inherited across fork, so there is no gap.
 */
int pidlock_pidfile_rewrite(struct pidlock_pidfile *pf);

/** Whether the file at the path is still ours, locked by us. */
bool pidlock_pidfile_is_held(const struct pidlock_pidfile *pf);

const char *pidlock_pidfile_path(const struct pidlock_pidfile *pf);
int pidlock_pidfile_fd(const struct pidlock_pidfile *pf);

/**
 * The process-wide PID file (pylockfile SinglePidFile): the first call
 * opens it, later calls return the same object (PATH_TEMPLATE and OPTS may
 * then be NULL; a different path gives -EEXIST).
 */
int pidlock_single_pidfile(struct pidlock_pidfile **pfp,
			   const char *path_template,
			   const struct pidlock_pidfile_options *opts,
			   pid_t *holder);
int pidlock_single_pidfile_close(void);

/**
 * Read someone else's lock or PID file: enum pidlock_state or a negative
 * errno. A PID counts only while the file is locked; *HOLDER gets it (0
 * when the file is held but names no PID, e.g. shared holders).
 */
int pidlock_check(const char *path, pid_t *holder);

/* ---- Signal dispatcher (pylockfile SignalDispatcher) ------------------- */

/* Called in signal context: only async-signal-safe calls inside. */
typedef void (*pidlock_sig_fn)(int signo, siginfo_t *info, void *ucontext,
			       void *data);

#define PIDLOCK_SIG_MAX_HANDLERS 16

/**
 * Replace: FN runs and nothing registered before it does (not even the
 * disposition the signal had). Returns a registration id (> 0).
 */
int pidlock_sig_set(int signo, pidlock_sig_fn fn, void *data);

/**
 * Chain: FN runs, then whatever ran before (handlers added earlier, down
 * to the signal's previous disposition: a default action that ends the
 * process is re-raised, so the wait status names the signal). Returns a
 * registration id (> 0).
 */
int pidlock_sig_add(int signo, pidlock_sig_fn fn, void *data);

/**
 * Undo registration ID. When the last one goes, the disposition the signal
 * had before the dispatcher took it is put back.
 */
int pidlock_sig_restore(int signo, int id);

/**
 * True when, at this moment, SIGNO would end the process after the
 * dispatcher's handlers run. Async-signal-safe.
 */
bool pidlock_sig_will_terminate(int signo);

#ifdef __cplusplus
}
#endif

#endif /* PIDLOCK_H */

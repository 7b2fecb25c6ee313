/* SPDX-License-Identifier: MIT */
/* Guarded resources (guard.c and its parts, guard_int.h), used by the
 * open, close and exec wrappers and the shim's start. */
#ifndef PIDSHIM_GUARD_H
#define PIDSHIM_GUARD_H

#include <stdbool.h>

#include "shim.h"

struct guard;

/* Whether opens and closes must be looked at (guards configured, the shim
 * acting in this process, not a vfork child). */
SHIM_HIDDEN bool guards_active(void);
/* The same without the vfork test, which costs a system call (getpid):
 * the one test on open()'s and close()'s fast path, after shim_ready();
 * shim_in_own_process() is asked only once a guard is concerned. */
SHIM_HIDDEN bool guards_configured(void);

/* The guard an open is about to use (NULL: the path is not guarded). */
struct guard_claim {
	struct guard *guard;
};

/*
 * Before the real open of PATH (relative to DIRFD) with FLAGS: take the
 * resource's guard when the path matches. Returns 0 (not guarded), 1
 * (claimed: call guard_attach with the open's result), or -1 with errno
 * set (EBUSY when busy): the open must fail without being attempted.
 */
SHIM_HIDDEN int guard_claim(int dirfd, const char *path, int flags,
			    struct guard_claim *claim);

/* guard_claim for RESOURCE, already the real path, without waiting: 1
 * taken, -1 not (busy, or no lock file there), and errno says why. */
SHIM_HIDDEN int guard_try_claim(const char *resource, int flags,
				struct guard_claim *claim);

/*
 * The open of PATH (relative to DIRFD) with FLAGS and MODE, made here when
 * its name decides (guard_open.c): a name no pattern matches, opened with
 * the proof that no symlink was on the way, is unguarded; a name that
 * matches and is opened with that proof is the real path, and its guard
 * is taken before. Returns the open's result (errno set), or
 * GUARD_OPEN_BY_PATH: the name did not decide, nothing was opened or
 * created, and the caller resolves the path (guard_claim) and opens it.
 */
#define GUARD_OPEN_BY_PATH (-2)
SHIM_HIDDEN int guard_open_by_name(int dirfd, const char *path, int flags,
				   mode_t mode);
/* For fopen and freopen, which open inside libc: whether PATH, to be
 * opened with FLAGS, is proven unguarded by its name (one O_PATH open
 * without symlinks, closed). False: resolve it (guard_claim). */
SHIM_HIDDEN bool guard_unguarded_by_name(const char *path, int flags);

/* A claim by guard_try_claim whose name proved not to be the real path:
 * given up, released if no other open shares it, whatever the scope. */
SHIM_HIDDEN void guard_abandon(struct guard_claim *claim);

/* After the real open: FD >= 0 now holds the claim; FD < 0 gives it up. */
SHIM_HIDDEN void guard_attach(struct guard_claim *claim, int fd);

/* Whether FD is a guarded descriptor (cheap: one atomic load). */
SHIM_HIDDEN bool guard_tracks(int fd);

/* FD was closed; NEWFD now refers to what OLDFD does. */
SHIM_HIDDEN void guard_closed(int fd);
SHIM_HIDDEN void guard_duplicated(int oldfd, int newfd);

/*
 * guard_closed in two halves, for close and fclose: detach FD from its
 * guard *before* the real close, while the number is still ours (once the
 * close returns, another thread's open may get that number and attach its
 * own guard to it); put the reference after the close, so that the lock
 * is released only once the file is closed. 0: FD was not guarded.
 */
SHIM_HIDDEN int guard_detach(int fd);
SHIM_HIDDEN void guard_put(int handle);

/* The same for close_range and closefrom: every tracked descriptor from
 * FIRST to LAST detached before the real call (no allocation: these run
 * in children about to exec), the references put after it. */
#define GUARD_MAX 1024
struct guard_range {
	int puts[GUARD_MAX]; /* references to drop, per guard */
};
SHIM_HIDDEN void guard_detach_range(unsigned first, unsigned last,
				    struct guard_range *range);
SHIM_HIDDEN void guard_range_done(struct guard_range *range);

/* The process ends: remove our guard lock files. Async-signal-safe. */
SHIM_HIDDEN void guard_release_all_for_exit(void);

/* exec: a guarded descriptor that survives it keeps its guard (the lock
 * descriptor is kept open for the exec, and the new image takes it back
 * over at start). */
SHIM_HIDDEN void guard_keep_across_exec(void);
SHIM_HIDDEN void guard_exec_failed(void);
SHIM_HIDDEN void guard_adopt_after_exec(void);

/* The program installs a signal handler (any installer, before it
 * reaches the kernel): from now on the table's critical sections block
 * the signals (guard_signals.c). */
SHIM_HIDDEN void guard_note_program_handler(void);

SHIM_HIDDEN void guard_before_fork(void);
SHIM_HIDDEN void guard_after_fork_in_parent(void);
SHIM_HIDDEN void guard_after_fork_in_child(void);

#endif

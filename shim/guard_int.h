/* SPDX-License-Identifier: MIT */
/*
 * The guard's own parts, for its files, each calling only the ones below
 * it: exec (guard_exec.c), the table (guard.c), a guard's lock file
 * (guard_lock.c), a path's names (guard_path.c). The rest of the shim
 * uses guard.h.
 */
#ifndef PIDSHIM_GUARD_INT_H
#define PIDSHIM_GUARD_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "guard.h"
#include "lockfd.h"
#include "shim.h"

#define MAX_GUARDS GUARD_MAX
/* Descriptors below this are tracked in a flat array; a guarded
 * open landing higher keeps its guard until exit. */
#define FD_TRACKED 65536

enum guard_state { GUARD_FREE, GUARD_ACQUIRING, GUARD_HELD };

struct guard {
	_Atomic int state; /* enum guard_state; read by the signal path */
	char resource[PATH_MAX];
	char lockpath[PATH_MAX];
	struct lockfd lk;
	bool shared;
	/* taken for the name an open was given, which no open has yet
	 * proved the real path (guard_open.c): given up, it is released
	 * whatever the scope */
	atomic_bool by_name;
	int refs;	    /* descriptors open on it */
	pthread_t acquirer; /* the thread taking it while GUARD_ACQUIRING */
};

/* One guard per resource per process. A fixed array, so that the signal
 * path can walk it without allocating or locking. */
struct guard_table {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a guard left GUARD_ACQUIRING */
	struct guard guards[MAX_GUARDS];
	/* Slots ever used: every walk of the table stops there, so that a
	 * process touches (and a fork copies) only the slots it used. */
	_Atomic int used;
	/* guard index + 1 for each tracked descriptor, 0 for none */
	_Atomic unsigned short fd_guard[FD_TRACKED];
};
SHIM_HIDDEN extern struct guard_table guard_table;

/* ---- the table (guard.c) ------------------------------------------------ */

SHIM_HIDDEN int guard_used_slots(void);
/* A free slot, NULL when all MAX_GUARDS are taken. Table locked, or no
 * other thread yet (the constructor). */
SHIM_HIDDEN struct guard *guard_new(void);

/* ---- a guard's lock file (guard_lock.c) --------------------------------- */

/* ---- the signal mask around the table (guard_signals.c) ----------------- */

/*
 * open and close are async-signal-safe, so a signal handler may open or
 * close a guarded path while its thread is inside the table: every
 * critical section runs with the thread's signals blocked (the old mask in
 * *OLD), and a handler never finds the mutex held by its own thread. Only
 * the waits run with the program's mask (a handler ends a blocking one
 * with EINTR; see libpidshim(7), "Guards"): restore, wait, then block
 * again with the same OLD. Until the program installs a handler the mask
 * is left alone (guard_signals.c says why).
 */
SHIM_HIDDEN void guard_block_signals(sigset_t *old);
SHIM_HIDDEN void guard_restore_signals(const sigset_t *old);
/* Before a wait that keeps the table's mutex (a condition variable): the
 * signals blocked for real, whatever guard_block_signals did. */
SHIM_HIDDEN void guard_block_signals_for_wait(sigset_t *old);
/* A forked child: its only thread holds the table, with the mask FORKING
 * says. */
SHIM_HIDDEN void guard_signals_after_fork_in_child(const sigset_t *forking);

/* MS from now, by CLOCK_REALTIME (pthread_cond_timedwait's clock). */
SHIM_HIDDEN void guard_deadline_after(int ms, struct timespec *deadline);

/* The lock of a new guard G, waiting MS (< 0 forever) until DEADLINE: at
 * once with the signals blocked, so that a handler never finds its own
 * thread's guard GUARD_ACQUIRING but while it waits; then, busy, the wait
 * itself with the program's mask OLD. 0 or a negative errno. */
SHIM_HIDDEN int guard_acquire_new(struct guard *g, bool shared, int ms,
				  const struct timespec *deadline,
				  sigset_t *old);

/* A reader holding G's shared lock opens for writing: convert, waiting MS
 * (< 0 forever). G is GUARD_ACQUIRING, the table unlocked, the signals
 * blocked but for the waits, which run with the program's mask OLD. 0, or
 * a negative errno (G holds its shared lock again). */
SHIM_HIDDEN int guard_upgrade(struct guard *g, int ms, sigset_t *old);

/* ---- a path's names (guard_path.c) -------------------------------------- */

/* The absolute path the kernel has for descriptor FD (PATH_MAX bytes). */
SHIM_HIDDEN bool guard_fd_path(int fd, char *out);
/* PATH (relative to DIRFD) by name, made absolute; and what the kernel
 * resolves it to for an open with FLAGS. OUT: PATH_MAX bytes. */
SHIM_HIDDEN bool guard_absolute_form(int dirfd, const char *path, char *out);
SHIM_HIDDEN bool guard_real_form(int dirfd, const char *path, int flags,
				 char *out);
/* Whether PATH (absolute) matches a PIDSHIM_GUARD pattern. */
SHIM_HIDDEN bool guard_matches(const char *path);
/* Whether some pattern may match DIR/REL for some directory DIR: REL
 * relative, normalized, without "..", of COMPONENTS components. */
SHIM_HIDDEN bool guard_tail_may_match(const char *rel, size_t components);

/* What PATH (relative to DIRFD) is by its name alone, taken as the real
 * path (symlinks not looked at: the caller proves there are none): its
 * absolute, lexically normalized form, in OUT (PATH_MAX bytes), matches
 * a pattern, or none, or it cannot be told (too long, no directory). */
enum guard_name {
	GUARD_NAME_UNMATCHED,
	GUARD_NAME_MATCHES,
	GUARD_NAME_UNKNOWN,
};
SHIM_HIDDEN enum guard_name guard_name_of(int dirfd, const char *path,
					  char *out);
/* The lock file of RESOURCE (absolute) in the configured style, and
 * whether PATH's name is one; OUT: PATH_MAX bytes. */
SHIM_HIDDEN bool guard_lock_path_for(const char *resource, char *out);
SHIM_HIDDEN bool guard_named_as_lock(const char *path);
/* How the configured style writes the PID into a lock file. */
SHIM_HIDDEN enum lockfd_format guard_pid_format(void);

#endif

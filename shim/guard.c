/* SPDX-License-Identifier: MIT */
/*
 * Guarded resources: a path matching PIDSHIM_GUARD is opened only while
 * this process holds the resource's lock file, taken *before* the real
 * open (so O_TRUNC and O_CREAT happen under the lock) and released when the
 * last descriptor of that open is closed (scope open) or at exit (scope
 * process).
 *
 * One guard per resource per process, counted: two opens of one resource
 * in one process (or from two threads) share the lock instead of waiting
 * for each other. This file is the table of guards: claims, descriptors,
 * releases, fork. A guard's lock file is taken and converted in
 * guard_lock.c, a path's names are guard_path.c's, exec guard_exec.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guard_int.h"

/* 8 MiB of zeros, touched only by a process that guards something; the
 * last object in the shim's link (shim/meson.build), so that it lies
 * after the few variables every start-up writes, not between them. */
struct guard_table guard_table = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

/* ---- the table -------------------------------------------------------------
 */

/* Every critical section with the thread's signals blocked (guard_int.h). */
static void table_lock(sigset_t *old)
{
	guard_block_signals(old);
	pthread_mutex_lock(&guard_table.lock);
}

static void table_unlock(const sigset_t *old)
{
	pthread_mutex_unlock(&guard_table.lock);
	guard_restore_signals(old);
}

int guard_used_slots(void)
{
	return atomic_load(&guard_table.used);
}

static struct guard *find(const char *resource)
{
	for (int i = 0; i < guard_used_slots(); i++) {
		struct guard *g = &guard_table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE &&
		    strcmp(g->resource, resource) == 0)
			return g;
	}
	return NULL;
}

struct guard *guard_new(void)
{
	int used = guard_used_slots();
	struct guard *g = NULL;

	for (int i = 0; i < used && !g; i++)
		if (atomic_load(&guard_table.guards[i].state) == GUARD_FREE)
			g = &guard_table.guards[i];
	if (!g) {
		if (used == MAX_GUARDS)
			return NULL;
		atomic_store(&guard_table.used, used + 1);
		g = &guard_table.guards[used];
	}
	atomic_store(&g->by_name, false);
	return g;
}

/* ---- claims -------------------------------------------------------------- */

static void put_locked(struct guard *g);

static int wait_ms(void)
{
	switch (shim_config.guard_wait) {
	case SHIM_GUARD_WAIT_FAIL:
		return 0;
	case SHIM_GUARD_WAIT_TIMEOUT:
		return shim_config.guard_timeout_ms;
	default:
		return -1;
	}
}

/* errno for a lock that could not be taken: busy is EBUSY (libpidshim(7),
 * "Guards"); an unsafe lock file refuses the open with ENOLCK,
 * an impossible one with the reason. */
static int open_errno(int err)
{
	if (err == -EAGAIN || err == -ETIMEDOUT)
		return EBUSY;
	return lockfd_is_unsafe(err) ? ENOLCK : -err;
}

/*
 * Take RESOURCE's guard (its real path) for an open with FLAGS, waiting
 * MS (< 0 forever). BY_NAME: RESOURCE is the name the open was given, not
 * yet proved the real path; a failure is answered by resolving it, not
 * reported as a refused open.
 */
static int claim_resource(const char *resource, int flags, int ms, bool by_name,
			  struct guard_claim *claim)
{
	bool shared = shim_config.guard_mode == SHIM_GUARD_MODE_SHARED_READ &&
		      (flags & O_ACCMODE) == O_RDONLY &&
		      !(flags & (O_TRUNC | O_CREAT));
	struct timespec deadline;
	struct guard *g;
	sigset_t old;
	/* which thread: pthread_self costs no system call, gettid would */
	pthread_t self = pthread_self();
	int err, saved = errno;

	claim->guard = NULL;
	if (ms > 0)
		guard_deadline_after(ms, &deadline);

	table_lock(&old);
	while ((g = find(resource)) &&
	       atomic_load(&g->state) == GUARD_ACQUIRING) {
		/* A signal handler that interrupted its own thread's wait
		 * for this guard: that wait goes on only once the handler
		 * returns, so the handler cannot wait. It is refused as
		 * busy (see libpidshim(7), "Guards"). */
		if (pthread_equal(g->acquirer, self)) {
			table_unlock(&old);
			errno = EBUSY;
			return -1;
		}
		/* another thread is taking this very lock: wait for it and
		 * share, never compete with ourselves */
		if (ms != 0)
			guard_block_signals_for_wait(&old);
		if (ms == 0 ||
		    (ms > 0 && pthread_cond_timedwait(
				   &guard_table.changed, &guard_table.lock,
				   &deadline) == ETIMEDOUT)) {
			table_unlock(&old);
			errno = EBUSY;
			return -1;
		}
		if (ms < 0)
			pthread_cond_wait(&guard_table.changed,
					  &guard_table.lock);
	}
	if (g) {
		/* held already: share it */
		g->refs++;
		err = 0;
		if (g->shared && !shared) {
			/* a reader opening for writing: convert, without the
			 * table (the wait may be long; closes and forks of
			 * other guards go on), others of this guard wait */
			g->acquirer = self;
			atomic_store(&g->state, GUARD_ACQUIRING);
			pthread_mutex_unlock(&guard_table.lock);
			err = guard_upgrade(g, ms, &old);
			pthread_mutex_lock(&guard_table.lock);
			atomic_store(&g->state, GUARD_HELD);
			pthread_cond_broadcast(&guard_table.changed);
			if (err < 0)
				put_locked(g);
		}
		table_unlock(&old);
		if (err < 0) {
			errno = open_errno(err);
			return -1;
		}
		claim->guard = g;
		errno = saved;
		return 1;
	}
	g = guard_new();
	if (!g) {
		table_unlock(&old);
		if (!by_name)
			log_warn("%s: more than %d guarded resources open at "
				 "once; open refused",
				 resource, MAX_GUARDS);
		errno = ENOLCK;
		return -1;
	}
	strcpy(g->resource, resource);
	if (!guard_lock_path_for(resource, g->lockpath)) {
		table_unlock(&old);
		errno = ENAMETOOLONG;
		return -1;
	}
	g->refs = 1;
	g->shared = shared;
	atomic_store(&g->by_name, by_name);
	g->lk.fd = -1;
	g->acquirer = self;
	atomic_store(&g->state, GUARD_ACQUIRING);
	pthread_mutex_unlock(&guard_table.lock);

	log_debug("%s: taking %s", resource, g->lockpath);
	err = guard_acquire_new(g, shared, ms, &deadline, &old);
	if (err == 0)
		private_fd_adopt(&g->lk.fd);
	pthread_mutex_lock(&guard_table.lock);
	atomic_store(&g->state, err == 0 ? GUARD_HELD : GUARD_FREE);
	pthread_cond_broadcast(&guard_table.changed);
	table_unlock(&old);
	if (err < 0) {
		if (!by_name && err != -EAGAIN && err != -ETIMEDOUT &&
		    err != -EINTR)
			log_warn("%s: cannot take the guard lock %s: %s; open "
				 "refused",
				 resource, g->lockpath, strerror(-err));
		errno = open_errno(err);
		return -1;
	}
	claim->guard = g;
	errno = saved;
	return 1;
}

int guard_claim(int dirfd, const char *path, int flags,
		struct guard_claim *claim)
{
	char abs[PATH_MAX], real[PATH_MAX];
	int saved = errno;

	claim->guard = NULL;
	if (!path || (flags & O_PATH) || !guard_absolute_form(dirfd, path, abs))
		goto unguarded;
	if (!guard_real_form(dirfd, path, flags, real))
		strcpy(real, abs);
	if (!guard_matches(abs) && !guard_matches(real))
		goto unguarded;
	return claim_resource(real, flags, wait_ms(), false, claim);

unguarded:
	errno = saved;
	return 0;
}

int guard_try_claim(const char *resource, int flags, struct guard_claim *claim)
{
	return claim_resource(resource, flags, 0, true, claim);
}

/* ---- descriptors --------------------------------------------------------- */

/* Drop one reference; the last one releases (scope open). Table locked. */
static void put_locked(struct guard *g)
{
	if (--g->refs > 0 ||
	    (shim_config.guard_scope == SHIM_GUARD_SCOPE_PROCESS &&
	     !atomic_load(&g->by_name)))
		return;
	if (g->refs < 0)
		g->refs = 0;
	log_debug("%s: releasing %s", g->resource, g->lockpath);
	atomic_store(&g->state, GUARD_FREE);
	private_fd_forget(&g->lk.fd);
	lockfd_release(&g->lk, g->lockpath, true);
}

void guard_attach(struct guard_claim *claim, int fd)
{
	struct guard *g = claim->guard;

	if (!g)
		return;
	/* the open was made: its name was the real path */
	atomic_store_explicit(&g->by_name, false, memory_order_relaxed);
	if (fd >= 0 && fd < FD_TRACKED) {
		atomic_store(&guard_table.fd_guard[fd],
			     (unsigned short)(g - guard_table.guards + 1));
		return;
	}
	if (fd < 0) {
		sigset_t old;

		table_lock(&old);
		put_locked(g);
		table_unlock(&old);
	}
	/* untracked descriptor: the guard stays until exit */
}

void guard_abandon(struct guard_claim *claim)
{
	sigset_t old;

	if (!claim->guard)
		return;
	table_lock(&old);
	put_locked(claim->guard);
	table_unlock(&old);
}

bool guards_configured(void)
{
	return process_role() != SHIM_ROLE_INERT && shim_config.guard_count > 0;
}

bool guards_active(void)
{
	return guards_configured() && shim_in_own_process();
}

bool guard_tracks(int fd)
{
	return fd >= 0 && fd < FD_TRACKED &&
	       atomic_load(&guard_table.fd_guard[fd]);
}

int guard_detach(int fd)
{
	if (fd < 0 || fd >= FD_TRACKED)
		return 0;
	return atomic_exchange(&guard_table.fd_guard[fd], 0);
}

void guard_put(int handle)
{
	sigset_t old;

	if (handle <= 0 || handle > MAX_GUARDS)
		return;
	table_lock(&old);
	put_locked(&guard_table.guards[handle - 1]);
	table_unlock(&old);
}

void guard_closed(int fd)
{
	guard_put(guard_detach(fd));
}

void guard_detach_range(unsigned first, unsigned last,
			struct guard_range *range)
{
	memset(range->puts, 0, sizeof(range->puts));
	if (first >= FD_TRACKED)
		return;
	if (last >= FD_TRACKED)
		last = FD_TRACKED - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		unsigned short handle =
		    atomic_exchange(&guard_table.fd_guard[fd], 0);

		if (handle)
			range->puts[handle - 1]++;
	}
}

void guard_range_done(struct guard_range *range)
{
	for (int i = 0; i < guard_used_slots(); i++)
		while (range->puts[i]-- > 0)
			guard_put(i + 1);
}

void guard_duplicated(int oldfd, int newfd)
{
	unsigned short index;
	sigset_t old;

	if (oldfd < 0 || oldfd >= FD_TRACKED || newfd < 0 ||
	    newfd >= FD_TRACKED)
		return;
	index = atomic_load(&guard_table.fd_guard[oldfd]);
	if (!index)
		return;
	table_lock(&old);
	guard_table.guards[index - 1].refs++;
	atomic_store(&guard_table.fd_guard[newfd], index);
	table_unlock(&old);
}

/* ---- the end of the process ---------------------------------------------- */

void guard_release_all_for_exit(void)
{
	/* Signal path too: no lock, no allocation. The lock files go; the
	 * locks stay until the process is gone, so that another thread still
	 * writing does so under its guard. */
	for (int i = 0; i < guard_used_slots(); i++) {
		struct guard *g = &guard_table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE && g->lk.fd >= 0) {
			struct lockfd mine = g->lk;

			lockfd_remove_at_exit(&mine, g->lockpath);
		}
	}
}

/* ---- fork ------------------------------------------------------------------
 */

/* The mask of the forking thread, set aside while it holds the table
 * across the fork (the table's lock serializes forking threads). */
static sigset_t fork_mask;

void guard_before_fork(void)
{
	sigset_t old;

	table_lock(&old);
	fork_mask = old;
}

void guard_after_fork_in_parent(void)
{
	sigset_t old = fork_mask;

	table_unlock(&old);
}

void guard_after_fork_in_child(void)
{
	/* The parent's guards stay the parent's: a child must not keep a
	 * lock alive, nor remove a lock file, that its parent holds. Its
	 * inherited descriptors are unguarded; its own opens take guards. */
	pthread_mutex_init(&guard_table.lock, NULL);
	pthread_cond_init(&guard_table.changed, NULL);
	for (int i = 0; i < guard_used_slots(); i++) {
		struct guard *g = &guard_table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE && g->lk.fd >= 0) {
			private_fd_forget(&g->lk.fd);
			libc(close)(g->lk.fd);
		}
		g->lk.fd = -1;
		g->refs = 0;
		atomic_store(&g->state, GUARD_FREE);
	}
	memset((void *)guard_table.fd_guard, 0, sizeof(guard_table.fd_guard));
	guard_signals_after_fork_in_child(&fork_mask);
}

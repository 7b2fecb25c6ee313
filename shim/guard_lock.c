/* SPDX-License-Identifier: MIT */
/*
 * A guard's lock file: taken for a new guard (at once, then waiting with
 * the program's signal mask), and converted when a reader holding it
 * shared opens for writing. flock converts by dropping the old lock
 * first, so every lock it grants again is checked against the path
 * (libpidshim(7), "Guards").
 */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "guard_int.h"

/* CLOCK_REALTIME, as pthread_cond_timedwait reads it. */
void guard_deadline_after(int ms, struct timespec *deadline)
{
	clock_gettime(CLOCK_REALTIME, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/* The milliseconds left until DEADLINE, at least 1: a wait that ran out
 * still makes a timed attempt (0 would be a non-blocking one). */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_REALTIME, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 1 ? 1 : (int)ms;
}

/* A wait MS (< 0 forever) as lockfd_acquire takes it: forever ends at a
 * handler without SA_RESTART, as the real open would. */
static int acquire_timeout(int ms)
{
	return ms < 0 ? LOCKFD_WAIT_INTERRUPTIBLE : ms;
}

/* A guard's lock file is written by its holder alone: a forked child
 * drops the guards it inherits, and an exec keeps them in the same
 * process. So its release need not read the file to learn whether it
 * still names us. And every release of a guard is made in the process
 * that took it (the shim checks that before it touches its table: a
 * vfork child may not), so the release need not ask getpid either: two
 * system calls less for every guarded close. */
static int taken(struct lockfd *lk, int err)
{
	if (err == 0) {
		lk->sole_writer = true;
		lk->released_by_owner = true;
	}
	return err;
}

int guard_acquire_new(struct guard *g, bool shared, int ms,
		      const struct timespec *deadline, sigset_t *old)
{
	int err = lockfd_acquire(&g->lk, g->lockpath, shim_config.mode, shared,
				 0, guard_pid_format(), NULL);

	if (err != -EAGAIN || ms == 0)
		return taken(&g->lk, err);
	if (ms > 0)
		ms = ms_left(deadline);
	guard_restore_signals(old);
	err = lockfd_acquire(&g->lk, g->lockpath, shim_config.mode, shared,
			     acquire_timeout(ms), guard_pid_format(), NULL);
	guard_block_signals(old);
	return taken(&g->lk, err);
}

/* ---- conversions -------------------------------------------------------- */

/* The guard's lock descriptor becomes FRESH (signals blocked: the signal
 * path reads g->lk). */
static void replace_lock(struct guard *g, const struct lockfd *fresh)
{
	sigset_t old;

	guard_block_signals(&old);
	private_fd_forget(&g->lk.fd);
	libc(close)(g->lk.fd);
	g->lk = *fresh;
	private_fd_adopt(&g->lk.fd);
	guard_restore_signals(&old);
}

/* flock granted G's lock again after it had been dropped (a conversion
 * drops the old lock first): in between, a releasing holder that found
 * the file free may have removed it, and a lock on the removed inode
 * excludes nobody. Take the file at the path afresh then, as
 * lockfd_acquire does, waiting at most MS. */
static int verify_relocked(struct guard *g, bool shared, int ms)
{
	struct lockfd fresh;
	int err;

	if (lockfd_still_ours(&g->lk, g->lockpath))
		return 0;
	log_debug("%s: %s was removed while the lock was converted; taking it "
		  "again",
		  g->resource, g->lockpath);
	err = taken(&fresh, lockfd_acquire(
				&fresh, g->lockpath, shim_config.mode, shared,
				acquire_timeout(ms), guard_pid_format(), NULL));
	if (err == 0)
		replace_lock(g, &fresh);
	return err;
}

/* A reader whose conversion was refused takes its shared lock back: its
 * descriptors are open and it reads on under the lock. It must have it,
 * so it waits (a writer may have got in meanwhile) and is not ended by a
 * signal. */
static void retake_shared(struct guard *g)
{
	int err;

	while (flock(g->lk.fd, LOCK_SH) < 0 && errno == EINTR)
		;
	do
		err = verify_relocked(g, true, -1);
	while (err == -EINTR);
	if (err < 0)
		log_warn("%s: cannot take the shared lock %s back: %s",
			 g->resource, g->lockpath, strerror(-err));
}

/* Between the timed attempts of a conversion: each refused one has lost
 * the shared lock. */
static void retake_between_attempts(void *g)
{
	retake_shared(g);
}

/* flock converts by dropping the old lock first, so a refused conversion
 * has lost it: the reader takes its shared lock back before the open is
 * refused, and between the attempts of a timed one. (While a blocking
 * conversion waits, the reader holds no lock: flock offers no atomic
 * upgrade.) The first attempt is made with the signals blocked, as for a
 * new guard. */
int guard_upgrade(struct guard *g, int ms, sigset_t *old)
{
	struct timespec deadline;
	int err;

	if (ms > 0)
		guard_deadline_after(ms, &deadline);
	err = lockfd_wait_for_lock(&g->lk, LOCK_EX, 0, NULL, NULL);
	if (err == -EAGAIN && ms != 0) {
		guard_restore_signals(old);
		err = lockfd_wait_for_lock(&g->lk, LOCK_EX, acquire_timeout(ms),
					   retake_between_attempts, g);
		guard_block_signals(old);
	}
	if (err < 0)
		goto refused;
	if (!lockfd_still_ours(&g->lk, g->lockpath)) {
		guard_restore_signals(old);
		err = verify_relocked(g, false,
				      ms <= 0 ? ms : ms_left(&deadline));
		guard_block_signals(old);
		if (err < 0)
			goto refused;
		g->shared = false;
		return 0; /* lockfd_acquire wrote our PID */
	}
	g->shared = false;
	lockfd_write_pid(&g->lk, guard_pid_format());
	return 0;
refused:
	guard_restore_signals(old);
	retake_shared(g);
	guard_block_signals(old);
	return err;
}

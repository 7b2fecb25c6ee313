/* SPDX-License-Identifier: MIT */
/*
 * Guards across exec: a guarded descriptor that survives an exec keeps its
 * guard. The old image keeps the guard's lock descriptor open for the new
 * one, which takes the guard back over at start.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "guard_int.h"

/* Guards whose lock descriptor was kept open for an exec. */
static bool kept_for_exec[MAX_GUARDS];

void guard_keep_across_exec(void)
{
	bool needed[MAX_GUARDS] = { false };
	bool any = false;

	for (int i = 0; i < guard_used_slots(); i++)
		any |= atomic_load(&guard_table.guards[i].state) == GUARD_HELD;
	if (!any)
		return;
	/* A guarded descriptor that survives the exec keeps its guard: the
	 * new image goes on writing through it. */
	for (int fd = 0; fd < FD_TRACKED; fd++) {
		unsigned short handle = atomic_load(&guard_table.fd_guard[fd]);
		long flags;

		if (!handle || needed[handle - 1])
			continue;
		flags = libc(fcntl)(fd, F_GETFD, NULL);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			needed[handle - 1] = true;
	}
	for (int i = 0; i < guard_used_slots(); i++) {
		struct guard *g = &guard_table.guards[i];

		/* shared guards are not kept: the new image could not
		 * tell their (PID-less) lock files for its own */
		kept_for_exec[i] = needed[i] && !g->shared &&
				   atomic_load(&g->state) == GUARD_HELD &&
				   libc(fcntl)(g->lk.fd, F_SETFD, NULL) == 0;
	}
}

void guard_exec_failed(void)
{
	for (int i = 0; i < guard_used_slots(); i++) {
		if (kept_for_exec[i])
			libc(fcntl)(guard_table.guards[i].lk.fd, F_SETFD,
				    (void *)(long)FD_CLOEXEC);
		kept_for_exec[i] = false;
	}
}

/* Whether FD is a descriptor of a resource whose lock file is LOCKPATH;
 * *RESOURCE (PATH_MAX bytes) gets the resource's path. */
static bool guarded_by(int fd, const char *lockpath, char *resource)
{
	char expect[PATH_MAX];

	return fd < FD_TRACKED && guard_fd_path(fd, resource) &&
	       guard_matches(resource) &&
	       guard_lock_path_for(resource, expect) &&
	       strcmp(expect, lockpath) == 0;
}

/* The new image after an exec: a lock descriptor kept open for it, named
 * by its resource's lock path, holding our PID (the same process), with
 * the resource's descriptors beside it. Take the guard back over, so that
 * closing them releases it and a new open of the resource shares it. */
static bool adopt_one(int lockfd, const char *lockpath)
{
	char resource[PATH_MAX];
	struct guard *g = NULL;
	struct lockfd_walk fds;
	struct lockfd lk;
	int fd, refs = 0;

	if (!lockfd_adopt(&lk, lockfd, lockpath) || !lockfd_walk_start(&fds))
		return false;
	while ((fd = lockfd_walk_next(&fds)) >= 0) {
		if (fd == lockfd || !guarded_by(fd, lockpath, resource))
			continue;
		if (!g && !(g = guard_new()))
			break;
		if (refs++ == 0) {
			strcpy(g->resource, resource);
			strcpy(g->lockpath, lockpath);
			g->lk = lk;
			g->shared = false;
		}
		atomic_store(&guard_table.fd_guard[fd],
			     (unsigned short)(g - guard_table.guards + 1));
	}
	lockfd_walk_end(&fds);
	if (!g || refs == 0)
		return false;
	g->refs = refs;
	libc(fcntl)(lockfd, F_SETFD, (void *)(long)FD_CLOEXEC);
	atomic_store(&g->state, GUARD_HELD);
	private_fd_adopt(&g->lk.fd);
	log_debug("%s: guard kept across exec (%s)", g->resource, lockpath);
	return true;
}

/* A candidate: inherited open across the exec (not close-on-exec, unlike
 * every lock we make: kept for us), its name a lock file's. */
static bool kept_lock(int fd)
{
	char path[PATH_MAX];
	long flags = libc(fcntl)(fd, F_GETFD, NULL);

	return flags >= 0 && !(flags & FD_CLOEXEC) && guard_fd_path(fd, path) &&
	       guard_named_as_lock(path);
}

void guard_adopt_after_exec(void)
{
	struct lockfd_walk fds;
	int candidates[16], count = 0, fd;

	if (!lockfd_walk_start(&fds))
		return;
	while (count < 16 && (fd = lockfd_walk_next(&fds)) >= 0)
		if (kept_lock(fd))
			candidates[count++] = fd;
	lockfd_walk_end(&fds);
	for (int i = 0; i < count; i++) {
		char path[PATH_MAX];

		if (!guard_fd_path(candidates[i], path))
			continue;
		/* ours (it names us) yet not adoptable: at least do not hand
		 * it on to every program this one starts */
		if (!adopt_one(candidates[i], path) &&
		    lockfd_read_pid(candidates[i], false) == getpid())
			libc(fcntl)(candidates[i], F_SETFD,
				    (void *)(long)FD_CLOEXEC);
	}
}

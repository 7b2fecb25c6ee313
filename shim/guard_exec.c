/* SPDX-License-Identifier: MIT */
/*
 * Guards across exec: a guarded descriptor that survives an exec keeps its
 * guard. The old image keeps the guard's lock descriptor open for the new
 * one, which takes the guard back over at start.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The new image after an exec: a lock descriptor kept open for it, named
 * by its resource's lock path, holding our PID (the same process), with
 * the resource's descriptors beside it. Take the guard back over, so that
 * closing them releases it and a new open of the resource shares it. */
static bool adopt_one(int lockfd, const char *lockpath)
{
	char path[PATH_MAX], expect[PATH_MAX];
	struct guard *g = NULL;
	struct dirent *entry;
	struct stat st;
	int refs = 0;
	DIR *fds;

	if (lockfd_read_pid(lockfd, false) != getpid() ||
	    fstat(lockfd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	fds = opendir("/proc/self/fd");
	if (!fds)
		return false;
	while ((entry = readdir(fds))) {
		int fd = atoi(entry->d_name);

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' ||
		    fd == lockfd || fd == dirfd(fds) || fd >= FD_TRACKED)
			continue;
		if (!guard_fd_path(fd, path) || !guard_matches(path) ||
		    !guard_lock_path_for(path, expect) || strcmp(expect, lockpath))
			continue;
		if (!g && !(g = guard_new()))
			break;
		if (refs++ == 0) {
			strcpy(g->resource, path);
			strcpy(g->lockpath, lockpath);
			g->lk.fd = lockfd;
			g->lk.dev = st.st_dev;
			g->lk.ino = st.st_ino;
			g->lk.owner = getpid();
			g->lk.shared = false;
			g->lk.names_owner = true;
			g->shared = false;
		}
		atomic_store(&guard_table.fd_guard[fd],
			     (unsigned short)(g - guard_table.guards + 1));
	}
	closedir(fds);
	if (!g || refs == 0)
		return false;
	g->refs = refs;
	libc(fcntl)(lockfd, F_SETFD, (void *)(long)FD_CLOEXEC);
	atomic_store(&g->state, GUARD_HELD);
	private_fd_adopt(&g->lk.fd);
	log_debug("%s: guard kept across exec (%s)", g->resource, lockpath);
	return true;
}

void guard_adopt_after_exec(void)
{
	DIR *fds = opendir("/proc/self/fd");
	struct dirent *entry;
	int candidates[16], count = 0;

	if (!fds)
		return;
	while ((entry = readdir(fds)) && count < 16) {
		char path[PATH_MAX];
		int fd = atoi(entry->d_name);
		long flags;

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' ||
		    fd == dirfd(fds))
			continue;
		/* kept for us: not close-on-exec, unlike every lock we make */
		flags = libc(fcntl)(fd, F_GETFD, NULL);
		if (flags < 0 || (flags & FD_CLOEXEC))
			continue;
		if (guard_fd_path(fd, path) && guard_named_as_lock(path))
			candidates[count++] = fd;
	}
	closedir(fds);
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

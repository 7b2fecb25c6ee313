/* SPDX-License-Identifier: MIT */
/*
 * Whether a PID read from a locked PID file names, here, a process that
 * holds that file. The PID is the holder's own, in its PID namespace:
 * read from another namespace (a container's file, seen from the host or
 * from a second container) the same number is some other process, or
 * none. The kernel's table of locks (/proc/locks) names each flock's
 * owner as this namespace sees it, and each process's descriptors
 * (/proc/PID/fd) show what it holds open (pidshim(1), "stop").
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cmd.h"

/* The owner of a granted flock on ST's file in /proc/locks, as this PID
 * namespace numbers it (0: not visible here); -1 when the table cannot
 * be read, -2 when it lists no such lock. */
static pid_t flock_owner(const struct stat *st)
{
	char line[256];
	pid_t owner = -2;
	FILE *locks = fopen("/proc/locks", "re");

	if (!locks)
		return -1;
	while (owner == -2 && fgets(line, sizeof(line), locks)) {
		unsigned maj, min;
		unsigned long ino;
		int pid;

		/* "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF"; a
		 * waiter's line has "->" after "N:" and is not a holder */
		if (strstr(line, "->") || !strstr(line, " FLOCK "))
			continue;
		if (sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%lu", &pid, &maj,
			   &min, &ino) == 4 &&
		    makedev(maj, min) == st->st_dev && ino == st->st_ino)
			owner = pid;
	}
	fclose(locks);
	return owner;
}

/* Whether PID has a descriptor open on ST's file: 1 yes, 0 no, -1 when
 * its descriptors cannot be looked at (another user's process). */
static int has_open(pid_t pid, const struct stat *st)
{
	char path[64];
	struct dirent *entry;
	int found = 0;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	if (!fds)
		return errno == EACCES || errno == EPERM ? -1 : 0;
	while (!found && (entry = readdir(fds))) {
		char fd_path[64 + sizeof(entry->d_name)];
		struct stat got;

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", path,
			 entry->d_name);
		found = stat(fd_path, &got) == 0 && got.st_dev == st->st_dev &&
			got.st_ino == st->st_ino;
	}
	closedir(fds);
	return found;
}

/* PID's parent, 0 when it cannot be read. */
static pid_t parent_of(pid_t pid)
{
	char path[64], line[128];
	pid_t parent = 0;
	FILE *status;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = fopen(path, "re");
	if (!status)
		return 0;
	while (fgets(line, sizeof(line), status))
		if (strncmp(line, "PPid:", 5) == 0)
			parent = (pid_t)atoi(line + 5);
	fclose(status);
	return parent;
}

bool cmd_holder_here(pid_t pid, int fd)
{
	struct stat st;
	pid_t owner;
	int opened;

	if (fstat(fd, &st) < 0)
		return false;
	owner = flock_owner(&st);
	/* no /proc to ask: the file's word is all there is */
	if (owner == -1)
		return true;
	/* the process that took the lock */
	if (owner > 0 && owner == pid)
		return true;
	/* one that shares it (a daemon the owner forked, a libpidlock
	 * program's rewritten file) */
	opened = has_open(pid, &st);
	if (opened > 0)
		return true;
	/* the child a supervisor (pidshim run) holds the file for */
	if (owner > 0 && parent_of(pid) == owner)
		return true;
	/* Another user's process, whose descriptors we may not see: the
	 * file's word, as before this check, unless the lock's owner is
	 * invisible here (0: another PID namespace's process). */
	return opened < 0 && owner != 0;
}

const char *cmd_proc_stat(pid_t pid, char *buf, size_t size)
{
	char path[64];
	const char *name_end;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the command name (field 2) may hold blanks and parentheses */
	name_end = strrchr(buf, ')');
	return name_end ? name_end + 1 : NULL;
}

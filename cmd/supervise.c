/* SPDX-License-Identifier: MIT */
/*
 * pidshim run, for a program the shim cannot enter (pidshim(1),
 * "Supervised programs"): we take its PID file by the locking algorithm
 * (pidlock(3), "How a lock is taken"), so single instance and the holder
 * report work as under the shim; the program runs as our child and the
 * file names it; the signals that ask it to end are passed on; the file
 * goes when it ends, and we exit with its status. With daemon follow we
 * are a child subreaper: a program that daemonizes becomes our child
 * again, and the file follows it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "lockfd.h"
#include "pathtemplate.h"
#include "pidlock.h"
#include "seconds.h"
#include "settings.h"
#include "supervise.h"

/* The PID file the shim would take for PROGRAM (its variables, already
 * checked): expanded with PROGRAM's name, absolute. False when none. */
static bool pidfile_path(const char *program, char *out, size_t size)
{
	const char *value = getenv("PIDSHIM_PIDFILE");
	const char *slash = strrchr(program, '/');
	char template[PATH_MAX], expanded[PATH_MAX], cwd[PATH_MAX];

	if (value && (!*value || strcmp(value, "none") == 0))
		return false;
	if (!value) {
		if (!setting_default_pidfile(template, sizeof(template)))
			return false;
		value = template;
	}
	if (path_expand_as(value, slash ? slash + 1 : program, expanded,
			   sizeof(expanded)) <= 0)
		return false;
	if (expanded[0] == '/')
		return (size_t)snprintf(out, size, "%s", expanded) < size;
	return getcwd(cwd, sizeof(cwd)) &&
	       (size_t)snprintf(out, size, "%s/%s", cwd, expanded) < size;
}

/* How long to wait for a running instance: the shim's
 * PIDSHIM_ON_CONFLICT. */
static int conflict_timeout(void)
{
	const char *value = getenv("PIDSHIM_ON_CONFLICT");

	if (!value || strcmp(value, "exit") == 0)
		return PIDLOCK_NOWAIT;
	if (strcmp(value, "wait") == 0)
		return LOCKFD_WAIT_INTERRUPTIBLE;
	return seconds_parse_ms(value + 5);
}

static int variable_or(const char *name, int base, int fallback)
{
	const char *value = getenv(name);

	return value ? (int)strtol(value, NULL, base) : fallback;
}

/* Take the PID file at PATH: 0, or the exit status (said). */
static int take(struct lockfd *lk, const char *path, bool quiet)
{
	pid_t holder = 0;
	int err = lockfd_acquire(
	    lk, path, (mode_t)variable_or("PIDSHIM_MODE", 8, 0644), false,
	    conflict_timeout(), LOCKFD_PID_LINE, &holder);

	if (err == 0)
		return 0;
	if (err == -EAGAIN || err == -ETIMEDOUT) {
		if (quiet) {
		} else if (holder > 0)
			cmd_say("run",
				"%s: another instance is running as "
				"PID %d",
				path, (int)holder);
		else
			cmd_say("run", "%s: another instance holds it", path);
		return variable_or("PIDSHIM_EXIT_CODE", 10, CMD_EXIT_BUSY);
	}
	if (err == -EINTR)
		return CMD_EXIT_BUSY;
	if (!quiet)
		cmd_say("run", "%s: %s the PID file: %s", path,
			lockfd_is_unsafe(err) ? "refusing to use"
					      : "cannot create",
			lockfd_is_unsafe(err) ? lockfd_unsafe_reason(err)
					      : strerror(-err));
	return CMD_EXIT_CANTCREATE;
}

/* One of our children other than those already reaped: the process a
 * daemonizing program left running (orphans come to a subreaper). */
static pid_t next_child(void)
{
	pid_t self = getpid(), found = 0;
	struct dirent *d;
	DIR *proc;

	/* the ones that have already ended are nobody to follow */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!found && (d = readdir(proc))) {
		char path[64], buf[512], *close_paren;
		long pid = strtol(d->d_name, NULL, 10), ppid;
		char state;
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		/* "pid (comm) state ppid": comm may hold spaces and ')' */
		if (fgets(buf, sizeof(buf), f) &&
		    (close_paren = strrchr(buf, ')')) &&
		    sscanf(close_paren + 1, " %c %ld", &state, &ppid) == 2 &&
		    ppid == self && state != 'Z')
			found = (pid_t)pid;
		fclose(f);
	}
	closedir(proc);
	return found;
}

int supervise(const struct target *t, char **command, bool verbose, bool quiet)
{
	bool follow = getenv("PIDSHIM_DAEMON") &&
		      strcmp(getenv("PIDSHIM_DAEMON"), "follow") == 0;
	bool has_pidfile;
	char path[PATH_MAX];
	struct lockfd lk;
	pid_t tracked;
	int status = 0;

	has_pidfile = pidfile_path(t->path, path, sizeof(path));
	if (!has_pidfile && getenv("PIDSHIM_PIDFILE") &&
	    *getenv("PIDSHIM_PIDFILE") &&
	    strcmp(getenv("PIDSHIM_PIDFILE"), "none") != 0) {
		cmd_say("run", "%s: cannot name the PID file",
			getenv("PIDSHIM_PIDFILE"));
		return CMD_EXIT_CANTCREATE;
	}
	if (follow && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		cmd_say("run", "cannot follow a daemon: %s", strerror(errno));
		return CMD_EXIT_NOEXEC;
	}
	if (has_pidfile) {
		int err = take(&lk, path, quiet);

		if (err)
			return err;
		if (verbose)
			cmd_say("run", "%s: created and locked", path);
	}
	tracked = child_start("run", t->path, command, false);
	if (tracked < 0) {
		status = CMD_EXIT_NOEXEC;
		goto out;
	}
	if (has_pidfile)
		lockfd_name_pid(&lk, LOCKFD_PID_LINE, tracked);
	for (;;) {
		pid_t ended = waitpid(-1, &status, 0);

		if (ended < 0 && errno == EINTR)
			continue;
		if (ended < 0) {
			status = 0;
			break;
		}
		if (ended != tracked)
			continue; /* an orphan that came to us */
		/* A daemon's parent ends with 0 once its child has gone
		 * off on its own: that child is whom the file names now. */
		if (follow && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    (tracked = next_child()) > 0) {
			child_track(tracked);
			if (has_pidfile)
				lockfd_name_pid(&lk, LOCKFD_PID_LINE, tracked);
			if (verbose)
				cmd_say("run", "following PID %d",
					(int)tracked);
			continue;
		}
		status = child_status(status);
		break;
	}
out:
	if (has_pidfile)
		lockfd_release(&lk, path, true);
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * The PID file: taken by the owner before main (or kept across its exec),
 * removed when it ends, and under daemon follow shared with its forked
 * descendants and handed to the daemon (libpidshim(7), BEHAVIOUR).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "lockfd.h"
#include "shim.h"

static struct {
	struct lockfd lock; /* fd -1: no PID file held here */
	pid_t last_child;   /* for daemon follow: the newest fork child */
	/* daemon follow: the parent this process detached from (setsid) while
	 * the file named that parent, or 0 */
	pid_t detached_from;
} pf = { .lock = { .fd = -1 } };

/* After the owner's exec the lock is already ours, on the descriptor the
 * previous image kept open for us: find it. */
bool pidfile_adopt(void)
{
	struct lockfd_walk fds;
	bool found = false;
	int fd;

	if (!lockfd_walk_start(&fds))
		return false;
	while (!found && (fd = lockfd_walk_next(&fds)) >= 0)
		found = lockfd_adopt(&pf.lock, fd, shim_config.pidfile);
	lockfd_walk_end(&fds);
	if (!found)
		return false;
	/* a PID line: kept for a waiter at the end, as when it was taken */
	pf.lock.hand_over = true;
	libc(fcntl)(pf.lock.fd, F_SETFD, (void *)(long)FD_CLOEXEC);
	private_fd_adopt(&pf.lock.fd);
	return true;
}

void pidfile_take(void)
{
	const char *path = shim_config.pidfile;
	int timeout = shim_config.on_conflict == SHIM_CONFLICT_EXIT
			  ? 0
			  : shim_config.conflict_timeout_ms;
	pid_t holder = 0;
	const char *why;
	int err;

	if (timeout != 0)
		log_debug("%s: waiting for the running instance", path);
	err = lockfd_acquire(&pf.lock, path, shim_config.mode, false, timeout,
			     LOCKFD_PID_LINE, &holder);
	if (err == 0) {
		private_fd_adopt(&pf.lock.fd);
		log_debug("%s: created and locked", path);
		return;
	}
	if ((err == -EAGAIN || err == -ETIMEDOUT) && holder == getpid() &&
	    pidfile_adopt())
		return;
	if (err == -EAGAIN || err == -ETIMEDOUT) {
		if (holder > 0)
			shim_die(shim_config.conflict_exit_code,
				 "%s: another instance is running as PID %d",
				 path, holder);
		shim_die(shim_config.conflict_exit_code,
			 "%s: another instance holds it", path);
	}
	if (err == -EPERM) {
		struct stat st;

		/* Where others can create files (the default /tmp/%n-%u.pid
		 * when XDG_RUNTIME_DIR is unset), a file planted there stops
		 * the program: say whose it is and how to get out of reach. */
		if (lstat(path, &st) < 0)
			st.st_uid = (uid_t)-1;
		shim_die(SHIM_EXIT_CANTCREATE,
			 "%s: refusing to use the PID file: it belongs to "
			 "another user (uid %ld); if someone else created it, "
			 "choose a path only you can create: set "
			 "PIDSHIM_PIDFILE, or XDG_RUNTIME_DIR for the default",
			 path, st.st_uid == (uid_t)-1 ? -1L : (long)st.st_uid);
	}
	why = lockfd_unsafe_reason(err);
	if (why)
		shim_die(SHIM_EXIT_CANTCREATE,
			 "%s: refusing to use the PID file: %s", path, why);
	shim_die(SHIM_EXIT_CANTCREATE, "%s: cannot create the PID file: %s",
		 path, strerror(-err));
}

/* The file names this process: it owns it (after a daemon hand-over the
 * owner is not the process that created it). */
static bool pidfile_names_me(void)
{
	return pf.lock.fd >= 0 &&
	       lockfd_read_pid(pf.lock.fd, false) == getpid();
}

static void release_shared_pidfile(bool orderly);

bool pidfile_keep_across_exec(void)
{
	if (pf.lock.fd < 0 || !shim_in_own_process())
		return false;
	/* Daemon follow: a process the file does not name drops its share
	 * here, not by close-on-exec in the kernel, so that it can see if it
	 * was the last holder (an heir named at this very moment included)
	 * and remove the file then. */
	if (shim_config.daemon_follow && !pidfile_names_me()) {
		release_shared_pidfile(true);
		return false;
	}
	/* the owner, or after a daemon hand-over the process the file names */
	if ((process_role() != SHIM_ROLE_OWNER && !shim_config.daemon_follow) ||
	    !pidfile_names_me())
		return false;
	/* The lock must outlive this image with no gap: keep the descriptor
	 * (the new image's shim finds it), no new open, no window. */
	return libc(fcntl)(pf.lock.fd, F_SETFD, (void *)0L) == 0;
}

void pidfile_exec_failed(void)
{
	libc(fcntl)(pf.lock.fd, F_SETFD, (void *)(long)FD_CLOEXEC);
}

/* Whether this process may remove FILE from its directory: a program that
 * dropped privileges after the file was made (dnsmasq becomes nobody) may
 * not. Async-signal-safe. */
static bool may_remove(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');

	if (!slash)
		return true;
	if (slash == file)
		return faccessat(AT_FDCWD, "/", W_OK | X_OK, AT_EACCESS) == 0;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0;
}

/* The file names us and cannot go: empty it through the descriptor opened
 * before the privileges went, so that it reads as stale (an empty,
 * unlocked file), never as naming a process that may be reused. */
static void leave_stale(bool orderly)
{
	if (ftruncate(pf.lock.fd, 0) < 0 || !orderly)
		return;
	log_warn("%s: cannot remove it as uid %ld; left empty, so that it "
		 "reads as stale",
		 shim_config.pidfile, (long)geteuid());
}

/* Daemon follow: every forked descendant that has not exec'd shares the
 * PID file's lock, so the file goes when the last of them ends, whoever
 * the file names. Drop our share; if a fresh lock on the file is then
 * granted at once, nobody else holds it: remove it, under that lock.
 * Async-signal-safe (the signal path ends processes too). */
static void release_shared_pidfile(bool orderly)
{
	const char *path = shim_config.pidfile;
	int probe = libc(open)(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
					 O_NOCTTY | O_NONBLOCK);
	struct stat at_path, probed;
	bool emptied = pidfile_names_me() && !may_remove(path);

	if (emptied)
		leave_stale(orderly);
	/* The table of our descriptors has a lock: not from a signal
	 * handler, which may have interrupted its holder (and the process
	 * is ending then). */
	if (orderly)
		private_fd_forget(&pf.lock.fd);
	libc(close)(pf.lock.fd);
	pf.lock.fd = -1;
	if (probe < 0)
		return;
	if (flock(probe, LOCK_EX | LOCK_NB) == 0 &&
	    fstat(probe, &probed) == 0 && lstat(path, &at_path) == 0 &&
	    probed.st_dev == at_path.st_dev &&
	    probed.st_ino == at_path.st_ino) {
		if (unlink(path) < 0 && orderly && !emptied)
			log_warn("%s: cannot remove it: %s", path,
				 strerror(errno));
		else if (orderly)
			log_debug("%s: removed by the last process holding it",
				  path);
	} else if (orderly) {
		log_debug("%s: left to the processes still holding it", path);
	}
	libc(close)(probe);
}

/* The PID file at the end of this process (ORDERLY: not from a signal
 * handler, which may not log). */
static void end_pidfile(bool orderly)
{
	int saved = errno;

	pid_t me = getpid();

	/* A vfork child runs in its parent's memory: hands off (as
	 * shim_in_own_process, with the PID needed below anyway). */
	if (pf.lock.fd < 0 || me != process_pid())
		goto out;
	if (shim_config.daemon_follow) {
		release_shared_pidfile(orderly);
	} else if (lockfd_read_pid(pf.lock.fd, false) == me) {
		struct lockfd mine = pf.lock;
		enum lockfd_end end;

		mine.owner = me;
		end = lockfd_unlink_if_ours(&mine, shim_config.pidfile);
		/* Kept (emptied) for an instance waiting for it (pidlock(3),
		 * "How a lock is taken", step 6): let go of the lock now
		 * rather than after the exit has torn down the address space
		 * (stdio is flushed by now, end_of_process), and let that
		 * instance have this CPU. A removed file keeps its lock to
		 * the very end: pidshim(1) wait means the holder is gone. */
		if (end == LOCKFD_HANDED_OVER) {
			flock(pf.lock.fd, LOCK_UN);
			sched_yield();
		}
		/* not removed, though the path is ours (a sticky directory)
		 * or cannot even be looked at (dropped privileges) */
		if (end == LOCKFD_LEFT &&
		    (lockfd_still_ours(&mine, shim_config.pidfile) ||
		     !may_remove(shim_config.pidfile)))
			leave_stale(orderly);
	}
out:
	errno = saved;
}

/* Whether descriptor FD of process PID is our share of the PID file's
 * lock: the same open file description (kcmp), not merely the same file —
 * a process ending opens the file again to test the lock. Where kcmp is
 * not allowed, the same file is taken as the share. */
static bool is_our_share(pid_t pid, int fd, const char *link)
{
	struct stat st;
	long same = syscall(SYS_kcmp, (long)getpid(), (long)pid, KCMP_FILE,
			    (long)pf.lock.fd, (long)fd);

	if (same >= 0)
		return same == 0;
	return stat(link, &st) == 0 && st.st_dev == pf.lock.dev &&
	       st.st_ino == pf.lock.ino;
}

/* Whether child PID, alive, still holds the PID file's lock: a child that
 * exec'd closed its share (close-on-exec), and is no heir. */
static bool child_holds_pidfile(pid_t pid)
{
	char dir_path[32], link[64];
	struct dirent *entry;
	bool holds = false;
	DIR *fds;

	if (pid <= 0 || waitpid(pid, NULL, WNOHANG) != 0)
		return false;
	snprintf(dir_path, sizeof(dir_path), "/proc/%d/fd", pid);
	fds = opendir(dir_path);
	if (!fds)
		return false;
	while (!holds && (entry = readdir(fds))) {
		if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "%s/%.16s", dir_path,
			 entry->d_name);
		holds = is_our_share(pid, atoi(entry->d_name), link);
	}
	closedir(fds);
	return holds;
}

/* Hand-overs take turns under a POSIX record lock on the file: such a
 * lock belongs to a process (unlike the flock every holder shares), so of
 * two processes of the line handing over at once (the first parent and
 * the middle child of fork, setsid, fork), the second sees what the first
 * wrote. It never meets flock: Linux keeps the two apart. The wait is
 * bounded: a stranger's record lock on the file must not keep a daemon
 * from ending (it then hands over without its turn). */
static bool take_turn(void)
{
	struct flock turn = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	for (int ms = 0; ms < 2000; ms++) {
		if (libc(fcntl)(pf.lock.fd, F_SETLK, &turn) == 0)
			return true;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return false;
		nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
	}
	return false;
}

static void end_turn(void)
{
	struct flock turn = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	libc(fcntl)(pf.lock.fd, F_SETLK, &turn);
}

static bool hand_over_in_turn(void)
{
	pid_t heir = pf.last_child;
	bool entitled;
	char text[16];
	int len;

	entitled = pidfile_names_me() ||
		   (pf.detached_from > 0 &&
		    lockfd_read_pid(pf.lock.fd, false) == pf.detached_from);
	if (!entitled || !child_holds_pidfile(heir))
		return false;
	len = snprintf(text, sizeof(text), "%d\n", heir);
	/* We hold the lock (the child shares it): rewrite. */
	if (ftruncate(pf.lock.fd, 0) < 0 ||
	    pwrite(pf.lock.fd, text, (size_t)len, 0) != len)
		return false;
	log_debug("%s: handed over to PID %d", shim_config.pidfile, heir);
	return true;
}

/* Daemon follow: the process the file names (or the one that detached
 * from it: fork, setsid, fork) ends while its newest child still holds the
 * lock: the file names that child from now on. */
static bool hand_over(void)
{
	bool handed, turn;

	if (!shim_config.daemon_follow || pf.lock.fd < 0 ||
	    !shim_in_own_process())
		return false;
	turn = take_turn();
	handed = hand_over_in_turn();
	if (turn)
		end_turn();
	return handed;
}

void pidfile_end(bool orderly)
{
	/* A hand-over only names the heir: removal is still the last
	 * holder's (end_pidfile), so an heir already on its way out cannot
	 * leave the file behind. Not from a signal handler: it reads /proc. */
	if (orderly && !hand_over() && pf.lock.fd >= 0 &&
	    log_enabled(SHIM_LOG_DEBUG) && pidfile_names_me())
		log_debug("%s: removing at exit", shim_config.pidfile);
	end_pidfile(orderly);
}

/* ---- fork and daemon follow ------------------------------------------- */

void pidfile_forked(pid_t child)
{
	pf.last_child = child;
}

void pidfile_after_fork_in_child(void)
{
	pf.last_child = 0;
	pf.detached_from = 0;
	/* A child must not keep the owner's lock alive after the owner is
	 * gone — unless the PID file is to follow a daemonizing program. */
	if (pf.lock.fd >= 0 && !shim_config.daemon_follow) {
		private_fd_forget(&pf.lock.fd);
		libc(close)(pf.lock.fd);
		pf.lock.fd = -1;
	}
}

/* Daemon follow: a process that detaches (setsid) from the process the
 * file names may be the middle step of fork, setsid, fork: if it ends
 * while its parent still holds the file, its newest child is the daemon
 * (hand_over). It does not take the file itself: cron's jobs, sshd's and
 * getty's sessions detach the same way from a daemon that runs on. */
void pidfile_detached(void)
{
	if (shim_config.daemon_follow && pf.lock.fd >= 0 &&
	    lockfd_read_pid(pf.lock.fd, false) == getppid())
		pf.detached_from = getppid();
}

/* The child of daemon(3): the parent handed over when it left; say so
 * ourselves too, so that the file never names a process that is gone. */
void pidfile_daemon_child(void)
{
	if (pf.lock.fd >= 0 && shim_config.daemon_follow) {
		bool turn = take_turn();

		pf.lock.owner = getpid();
		lockfd_write_pid(&pf.lock, LOCKFD_PID_LINE);
		if (turn)
			end_turn();
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * The shim's life in a process: the constructor (owner or descendant, the
 * PID file taken before main), fork, daemon follow, and every way the
 * owner ends (return from main, exit, _exit, _Exit; signals in signal.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "guard.h"
#include "lockfd.h"
#include "shim.h"

enum shim_role {
	ROLE_INERT,	 /* secure execution, or CHILDREN=none below the owner */
	ROLE_OWNER,	 /* the process the shim first started in */
	ROLE_DESCENDANT, /* forked or exec'd below the owner */
};

static struct {
	pid_t pid; /* the process this memory is the shim's state of */
	enum shim_role role;
	struct lockfd pidfile; /* fd -1: no PID file held here */
	pid_t last_child;      /* for daemon follow: the newest fork child */
	/* daemon follow: the parent this process detached from (setsid) while
	 * the file named that parent, or 0 */
	pid_t detached_from;
} shim = { .pidfile = { .fd = -1 } };

/* Set when our constructor starts. Calls that come earlier — from the
 * sanitizer runtime's or another preloaded library's constructor — pass
 * straight to libc: nothing is virtualized yet, so the kernel's view is the
 * program's, and the constructor later takes over from what it finds.
 * Initializing for them instead would allocate inside a runtime that is
 * itself still starting. */
static atomic_bool constructor_started;

bool shim_ready(void)
{
	if (!atomic_load_explicit(&constructor_started, memory_order_acquire))
		return false;
	shim_init();
	return true;
}

bool shim_active(void)
{
	return shim_ready() && shim.role != ROLE_INERT;
}

bool shim_in_own_process(void)
{
	/* A vfork child runs in its parent's memory without our atfork
	 * handlers: it must not touch the parent's tables. */
	return getpid() == shim.pid;
}

bool guards_active(void)
{
	return shim_ready() && shim.role != ROLE_INERT &&
	       shim_config.guard_count > 0 && shim_in_own_process();
}

/* ---- the PID file -------------------------------------------------------- */

/* After the owner's exec the lock is already ours, on the descriptor the
 * previous image kept open for us: find it. */
static bool adopt_inherited_pidfile(void)
{
	struct stat want, st;
	DIR *fds;
	struct dirent *entry;
	bool found = false;

	if (lstat(shim_config.pidfile, &want) < 0)
		return false;
	fds = opendir("/proc/self/fd");
	if (!fds)
		return false;
	while (!found && (entry = readdir(fds))) {
		int fd = atoi(entry->d_name);

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' ||
		    fd == dirfd(fds) || fstat(fd, &st) < 0 ||
		    st.st_dev != want.st_dev || st.st_ino != want.st_ino)
			continue;
		/* The file must name us: a descriptor of the same file opened
		 * by the program itself is no proof of the lock. */
		if (lockfd_read_pid(fd, false) != getpid())
			continue;
		shim.pidfile.fd = fd;
		shim.pidfile.dev = st.st_dev;
		shim.pidfile.ino = st.st_ino;
		shim.pidfile.owner = getpid();
		shim.pidfile.shared = false;
		shim.pidfile.names_owner = true;
		libc(fcntl)(fd, F_SETFD, (void *)(long)FD_CLOEXEC);
		private_fd_adopt(&shim.pidfile.fd);
		found = true;
	}
	closedir(fds);
	return found;
}

static const char *unsafe_reason(int err)
{
	switch (err) {
	case -ELOOP:
		return "it is a symbolic link";
	case -EISDIR:
		return "it is a directory";
	case -EINVAL:
		return "it is not a regular file";
	case -EMLINK:
		return "it has more than one hard link";
	case -EPERM:
		return "it belongs to another user";
	default:
		return NULL;
	}
}

static void take_pidfile(void)
{
	const char *path = shim_config.pidfile;
	int timeout = shim_config.on_conflict == CONFLICT_EXIT
			      ? 0
			      : shim_config.conflict_timeout_ms;
	pid_t holder = 0;
	const char *why;
	int err;

	if (shim_config.owner_from_env == getpid() && adopt_inherited_pidfile()) {
		log_debug("%s: kept across exec", path);
		return;
	}
	if (timeout != 0)
		log_debug("%s: waiting for the running instance", path);
	err = lockfd_acquire(&shim.pidfile, path, shim_config.mode, false,
			     timeout, LOCKFD_PID_LINE, &holder);
	if (err == 0) {
		private_fd_adopt(&shim.pidfile.fd);
		log_debug("%s: created and locked", path);
		return;
	}
	if ((err == -EAGAIN || err == -ETIMEDOUT) && holder == getpid() &&
	    adopt_inherited_pidfile())
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
	why = unsafe_reason(err);
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
	return shim.pidfile.fd >= 0 &&
	       lockfd_read_pid(shim.pidfile.fd, false) == getpid();
}

static void release_shared_pidfile(bool orderly);

bool pidfile_keep_across_exec(void)
{
	if (shim.pidfile.fd < 0 || !shim_in_own_process())
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
	if ((shim.role != ROLE_OWNER && !shim_config.daemon_follow) ||
	    !pidfile_names_me())
		return false;
	/* The lock must outlive this image with no gap: keep the descriptor
	 * (the new image's shim finds it), no new open, no window. */
	return libc(fcntl)(shim.pidfile.fd, F_SETFD, (void *)0L) == 0;
}

void pidfile_exec_failed(void)
{
	libc(fcntl)(shim.pidfile.fd, F_SETFD, (void *)(long)FD_CLOEXEC);
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
	if (ftruncate(shim.pidfile.fd, 0) < 0 || !orderly)
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
	private_fd_forget(&shim.pidfile.fd);
	libc(close)(shim.pidfile.fd);
	shim.pidfile.fd = -1;
	if (probe < 0)
		return;
	if (flock(probe, LOCK_EX | LOCK_NB) == 0 && fstat(probe, &probed) == 0 &&
	    lstat(path, &at_path) == 0 && probed.st_dev == at_path.st_dev &&
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

	/* A vfork child runs in its parent's memory: hands off. */
	if (shim.pidfile.fd < 0 || !shim_in_own_process())
		goto out;
	if (shim_config.daemon_follow) {
		release_shared_pidfile(orderly);
	} else if (pidfile_names_me()) {
		struct lockfd mine = shim.pidfile;

		mine.owner = getpid();
		if (!lockfd_unlink_if_ours(&mine, shim_config.pidfile))
			leave_stale(orderly);
	}
out:
	errno = saved;
}

void shim_cleanup_for_exit(void)
{
	int saved = errno;

	/* Nothing that allocates or locks: this runs in signal handlers and
	 * in vfork children, whose memory is their parent's. */
	end_pidfile(false);
	if (shim.role != ROLE_INERT && shim_config.guard_count > 0)
		guard_release_all_for_exit();
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
			    (long)shim.pidfile.fd, (long)fd);

	if (same >= 0)
		return same == 0;
	return stat(link, &st) == 0 && st.st_dev == shim.pidfile.dev &&
	       st.st_ino == shim.pidfile.ino;
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

/* Daemon follow: the process the file names (or the one that detached
 * from it: fork, setsid, fork) ends while its newest child still holds the
 * lock: the file names that child from now on. */
static bool hand_over(void)
{
	pid_t heir = shim.last_child;
	bool entitled;
	char text[16];
	int len;

	if (!shim_config.daemon_follow || shim.pidfile.fd < 0 ||
	    !shim_in_own_process())
		return false;
	entitled = pidfile_names_me() ||
		   (shim.detached_from > 0 &&
		    lockfd_read_pid(shim.pidfile.fd, false) == shim.detached_from);
	if (!entitled || !child_holds_pidfile(heir))
		return false;
	len = snprintf(text, sizeof(text), "%d\n", heir);
	/* We hold the lock (the child shares it): rewrite. */
	if (ftruncate(shim.pidfile.fd, 0) < 0 ||
	    pwrite(shim.pidfile.fd, text, (size_t)len, 0) != len)
		return false;
	log_debug("%s: handed over to PID %d", shim_config.pidfile, heir);
	return true;
}

/* An orderly end (exit, _exit; FLUSH_STDIO for exit). */
static void end_of_process(bool flush_stdio)
{
	/* A hand-over only names the heir: removal is still the last
	 * holder's (end_pidfile), so an heir already on its way out cannot
	 * leave the file behind. */
	if (!hand_over() && shim.pidfile.fd >= 0 && pidfile_names_me())
		log_debug("%s: removing at exit", shim_config.pidfile);
	/* exit() flushes stdio after the destructors run: what the program
	 * wrote to a guarded file must reach it while the guard is held. */
	if (shim.role != ROLE_INERT && shim_config.guard_count > 0 && flush_stdio)
		fflush(NULL);
	end_pidfile(true);
	if (shim.role != ROLE_INERT && shim_config.guard_count > 0)
		guard_release_all_for_exit();
}

/* ---- fork and daemon follow ------------------------------------------- */

/* Every pthread_atfork handler of the shim, in one place: each lock the
 * shim takes is held across fork, so that no child starts with one of them
 * locked by a thread that does not exist there. */
static void before_fork(void)
{
	signals_before_fork();
	if (shim_config.guard_count > 0)
		guard_before_fork();
}

static void after_fork_in_parent(void)
{
	if (shim_config.guard_count > 0)
		guard_after_fork_in_parent();
	signals_after_fork_in_parent();
}

static void after_fork_in_child(void)
{
	shim.pid = getpid();
	private_fd_after_fork_in_child();
	if (shim_config.guard_count > 0)
		guard_after_fork_in_child();
	if (shim.role == ROLE_OWNER)
		shim.role = ROLE_DESCENDANT;
	shim.last_child = 0;
	shim.detached_from = 0;
	/* A child must not keep the owner's lock alive after the owner is
	 * gone — unless the PID file is to follow a daemonizing program. */
	if (shim.pidfile.fd >= 0 && !shim_config.daemon_follow) {
		private_fd_forget(&shim.pidfile.fd);
		libc(close)(shim.pidfile.fd);
		shim.pidfile.fd = -1;
	}
	/* last: it gives the child its signals back */
	signals_after_fork_in_child();
}

static pid_t shim_fork(void)
{
	pid_t pid;

	shim_ready();
	pid = libc(fork)();
	if (pid > 0)
		shim.last_child = pid;
	return pid;
}

static int shim_daemon(int nochdir, int noclose)
{
	pid_t pid;

	shim_ready();
	/* glibc's daemon() forks and _exits inside libc, out of our reach:
	 * do its steps here so the hand-over happens. */
	pid = libc(fork)();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		shim.last_child = pid;
		end_of_process(false);
		libc(_exit)(0);
	}
	if (libc(setsid)() < 0)
		return -1;
	if (!nochdir && chdir("/") < 0)
		return -1;
	if (!noclose) {
		int fd = libc(open)("/dev/null", O_RDWR);

		if (fd < 0)
			return -1;
		libc(dup2)(fd, 0);
		libc(dup2)(fd, 1);
		libc(dup2)(fd, 2);
		if (fd > 2)
			libc(close)(fd);
	}
	/* The parent handed over when it left; say so ourselves too, so that
	 * the file never names a process that is gone. */
	if (shim.pidfile.fd >= 0 && shim_config.daemon_follow) {
		shim.pidfile.owner = getpid();
		lockfd_write_pid(&shim.pidfile, LOCKFD_PID_LINE);
	}
	return 0;
}

/* ---- start ---------------------------------------------------------------- */

/* PIDSHIM_OWNER (README, "Variables"; parsed in config.c): this process
 * as the owner, the PID file it expanded, and the template it expanded it
 * from. The path is what crosses exec: the new image adopts exactly that
 * file, whatever %n or a relative template would name now. */
static void publish_owner(void)
{
	const char *path = shim_config.pidfile_enabled ? shim_config.pidfile
						       : "";
	char value[2 * PATH_MAX + 48];

	/* Descendants inherit this and know the PID file is not theirs; a
	 * nested run with another PIDSHIM_PIDFILE is an owner of its own. */
	snprintf(value, sizeof(value), "%d:%zu:%s%s", getpid(), strlen(path),
		 path, shim_config.pidfile_template);
	setenv(SHIM_OWNER_VAR, value, 1);
}

static bool is_descendant(void)
{
	return shim_config.owner_from_env != getpid() &&
	       shim_config.under_owners_template;
}

static void init_once(void)
{
	libc_init();
	lockfd_use_syscalls(libc(open), libc(close));
	shim.pid = getpid();
	private_fd_init();
	if (getauxval(AT_SECURE)) {
		/* PIDSHIM_LOG* are not to be trusted either: say it to
		 * stderr, once, and stand aside. */
		char msg[160];
		int len = snprintf(msg, sizeof(msg),
				   "pidshim[%d]: secure execution (setuid or "
				   "setgid): the environment is not trusted, "
				   "pidshim does nothing\n",
				   getpid());

		if (write(2, msg, (size_t)len) < 0) {
			/* nowhere else to say it */
		}
		shim.role = ROLE_INERT;
		return;
	}
	config_load();
	if (is_descendant())
		shim.role = shim_config.children == CHILDREN_NONE
				    ? ROLE_INERT
				    : ROLE_DESCENDANT;
	else
		shim.role = ROLE_OWNER;
	if (shim.role == ROLE_INERT)
		return;
	/* Cleanup on signals first: a supervisor may signal the moment the
	 * PID file names us, and the file must go with the process then. */
	signals_init(shim_cleanup_for_exit);
	if (shim_config.guard_count > 0)
		guard_adopt_after_exec();
	if (shim.role == ROLE_OWNER) {
		if (shim_config.pidfile_enabled)
			take_pidfile();
		publish_owner();
	} else if (shim_config.daemon_follow && shim_config.pidfile_enabled &&
		   adopt_inherited_pidfile()) {
		/* an heir that exec'd while the file named it */
		log_debug("%s: kept across exec", shim_config.pidfile);
	}
	pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

void shim_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, init_once);
}

__attribute__((constructor)) static void shim_constructor(void)
{
	atomic_store_explicit(&constructor_started, true, memory_order_release);
	shim_init();
}

__attribute__((destructor)) static void shim_destructor(void)
{
	end_of_process(true);
}

/* ---- exported libc names ------------------------------------------------ */

SHIM_EXPORT void _exit(int status)
{
	end_of_process(false);
	libc(_exit)(status);
	__builtin_unreachable(); /* a pointer to it loses noreturn */
}

SHIM_EXPORT void _Exit(int status)
{
	end_of_process(false);
	libc(_Exit)(status);
	__builtin_unreachable(); /* a pointer to it loses noreturn */
}

SHIM_EXPORT pid_t fork(void)
{
	return shim_fork();
}

/* Daemon follow: a process that detaches (setsid) from the process the
 * file names may be the middle step of fork, setsid, fork: if it ends
 * while its parent still holds the file, its newest child is the daemon
 * (hand_over). It does not take the file itself: cron's jobs, sshd's and
 * getty's sessions detach the same way from a daemon that runs on. */
static pid_t shim_setsid(void)
{
	pid_t sid = libc(setsid)();

	if (sid > 0 && shim_ready() && shim_config.daemon_follow &&
	    shim.pidfile.fd >= 0 &&
	    lockfd_read_pid(shim.pidfile.fd, false) == getppid())
		shim.detached_from = getppid();
	return sid;
}

SHIM_EXPORT pid_t setsid(void)
{
	return shim_setsid();
}

SHIM_EXPORT int daemon(int nochdir, int noclose)
{
	return shim_daemon(nochdir, noclose);
}

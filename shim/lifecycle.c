/* SPDX-License-Identifier: MIT */
/*
 * The shim's life in a process: the constructor (owner or descendant, the
 * PID file taken before main), fork, and every way the process ends
 * (return from main, exit, _exit, _Exit; signals through signal.c). The
 * top of the shim's logic: it starts the other modules and is called only
 * by the exported entry points.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "guard.h"
#include "settings.h"
#include "shim.h"

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

/* A signal ends the process: what goes with it. Nothing that allocates or
 * locks: this runs in signal handlers (and in vfork children, whose memory
 * is their parent's). */
static void cleanup_at_signal(void)
{
	int saved = errno;

	pidfile_end(false);
	if (guards_active())
		guard_release_all_for_exit();
	errno = saved;
}

/* An orderly end (exit, _exit; FLUSH_STDIO for exit). */
static void end_of_process(bool flush_stdio)
{
	/* exit() flushes stdio after the destructors run: what the program
	 * wrote to a guarded file must reach it while the guard is held, and
	 * its output must be out before the PID file goes to the next
	 * instance (pidfile_end). */
	if (flush_stdio)
		fflush(NULL);
	pidfile_end(true);
	if (guards_active())
		guard_release_all_for_exit();
}

/* ---- fork ------------------------------------------------------------------
 */

/* Every pthread_atfork handler of the shim, in one place: each lock the
 * shim takes is held across fork, so that no child starts with one of them
 * locked by a thread that does not exist there. */
static void before_fork(void)
{
	/* in the order they nest: a guard section adopts descriptors */
	signals_before_fork();
	if (shim_config.guard_count > 0)
		guard_before_fork();
	private_fd_before_fork();
}

static void after_fork_in_parent(void)
{
	private_fd_after_fork_in_parent();
	if (shim_config.guard_count > 0)
		guard_after_fork_in_parent();
	signals_after_fork_in_parent();
}

static void after_fork_in_child(void)
{
	process_after_fork_in_child();
	private_fd_after_fork_in_child();
	if (shim_config.guard_count > 0)
		guard_after_fork_in_child();
	pidfile_after_fork_in_child();
	/* last: it gives the child its signals back */
	signals_after_fork_in_child();
}

static pid_t shim_fork(void)
{
	pid_t pid;

	shim_ready();
	pid = libc(fork)();
	if (pid > 0)
		pidfile_forked(pid);
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
		pidfile_forked(pid);
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
	pidfile_daemon_child();
	return 0;
}

static pid_t shim_setsid(void)
{
	pid_t sid = libc(setsid)();

	if (sid > 0 && shim_ready())
		pidfile_detached();
	return sid;
}

/* ---- start ----------------------------------------------------------------
 */

/* PIDSHIM_OWNER's entry in the environment, which points at it from then
 * on: it lives as long as the process. */
static char owner_entry[sizeof(SHIM_OWNER_VAR "=") + 2 * PATH_MAX + 32];

/* The environment with one entry more, for environments of common size:
 * setenv would start malloc, and with it a heap, in every process the
 * shim starts, for this one variable. Only as much of it as the
 * environment fills is ever touched. */
static char *environ_with_owner[512];

/* Put owner_entry in the environment, as setenv(3) would. The
 * constructor, before any thread of the program. glibc's setenv and
 * unsetenv keep working on the result: they never free or grow an array
 * they did not allocate. */
static void environ_put_owner(void)
{
	extern char **environ;
	size_t len = strlen(SHIM_OWNER_VAR "="), n = 0;

	for (; environ && environ[n]; n++) {
		/* inherited (the owner after exec, a nested owner): in place */
		if (strncmp(environ[n], owner_entry, len) == 0) {
			environ[n] = owner_entry;
			return;
		}
	}
	if (n + 2 >
	    sizeof(environ_with_owner) / sizeof(environ_with_owner[0])) {
		/* not our string's copy: putenv keeps the pointer */
		putenv(owner_entry);
		return;
	}
	if (n > 0)
		memcpy(environ_with_owner, environ, n * sizeof(*environ));
	environ_with_owner[n] = owner_entry;
	environ_with_owner[n + 1] = NULL;
	environ = environ_with_owner;
}

/* PIDSHIM_OWNER (libpidshim(7), ENVIRONMENT; parsed in config.c): this process
 * as the owner, the PID file it expanded, and the template it expanded it
 * from. The path is what crosses exec: the new image adopts exactly that
 * file, whatever %n or a relative template would name now. */
static void publish_owner(void)
{
	const char *path =
	    shim_config.pidfile_enabled ? shim_config.pidfile : "";

	/* Descendants inherit this and know the PID file is not theirs; a
	 * nested run with another PIDSHIM_PIDFILE is an owner of its own. */
	snprintf(owner_entry, sizeof(owner_entry), "%s=%d:%zu:%s%s",
		 SHIM_OWNER_VAR, process_pid(), strlen(path), path,
		 shim_config.pidfile_template);
	environ_put_owner();
}

static enum shim_role role_from_config(void)
{
	if (shim_config.owner_from_env == process_pid() ||
	    !shim_config.under_owners_template)
		return SHIM_ROLE_OWNER;
	return shim_config.children == SHIM_CHILDREN_NONE
		   ? SHIM_ROLE_INERT
		   : SHIM_ROLE_DESCENDANT;
}

/* Whether a signal ending this process has anything to remove: the PID
 * file it owns, or shares under daemon follow, or guard locks. */
static bool has_cleanup(void)
{
	return shim_config.guard_count > 0 ||
	       (shim_config.pidfile_enabled &&
		(process_role() == SHIM_ROLE_OWNER ||
		 shim_config.daemon_follow));
}

/* Whether this image took over the PID file its previous image kept. */
static bool pidfile_adopted;

/*
 * The cleanup on signals, and what the previous image kept open for this
 * one across its exec: the PID file (which names this process already: a
 * supervisor may signal at once) and guard locks. With signals blocked
 * from before the cleanup is installed until the descriptors are ours, a
 * signal arriving meanwhile waits, and finds the cleanup ready to remove
 * the file. (Taking a new PID file may wait for another instance: that
 * happens after, killable.)
 */
static void take_over_after_exec(void)
{
	sigset_t all, old;

	/* Nothing to remove when a signal ends it, and nothing kept for it
	 * across exec: a descendant without guards (every command a shell
	 * under the shim runs) keeps its signals as the kernel has them. */
	if (!has_cleanup())
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	signals_init(cleanup_at_signal);
	if (shim_config.guard_count > 0)
		guard_adopt_after_exec();
	if (shim_config.pidfile_enabled &&
	    ((process_role() == SHIM_ROLE_OWNER &&
	      shim_config.owner_from_env == process_pid()) ||
	     (process_role() == SHIM_ROLE_DESCENDANT &&
	      shim_config.daemon_follow))) {
		pidfile_adopted = pidfile_adopt();
		if (pidfile_adopted)
			log_debug("%s: kept across exec", shim_config.pidfile);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void init_once(void)
{
	libc_init();
	process_start(SHIM_ROLE_INERT);
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
		return;
	}
	config_load();
	process_set_role(role_from_config());
	if (process_role() == SHIM_ROLE_INERT)
		return;
	take_over_after_exec();
	if (process_role() == SHIM_ROLE_OWNER && !pidfile_adopted &&
	    shim_config.pidfile_enabled)
		pidfile_take();
	if (process_role() == SHIM_ROLE_OWNER)
		publish_owner();
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

SHIM_EXPORT pid_t setsid(void)
{
	return shim_setsid();
}

SHIM_EXPORT int daemon(int nochdir, int noclose)
{
	return shim_daemon(nochdir, noclose);
}

/* SPDX-License-Identifier: MIT */
/* libpidshim internals: one header for the shim's modules. */
#ifndef PIDSHIM_SHIM_H
#define PIDSHIM_SHIM_H

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "interposed.h"

#define SHIM_HIDDEN __attribute__((visibility("hidden")))
/* The exported libc names: the only symbols the shim shows the world. */
#define SHIM_EXPORT __attribute__((visibility("default")))

/* Exit statuses of the shim itself (libpidshim(7), EXIT STATUS). */
#define SHIM_EXIT_CONFLICT 75 /* default; PIDSHIM_EXIT_CODE */
#define SHIM_EXIT_CANTCREATE 73
#define SHIM_EXIT_CONFIG 78

/* The variable by which a process learns it is a descendant of the owner
 * (or the owner after exec): the owner's PID. */

/* ---- libc trampolines (libc.c): the real functions ------------------- */

/* glibc 2.34 added these; older headers (Debian 11's 2.31) lack their
 * declarations though the shim defines and exports them all. */
#if !__GLIBC_PREREQ(2, 34)
int close_range(unsigned first, unsigned last, int flags);
void closefrom(int lowfd);
int execveat(int dirfd, const char *path, char *const argv[],
	     char *const envp[], int flags);
#endif

/* FORTIFY_SOURCE's checked opens: glibc declares them only for fortified
 * builds, and the shim exports them all. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* libc's own function for every REAL and REAL_NEWER entry of interposed.h,
 * typed as libc declares it. */
#define SHIM_LIBC_FIELD(name) __typeof__(name) *name;
#define SHIM_NO_FIELD(name)
struct libc_functions {
	SHIM_INTERPOSED(SHIM_LIBC_FIELD, SHIM_LIBC_FIELD, SHIM_NO_FIELD)
};
#undef SHIM_LIBC_FIELD
#undef SHIM_NO_FIELD
SHIM_HIDDEN extern struct libc_functions libc_fn;

/* Bind them all, once (before that, from any thread or the constructor). */
SHIM_HIDDEN void libc_init(void);

/* The real NAME: libc(open)(path, flags). The shim's own code (and the
 * core linked into it) calls these, never the exported names, so it never
 * re-enters itself. */
#define libc(name) (libc_init(), libc_fn.name)

/* ---- the shim's own descriptors (private_fd.c) ------------------------- */

SHIM_HIDDEN void private_fd_init(void);
/* Move the descriptor in *FDP high and protect it; *FDP is updated. */
SHIM_HIDDEN void private_fd_adopt(int *fdp);
/* The shim is about to close *FDP itself. */
SHIM_HIDDEN void private_fd_forget(const int *fdp);
SHIM_HIDDEN bool private_fd_is(int fd);
/* The program is about to dup2 FROM onto FD: move ours away if FD is
 * ours. True when moved: if the dup2 then fails, close FD (our old copy). */
SHIM_HIDDEN bool private_fd_make_room(int fd, int from);
/* The lowest private descriptor >= FROM, -1 for none. */
SHIM_HIDDEN int private_fd_lowest_at_or_above(int from);
SHIM_HIDDEN void private_fd_before_fork(void);
SHIM_HIDDEN void private_fd_after_fork_in_parent(void);
SHIM_HIDDEN void private_fd_after_fork_in_child(void);

/* ---- configuration (config.c) ------------------------------------------ */

enum shim_conflict { SHIM_CONFLICT_EXIT, SHIM_CONFLICT_WAIT };
enum shim_guard_wait {
	SHIM_GUARD_WAIT_BLOCK,
	SHIM_GUARD_WAIT_FAIL,
	SHIM_GUARD_WAIT_TIMEOUT
};
enum shim_guard_scope { SHIM_GUARD_SCOPE_OPEN, SHIM_GUARD_SCOPE_PROCESS };
enum shim_guard_mode { SHIM_GUARD_MODE_EXCLUSIVE, SHIM_GUARD_MODE_SHARED_READ };
enum shim_lock_style {
	SHIM_LOCK_STYLE_PIDSHIM,
	SHIM_LOCK_STYLE_DOTLOCK,
	SHIM_LOCK_STYLE_UUCP,
};
enum shim_children { SHIM_CHILDREN_TREE, SHIM_CHILDREN_NONE };
enum shim_log_level { SHIM_LOG_QUIET, SHIM_LOG_WARN, SHIM_LOG_DEBUG };

/* The small fields first and the paths after them, each written only as
 * far as its string goes: a start-up touches one page of this. */
struct shim_config {
	bool pidfile_enabled;
	/* PIDSHIM_PIDFILE as the constructor found it ("": unset); read
	 * only there, while the environment is still the one it started
	 * with */
	const char *pidfile_template;
	enum shim_conflict on_conflict;
	int conflict_timeout_ms; /* -1: wait forever */
	int conflict_exit_code;
	char **guards; /* NULL-terminated absolute fnmatch patterns */
	size_t guard_count;
	enum shim_guard_wait guard_wait;
	int guard_timeout_ms;
	enum shim_guard_scope guard_scope;
	enum shim_guard_mode guard_mode;
	enum shim_lock_style lock_style;
	enum shim_children children;
	bool daemon_follow;
	mode_t mode;
	pid_t owner_from_env; /* PIDSHIM_OWNER's PID, 0 when unset */
	/* PIDSHIM_OWNER was published under this PIDSHIM_PIDFILE: this is
	 * the owner after an exec or its descendant, and pidfile is the path
	 * the owner expanded */
	bool under_owners_template;
	char pidfile[PATH_MAX];	 /* expanded, absolute */
	char lock_dir[PATH_MAX]; /* empty: beside the resource */
};

SHIM_HIDDEN extern struct shim_config shim_config;

/* Parse every PIDSHIM_* variable; a bad value is reported and exits 78. */
SHIM_HIDDEN void config_load(void);

/* ---- logging (log.c) ---------------------------------------------------- */

/* Messages at LEVEL and more severe from now on (the default: warn). */
SHIM_HIDDEN void log_set_level(enum shim_log_level level);
/* Remember which file fd 2 is, and write to FILE instead (NULL: stderr). */
SHIM_HIDDEN void log_start(const char *file);
/* Whether a message at LEVEL would be written: for one that costs
 * system calls to compose. */
SHIM_HIDDEN bool log_enabled(enum shim_log_level level);
SHIM_HIDDEN void shim_log(enum shim_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define log_warn(...) shim_log(SHIM_LOG_WARN, __VA_ARGS__)
#define log_debug(...) shim_log(SHIM_LOG_DEBUG, __VA_ARGS__)

/* Report, then end the process before main with STATUS. */
SHIM_HIDDEN __attribute__((noreturn)) void shim_die(int status, const char *fmt,
						    ...)
    __attribute__((format(printf, 2, 3)));

/* ---- this process (process.c) ----------------------------------------- */

enum shim_role {
	SHIM_ROLE_INERT,      /* secure execution, or CHILDREN=none below
				 the owner */
	SHIM_ROLE_OWNER,      /* the process the shim first started in */
	SHIM_ROLE_DESCENDANT, /* forked or exec'd below the owner */
};

/* This process, in ROLE (the constructor, once). */
SHIM_HIDDEN void process_start(enum shim_role role);
SHIM_HIDDEN enum shim_role process_role(void);
/* Once the configuration says which role (the constructor). */
SHIM_HIDDEN void process_set_role(enum shim_role role);
/* This process's PID as the constructor found it, without a system call:
 * for the constructor's own use (a vfork or clone child shares or copies
 * this memory without the fork handlers that would update it). */
SHIM_HIDDEN pid_t process_pid(void);
/* False in a vfork child, which shares its parent's memory. */
SHIM_HIDDEN bool shim_in_own_process(void);
/* A forked child: itself, and a descendant of the owner. */
SHIM_HIDDEN void process_after_fork_in_child(void);

/* ---- the PID file (pidfile.c) ------------------------------------------ */

/* The owner takes the PID file before main; another instance or an
 * unsafe file ends the process (libpidshim(7), EXIT STATUS). */
SHIM_HIDDEN void pidfile_take(void);
/* After an exec of the process the file names (the owner, or an heir
 * under daemon follow), the new image takes over the descriptor the old
 * one kept open for it. True when it did. */
SHIM_HIDDEN bool pidfile_adopt(void);
/* The PID file's descriptor must survive an exec of the process the file
 * names; these clear and restore its close-on-exec flag around one. */
SHIM_HIDDEN bool pidfile_keep_across_exec(void);
SHIM_HIDDEN void pidfile_exec_failed(void);
/* The process ends: remove the file if it is ours to remove (ORDERLY
 * false: from a signal handler, async-signal-safe, no hand-over). */
SHIM_HIDDEN void pidfile_end(bool orderly);
/* Daemon follow's view of fork, setsid and daemon(3). */
SHIM_HIDDEN void pidfile_forked(pid_t child);
SHIM_HIDDEN void pidfile_after_fork_in_child(void);
SHIM_HIDDEN void pidfile_detached(void);
SHIM_HIDDEN void pidfile_daemon_child(void);

/* ---- lifecycle (lifecycle.c) ------------------------------------------- */

/* Everything the shim does before main, once (the constructor). */
SHIM_HIDDEN void shim_init(void);

/* shim_init() once our constructor has started; false (and nothing done)
 * before it. Every interposed call starts with this. */
SHIM_HIDDEN bool shim_ready(void);

/* ---- signals (signal.c) ------------------------------------------------ */

/* glibc exports these but its headers no longer declare them. */
int __sigaction(int signo, const struct sigaction *act,
		struct sigaction *oldact);
sighandler_t bsd_signal(int signo, sighandler_t handler);

/* Take over the terminating signals left at their default; a signal that
 * ends the process calls CLEANUP (async-signal-safe) first. The caller
 * has every signal blocked. */
SHIM_HIDDEN void signals_init(void (*cleanup)(void));
/* sigaction on the program's view of the terminating signals (the kernel's
 * for the others): every installer goes through it (sigaction.c). */
SHIM_HIDDEN int signals_sigaction(int signo, const struct sigaction *act,
				  struct sigaction *oldact);
SHIM_HIDDEN bool signals_valid(int signo);
SHIM_HIDDEN void signals_before_fork(void);
SHIM_HIDDEN void signals_after_fork_in_parent(void);
SHIM_HIDDEN void signals_after_fork_in_child(void);

#endif

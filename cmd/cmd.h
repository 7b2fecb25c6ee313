/* SPDX-License-Identifier: MIT */
/*
 * The pidshim command (pidshim(1)): one file per
 * subcommand, the option values they share in options.c.
 */
#ifndef PIDSHIM_CMD_H
#define PIDSHIM_CMD_H

#include <stdbool.h>
#include <sys/types.h>

/* Exit statuses (sysexits.h where one fits; LSB's for status). */
#define CMD_EXIT_USAGE 64
#define CMD_EXIT_CANTCREATE 73
#define CMD_EXIT_BUSY 75
#define CMD_EXIT_CONFIG 78
#define CMD_EXIT_NOEXEC 126
#define CMD_EXIT_NOTFOUND 127

/* Our command line as main got it (pidshim-cluster is started with it). */
extern char **cmd_argv;

/* Subcommands: ARGV[0] is the subcommand's name. They return the exit
 * status. */
int cmd_status(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Start COMMAND as our child: FILE through execv, or COMMAND[0] found in
 * PATH when FILE is NULL (a missing command ends it with 127, one that
 * cannot run with 126). From then on HUP, INT, QUIT, TERM, USR1, USR2,
 * ALRM and WINCH sent to us go to the tracked process, the child at
 * first. OWN_GROUP: the child leads a process group of its own (which
 * gets the terminal when we had it), so that all it started can be
 * stopped with it. Its PID, or -1 (said). */
pid_t child_start(const char *sub, const char *file, char **command,
		  bool own_group);
/* The terminal back from a child's own group (child_wait does it). */
void child_take_terminal(void);
/* Pass the signals on to PID from now on (a daemon the child became). */
void child_track(pid_t pid);
/* Wait for PID: its exit status as a shell gives it (128+N for signal
 * N). */
int child_wait(pid_t pid);
/* A wait status as a shell gives it. */
int child_status(int wait_status);

/* One line, "pidshim SUB: ...", to stderr. */
void cmd_say(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A usage error: one line naming what was wrong and what is accepted,
 * then exit 64. */
__attribute__((noreturn)) void cmd_usage_error(const char *sub, const char *fmt,
					       ...)
    __attribute__((format(printf, 2, 3)));

/* getopt_long said '?' or ':' for the option at ARGV[optind - 1]. */
__attribute__((noreturn)) void cmd_bad_option(const char *sub, char **argv,
					      int got);

/* Option values: each a usage error (exit 64) when invalid. */
int cmd_seconds_ms(const char *sub, const char *option, const char *value);
int cmd_signal(const char *sub, const char *option, const char *value);
int cmd_exit_code(const char *sub, const char *option, const char *value);
/* SIG's name without "SIG" (TERM), for messages. */
const char *cmd_signal_name(int sig);

/* The one operand after the options, or a usage error. */
const char *cmd_one_operand(const char *sub, int argc, char **argv,
			    const char *what);

/* Wait until nobody holds FD's lock: TIMEOUT_MS as lockfd_acquire takes
 * it. 0 when released, -ETIMEDOUT, or another negative errno. */
int cmd_wait_released(int fd, int timeout_ms);

/* Whether PID, read from the locked file open at FD, is here a process
 * that holds it: the lock's owner, a process with the file open, or the
 * child of the owner (a supervised program). False for a PID that is the
 * holder's in another PID namespace only (holder.c). */
bool cmd_holder_here(pid_t pid, int fd);

/* /proc/PID/stat read into BUF (SIZE bytes): its fields after the
 * command name, from the blank before the state; NULL when PID is gone
 * or unreadable. */
const char *cmd_proc_stat(pid_t pid, char *buf, size_t size);

/* Open the lock or PID file at PATH to watch its lock (read-only, never
 * created): the descriptor, or a negative errno (-ENOENT: no file). */
int cmd_open_watch(const char *path);

#endif

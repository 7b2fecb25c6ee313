/* SPDX-License-Identifier: MIT */
/*
 * pidshim lock: pylockfile's LockFile and flock(1) in one. The lock file
 * is taken by the locking algorithm (README, "How a lock is taken"), with
 * our PID inside; COMMAND runs as our child while we hold it, and the
 * file is removed after. flock(1)'s options where they mean the same.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "lockfd.h"
#include "pidlock.h"

static const char usage[] =
    "Usage: pidshim lock [-n | -w SECONDS] [-s] [-E CODE] LOCKFILE [--] "
    "COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND holding LOCKFILE (created if needed, our PID inside, "
    "removed\n"
    "after). Exit with COMMAND's status (128+N when signal N ended it); "
    "CODE\n"
    "(75) when the lock is busy, naming its holder; 127 COMMAND not found, "
    "126\n"
    "not executable; 73 the lock file cannot be made or is unsafe. SIGTERM,"
    "\n"
    "SIGINT and SIGHUP are passed on to COMMAND.\n"
    "\n"
    "  -n, --nonblock                busy: fail at once (default: wait)\n"
    "  -w, --timeout SECONDS         busy: wait at most SECONDS\n"
    "  -s, --shared                  a shared lock (others with -s may "
    "join)\n"
    "  -x, --exclusive               an exclusive lock (the default)\n"
    "  -E, --conflict-exit-code CODE the status when busy (0-255, default "
    "75)\n"
    "  -h, --help                    this help\n";

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };
#define FORWARDED_COUNT (sizeof(forwarded) / sizeof(forwarded[0]))

static volatile pid_t child;
/* The dispositions we started with, which the command gets back. */
static struct sigaction inherited[FORWARDED_COUNT];

static void forward(int sig)
{
	int saved = errno;

	if (child > 0)
		kill(child, sig);
	errno = saved;
}

/* The child: everything as we found it, then COMMAND. */
static __attribute__((noreturn)) void run_command(char **command,
						  const sigset_t *mask)
{
	for (size_t i = 0; i < FORWARDED_COUNT; i++)
		sigaction(forwarded[i], &inherited[i], NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(command[0], command);
	cmd_say("lock", "%s: %s", command[0], strerror(errno));
	_exit(errno == ENOENT ? CMD_EXIT_NOTFOUND : CMD_EXIT_NOEXEC);
}

/* Run COMMAND as our child, passing on the signals that ask us to end;
 * its exit status as a shell gives it. */
static int run_child(char **command)
{
	struct sigaction sa = { .sa_handler = forward };
	sigset_t block, old;
	int status;
	pid_t pid;

	/* blocked until CHILD is set, so no signal is lost between fork
	 * and the assignment */
	sigemptyset(&block);
	for (size_t i = 0; i < FORWARDED_COUNT; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < FORWARDED_COUNT; i++) {
		sigaction(forwarded[i], NULL, &inherited[i]);
		/* An ignore we inherited (nohup, a background job's SIGINT)
		 * is the command's too: nothing to pass on. */
		if (inherited[i].sa_handler != SIG_IGN)
			sigaction(forwarded[i], &sa, NULL);
	}
	pid = fork();
	if (pid == 0)
		run_command(command, &old);
	if (pid < 0) {
		cmd_say("lock", "cannot start %s: %s", command[0],
			strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return CMD_EXIT_NOEXEC;
	}
	child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CMD_EXIT_NOEXEC;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int cmd_lock(int argc, char **argv)
{
	static const struct option options[] = {
		{ "nonblock", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "shared", no_argument, NULL, 's' },
		{ "exclusive", no_argument, NULL, 'x' },
		{ "conflict-exit-code", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int timeout_ms = PIDLOCK_WAIT_FOREVER, busy = CMD_EXIT_BUSY;
	bool shared = false;
	const char *path;
	struct lockfd lk;
	pid_t holder;
	int c, err, status;

	opterr = 0;
	/* "+": COMMAND's own options are not ours */
	while ((c = getopt_long(argc, argv, "+:nw:sxE:h", options, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			timeout_ms = PIDLOCK_NOWAIT;
			break;
		case 'w':
			timeout_ms = cmd_seconds_ms("lock", "-w", optarg);
			break;
		case 's':
			shared = true;
			break;
		case 'x':
			shared = false;
			break;
		case 'E':
			busy = cmd_exit_code("lock", "-E", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			cmd_bad_option("lock", argv, c);
		}
	}
	if (optind >= argc || !*argv[optind])
		cmd_usage_error("lock", "missing LOCKFILE (see --help)");
	path = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc || !*argv[optind])
		cmd_usage_error("lock", "missing COMMAND (see --help)");

	/* interruptible: a signal asking us to end ends the wait too */
	err = lockfd_acquire(&lk, path, 0644, shared,
			     timeout_ms == PIDLOCK_WAIT_FOREVER
				 ? LOCKFD_WAIT_INTERRUPTIBLE
				 : timeout_ms,
			     LOCKFD_PID_LINE, &holder);
	if (err == -EAGAIN || err == -ETIMEDOUT) {
		if (holder > 0)
			cmd_say("lock", "%s: busy, held by PID %d", path,
				(int)holder);
		else
			cmd_say("lock", "%s: busy, held by other processes",
				path);
		return busy;
	}
	if (err < 0) {
		cmd_say("lock", "%s: cannot lock: %s", path,
			lockfd_is_unsafe(err) ? lockfd_unsafe_reason(err)
					      : strerror(-err));
		return CMD_EXIT_CANTCREATE;
	}
	status = run_child(argv + optind);
	lockfd_release(&lk, path, true);
	return status;
}

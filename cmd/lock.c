/* SPDX-License-Identifier: MIT */
/*
 * pidshim lock: pylockfile's LockFile and flock(1) in one. The lock file
 * is taken by the locking algorithm (pidlock(3), "How a lock is taken"), with
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

#include "cluster.h"
#include "cmd.h"
#include "lockfd.h"
#include "pidlock.h"

static const char usage[] =
    "Usage: pidshim lock [-n | -w SECONDS] [-s] [-E CODE] LOCKFILE [--] "
    "COMMAND [ARG...]\n"
    "       pidshim lock --cluster URL[,URL...]/NAME [-n | -w SECONDS] "
    "[-E CODE]\n"
    "                    [CLUSTER OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND holding LOCKFILE (created if needed, our PID inside, "
    "removed\n"
    "after). Exit with COMMAND's status (128+N when signal N ended it); "
    "CODE\n"
    "(75) when the lock is busy, naming its holder; 127 COMMAND not found, "
    "126\n"
    "not executable; 73 the lock file cannot be made or is unsafe. SIGTERM,"
    "\n"
    "SIGINT, SIGHUP and the other signals that ask a program to end are "
    "passed\non to COMMAND.\n"
    "\n"
    "  -n, --nonblock                busy: fail at once (default: wait)\n"
    "  -w, --timeout SECONDS         busy: wait at most SECONDS\n"
    "  -s, --shared                  a shared lock (others with -s may "
    "join)\n"
    "  -x, --exclusive               an exclusive lock (the default)\n"
    "  -E, --conflict-exit-code CODE the status when busy (0-255, default "
    "75)\n"
    "  -v, --verbose                 say what is done with etcd\n"
    "  -h, --help                    this help\n"
    "\n"
    "With --cluster the lock is NAME on etcd, held under a lease renewed "
    "while\n"
    "COMMAND runs; COMMAND is stopped (fenced) before the lease can run "
    "out when\n"
    "it cannot be renewed, and gets PIDSHIM_FENCING_TOKEN. 69: no etcd "
    "member\n"
    "answers; 77: the login is refused.\n";

/* pidshim lock --cluster: no LOCKFILE, COMMAND at once */
static int cluster_lock(struct cluster *cluster, int argc, char **argv,
			int timeout_ms, bool shared, int busy)
{
	int status;

	if (shared)
		cmd_usage_error("lock", "--shared: not with --cluster (a "
					"cluster lock is exclusive)");
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc || !*argv[optind])
		cmd_usage_error("lock", "missing COMMAND (see --help)");
	status = cluster_acquire(cluster, timeout_ms, busy);
	if (status == 0)
		status = cluster_hold(cluster, NULL, argv + optind);
	cluster_free(cluster);
	return status;
}

int cmd_lock(int argc, char **argv)
{
	static const struct option options[] = {
		{ "nonblock", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "shared", no_argument, NULL, 's' },
		{ "exclusive", no_argument, NULL, 'x' },
		{ "conflict-exit-code", required_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		CLUSTER_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int timeout_ms = PIDLOCK_WAIT_FOREVER, busy = CMD_EXIT_BUSY;
	struct cluster_options co = { 0 };
	struct cluster cluster;
	bool shared = false;
	const char *path;
	struct lockfd lk;
	pid_t holder, child;
	int c, err, status;

	opterr = 0;
	/* "+": COMMAND's own options are not ours */
	while ((c = getopt_long(argc, argv, "+:nw:sxE:vh", options, NULL)) !=
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
		case 'v':
			co.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(cluster_usage, stdout);
			return 0;
		default:
			if (!cluster_option(&co, c, optarg))
				cmd_bad_option("lock", argv, c);
		}
	}
	/* not PIDSHIM_CLUSTER: it would make LOCKFILE the command */
	if (cluster_setup(&cluster, "lock", &co, false) == 0)
		return cluster_lock(&cluster, argc, argv, timeout_ms, shared,
				    busy);
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
	child = child_start("lock", NULL, argv + optind, false);
	status = child < 0 ? CMD_EXIT_NOEXEC : child_wait(child);
	lockfd_release(&lk, path, true);
	return status;
}

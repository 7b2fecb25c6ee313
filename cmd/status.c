/* SPDX-License-Identifier: MIT */
/*
 * pidshim status: the LSB status codes of a PID file, read by the locking
 * algorithm's rule (pidlock(3), "How a lock is taken"): a PID counts only
 * while its file is locked, so a stale file naming a PID that now belongs
 * to an unrelated process is stale, not running.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"
#include "lockfd.h"
#include "pidlock.h"

/* LSB's status codes */
enum {
	STATUS_RUNNING = 0,
	STATUS_STALE = 1,
	STATUS_NOT_RUNNING = 3,
	STATUS_UNKNOWN = 4,
};

static const char usage[] =
    "Usage: pidshim status [-v] PIDFILE\n"
    "       pidshim status --cluster URL[,URL...]/NAME [CLUSTER OPTIONS]\n"
    "\n"
    "Exit 0 when a running process holds PIDFILE locked (its PID on "
    "stdout),\n"
    "1 when the file exists but nobody holds it (stale), 3 when there is "
    "no file,\n"
    "4 when it cannot be read (not a regular file, no permission).\n"
    "\n"
    "With --cluster: 0 when the cluster lock NAME is held (the holder on "
    "stdout:\n"
    "host, PID, since when, fencing token), 3 when it is free, 4 when no "
    "etcd\n"
    "member answers or the login is refused.\n"
    "\n"
    "  -v, --verbose                 also the command line and how long it "
    "has\n"
    "                                run; with --cluster, what etcd said\n"
    "  -h, --help                    this help\n";

/* The PID a stale file still names, 0 when none. */
static pid_t named_pid(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	pid_t pid;

	if (fd < 0)
		return 0;
	pid = lockfd_read_pid(fd, false);
	close(fd);
	return pid > 0 ? pid : 0;
}

/* Whether PID, which the locked file at PATH names, is its holder here. */
static bool holder_here(const char *path, pid_t pid)
{
	int fd = cmd_open_watch(path);
	bool here;

	if (fd < 0)
		return true; /* gone meanwhile: the PID was its holder's */
	here = cmd_holder_here(pid, fd);
	close(fd);
	return here;
}

static void print_cmdline(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	/* the arguments are NUL-separated, the last one NUL-ended */
	for (ssize_t i = 0; i < n - 1; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	printf("command: %s\n", buf);
}

/* Seconds since PID started: /proc/PID/stat's starttime (field 22, in
 * clock ticks after boot) against /proc/uptime; -1 when unknown. */
static long running_seconds(pid_t pid)
{
	char buf[1024];
	unsigned long long start;
	double uptime;
	const char *p = cmd_proc_stat(pid, buf, sizeof(buf));
	FILE *f;

	if (!p || sscanf(p,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
			 "%*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return -1;
	f = fopen("/proc/uptime", "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &uptime) != 1) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return (long)(uptime - (double)start / (double)sysconf(_SC_CLK_TCK));
}

static void print_details(pid_t pid)
{
	long s = running_seconds(pid);

	print_cmdline(pid);
	if (s >= 0)
		printf("running: %ld:%02ld:%02ld (%ld s)\n", s / 3600,
		       s / 60 % 60, s % 60, s);
}

int cmd_status(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		CLUSTER_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct cluster_options co = { 0 };
	struct cluster cluster;
	const char *path;
	bool verbose = false;
	pid_t pid;
	int c, state;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", options, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(cluster_usage, stdout);
			return 0;
		default:
			if (!cluster_option(&co, c, optarg))
				cmd_bad_option("status", argv, c);
		}
	}
	co.verbose = verbose;
	/* PIDSHIM_CLUSTER only when no PIDFILE is named */
	if (cluster_setup(&cluster, "status", &co, optind >= argc) == 0) {
		if (optind < argc)
			cmd_usage_error("status",
					"%s: with --cluster, no PIDFILE "
					"(see --help)",
					argv[optind]);
		state = cluster_status(&cluster);
		cluster_free(&cluster);
		return state;
	}
	path = cmd_one_operand("status", argc, argv, "PIDFILE");

	state = pidlock_check(path, &pid);
	switch (state) {
	case PIDLOCK_ABSENT:
		cmd_say("status", "%s: not running (no such file)", path);
		return STATUS_NOT_RUNNING;
	case PIDLOCK_STALE:
		pid = named_pid(path);
		if (pid)
			cmd_say("status",
				"%s: stale: names PID %d, but nobody holds "
				"its lock",
				path, (int)pid);
		else
			cmd_say("status", "%s: stale: nobody holds its lock",
				path);
		return STATUS_STALE;
	case PIDLOCK_HELD:
		if (!pid) {
			/* shared holders write no PID */
			cmd_say("status", "%s: held, by no PID it names", path);
			return STATUS_RUNNING;
		}
		if (!holder_here(path, pid)) {
			/* a number of another PID namespace: printed, a
			 * script would signal whoever has it here */
			cmd_say("status",
				"%s: held, but PID %d here is not its holder "
				"(a PID of another PID namespace?)",
				path, (int)pid);
			return STATUS_RUNNING;
		}
		printf("%d\n", (int)pid);
		if (verbose)
			print_details(pid);
		return STATUS_RUNNING;
	default:
		cmd_say("status", "%s: cannot tell: %s", path,
			state == -EINVAL ? "not a regular file"
					 : strerror(-state));
		return STATUS_UNKNOWN;
	}
}

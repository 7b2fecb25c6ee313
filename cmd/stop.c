/* SPDX-License-Identifier: MIT */
/*
 * pidshim stop: signal the holder of a PID file and wait until its lock is
 * released, escalating as start-stop-daemon's --retry does. The signal
 * goes through a pidfd opened while the file is locked and names that
 * PID, checked again once the pidfd is open: a PID reused by an unrelated
 * process is never signalled (pidshim(1)).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd.h"
#include "pidlock.h"

static const char usage[] =
    "Usage: pidshim stop [-s SIGNAL] [-t SECONDS [--then SIGNAL]] PIDFILE\n"
    "\n"
    "Send SIGNAL to the process holding PIDFILE locked and wait until it "
    "lets go.\n"
    "Exit 0 when it is gone, or when nothing was running (no file, or a "
    "stale\n"
    "one: nobody is signalled); 1 when it is still running after the last "
    "wait,\n"
    "or names no PID; 4 when the file cannot be read.\n"
    "\n"
    "  -s, --signal SIGNAL   the signal (default TERM): name or number\n"
    "  -t, --timeout SECONDS wait at most SECONDS (default: until gone)\n"
    "      --then SIGNAL     still running after -t: send SIGNAL, wait "
    "-t again\n"
    "                        (start-stop-daemon --retry TERM/10/KILL/10)\n"
    "  -h, --help            this help\n";

enum { OPT_THEN = 256 };

/* How often a holder that changed between our two looks is looked at
 * again before giving up. */
#define STOP_ATTEMPTS 5

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct holder {
	pid_t pid;
	int pidfd;   /* the holder itself, whatever its PID becomes */
	int watchfd; /* the file it holds, to wait for its lock */
};

/* Find the holder: PIDLOCK_HELD with H filled, PIDLOCK_ABSENT,
 * PIDLOCK_STALE, or a negative errno. */
static int find_holder(const char *path, struct holder *h)
{
	for (int attempt = 0; attempt < STOP_ATTEMPTS; attempt++) {
		pid_t again;
		int state = pidlock_check(path, &h->pid);

		if (state != PIDLOCK_HELD)
			return state;
		if (h->pid <= 0)
			return -ESRCH;
		h->pidfd = pidfd_open(h->pid);
		if (h->pidfd < 0) {
			if (errno == ESRCH)
				continue; /* it ended between our looks */
			return -errno;
		}
		h->watchfd = cmd_open_watch(path);
		/* The pidfd names a process that had the PID when the file
		 * was locked naming it; if the file still is, that process
		 * is its holder (a reused PID would mean it had ended). */
		if (h->watchfd >= 0 &&
		    pidlock_check(path, &again) == PIDLOCK_HELD &&
		    again == h->pid && same_file(h->watchfd, path)) {
			if (cmd_holder_here(h->pid, h->watchfd))
				return PIDLOCK_HELD;
			close(h->pidfd);
			close(h->watchfd);
			return -EXDEV;
		}
		close(h->pidfd);
		if (h->watchfd >= 0)
			close(h->watchfd);
	}
	return -EAGAIN;
}

/* Send SIG, then wait TIMEOUT_MS for the lock: 0 gone, -ETIMEDOUT, or a
 * negative errno. */
static int signal_and_wait(const struct holder *h, int sig, int timeout_ms)
{
	/* ESRCH: it has ended, and its lock is going or gone */
	if (pidfd_send_signal(h->pidfd, sig) < 0 && errno != ESRCH)
		return -errno;
	return cmd_wait_released(h->watchfd, timeout_ms);
}

int cmd_stop(int argc, char **argv)
{
	static const struct option options[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "then", required_argument, NULL, OPT_THEN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int sig = SIGTERM, then = 0, timeout_ms = PIDLOCK_WAIT_FOREVER;
	const char *path, *timeout = NULL;
	struct holder h;
	int c, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:t:h", options, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = cmd_signal("stop", "-s", optarg);
			break;
		case 't':
			timeout_ms = cmd_seconds_ms("stop", "-t", optarg);
			timeout = optarg;
			break;
		case OPT_THEN:
			then = cmd_signal("stop", "--then", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			cmd_bad_option("stop", argv, c);
		}
	}
	if (then && !timeout)
		cmd_usage_error("stop", "--then: needs -t SECONDS, the time "
					"to wait before it");
	path = cmd_one_operand("stop", argc, argv, "PIDFILE");

	err = find_holder(path, &h);
	switch (err) {
	case PIDLOCK_HELD:
		break;
	case PIDLOCK_ABSENT:
		cmd_say("stop", "%s: not running (no such file)", path);
		return 0;
	case PIDLOCK_STALE:
		cmd_say("stop",
			"%s: not running (stale file), nobody signalled", path);
		return 0;
	case -ESRCH:
		cmd_say("stop", "%s: held, but names no PID to signal", path);
		return 1;
	case -EAGAIN:
		cmd_say("stop",
			"%s: its holder keeps changing, nobody signalled",
			path);
		return 1;
	case -EXDEV:
		cmd_say("stop",
			"%s: held, but PID %d here is not its holder (a PID of "
			"another PID namespace?), nobody signalled",
			path, (int)h.pid);
		return 4;
	default:
		cmd_say("stop", "%s: cannot tell its holder: %s", path,
			err == -EINVAL ? "not a regular file" : strerror(-err));
		return 4;
	}

	err = signal_and_wait(&h, sig, timeout_ms);
	if (err == -ETIMEDOUT && then) {
		cmd_say("stop",
			"%s: PID %d still running after %s s, sending %s", path,
			(int)h.pid, timeout, cmd_signal_name(then));
		err = signal_and_wait(&h, then, timeout_ms);
	}
	if (err == -ETIMEDOUT)
		cmd_say("stop", "%s: PID %d still running after %s s", path,
			(int)h.pid, timeout);
	else if (err < 0)
		cmd_say("stop", "%s: PID %d: %s", path, (int)h.pid,
			strerror(-err));
	close(h.pidfd);
	close(h.watchfd);
	return err == 0 ? 0 : 1;
}

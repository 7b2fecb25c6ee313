/* SPDX-License-Identifier: MIT */
/*
 * pidshim wait, and the wait stop does after its signal: the holder is
 * gone when its lock is released, which the kernel tells us by granting
 * the lock to us (no polling of PIDs, which may be reused).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "lockfd.h"
#include "pidlock.h"

static const char usage[] =
    "Usage: pidshim wait [-t SECONDS] PIDFILE\n"
    "\n"
    "Wait until nobody holds PIDFILE locked (its holder ended, or the file "
    "is\n"
    "gone). Exit 0 then, at once when the file is absent or stale; 1 when "
    "it is\n"
    "still held after SECONDS; 4 when it cannot be read.\n"
    "\n"
    "  -t, --timeout SECONDS   give up after SECONDS (fractions allowed)\n"
    "  -h, --help              this help\n";

int cmd_open_watch(const char *path)
{
	struct stat st;
	int err;
	/* read-only: a watcher never creates the file, nor needs to write */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
				O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else
		return fd;
	close(fd);
	return err;
}

int cmd_wait_released(int fd, int timeout_ms)
{
	struct lockfd lk = { .fd = fd };
	int err;

	/* An exclusive request is granted only when every holder, shared
	 * ones too, has let go. It is given back at once: a program
	 * starting meanwhile is refused for that instant only. */
	err = lockfd_wait_for_lock(&lk, LOCK_EX, timeout_ms, NULL, NULL);
	if (err == -EAGAIN)
		err = -ETIMEDOUT;
	if (err == 0)
		flock(fd, LOCK_UN);
	return err;
}

int cmd_wait(int argc, char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int timeout_ms = PIDLOCK_WAIT_FOREVER;
	const char *path, *timeout = NULL;
	pid_t pid;
	int c, fd, err;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:h", options, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout_ms = cmd_seconds_ms("wait", "-t", optarg);
			timeout = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			cmd_bad_option("wait", argv, c);
		}
	}
	path = cmd_one_operand("wait", argc, argv, "PIDFILE");

	fd = cmd_open_watch(path);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		cmd_say("wait", "%s: cannot watch: %s", path,
			fd == -EINVAL ? "not a regular file" : strerror(-fd));
		return 4;
	}
	err = cmd_wait_released(fd, timeout_ms);
	if (err == -ETIMEDOUT) {
		pidlock_check(path, &pid);
		cmd_say("wait", "%s: still held (PID %d) after %s s", path,
			(int)pid, timeout);
	} else if (err < 0) {
		cmd_say("wait", "%s: %s", path, strerror(-err));
	}
	close(fd);
	return err == 0 ? 0 : err == -ETIMEDOUT ? 1 : 4;
}

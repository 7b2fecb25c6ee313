/* SPDX-License-Identifier: MIT */
/*
 * libbsd's pidfile(3) on a PID file, for test-interop: the other side of
 * the PID file convention, the way daemons that use libbsd take theirs.
 *
 *   bsd-pidfile probe PIDFILE
 *       pidfile_open(PIDFILE, 0644, &otherpid): prints "busy OTHERPID"
 *       and exits 2 when it fails with EEXIST (someone holds the file),
 *       prints "acquired" and exits 0 (file removed again) when it gets
 *       the file, prints the error and otherpid and exits 3 otherwise.
 *   bsd-pidfile hold PIDFILE
 *       pidfile_open + pidfile_write, prints "held PID", then waits for a
 *       signal, holding the file as a libbsd daemon does.
 * Exit 64 on bad usage.
 */
#include <bsd/libutil.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int probe(const char *path)
{
	pid_t otherpid = -1;
	struct pidfh *pfh = pidfile_open(path, 0644, &otherpid);

	if (pfh) {
		puts("acquired");
		pidfile_remove(pfh);
		return 0;
	}
	if (errno == EEXIST) {
		printf("busy %d\n", (int)otherpid);
		return 2;
	}
	/* EINVAL: held, but libbsd could not parse the PID it read */
	printf("error %s (otherpid %d)\n", strerror(errno), (int)otherpid);
	return 3;
}

static int hold(const char *path)
{
	pid_t otherpid = -1;
	struct pidfh *pfh = pidfile_open(path, 0644, &otherpid);

	if (!pfh) {
		printf("error %s (otherpid %d)\n", strerror(errno),
		       (int)otherpid);
		return 3;
	}
	if (pidfile_write(pfh) < 0) {
		printf("error pidfile_write: %s\n", strerror(errno));
		return 3;
	}
	printf("held %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2]);
	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2]);
	fputs("usage: bsd-pidfile probe|hold PIDFILE\n", stderr);
	return 64;
}

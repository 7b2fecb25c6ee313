/* SPDX-License-Identifier: MIT */
/*
 * Daemonizes, then writes its PID to REPORT and sleeps.
 *   daemon-helper daemon REPORT        daemon(3)
 *   daemon-helper double-fork REPORT   fork, setsid, fork
 *   daemon-helper reaped REPORT        the same, but the first parent reaps
 *                                      the intermediate child before it
 *                                      leaves, so it has no live child
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report_and_sleep(const char *report)
{
	char tmp[4096];
	FILE *f;

	/* write then rename: the reader never sees a half-written file */
	snprintf(tmp, sizeof(tmp), "%s.tmp", report);
	f = fopen(tmp, "w");
	if (!f)
		_exit(1);
	fprintf(f, "%d\n", getpid());
	fclose(f);
	rename(tmp, report);
	sleep(30);
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "daemon") == 0) {
		if (daemon(1, 0) < 0)
			return 1;
		report_and_sleep(argv[2]);
	}
	if (strcmp(argv[1], "double-fork") == 0 ||
	    strcmp(argv[1], "reaped") == 0) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid > 0 && strcmp(argv[1], "reaped") == 0 &&
		    waitpid(pid, NULL, 0) != pid)
			return 1;
		if (pid > 0)
			exit(0);
		if (setsid() < 0)
			_exit(1);
		pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid > 0)
			_exit(0);
		report_and_sleep(argv[2]);
	}
	return 2;
}

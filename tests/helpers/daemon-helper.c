/* SPDX-License-Identifier: MIT */
/*
 * Daemonizes, then writes its PID to REPORT and sleeps.
 *   daemon-helper daemon REPORT        daemon(3)
 *   daemon-helper double-fork REPORT   fork, setsid, fork
 *   daemon-helper reaped REPORT        the same, but the first parent reaps
 *                                      the intermediate child before it
 *                                      leaves, so it has no live child
 * Shapes of daemons that are not daemonizing, for daemon follow:
 *   daemon-helper cron REPORT          runs one job in a session of its own
 *                                      (fork, setsid, exit), reaps it, then
 *                                      writes its PID and sleeps, as cron
 *   daemon-helper workers REPORT       forks 3 workers, writes its PID; on
 *                                      SIGTERM signals its process group and
 *                                      returns from main, as lighttpd; the
 *                                      newest worker dies of the signal, the
 *                                      older ones end 0.2 s and 0.4 s later
 *   daemon-helper drop-privileges      becomes uid and gid 65534, then exits
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report_pid(const char *report)
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
}

static void report_and_sleep(const char *report)
{
	report_pid(report);
	sleep(30);
	exit(0);
}

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

static void pause_until_terminated(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!terminated)
		sigsuspend(&none);
}

static int cron(const char *report)
{
	pid_t job = fork();

	if (job < 0)
		return 1;
	if (job == 0) {
		if (setsid() < 0)
			_exit(1);
		usleep(100 * 1000);
		exit(0);
	}
	if (waitpid(job, NULL, 0) != job)
		return 1;
	report_and_sleep(report);
	return 0;
}

static int workers(const char *report)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t term, old;

	/* its own process group, so that signalling it reaches no one else */
	if (setpgid(0, 0) < 0)
		return 1;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid > 0)
			continue;
		/* the newest (i == 2) keeps the default: it dies at once */
		if (i < 2)
			sigaction(SIGTERM, &sa, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		pause_until_terminated();
		usleep((useconds_t)(2 - i) * 200 * 1000);
		exit(0);
	}
	sigaction(SIGTERM, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	report_pid(report);
	pause_until_terminated();
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "drop-privileges") == 0)
		return setgid(65534) < 0 || setuid(65534) < 0;
	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "cron") == 0)
		return cron(argv[2]);
	if (strcmp(argv[1], "workers") == 0)
		return workers(argv[2]);
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

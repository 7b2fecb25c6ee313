/* SPDX-License-Identifier: MIT */
/*
 * Run under the shim as the PID file's owner: starts children in one way
 * (MODE), then checks that the PID file still names this process and is
 * still locked. Exit 0 when it does, 1 (with a message) when not.
 *   child-helper fork|system|popen|spawn|vfork PIDFILE
 *   child-helper orphan PIDFILE REPORT   fork a child that sleeps (no exec)
 *                                        and writes its PID to REPORT; leave
 *   child-helper orphan-wait PIDFILE REPORT   the same, then wait to be
 *                                        killed
 *   child-helper _exit|_Exit|exit|return PIDFILE   end that way, status 7
 *   child-helper close-all|closefrom|close-range|dup2-all PIDFILE
 *                                        close (or dup2 over) every
 *                                        descriptor from 3 up, as daemons
 *                                        do: the PID file must stay locked
 *   child-helper fork-signal PIDFILE   fork 300 times while another thread
 *                                        installs handlers: no child may
 *                                        hang in the shim's signal wrapper
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#if !__GLIBC_PREREQ(2, 34)
/* glibc 2.34 added these; on older glibc (Debian 11) the shim preloaded
 * under the helper is what defines them: weak, so the helper links. */
extern void closefrom(int lowfd) __attribute__((weak));
extern int close_range(unsigned first, unsigned last, int flags)
    __attribute__((weak));
#endif

extern char **environ;

static int fail(const char *what)
{
	fprintf(stderr, "child-helper: %s\n", what);
	return 1;
}

static int check_pidfile(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return fail("the PID file is gone");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return fail("the PID file is empty");
	buf[n] = '\0';
	if (atoi(buf) != getpid())
		return fail("the PID file does not name me");
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return fail("the PID file is not locked");
	close(fd);
	return 0;
}

static int wait_ok(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return fail("could not wait for the child");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0
		   ? 0
		   : fail("the child failed");
}

static int start_children(const char *mode)
{
	if (strcmp(mode, "fork") == 0) {
		pid_t pid = fork();

		if (pid == 0)
			exit(0); /* runs the shim's destructor in the child */
		return wait_ok(pid);
	}
	if (strcmp(mode, "vfork") == 0) {
		pid_t pid = vfork();

		if (pid == 0)
			_exit(0);
		return wait_ok(pid);
	}
	if (strcmp(mode, "system") == 0)
		return system("exit 0") == 0 ? 0 : fail("system() failed");
	if (strcmp(mode, "popen") == 0) {
		FILE *p = popen("echo hello", "r");
		char line[32];

		if (!p || !fgets(line, sizeof(line), p))
			return fail("popen() failed");
		return pclose(p) == 0 ? 0 : fail("pclose() failed");
	}
	if (strcmp(mode, "spawn") == 0) {
		char *argv[] = { "true", NULL };
		pid_t pid;

		if (posix_spawnp(&pid, "true", NULL, NULL, argv, environ) != 0)
			return fail("posix_spawn() failed");
		return wait_ok(pid);
	}
	return fail("unknown mode");
}

static volatile int stop_installing;

static void ignore_signal(int signo)
{
	(void)signo;
}

static void *install_handlers(void *arg)
{
	(void)arg;
	while (!stop_installing)
		signal(SIGUSR1, ignore_signal);
	return NULL;
}

static int fork_while_installing(void)
{
	pthread_t thread;
	int ret = 0;

	if (pthread_create(&thread, NULL, install_handlers, NULL) != 0)
		return fail("pthread_create failed");
	for (int i = 0; i < 300 && ret == 0; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			/* children commonly reset handlers before exec */
			signal(SIGUSR2, SIG_IGN);
			_exit(0);
		}
		ret = wait_ok(pid);
	}
	stop_installing = 1;
	pthread_join(thread, NULL);
	return ret;
}

static int close_everything(const char *mode)
{
	if (strcmp(mode, "close-all") == 0) {
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	} else if (strcmp(mode, "closefrom") == 0) {
		closefrom(3);
	} else if (strcmp(mode, "close-range") == 0) {
		if (close_range(3, ~0U, 0) < 0)
			return fail("close_range failed");
	} else {
		for (int fd = 3; fd < 4096; fd++)
			dup2(0, fd);
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
	}
	return 0;
}

static int orphan(const char *report)
{
	pid_t pid = fork();

	if (pid < 0)
		return fail("fork failed");
	if (pid == 0) {
		/* written aside and renamed: the report exists only whole */
		char partial[4200];
		FILE *f;

		snprintf(partial, sizeof(partial), "%s.partial", report);
		f = fopen(partial, "w");
		if (!f)
			_exit(1);
		fprintf(f, "%d\n", getpid());
		if (fclose(f) != 0 || rename(partial, report) != 0)
			_exit(1);
		sleep(30);
		_exit(0);
	}
	/* wait for the report so the child is surely running */
	for (int i = 0; i < 5000 && access(report, F_OK) < 0; i++)
		usleep(1000);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int ret;

	if (argc < 3)
		return fail("usage: child-helper MODE PIDFILE [REPORT]");
	if (check_pidfile(argv[2]))
		return 1;
	if (strcmp(mode, "_exit") == 0)
		_exit(7);
	if (strcmp(mode, "_Exit") == 0)
		_Exit(7);
	if (strcmp(mode, "exit") == 0)
		exit(7);
	if (strcmp(mode, "return") == 0)
		return 7;
	if (strcmp(mode, "close-all") == 0 || strcmp(mode, "closefrom") == 0 ||
	    strcmp(mode, "close-range") == 0 || strcmp(mode, "dup2-all") == 0) {
		ret = close_everything(mode);
		return ret ? ret : check_pidfile(argv[2]);
	}
	if (strcmp(mode, "fork-signal") == 0) {
		ret = fork_while_installing();
		return ret ? ret : check_pidfile(argv[2]);
	}
	if (strncmp(mode, "orphan", 6) == 0) {
		if (argc < 4)
			return fail("orphan needs REPORT");
		ret = orphan(argv[3]);
		while (ret == 0 && strcmp(mode, "orphan-wait") == 0)
			pause();
		return ret;
	}
	ret = start_children(mode);
	return ret ? ret : check_pidfile(argv[2]);
}

/* SPDX-License-Identifier: MIT */
/*
 * Single instance under a crowd (libpidshim(7), EXIT STATUS): N copies of
 * a real program start at once under the shim with one PID file, ROUNDS
 * times. In every round exactly one runs; every other exits 75 at once,
 * and its message names the PID of the one running (or, when that one
 * had not written it in time, says only that the file is held). The one running
 * is then stopped with SIGTERM: it ends by that signal and its file is gone
 * before the next round.
 *
 *   stress-starters SHIM ROUNDS N PIDFILE PROGRAM [ARG...]
 *
 * The programs get LD_PRELOAD=SHIM and PIDSHIM_PIDFILE=PIDFILE; this
 * process runs without the shim. The program must run until signalled
 * (sleep 30). Exit status 0, or 1 with the round and what broke.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_STARTERS 64
#define CONFLICT 75

struct starter {
	pid_t pid;
	int err; /* read end of its stderr */
	int status;
	bool ended;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The starters of the round under way: none is left running when a round
 * fails. */
static struct starter s[MAX_STARTERS];
static int started;
/* losers that could not read the winner's PID in time */
static int unnamed;

static __attribute__((noreturn)) void broken(int round, const char *what,
					     const char *detail)
{
	printf("round %d: %s%s\n", round, what, detail);
	for (int i = 0; i < started; i++)
		if (!s[i].ended)
			kill(s[i].pid, SIGKILL);
	exit(1);
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t start(char **argv, int *err)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*err = p[0];
	return pid;
}

/* What a starter wrote on its stderr (it has ended: the pipe is at EOF). */
static void read_message(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

static void one_round(int round, int count, const char *pidfile, char **argv)
{
	long long deadline = monotonic_ms() + 20000;
	int ended = 0;
	char message[4096], named[64];
	pid_t winner = 0;

	for (started = 0; started < count; started++) {
		s[started].pid = start(argv, &s[started].err);
		s[started].ended = false;
		if (s[started].pid < 0)
			broken(round, "cannot start: ", strerror(errno));
	}
	/* every one but the winner ends; give them 20 s */
	while (ended < count - 1) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0) {
			if (monotonic_ms() > deadline)
				broken(round, "no single winner after 20 s",
				       "");
			sleep_ms(1);
			continue;
		}
		for (int i = 0; i < count; i++)
			if (s[i].pid == pid) {
				s[i].ended = true;
				s[i].status = status;
			}
		ended++;
	}
	for (int i = 0; i < count; i++)
		if (!s[i].ended)
			winner = s[i].pid;
	snprintf(named, sizeof(named), "running as PID %d\n", (int)winner);
	for (int i = 0; i < count; i++) {
		if (!s[i].ended)
			continue;
		read_message(s[i].err, message, sizeof(message));
		if (!WIFEXITED(s[i].status) ||
		    WEXITSTATUS(s[i].status) != CONFLICT)
			broken(round, "a loser did not exit 75: ", message);
		if (!strstr(message, pidfile))
			broken(round,
			       "a loser does not name the file: ", message);
		/* The loser reads the winner's PID for a bounded time (its
		 * holder is between create and write: pidlock(3), "How a lock
		 * is taken", 7); a winner kept off the CPU longer than that
		 * on a loaded machine is named by the documented message
		 * without a PID. Any PID named must be the winner's. */
		if (strstr(message, named))
			continue;
		if (strstr(message, "running as PID") ||
		    !strstr(message, "another instance holds it"))
			broken(round,
			       "a loser does not name the winner: ", message);
		unnamed++;
	}
	kill(winner, SIGTERM);
	for (int i = 0; i < count; i++) {
		int status;

		if (s[i].ended)
			continue;
		if (waitpid(s[i].pid, &status, 0) != s[i].pid ||
		    !WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
			broken(round, "the winner did not end by SIGTERM", "");
		close(s[i].err);
	}
	if (access(pidfile, F_OK) == 0)
		broken(round, pidfile, ": left behind by the winner");
}

int main(int argc, char **argv)
{
	int rounds, count;

	if (argc < 6) {
		fprintf(stderr, "usage: stress-starters SHIM ROUNDS N PIDFILE "
				"PROGRAM [ARG...]\n");
		return 64;
	}
	rounds = atoi(argv[2]);
	count = atoi(argv[3]);
	if (count < 2 || count > MAX_STARTERS)
		return 64;
	/* for the programs: the harness itself has started already */
	setenv("LD_PRELOAD", argv[1], 1);
	setenv("PIDSHIM_PIDFILE", argv[4], 1);
	for (int r = 1; r <= rounds; r++)
		one_round(r, count, argv[4], argv + 5);
	printf("%d rounds of %d starters: one winner each; %d losers of %d "
	       "named it, %d said it holds the file without its PID\n",
	       rounds, count, rounds * (count - 1) - unnamed,
	       rounds * (count - 1), unnamed);
	return 0;
}

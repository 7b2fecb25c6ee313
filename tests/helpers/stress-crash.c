/* SPDX-License-Identifier: MIT */
/*
 * SIGKILL at every moment (pidlock(3), "How a lock is taken"; libpidshim(7),
 * "Out of reach": a killed holder leaves its file stale, never falsely
 * live). Each round kills a holder after a random delay, so that over the
 * rounds the kill lands everywhere: before the file exists, between its
 * creation and the write of the PID, after, and during the release. Then
 * the next start must proceed, and only one at a time may hold.
 *
 *   stress-crash pidfile SHIM DIR ROUNDS   sleep under the shim with a PID
 *       file killed while starting; then two sleeps started at once: one
 *       runs (the file names it, locked), the other exits 75; the one
 *       running is sent SIGTERM and killed while it cleans up
 *   stress-crash guard SHIM DIR ROUNDS     sh appending to a guarded file
 *       in a loop, killed; then sh appending once, the guard waiting at
 *       most 5 s, must succeed
 *   stress-crash core DIR ROUNDS           a forked child taking and
 *       releasing a lock file and a PID file with libpidlock, killed; then
 *       both must be free at once (PIDLOCK_NOWAIT)
 *
 * Prints where the kills landed; exit status 0, or 1 with the round and
 * what broke. PIDSHIM_CRASH_SEED repeats a run's random delays.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"

#define CONFLICT 75

static unsigned seed;
static int round_no;
/* children to kill if a round fails */
static pid_t live[4];

static __attribute__((noreturn)) void broken(const char *what,
					     const char *detail)
{
	printf("round %d (PIDSHIM_CRASH_SEED=%u): %s%s\n", round_no, seed, what,
	       detail);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
	exit(1);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long random_us(long max)
{
	return (long)(rand_r(&seed) % (unsigned)(max + 1));
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* PROGRAM under SHIM (NULL: as it is), stderr to /dev/null. */
static pid_t start(const char *shim, char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		broken("fork: ", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		if (shim)
			setenv("LD_PRELOAD", shim, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			broken("waitpid: ", strerror(errno));
	return status;
}

/* A process killed at once: SIGKILL is what it must have died of, or
 * it ended by itself with STATUS (0: not allowed). */
static void kill_and_reap(pid_t pid, int allowed_exit)
{
	int status;

	kill(pid, SIGKILL);
	status = reap(pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return;
	if (WIFEXITED(status) && allowed_exit &&
	    WEXITSTATUS(status) == allowed_exit)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == CONFLICT)
		broken("refused as busy though nobody held the file", "");
	broken("ended otherwise than by SIGKILL", "");
}

/* Whether someone holds PATH's lock: an exclusive flock probe. */
static bool locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool held;

	if (fd < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* The PID PATH names; 0 for none or empty, -1 for no file. */
static long named(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : 0;
}

/* ---- pidfile ---------------------------------------------------------- */

enum landed { NO_FILE, EMPTY, OLD_PID, OWN_PID, LANDED_KINDS };

/* How long a start takes to hold its file, as last seen (microseconds):
 * kills are spread over one and a half times that, whatever the load. */
static long start_us = 4000;

static void pidfile_round(const char *shim, const char *path, int *landed)
{
	char *argv[] = { "sleep", "30", NULL };
	pid_t a, b[2], winner = 0;
	long long deadline, started;
	long now;
	int status, loser = -1;

	/* a start, killed at a random moment of its first milliseconds */
	a = live[0] = start(shim, argv);
	sleep_us(random_us(start_us * 3 / 2));
	kill_and_reap(a, 0);
	live[0] = 0;
	now = named(path);
	landed[now < 0	  ? NO_FILE
	       : now == 0 ? EMPTY
	       : now == a ? OWN_PID
			  : OLD_PID]++;
	if (locked(path))
		broken("the killed start's file is still locked", "");

	/* two starts at once: exactly one runs */
	started = monotonic_ms();
	b[0] = live[1] = start(shim, argv);
	b[1] = live[2] = start(shim, argv);
	deadline = started + 20000;
	while (loser < 0) {
		for (int i = 0; i < 2 && loser < 0; i++)
			if (waitpid(b[i], &status, WNOHANG) == b[i])
				loser = i;
		if (monotonic_ms() > deadline)
			broken("both starts ran (or neither ended) for 20 s",
			       "");
		sleep_us(500);
	}
	live[1 + loser] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != CONFLICT)
		broken("the second start did not exit 75", "");
	winner = b[!loser];
	deadline = monotonic_ms() + 5000;
	while (named(path) != winner || !locked(path)) {
		if (monotonic_ms() > deadline)
			broken("the running start does not hold the file", "");
		sleep_us(200);
	}
	start_us = (long)(monotonic_ms() - started) * 1000 + 200;
	/* its release, cut short at a random moment */
	kill(winner, SIGTERM);
	sleep_us(random_us(1500));
	kill(winner, SIGKILL);
	status = reap(winner);
	live[1 + !loser] = 0;
	if (!WIFSIGNALED(status))
		broken("the running start did not end by a signal", "");
	if (locked(path))
		broken("the ended start's file is still locked", "");
}

/* ---- guard ------------------------------------------------------------- */

/* How long a one-shot guarded sh takes, as last seen (microseconds). */
static long sh_us = 5000;

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void guard_round(const char *shim, const char *file, int *landed)
{
	char *loop[] = { "sh", "-c", "while :; do echo x >> \"$0\"; done",
			 (char *)file, NULL };
	char *once[] = { "sh", "-c", "echo y >> \"$0\"", (char *)file, NULL };
	char lockfile[4096];
	off_t before = size_of(file);
	long long started;
	pid_t victim, next;
	int status;

	snprintf(lockfile, sizeof(lockfile), "%.*s/.%s.pidshim-lock",
		 (int)(strrchr(file, '/') - file), file,
		 strrchr(file, '/') + 1);
	victim = live[0] = start(shim, loop);
	sleep_us(random_us(sh_us * 3));
	kill_and_reap(victim, 0);
	live[0] = 0;
	landed[size_of(file) == before	     ? NO_FILE
	       : access(lockfile, F_OK) == 0 ? EMPTY
					     : OWN_PID]++;
	started = monotonic_ms();
	next = live[1] = start(shim, once);
	status = reap(next);
	live[1] = 0;
	sh_us = (long)(monotonic_ms() - started) * 1000 + 500;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		broken("the next guarded open did not proceed", "");
}

/* ---- core --------------------------------------------------------------- */

static void core_loop(const char *dir)
{
	char pidpath[4096];

	snprintf(pidpath, sizeof(pidpath), "%s/core.pid", dir);
	for (;;) {
		struct pidlock_lock *lock;
		struct pidlock_pidfile *pf;

		if (pidlock_lock_new(&lock, dir, "core", 0) == 0) {
			if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE,
						 PIDLOCK_NOWAIT, NULL) == 0)
				pidlock_lock_release(lock);
			pidlock_lock_free(lock);
		}
		if (pidlock_pidfile_open(&pf, pidpath, NULL, NULL) == 0)
			pidlock_pidfile_close(pf);
	}
}

static void core_round(const char *dir, int *landed)
{
	char pidpath[4096];
	struct pidlock_lock *lock;
	struct pidlock_pidfile *pf;
	pid_t child, holder = 0;
	int err;

	snprintf(pidpath, sizeof(pidpath), "%s/core.pid", dir);
	child = live[0] = fork();
	if (child < 0)
		broken("fork: ", strerror(errno));
	if (child == 0)
		core_loop(dir);
	sleep_us(random_us(3000));
	kill_and_reap(child, 0);
	live[0] = 0;
	landed[named(pidpath) < 0    ? NO_FILE
	       : named(pidpath) == 0 ? EMPTY
				     : OWN_PID]++;
	if (pidlock_lock_new(&lock, dir, "core", 0) < 0)
		broken("pidlock_lock_new failed", "");
	err = pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT,
				   &holder);
	if (err < 0)
		broken("the lock file is not free after its holder died: ",
		       strerror(-err));
	pidlock_lock_release(lock);
	pidlock_lock_free(lock);
	err = pidlock_pidfile_open(&pf, pidpath, NULL, &holder);
	if (err < 0)
		broken("the PID file is not free after its holder died: ",
		       strerror(-err));
	pidlock_pidfile_close(pf);
}

int main(int argc, char **argv)
{
	static const char *const pidfile_kinds[] = {
		"no file yet", "the file empty (created, not written)",
		"the file naming an earlier start",
		"the file naming the killed one"
	};
	static const char *const guard_kinds[] = { "no append yet",
						   "the lock file left behind",
						   "", "appends made" };
	static const char *const core_kinds[] = {
		"no file (between cycles)", "the file empty", "",
		"the file naming the killed one"
	};
	int landed[LANDED_KINDS] = { 0 };
	const char *mode = argc > 1 ? argv[1] : "";
	bool core = strcmp(mode, "core") == 0;
	int rounds;
	char path[4096];

	if (argc != (core ? 4 : 5)) {
		fprintf(stderr, "usage: stress-crash pidfile|guard SHIM DIR "
				"ROUNDS | core DIR ROUNDS\n");
		return 64;
	}
	rounds = atoi(argv[argc - 1]);
	seed = getenv("PIDSHIM_CRASH_SEED")
		   ? (unsigned)atol(getenv("PIDSHIM_CRASH_SEED"))
		   : (unsigned)time(NULL) ^ (unsigned)getpid();
	if (strcmp(mode, "pidfile") == 0) {
		snprintf(path, sizeof(path), "%s/sleep.pid", argv[3]);
		setenv("PIDSHIM_PIDFILE", path, 1);
	} else if (strcmp(mode, "guard") == 0) {
		snprintf(path, sizeof(path), "%s/guarded", argv[3]);
		setenv("PIDSHIM_PIDFILE", "none", 1);
		setenv("PIDSHIM_GUARD", path, 1);
		setenv("PIDSHIM_GUARD_WAIT", "5", 1);
	} else if (!core) {
		return 64;
	}
	for (round_no = 1; round_no <= rounds; round_no++) {
		if (core)
			core_round(argv[2], landed);
		else if (mode[0] == 'p')
			pidfile_round(argv[2], path, landed);
		else
			guard_round(argv[2], path, landed);
	}
	printf("%s: %d kills (PIDSHIM_CRASH_SEED=%u)", mode, rounds, seed);
	for (int k = 0; k < LANDED_KINDS; k++) {
		const char *kind = core		    ? core_kinds[k]
				   : mode[0] == 'g' ? guard_kinds[k]
						    : pidfile_kinds[k];

		if (*kind)
			printf(", %d with %s", landed[k], kind);
	}
	printf("\n");
	return 0;
}

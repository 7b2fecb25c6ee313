/* SPDX-License-Identifier: MIT */
/*
 * Run under the shim by test-threads.sh, two copies at once: 8 threads
 * open, duplicate and close guarded and unguarded files while one thread
 * forks children (which exec true, or open a file and _exit) and one
 * changes signal handlers and sends signals to the others (libpidshim(7),
 * "Guards"). Each guarded open increments a counter in the file: the
 * copies' increments must all be there (threads of one process share a
 * guard, so they keep their own order with a mutex, as a program must).
 *
 *   stress-threads DIR ROUNDS
 *
 * DIR holds guarded-0 and guarded-1 (PIDSHIM_GUARD=DIR/guarded-*) and
 * unguarded. Exits 0 after ROUNDS rounds a thread with as many
 * descriptors open as at the start; 1 when a step fails (what failed on
 * stderr); killed by SIGALRM after 120 s (a hang).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPENERS 8

static const char *dir;
static int rounds;
static atomic_bool done;
static pthread_mutex_t order[2] = { PTHREAD_MUTEX_INITIALIZER,
				    PTHREAD_MUTEX_INITIALIZER };
static atomic_int signals_caught;
/* openers done with their rounds; they end only once nobody signals them
 * (pthread_kill of an ended thread is undefined) */
static atomic_int finished;
static atomic_bool may_end;

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "stress-threads[%d]: %s: %s\n", (int)getpid(), what,
		strerror(errno));
	exit(1);
}

static int open_retry(const char *path, int flags)
{
	int fd;

	while ((fd = open(path, flags)) < 0 && errno == EINTR)
		;
	return fd;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		die("opendir /proc/self/fd");
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* One increment of the counter at PATH, through a duplicate of the
 * descriptor opened: the guard must last until the last copy closes. */
static void increment(const char *path)
{
	char buf[32] = "";
	int fd = open_retry(path, O_RDWR | O_CLOEXEC);
	int copy;
	ssize_t n;

	if (fd < 0)
		die(path);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		die("pread");
	copy = dup(fd);
	if (copy < 0)
		die("dup");
	if (close(fd) < 0)
		die("close");
	snprintf(buf, sizeof(buf), "%ld\n", atol(buf) + 1);
	if (pwrite(copy, buf, strlen(buf), 0) < 0)
		die("pwrite");
	if (close(copy) < 0)
		die("close of the copy");
}

static void *opener(void *arg)
{
	char guarded[2][4096], unguarded[4096];
	long id = (long)arg;

	for (int g = 0; g < 2; g++)
		snprintf(guarded[g], sizeof(guarded[g]), "%s/guarded-%d", dir,
			 g);
	snprintf(unguarded, sizeof(unguarded), "%s/unguarded", dir);
	for (int r = 0; r < rounds; r++) {
		int g = (int)((r + id) % 2);
		int fd;

		pthread_mutex_lock(&order[g]);
		increment(guarded[g]);
		pthread_mutex_unlock(&order[g]);
		fd = open_retry(unguarded, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(unguarded);
		close(dup(fd));
		close(fd);
	}
	atomic_fetch_add(&finished, 1);
	while (!atomic_load(&may_end))
		usleep(1000);
	return NULL;
}

static void *forker(void *arg)
{
	char path[4096];

	(void)arg;
	snprintf(path, sizeof(path), "%s/unguarded", dir);
	for (long i = 0; !atomic_load(&done); i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (i % 2 == 0) {
				execlp("true", "true", (char *)NULL);
				_exit(127);
			}
			/* a child's own opens, unguarded here */
			_exit(open(path, O_RDONLY) < 0 ? 3 : 0);
		}
		if (waitpid(pid, &status, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			errno = 0;
			die("a forked child failed");
		}
	}
	return NULL;
}

static void caught(int signo)
{
	(void)signo;
	atomic_fetch_add(&signals_caught, 1);
}

static void also_caught(int signo)
{
	(void)signo;
	atomic_fetch_add(&signals_caught, 1);
}

static pthread_t openers[OPENERS];

/* SIGUSR1 always has a handler (another each time, with SA_RESTART or
 * without, so that guarded opens are interrupted both ways) and goes to
 * the openers; the other signals are raised in this thread only, where
 * they are delivered before raise returns, as the disposition they had. */
static void *signaller(void *arg)
{
	struct sigaction handler = { .sa_handler = caught,
				     .sa_flags = SA_RESTART };
	struct sigaction other = { .sa_handler = also_caught };
	struct sigaction ign = { .sa_handler = SIG_IGN };

	(void)arg;
	sigemptyset(&handler.sa_mask);
	sigemptyset(&other.sa_mask);
	for (unsigned i = 0; !atomic_load(&done); i++) {
		if (sigaction(SIGUSR1, i % 2 ? &handler : &other, NULL) < 0 ||
		    sigaction(SIGHUP, &ign, NULL) < 0)
			die("sigaction");
		pthread_kill(openers[i % OPENERS], SIGUSR1);
		raise(SIGHUP);
		signal(SIGHUP, SIG_DFL);
		signal(SIGUSR2, caught);
		raise(SIGUSR2);
		signal(SIGUSR2, SIG_DFL);
		usleep(100);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction handler = { .sa_handler = caught };
	pthread_t fork_thread, signal_thread;
	int before, after;

	if (argc != 3) {
		fprintf(stderr, "usage: stress-threads DIR ROUNDS\n");
		return 64;
	}
	dir = argv[1];
	rounds = atoi(argv[2]);
	alarm(120);
	before = count_fds();
	sigemptyset(&handler.sa_mask);
	sigaction(SIGUSR1, &handler, NULL);
	pthread_create(&fork_thread, NULL, forker, NULL);
	for (long i = 0; i < OPENERS; i++)
		pthread_create(&openers[i], NULL, opener, (void *)i);
	pthread_create(&signal_thread, NULL, signaller, NULL);
	while (atomic_load(&finished) < OPENERS)
		usleep(1000);
	atomic_store(&done, true);
	pthread_join(fork_thread, NULL);
	pthread_join(signal_thread, NULL);
	atomic_store(&may_end, true);
	for (int i = 0; i < OPENERS; i++)
		pthread_join(openers[i], NULL);
	after = count_fds();
	if (after != before) {
		fprintf(stderr,
			"stress-threads: %d descriptors at the start, %d "
			"at the end\n",
			before, after);
		return 1;
	}
	printf("%d threads x %d rounds, %d signals caught\n", OPENERS, rounds,
	       atomic_load(&signals_caught));
	return 0;
}

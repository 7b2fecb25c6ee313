/* SPDX-License-Identifier: MIT */
/* Lock files: the locking algorithm, pylockfile's LockFile behaviours, the
 * scoped block and the wrapped call. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pidlock.h"
#include "test-common.h"

static char *dir;
/* A lock the test process holds while a forked child works. */
static struct pidlock_lock *held_by_parent;

static void setup(void)
{
	dir = test_dir_make();
}

static void teardown(void)
{
	test_dir_remove(dir);
	dir = NULL;
}

static struct pidlock_lock *new_lock(const char *name, unsigned flags)
{
	struct pidlock_lock *lock = NULL;

	ck_assert_int_eq(pidlock_lock_new(&lock, dir, name, flags), 0);
	return lock;
}

/* ---- naming ------------------------------------------------------------ */

START_TEST(lock_name_gets_lock_suffix)
{
	struct pidlock_lock *a = new_lock("critical_code", 0);
	struct pidlock_lock *b = new_lock("already.lock", 0);

	ck_assert_str_eq(pidlock_lock_path(a),
			 test_path(dir, "critical_code.lock"));
	ck_assert_str_eq(pidlock_lock_path(b), test_path(dir, "already.lock"));
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

START_TEST(lock_without_name_is_random)
{
	struct pidlock_lock *a = new_lock(NULL, 0), *b = new_lock(NULL, 0);
	const char *pa = pidlock_lock_path(a);

	ck_assert_str_ne(pa, pidlock_lock_path(b));
	ck_assert_int_eq(strncmp(pa, dir, strlen(dir)), 0);
	ck_assert_str_eq(pa + strlen(pa) - 5, ".lock");
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

START_TEST(lock_default_dir_is_cwd)
{
	struct pidlock_lock *lock = NULL;

	ck_assert_int_eq(pidlock_lock_new(&lock, NULL, "here", 0), 0);
	ck_assert_str_eq(pidlock_lock_path(lock), "./here.lock");
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_bad_arguments_are_refused)
{
	struct pidlock_lock *lock = NULL;

	ck_assert_int_eq(pidlock_lock_new(&lock, dir, "a/b", 0), -EINVAL);
	ck_assert_int_eq(pidlock_lock_new(&lock, dir, "", 0), -EINVAL);
	ck_assert_int_eq(pidlock_lock_new(&lock, dir, "x", 1u << 9), -EINVAL);
	ck_assert_ptr_null(lock);
}
END_TEST

/* ---- acquire / release ------------------------------------------------- */

START_TEST(lock_acquire_writes_pid_and_release_removes)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	char buf[64], want[32];

	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT, NULL),
	    0);
	ck_assert(pidlock_lock_is_held(lock));
	snprintf(want, sizeof(want), "%d\n", getpid());
	ck_assert_int_gt(
	    test_read_file(pidlock_lock_path(lock), buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
	ck_assert(test_is_flocked(pidlock_lock_path(lock)));
	ck_assert_int_eq(pidlock_lock_release(lock), 0);
	ck_assert(!pidlock_lock_is_held(lock));
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), -1);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_second_acquire_reports_holder)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	pid_t holder = -1;

	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	/* the same object again: already held by us */
	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, &holder),
			 -EALREADY);
	ck_assert_int_eq(holder, getpid());
	/* another object (another open file description): busy */
	holder = -1;
	ck_assert_int_eq(pidlock_lock_acquire(b, PIDLOCK_EXCLUSIVE, 0, &holder),
			 -EAGAIN);
	ck_assert_int_eq(holder, getpid());
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

/*
 * The lock a child holds when a signal ends it: it dies with the object in
 * use, which is not a leak. valgrind checks a process that a signal kills
 * for leaks too, and does not find the pointer in the dead thread's
 * registers: keep it in a global (volatile, or the compiler drops a store
 * that nothing reads).
 */
static struct pidlock_lock *volatile held_at_death;

static int hold_until_killed(void *arg)
{
	struct test_signal *ready = arg;
	struct pidlock_lock *lock = new_lock("x", 0);

	held_at_death = lock;
	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) != 0)
		return 1;
	test_signal_post(ready);
	pause();
	return 0;
}

START_TEST(lock_conflict_reports_other_process)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	struct test_signal ready;
	pid_t child, holder = 0;

	test_signal_init(&ready);
	child = test_fork(hold_until_killed, &ready);
	test_signal_wait(&ready, 10);
	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, &holder), -EAGAIN);
	ck_assert_int_eq(holder, child);
	ck_assert_int_eq(pidlock_lock_query(lock, &holder), PIDLOCK_HELD);
	ck_assert_int_eq(holder, child);
	kill(child, SIGKILL);
	test_wait(child, 10);
	test_signal_close(&ready);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_release_unheld_is_error)
{
	struct pidlock_lock *lock = new_lock("x", 0);

	ck_assert_int_eq(pidlock_lock_release(lock), -ENOLCK);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	ck_assert_int_eq(pidlock_lock_release(lock), 0);
	ck_assert_int_eq(pidlock_lock_release(lock), -ENOLCK);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_query_without_acquiring)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	pid_t holder = -1;

	ck_assert_int_eq(pidlock_lock_query(b, &holder), PIDLOCK_ABSENT);
	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	ck_assert_int_eq(pidlock_lock_query(b, &holder), PIDLOCK_HELD);
	ck_assert_int_eq(holder, getpid());
	ck_assert(!pidlock_lock_is_held(b));
	pidlock_lock_release(a);
	/* a file left behind by a dead holder is stale, whatever it says */
	test_write_file(pidlock_lock_path(a), "1\n");
	ck_assert_int_eq(pidlock_lock_query(b, &holder), PIDLOCK_STALE);
	ck_assert_int_eq(holder, 0);
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

/* ---- 16 processes, 200 rounds: never two holders ----------------------- */

#define RACERS 16
#define ROUNDS 200

static int race_rounds(void *arg)
{
	const char *marker = test_path(dir, "marker");
	struct pidlock_lock *lock = new_lock("race", 0);

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int fd;

		if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE,
					 PIDLOCK_WAIT_FOREVER, NULL) != 0)
			return 2;
		/* the marker exists only while somebody holds the lock */
		fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return 3;
		close(fd);
		if (i % 8 == 0)
			sched_yield();
		if (unlink(marker) < 0)
			return 4;
		if (pidlock_lock_release(lock) != 0)
			return 5;
	}
	pidlock_lock_free(lock);
	return 0;
}

START_TEST(lock_race_never_two_holders)
{
	pid_t racers[RACERS];

	for (int i = 0; i < RACERS; i++)
		racers[i] = test_fork(race_rounds, NULL);
	for (int i = 0; i < RACERS; i++) {
		int status = test_wait(racers[i], 120);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "racer %d: status %#x (3 = two holders at once)",
			      i, status);
	}
	ck_assert_int_eq(access(test_path(dir, "race.lock"), F_OK), -1);
}
END_TEST

/* ---- stale locks --------------------------------------------------------- */

START_TEST(lock_sigkilled_holder_frees_lock_at_once)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	struct test_signal ready;
	pid_t child;
	char buf[64], want[32];

	test_signal_init(&ready);
	child = test_fork(hold_until_killed, &ready);
	test_signal_wait(&ready, 10);
	kill(child, SIGKILL);
	test_wait(child, 10);
	/* the dead holder's file is still there, with its PID */
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), 0);
	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT, NULL),
	    0);
	snprintf(want, sizeof(want), "%d\n", getpid());
	test_read_file(pidlock_lock_path(lock), buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	test_signal_close(&ready);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_stale_file_naming_live_pid_is_taken_over)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	char buf[64], want[32];

	/* PID 1 is alive; kill(1, 0) would say "running". The lock says no. */
	test_write_file(pidlock_lock_path(lock), "1\n");
	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT, NULL),
	    0);
	snprintf(want, sizeof(want), "%d\n", getpid());
	test_read_file(pidlock_lock_path(lock), buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	pidlock_lock_free(lock);
}
END_TEST

/* A stale file longer than our PID line ("<pid>\n" is at most 8 digits
 * and a newline) ends with our PID, nothing of the old content after it,
 * in the same inode. */
START_TEST(lock_longer_stale_content_is_cut)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	struct stat before, after;
	char buf[64], want[32];

	test_write_file(pidlock_lock_path(lock), "123456789012\n");
	ck_assert_int_eq(stat(pidlock_lock_path(lock), &before), 0);
	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT, NULL),
	    0);
	ck_assert_int_eq(stat(pidlock_lock_path(lock), &after), 0);
	ck_assert_int_eq(before.st_ino, after.st_ino);
	snprintf(want, sizeof(want), "%d\n", getpid());
	test_read_file(pidlock_lock_path(lock), buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	pidlock_lock_free(lock);
}
END_TEST

/* ---- the system calls of a cycle (CK_RUN_CASE=syscalls) ----------------
 * The test binary run as a program: with PIDLOCK_TEST_ACT set it does that
 * act instead of the suite (main). */
static char self_exe[4096];

/* A new lock, then one over a stale file shorter than our PID line. */
static int act_cycles(const char *in)
{
	struct pidlock_lock *lock = NULL;
	char path[4096];
	int fd;

	if (pidlock_lock_new(&lock, in, "cycle", 0) < 0 ||
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) < 0 ||
	    pidlock_lock_release(lock) < 0)
		return 1;
	/* no Check assertion here: this runs outside the suite */
	snprintf(path, sizeof(path), "%s/cycle.lock", in);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "1\n", 2) != 2)
		return 3;
	close(fd);
	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) < 0 ||
	    pidlock_lock_release(lock) < 0 || access(path, F_OK) == 0)
		return 2;
	pidlock_lock_free(lock);
	return 0;
}

/* A timed wait for x.lock, which the test holds until it sees us wait. */
static int act_timed_wait(const char *in)
{
	struct pidlock_lock *lock = NULL;

	if (pidlock_lock_new(&lock, in, "x", 0) < 0 ||
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 30000, NULL) < 0 ||
	    pidlock_lock_release(lock) < 0)
		return 1;
	pidlock_lock_free(lock);
	return 0;
}

/* One cycle of a new lock file. */
static int act_new_lock_cycle(const char *in)
{
	struct pidlock_lock *lock = NULL;

	if (pidlock_lock_new(&lock, in, "fresh", 0) < 0 ||
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) < 0 ||
	    pidlock_lock_release(lock) < 0)
		return 1;
	pidlock_lock_free(lock);
	return 0;
}

static int run_act(const char *act, const char *in)
{
	if (strcmp(act, "cycles") == 0)
		return act_cycles(in);
	if (strcmp(act, "new_lock_cycle") == 0)
		return act_new_lock_cycle(in);
	if (strcmp(act, "timed_wait") == 0)
		return act_timed_wait(in);
	return 100;
}

/* Truncating, even an empty file, arms ext4's flush on close (the close
 * that releases waits for the disk): a file no longer than our PID line
 * is written over, never truncated. */
START_TEST(lock_short_file_is_not_truncated)
{
	char act_dir[4200];
	const char *env[] = { "PIDLOCK_TEST_ACT=cycles", act_dir, NULL };
	const char *argv[] = { self_exe, NULL };

	snprintf(act_dir, sizeof(act_dir), "PIDLOCK_TEST_DIR=%s", dir);
	ck_assert_int_eq(
	    test_strace_count("trace=ftruncate", NULL, env, argv, 30), 0);
	/* the act ran: the trace of a call it makes counts */
	ck_assert_int_ge(test_strace_count("trace=flock", NULL, env, argv, 30),
			 2);
}
END_TEST

/* The file a lock creates is ours by creation (O_EXCL): no euid to ask
 * for. And no process but the lock's owner writes a lock file: its
 * release need not read it to know it still names the owner. */
START_TEST(lock_new_file_cycle_asks_nothing_more)
{
	char act_dir[4200];
	const char *env[] = { "PIDLOCK_TEST_ACT=new_lock_cycle", act_dir,
			      NULL };
	const char *argv[] = { self_exe, NULL };

	snprintf(act_dir, sizeof(act_dir), "PIDLOCK_TEST_DIR=%s", dir);
	ck_assert_int_eq(
	    test_strace_count("trace=geteuid", NULL, env, argv, 30), 0);
	ck_assert_int_eq(test_strace_count("trace=pread64",
					   test_path(dir, "fresh.lock"), env,
					   argv, 30),
			 0);
	ck_assert_int_eq(test_strace_count("trace=unlink", NULL, env, argv, 30),
			 1);
}
END_TEST

/* Hold x.lock until somebody waits for it in the kernel, or 5 s have
 * passed (a wait that polls, under valgrind, is never seen: exit 2), then
 * release. */
static int hold_until_waited_for(void *arg)
{
	struct test_signal *ready = arg;
	struct pidlock_lock *lock = new_lock("x", 0);
	bool seen;

	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) != 0)
		return 1;
	test_signal_post(ready);
	seen = test_wait_for_lock_waiter(pidlock_lock_path(lock), 5);
	pidlock_lock_free(lock);
	return seen ? 0 : 2;
}

/* hold_until_waited_for's end: released, whether it saw the wait */
static void assert_released(pid_t holder)
{
	int status = test_wait(holder, 60);

	ck_assert_msg(WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
					    WEXITSTATUS(status) == 2),
		      "holder: status %#x", status);
}

/* A timed wait sleeps in the kernel until the release wakes it: no sleep
 * and try again (pidlock(3), "Timeouts and lock kinds"). */
START_TEST(lock_timed_wait_is_woken_at_release)
{
	char act_dir[4200];
	const char *env[] = { "PIDLOCK_TEST_ACT=timed_wait", act_dir, NULL };
	const char *argv[] = { self_exe, NULL };
	struct test_signal ready;
	pid_t holder;
	int sleeps, status;

	snprintf(act_dir, sizeof(act_dir), "PIDLOCK_TEST_DIR=%s", dir);
	test_signal_init(&ready);
	holder = test_fork(hold_until_waited_for, &ready);
	test_signal_wait(&ready, 10);
	sleeps = test_strace_count("trace=nanosleep,clock_nanosleep", NULL, env,
				   argv, 60);
	status = test_wait(holder, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "holder: status %#x (2: nobody waited)", status);
	ck_assert_int_eq(sleeps, 0);
	test_signal_close(&ready);
}
END_TEST

/* Whether this thread has a child of any kind: clone children with no
 * exit signal too (__WALL), zombies included. */
static bool has_children(void)
{
	siginfo_t info = { 0 };
	char path[64], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
		 (long)gettid());
	n = test_read_file(path, buf, sizeof(buf));
	if (n > 0)
		return true;
	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) ==
	       0;
}

/* A timed wait that runs out, and one the release ends: nothing is left
 * running or unreaped behind them. */
START_TEST(lock_timed_wait_leaves_no_process)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	struct test_signal ready;
	pid_t holder;

	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	ck_assert_int_eq(pidlock_lock_acquire(b, PIDLOCK_EXCLUSIVE, 200, NULL),
			 -ETIMEDOUT);
	ck_assert(!has_children());
	pidlock_lock_free(a);

	test_signal_init(&ready);
	holder = test_fork(hold_until_waited_for, &ready);
	test_signal_wait(&ready, 10);
	ck_assert_int_eq(
	    pidlock_lock_acquire(b, PIDLOCK_EXCLUSIVE, 30000, NULL), 0);
	assert_released(holder);
	ck_assert(!has_children());
	pidlock_lock_free(b);
	test_signal_close(&ready);
}
END_TEST

/* A program that reaps every child: in its SIGCHLD handler (_i 0), with
 * children reaped by the kernel (SA_NOCLDWAIT, _i 1), or by a waitpid(-1)
 * loop in one thread while another waits for the lock with a timeout. It
 * sees its own child only, and the wait still ends with the lock. */
static volatile sig_atomic_t sigchld_from_other;
static pid_t reaped_child;

static void count_sigchld(int signo, siginfo_t *info, void *ctx)
{
	(void)signo;
	(void)ctx;
	if (info->si_pid != reaped_child)
		sigchld_from_other = 1;
}

struct timed_waiter {
	struct pidlock_lock *lock;
	int err;
	volatile int done;
};

static void *wait_with_timeout(void *arg)
{
	struct timed_waiter *w = arg;

	w->err = pidlock_lock_acquire(w->lock, PIDLOCK_EXCLUSIVE, 30000, NULL);
	w->done = 1;
	return NULL;
}

START_TEST(lock_timed_wait_unseen_by_reaping_program)
{
	struct timed_waiter w = { .lock = new_lock("x", 0), .err = -1 };
	struct sigaction sa = { .sa_sigaction = count_sigchld,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	struct test_signal ready;
	pthread_t thread;
	int status;

	if (_i == 1)
		sa.sa_flags |= SA_NOCLDWAIT;
	sigchld_from_other = 0;
	test_signal_init(&ready);
	reaped_child = test_fork(hold_until_waited_for, &ready);
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, NULL), 0);
	test_signal_wait(&ready, 10);
	ck_assert_int_eq(pthread_create(&thread, NULL, wait_with_timeout, &w),
			 0);
	while (!w.done) {
		pid_t pid = waitpid(-1, &status, 0);

		if (pid > 0)
			ck_assert_int_eq(pid, reaped_child);
		else if (errno == ECHILD)
			test_pause_ms(1);
	}
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_int_eq(w.err, 0);
	ck_assert(!sigchld_from_other);
	ck_assert(!has_children());
	signal(SIGCHLD, SIG_DFL);
	pidlock_lock_free(w.lock);
	test_signal_close(&ready);
}
END_TEST

/* ---- hand-over ----------------------------------------------------------- */

/* Wait for x.lock (forever), hold it until told, then release it. */
struct waiter_pipes {
	struct test_signal got, go;
};

static int wait_then_hold(void *arg)
{
	struct waiter_pipes *p = arg;
	struct pidlock_lock *lock = new_lock("x", 0);

	pidlock_lock_free(held_by_parent);
	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_WAIT_FOREVER,
				 NULL) != 0)
		return 1;
	test_signal_post(&p->got);
	test_signal_wait(&p->go, 20);
	pidlock_lock_free(lock);
	return 0;
}

/* A release while a waiter of ours waits keeps the file, emptied, and the
 * waiter holds that very file: no removal, no new inode. Then its own
 * release, with nobody waiting, removes it. */
START_TEST(lock_release_hands_the_file_over_to_a_waiter)
{
	struct waiter_pipes p;
	struct stat kept, now;
	char buf[64], want[32];
	int watch;
	pid_t waiter;

	held_by_parent = new_lock("x", 0);
	ck_assert_int_eq(
	    pidlock_lock_acquire(held_by_parent, PIDLOCK_EXCLUSIVE, 0, NULL),
	    0);
	/* open, the inode cannot be reused for a new file meanwhile */
	watch = open(pidlock_lock_path(held_by_parent), O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(watch, 0);
	test_signal_init(&p.got);
	test_signal_init(&p.go);
	waiter = test_fork(wait_then_hold, &p);
	ck_assert(
	    test_wait_for_lock_waiter(pidlock_lock_path(held_by_parent), 10));
	pidlock_lock_free(held_by_parent);
	held_by_parent = NULL;
	test_signal_wait(&p.got, 10);
	ck_assert_int_eq(fstat(watch, &kept), 0);
	ck_assert_int_eq(stat(test_path(dir, "x.lock"), &now), 0);
	ck_assert_int_eq(kept.st_nlink, 1);
	ck_assert_int_eq(kept.st_ino, now.st_ino);
	snprintf(want, sizeof(want), "%d\n", waiter);
	test_read_file(test_path(dir, "x.lock"), buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	test_signal_post(&p.go);
	ck_assert_int_eq(test_wait(waiter, 20), 0);
	ck_assert_int_eq(access(test_path(dir, "x.lock"), F_OK), -1);
	close(watch);
	test_signal_close(&p.got);
	test_signal_close(&p.go);
}
END_TEST

static int wait_briefly(void *arg)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	int err;

	pidlock_lock_free(held_by_parent);
	err =
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, (int)(long)arg, NULL);
	pidlock_lock_free(lock);
	return err == 0 ? 0 : err == -ETIMEDOUT ? 1 : 2;
}

/* A waiter whose wait ends as the holder releases, either way round: the
 * file kept for it never stays behind. */
START_TEST(lock_hand_over_to_a_leaving_waiter_leaves_no_file)
{
	int outcomes[3] = { 0 };

	for (int i = 0; i < 150; i++) {
		pid_t waiter;
		int status;

		held_by_parent = new_lock("x", 0);
		ck_assert_int_eq(pidlock_lock_acquire(held_by_parent,
						      PIDLOCK_EXCLUSIVE, 0,
						      NULL),
				 0);
		waiter = test_fork(wait_briefly, (void *)20L);
		/* around the end of its 20 ms */
		test_pause_ms(14 + i % 12);
		pidlock_lock_free(held_by_parent);
		held_by_parent = NULL;
		status = test_wait(waiter, 20);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) < 2);
		outcomes[WEXITSTATUS(status)]++;
		ck_assert_msg(access(test_path(dir, "x.lock"), F_OK) == -1,
			      "round %d: the file stayed (waiter %s)", i,
			      WEXITSTATUS(status) ? "timed out" : "got it");
	}
	ck_assert_int_gt(outcomes[0] + outcomes[1], 0);
}
END_TEST

/* ---- remove-while-waiting race ----------------------------------------- */

static int hold_briefly(void *arg)
{
	const char *marker = test_path(dir, "marker");
	struct pidlock_lock *lock = new_lock("x", 0);
	int fd;

	/* A forked child shares its parent's open lock (flock belongs to the
	 * open file description): drop our copy, as the API asks. */
	pidlock_lock_free(arg);
	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_WAIT_FOREVER,
				 NULL) != 0)
		return 2;
	fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		return 3;
	close(fd);
	usleep(200);
	unlink(marker);
	pidlock_lock_free(lock);
	return 0;
}

START_TEST(lock_remove_while_waiting_never_two_holders)
{
	struct pidlock_lock *a = new_lock("x", 0);

	for (int i = 0; i < 500; i++) {
		pid_t b, c;
		int sb, sc;

		ck_assert_int_eq(
		    pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL), 0);
		b = test_fork(hold_briefly, a);
		ck_assert_msg(
		    test_wait_for_lock_waiter(pidlock_lock_path(a), 10),
		    "B never waited on the lock");
		c = test_fork(hold_briefly, a);
		/* vary the moment C arrives relative to the removal */
		if (i % 3)
			usleep((useconds_t)(i % 7) * 20);
		ck_assert_int_eq(pidlock_lock_release(a), 0);
		sb = test_wait(b, 30);
		sc = test_wait(c, 30);
		ck_assert_msg(WIFEXITED(sb) && WEXITSTATUS(sb) == 0 &&
				  WIFEXITED(sc) && WEXITSTATUS(sc) == 0,
			      "round %d: B %#x C %#x (3 = two holders)", i, sb,
			      sc);
	}
	pidlock_lock_free(a);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

static int acquire_with_short_write(void *arg)
{
	struct test_signal *ready = arg;
	struct rlimit one_byte = { 1, 1 };
	struct pidlock_lock *lock = new_lock("x", 0);
	int err;

	/* the parent's lock is ours too since fork: drop our copy */
	pidlock_lock_free(held_by_parent);
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &one_byte) < 0)
		return 100;
	test_signal_post(ready);
	err = pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 10000, NULL);
	pidlock_lock_free(lock);
	return -err;
}

/* A PID that does not fit (a short write, here under RLIMIT_FSIZE) is an
 * I/O error, not whatever errno an earlier, successful step left behind:
 * after a wait that is ENOENT, or EWOULDBLOCK, which reads as "busy". */
START_TEST(lock_short_pid_write_is_eio)
{
	struct test_signal ready;
	pid_t child;
	int status;

	held_by_parent = new_lock("x", 0);
	ck_assert_int_eq(
	    pidlock_lock_acquire(held_by_parent, PIDLOCK_EXCLUSIVE, 0, NULL),
	    0);
	test_signal_init(&ready);
	child = test_fork(acquire_with_short_write, &ready);
	test_signal_wait(&ready, 10);
	/* let it wait on the lock, then release (and remove) under it */
	usleep(100 * 1000);
	pidlock_lock_free(held_by_parent);
	held_by_parent = NULL;
	status = test_wait(child, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == EIO,
		      "acquire: status %#x, want exit %d (-EIO)", status, EIO);
	/* the half-written file was ours: it is not left behind */
	ck_assert_int_eq(access(test_path(dir, "x.lock"), F_OK), -1);
	test_signal_close(&ready);
}
END_TEST

/* ---- unsafe files at the path ------------------------------------------ */

START_TEST(lock_symlink_is_refused)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	const char *target = test_path(dir, "target");
	char buf[64];

	test_write_file(target, "precious\n");
	ck_assert_int_eq(symlink(target, pidlock_lock_path(lock)), 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -ELOOP);
	test_read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	/* a dangling symlink must not create its target either */
	ck_assert_int_eq(unlink(target), 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -ELOOP);
	ck_assert_int_eq(access(target, F_OK), -1);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_fifo_is_refused)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	struct stat st;

	ck_assert_int_eq(mkfifo(pidlock_lock_path(lock), 0600), 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(lstat(pidlock_lock_path(lock), &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_directory_is_refused)
{
	struct pidlock_lock *lock = new_lock("x", 0);

	ck_assert_int_eq(mkdir(pidlock_lock_path(lock), 0700), 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EISDIR);
	ck_assert_int_eq(rmdir(pidlock_lock_path(lock)), 0);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_hard_link_is_refused)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	const char *target = test_path(dir, "target");
	char buf[64];

	test_write_file(target, "precious\n");
	ck_assert_int_eq(link(target, pidlock_lock_path(lock)), 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EMLINK);
	test_read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), 0);
	pidlock_lock_free(lock);
}
END_TEST

/* Run as root only (the meson test exits 77 otherwise): a file planted by
 * another user in a shared directory must not be adopted. */
START_TEST(lock_foreign_owner_is_refused)
{
	struct passwd *nobody = getpwnam("nobody");
	struct pidlock_lock *lock;
	char buf[64], path[4096];
	pid_t child;
	int status;

	ck_assert_ptr_nonnull(nobody);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	lock = new_lock("x", 0);
	snprintf(path, sizeof(path), "%s", pidlock_lock_path(lock));
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int fd;

		/* the child's copy of the object: with CK_FORK=no valgrind
		 * checks this child for leaks too */
		pidlock_lock_free(lock);
		if (setgid(nobody->pw_gid) < 0 || setuid(nobody->pw_uid) < 0)
			_exit(2);
		fd = open(path, O_CREAT | O_WRONLY, 0666);
		if (fd < 0 || write(fd, "planted\n", 8) != 8)
			_exit(3);
		_exit(0);
	}
	status = test_wait(child, 10);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EPERM);
	test_read_file(pidlock_lock_path(lock), buf, sizeof(buf));
	ck_assert_str_eq(buf, "planted\n");
	pidlock_lock_free(lock);
}
END_TEST

/* ---- waiting and sharing ----------------------------------------------- */

START_TEST(lock_timeout_is_honoured)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	struct timespec start;
	pid_t holder = 0;
	long ms;

	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	ck_assert_int_eq(
	    pidlock_lock_acquire(b, PIDLOCK_EXCLUSIVE, 300, &holder),
	    -ETIMEDOUT);
	ms = test_ms_since(&start);
	ck_assert_int_eq(holder, getpid());
	ck_assert_msg(ms >= 290 && ms < 5000, "waited %ld ms for 300", ms);
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

static int release_after_100ms(void *arg)
{
	struct test_signal *ready = arg;
	struct pidlock_lock *lock = new_lock("x", 0);

	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) != 0)
		return 1;
	test_signal_post(ready);
	usleep(100 * 1000);
	pidlock_lock_free(lock);
	return 0;
}

START_TEST(lock_timeout_succeeds_when_released_in_time)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	struct test_signal ready;
	pid_t child;

	test_signal_init(&ready);
	child = test_fork(release_after_100ms, &ready);
	test_signal_wait(&ready, 10);
	ck_assert_int_eq(
	    pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 10000, NULL), 0);
	test_wait(child, 10);
	test_signal_close(&ready);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_shared_holders_coexist_exclusive_excludes)
{
	struct pidlock_lock *r1 = new_lock("x", 0), *r2 = new_lock("x", 0);
	struct pidlock_lock *w = new_lock("x", 0);

	ck_assert_int_eq(pidlock_lock_acquire(r1, PIDLOCK_SHARED, 0, NULL), 0);
	ck_assert_int_eq(pidlock_lock_acquire(r2, PIDLOCK_SHARED, 0, NULL), 0);
	ck_assert_int_eq(pidlock_lock_acquire(w, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EAGAIN);
	ck_assert_int_eq(pidlock_lock_query(w, NULL), PIDLOCK_HELD);
	/* the first reader out must not remove the file under the second */
	ck_assert_int_eq(pidlock_lock_release(r1), 0);
	ck_assert_int_eq(access(pidlock_lock_path(w), F_OK), 0);
	ck_assert_int_eq(pidlock_lock_acquire(w, PIDLOCK_EXCLUSIVE, 0, NULL),
			 -EAGAIN);
	ck_assert_int_eq(pidlock_lock_release(r2), 0);
	ck_assert_int_eq(access(pidlock_lock_path(w), F_OK), -1);
	ck_assert_int_eq(pidlock_lock_acquire(w, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	ck_assert_int_eq(pidlock_lock_acquire(r1, PIDLOCK_SHARED, 0, NULL),
			 -EAGAIN);
	pidlock_lock_free(r1);
	pidlock_lock_free(r2);
	pidlock_lock_free(w);
}
END_TEST

START_TEST(lock_shared_holders_report_no_stale_pid)
{
	struct pidlock_lock *r = new_lock("x", 0), *w = new_lock("x", 0);
	pid_t holder = -1;

	/* a dead exclusive holder's PID is still in the file */
	test_write_file(pidlock_lock_path(r), "1\n");
	ck_assert_int_eq(pidlock_lock_acquire(r, PIDLOCK_SHARED, 0, NULL), 0);
	ck_assert_int_eq(pidlock_lock_query(w, &holder), PIDLOCK_HELD);
	ck_assert_int_eq(holder, 0);
	holder = -1;
	ck_assert_int_eq(pidlock_lock_acquire(w, PIDLOCK_EXCLUSIVE, 0, &holder),
			 -EAGAIN);
	ck_assert_int_eq(holder, 0);
	pidlock_lock_free(r);
	pidlock_lock_free(w);
}
END_TEST

/* ---- fork ---------------------------------------------------------------- */

START_TEST(lock_forked_child_exit_keeps_parent_lock)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	pid_t child;
	int status;

	ck_assert_int_eq(pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* the child inherited the object; freeing it must not remove
		 * the parent's file. _exit: with CK_FORK=no this child is a
		 * copy of the runner, whose stdio and atexit are not its own */
		pidlock_lock_free(lock);
		_exit(0);
	}
	status = test_wait(child, 10);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), 0);
	ck_assert(test_is_flocked(pidlock_lock_path(lock)));
	ck_assert_int_eq(pidlock_lock_release(lock), 0);
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), -1);
	pidlock_lock_free(lock);
}
END_TEST

/* ---- remove on SIGINT ---------------------------------------------------- */

static int hold_with_remove_on_sigint(void *arg)
{
	struct test_signal *ready = arg;
	struct pidlock_lock *lock = new_lock("x", PIDLOCK_REMOVE_ON_SIGINT);

	held_at_death = lock;
	if (pidlock_lock_acquire(lock, PIDLOCK_EXCLUSIVE, 0, NULL) != 0)
		return 1;
	test_signal_post(ready);
	for (;;)
		pause();
}

START_TEST(lock_remove_on_sigint_removes_and_dies)
{
	struct test_signal ready;
	pid_t child;
	int status;

	test_signal_init(&ready);
	child = test_fork(hold_with_remove_on_sigint, &ready);
	test_signal_wait(&ready, 10);
	ck_assert_int_eq(access(test_path(dir, "x.lock"), F_OK), 0);
	kill(child, SIGINT);
	status = test_wait(child, 10);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
		      "status %#x", status);
	ck_assert_int_eq(access(test_path(dir, "x.lock"), F_OK), -1);
	test_signal_close(&ready);
}
END_TEST

START_TEST(lock_without_remove_flag_leaves_file_on_sigint)
{
	struct test_signal ready;
	pid_t child;
	int status;

	test_signal_init(&ready);
	child = test_fork(hold_until_killed, &ready);
	test_signal_wait(&ready, 10);
	kill(child, SIGINT);
	status = test_wait(child, 10);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
	ck_assert_int_eq(access(test_path(dir, "x.lock"), F_OK), 0);
	test_signal_close(&ready);
}
END_TEST

/* ---- scoped block and wrapped call ------------------------------------- */

static int scoped_return(struct pidlock_lock *lock)
{
	int err;

	PIDLOCK_SCOPED(lock, PIDLOCK_EXCLUSIVE, 0, &err)
	{
		if (pidlock_lock_is_held(lock))
			return 42;
	}
	return -1;
}

START_TEST(lock_scoped_block_releases_on_every_exit)
{
	struct pidlock_lock *lock = new_lock("x", 0);
	bool ran = false;
	int err = -1;

	PIDLOCK_SCOPED(lock, PIDLOCK_EXCLUSIVE, 0, &err)
	{
		ran = pidlock_lock_is_held(lock);
	}
	ck_assert_int_eq(err, 0);
	ck_assert(ran);
	ck_assert(!pidlock_lock_is_held(lock));

	for (int i = 0; i < 3; i++) {
		PIDLOCK_SCOPED(lock, PIDLOCK_EXCLUSIVE, 0, &err)
		{
			if (i == 1)
				break;
		}
		ck_assert(!pidlock_lock_is_held(lock));
	}

	ck_assert_int_eq(scoped_return(lock), 42);
	ck_assert(!pidlock_lock_is_held(lock));
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), -1);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_scoped_block_skipped_when_busy)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	bool ran = false;
	int err = 0;

	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	PIDLOCK_SCOPED(b, PIDLOCK_EXCLUSIVE, 0, &err)
	{
		ran = true;
	}
	ck_assert(!ran);
	ck_assert_int_eq(err, -EAGAIN);
	ck_assert(pidlock_lock_is_held(a));
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

static void *critical_function(void *arg)
{
	struct pidlock_lock *lock = arg;

	return pidlock_lock_is_held(lock) ? (void *)"held" : (void *)"free";
}

START_TEST(lock_wrapped_call_returns_result_and_releases)
{
	struct pidlock_lock *lock = new_lock("critical_function", 0);
	void *result = NULL;

	ck_assert_int_eq(pidlock_lock_call(lock, PIDLOCK_EXCLUSIVE, 0,
					   critical_function, lock, &result),
			 0);
	ck_assert_str_eq(result, "held");
	ck_assert(!pidlock_lock_is_held(lock));
	ck_assert_int_eq(access(pidlock_lock_path(lock), F_OK), -1);
	pidlock_lock_free(lock);
}
END_TEST

START_TEST(lock_wrapped_call_busy_does_not_run)
{
	struct pidlock_lock *a = new_lock("x", 0), *b = new_lock("x", 0);
	void *result = NULL;

	ck_assert_int_eq(pidlock_lock_acquire(a, PIDLOCK_EXCLUSIVE, 0, NULL),
			 0);
	ck_assert_int_eq(pidlock_lock_call(b, PIDLOCK_EXCLUSIVE, 0,
					   critical_function, b, &result),
			 -EAGAIN);
	ck_assert_ptr_null(result);
	pidlock_lock_free(a);
	pidlock_lock_free(b);
}
END_TEST

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("lockfile");
	const char *only = getenv("CK_RUN_CASE");
	const char *act = getenv("PIDLOCK_TEST_ACT");

	if (act)
		return run_act(act, getenv("PIDLOCK_TEST_DIR"));
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		return EXIT_FAILURE;
	if (only && strcmp(only, "syscalls") == 0 && !test_strace_usable()) {
		printf("skip: strace is missing, or may not trace here\n");
		return EXIT_SKIP;
	}

	if (only && strcmp(only, "foreign_owner") == 0 && geteuid() != 0) {
		printf("skip: needs root to plant a file owned by nobody\n");
		return EXIT_SKIP;
	}
	test_add(s, "name_suffix", lock_name_gets_lock_suffix, 10, &fixture,
		 NULL);
	test_add(s, "random_name", lock_without_name_is_random, 10, &fixture,
		 NULL);
	test_add(s, "default_dir", lock_default_dir_is_cwd, 10, &fixture, NULL);
	test_add(s, "bad_arguments", lock_bad_arguments_are_refused, 10,
		 &fixture, NULL);
	test_add(s, "acquire_release",
		 lock_acquire_writes_pid_and_release_removes, 10, &fixture,
		 NULL);
	test_add(s, "second_acquire", lock_second_acquire_reports_holder, 10,
		 &fixture, NULL);
	test_add(s, "conflict_holder", lock_conflict_reports_other_process, 20,
		 &fixture, NULL);
	test_add(s, "release_unheld", lock_release_unheld_is_error, 10,
		 &fixture, NULL);
	test_add(s, "query", lock_query_without_acquiring, 10, &fixture, NULL);
	test_add(s, "race", lock_race_never_two_holders, 240, &fixture, NULL);
	test_add(s, "sigkill_stale", lock_sigkilled_holder_frees_lock_at_once,
		 20, &fixture, NULL);
	test_add(s, "stale_live_pid",
		 lock_stale_file_naming_live_pid_is_taken_over, 10, &fixture,
		 NULL);
	test_add(s, "longer_stale_content", lock_longer_stale_content_is_cut,
		 10, &fixture, NULL);
	if (only && strcmp(only, "syscalls") == 0) {
		test_add(s, "syscalls", lock_short_file_is_not_truncated, 60,
			 &fixture, NULL);
		test_add(s, "syscalls", lock_timed_wait_is_woken_at_release,
			 120, &fixture, NULL);
		test_add(s, "syscalls", lock_new_file_cycle_asks_nothing_more,
			 60, &fixture, NULL);
	}
	test_add(s, "timed_wait_no_process", lock_timed_wait_leaves_no_process,
		 60, &fixture, NULL);
	test_add(s, "timed_wait_reaping_program",
		 lock_timed_wait_unseen_by_reaping_program, 60, &fixture,
		 TEST_LOOP(2));
	test_add(s, "hand_over", lock_release_hands_the_file_over_to_a_waiter,
		 30, &fixture, NULL);
	test_add(s, "hand_over_leaving_waiter",
		 lock_hand_over_to_a_leaving_waiter_leaves_no_file, 120,
		 &fixture, NULL);
	test_add(s, "remove_while_waiting",
		 lock_remove_while_waiting_never_two_holders, 600, &fixture,
		 NULL);
	test_add(s, "short_pid_write", lock_short_pid_write_is_eio, 40,
		 &fixture, NULL);
	test_add(s, "symlink", lock_symlink_is_refused, 10, &fixture, NULL);
	test_add(s, "fifo", lock_fifo_is_refused, 10, &fixture, NULL);
	test_add(s, "directory", lock_directory_is_refused, 10, &fixture, NULL);
	test_add(s, "hard_link", lock_hard_link_is_refused, 10, &fixture, NULL);
	if (only && strcmp(only, "foreign_owner") == 0)
		test_add(s, "foreign_owner", lock_foreign_owner_is_refused, 20,
			 &fixture, NULL);
	test_add(s, "timeout", lock_timeout_is_honoured, 20, &fixture, NULL);
	test_add(s, "timeout_success",
		 lock_timeout_succeeds_when_released_in_time, 20, &fixture,
		 NULL);
	test_add(s, "shared", lock_shared_holders_coexist_exclusive_excludes,
		 10, &fixture, NULL);
	test_add(s, "shared_no_stale_pid",
		 lock_shared_holders_report_no_stale_pid, 10, &fixture, NULL);
	test_add(s, "fork_child", lock_forked_child_exit_keeps_parent_lock, 20,
		 &fixture, NULL);
	test_add(s, "remove_on_sigint", lock_remove_on_sigint_removes_and_dies,
		 20, &fixture, NULL);
	test_add(s, "no_remove_flag",
		 lock_without_remove_flag_leaves_file_on_sigint, 20, &fixture,
		 NULL);
	test_add(s, "scoped_block", lock_scoped_block_releases_on_every_exit,
		 10, &fixture, NULL);
	test_add(s, "scoped_busy", lock_scoped_block_skipped_when_busy, 10,
		 &fixture, NULL);
	test_add(s, "wrapped_call",
		 lock_wrapped_call_returns_result_and_releases, 10, &fixture,
		 NULL);
	test_add(s, "wrapped_busy", lock_wrapped_call_busy_does_not_run, 10,
		 &fixture, NULL);
	return test_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * A timed flock that the kernel wakes at the release (pidlock(3),
 * "Timeouts and lock kinds"). flock has no timeout, and a library may not
 * take a timer signal from the program, so a helper waits instead: a
 * child sharing our memory and descriptor table blocks in flock on our
 * descriptor. The lock belongs to the open file description, so the lock
 * the helper gets is ours. We wait for the helper's end through its pidfd;
 * at the deadline it is killed, and a non-blocking flock says whether the
 * lock came in at the last moment.
 *
 * The helper is invisible to the program: its exit signal is none (no
 * SIGCHLD, and waitpid(-1) without __WALL never sees it), every signal is
 * blocked in it (a terminal's SIGINT reaches the whole process group, and
 * the program's handlers must not run on its stack), and we reap it
 * ourselves through the pidfd. It dies with the thread that waits for it
 * (PR_SET_PDEATHSIG), so it never keeps our descriptors, and our locks,
 * after the process is gone.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockfd.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* The kernel's signal set: 64 signals. */
#define KERNEL_SIGSET_SIZE 8

/* The helper's stack, on the waiting thread's own (it stays in
 * lockfd_timed_flock until the helper is reaped): glibc's clone
 * trampoline and three system calls need a few hundred bytes. */
#define HELPER_STACK_SIZE 8192

enum helper_state {
	HELPER_WAITING = 0,
	HELPER_LOCKED = 1,
	HELPER_FAILED = 2,
};

struct helper_job {
	int fd;
	int op;
	pid_t parent;
	_Atomic int state; /* enum helper_state, and the futex word */
};

static long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The helper runs on our memory with the waiting thread's TLS: it makes
 * system calls through syscall() only (no libc state, no interceptor of a
 * sanitizer), and reads no errno (the waiting thread's, which it shares).
 * Not instrumented: a sanitizer would see a stack it does not know, on a
 * thread it does not know.
 */
__attribute__((no_sanitize("address", "undefined", "thread"))) static int
helper_main(void *arg)
{
	struct helper_job *job = arg;
	int state = HELPER_FAILED;

	/* Killed when the thread waiting for us ends (with its process),
	 * and never waiting at all if it already has. */
	if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0 &&
	    syscall(SYS_getppid) == job->parent)
		state = syscall(SYS_flock, job->fd, job->op) == 0
			    ? HELPER_LOCKED
			    : HELPER_FAILED;
	atomic_store(&job->state, state);
	syscall(SYS_futex, &job->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return 0;
}

/* Wait until the helper says how its flock went, or DEADLINE passes
 * (HELPER_WAITING then). No signal ends the wait. */
static int wait_for_helper(struct helper_job *job, long long deadline)
{
	for (;;) {
		int state = atomic_load(&job->state);
		long long left = deadline - monotonic_ns();
		struct timespec ts;

		if (state != HELPER_WAITING || left <= 0)
			return state;
		ts.tv_sec = (time_t)(left / 1000000000LL);
		ts.tv_nsec = (long)(left % 1000000000LL);
		/* EINTR, EAGAIN (the state changed meanwhile), ETIMEDOUT:
		 * look again */
		syscall(SYS_futex, &job->state, FUTEX_WAIT_PRIVATE,
			HELPER_WAITING, &ts, NULL, 0);
	}
}

static void reap_helper(int pidfd)
{
	siginfo_t info;

	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL) <
		   0 &&
	       errno == EINTR)
		;
}

/* Whether a helper can be killed at the deadline: pidfd_send_signal is
 * there (valgrind, for one, lacks it, and runs a CLONE_VM child as a
 * thread of ours). Asked once: EBADF for the descriptor -1 says yes. */
static bool helper_can_be_killed(void)
{
	static _Atomic int known; /* 0 not asked, 1 yes, -1 no */
	int k = atomic_load(&known);

	if (k == 0) {
		int saved = errno;

		k = syscall(SYS_pidfd_send_signal, -1, 0, NULL, 0) < 0 &&
			    errno == EBADF
			? 1
			: -1;
		errno = saved;
		atomic_store(&known, k);
	}
	return k > 0;
}

int lockfd_timed_flock(int fd, int op, int timeout_ms)
{
	long long deadline = monotonic_ns() + timeout_ms * 1000000LL;
	struct helper_job job = { fd, op, getpid(), HELPER_WAITING };
	_Alignas(16) char stack[HELPER_STACK_SIZE];
	int pidfd = -1, state, err, saved = errno;
	uint64_t all = UINT64_MAX, old;
	pid_t pid;

	if (!helper_can_be_killed())
		return -ENOSYS;
	/* The helper starts with every signal blocked: the program's
	 * handlers are copied into it, and must never run there. Blocked in
	 * the kernel directly: libc's sigprocmask leaves its own two
	 * real-time signals open. */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old,
		KERNEL_SIGSET_SIZE);
	pid = clone(helper_main, stack + sizeof(stack),
		    CLONE_VM | CLONE_FILES | CLONE_FS | CLONE_PIDFD, &job,
		    &pidfd);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL,
		KERNEL_SIGSET_SIZE);
	if (pid < 0) {
		/* seccomp, RLIMIT_NPROC, an older kernel, valgrind */
		errno = saved;
		return -ENOSYS;
	}
	state = wait_for_helper(&job, deadline);
	if (state == HELPER_WAITING)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	/* It is gone before its stack, ours, is used again. */
	reap_helper(pidfd);
	lockfd_sys_close(pidfd);
	state = atomic_load(&job.state);
	if (state == HELPER_LOCKED)
		err = 0;
	else if (state == HELPER_FAILED)
		err = -ENOSYS; /* the caller polls */
	/* Killed at the deadline: its flock may have been granted just
	 * before. Asking again on our descriptor tells. */
	else if (flock(fd, op | LOCK_NB) == 0)
		err = 0;
	else
		err = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	errno = saved;
	return err;
}

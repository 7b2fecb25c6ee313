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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
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

/* The helper's stack: glibc's clone trampoline and three system calls. */
#define HELPER_STACK_SIZE (64 * 1024)

struct helper_job {
	int fd;
	int op;
	pid_t parent;
};

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The helper runs on our memory with the waiting thread's TLS: it calls
 * nothing but three system calls, and reads no errno (the waiting
 * thread's, which it shares). Any failure is its exit status 1, and the
 * caller polls instead. Not instrumented: a sanitizer would see a stack
 * it does not know, on a thread it does not know.
 */
__attribute__((no_sanitize("address", "undefined", "thread"))) static int
helper_main(void *arg)
{
	const struct helper_job *job = arg;

	/* Killed when the thread waiting for us ends (with its process),
	 * and never started at all if it already has. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != job->parent)
		return 1;
	return flock(job->fd, job->op) == 0 ? 0 : 1;
}

/* Whether the helper ended by itself before DEADLINE: poll its pidfd,
 * which becomes readable when it exits. No signal ends the wait. */
static bool helper_ended_in_time(int pidfd, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		long long left = deadline - monotonic_ms();
		int n;

		if (left <= 0)
			left = 0;
		n = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (n > 0)
			return true;
		if (n == 0 && left == 0)
			return false;
		/* EINTR, or poll's own rounding woke us early: wait on */
	}
}

/* Reap the helper; its exit status (0 it got the lock), or -1 when it was
 * killed or cannot be told. */
static int reap_helper(int pidfd)
{
	siginfo_t info = { 0 };

	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL) <
	       0)
		if (errno != EINTR)
			return -1;
	return info.si_code == CLD_EXITED ? info.si_status : -1;
}

int lockfd_timed_flock(int fd, int op, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	struct helper_job job = { fd, op, getpid() };
	int pidfd = -1, status, saved = errno;
	sigset_t all, old;
	bool ended;
	void *stack;
	pid_t pid;

	stack = mmap(NULL, HELPER_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -ENOSYS;
	/* The helper starts with every signal blocked: the program's
	 * handlers are copied into it, and must never run there. Blocked in
	 * the kernel directly: libc's sigprocmask leaves its own two
	 * real-time signals open. */
	memset(&all, 0xff, sizeof(all));
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old,
		KERNEL_SIGSET_SIZE);
	pid = clone(helper_main, (char *)stack + HELPER_STACK_SIZE,
		    CLONE_VM | CLONE_FILES | CLONE_FS | CLONE_PIDFD, &job,
		    &pidfd);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL,
		KERNEL_SIGSET_SIZE);
	if (pid < 0) {
		/* seccomp, RLIMIT_NPROC, an older kernel, valgrind */
		munmap(stack, HELPER_STACK_SIZE);
		errno = saved;
		return -ENOSYS;
	}
	ended = helper_ended_in_time(pidfd, deadline);
	if (!ended)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	status = reap_helper(pidfd);
	lockfd_sys_close(pidfd);
	munmap(stack, HELPER_STACK_SIZE);
	errno = saved;
	if (ended && status == 0)
		return 0;
	if (ended)
		return -ENOSYS; /* the helper failed: the caller polls */
	/* Killed at the deadline: its flock may have been granted just
	 * before. Asking again on our descriptor tells. */
	if (flock(fd, op | LOCK_NB) == 0)
		status = 0;
	else
		status = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	errno = saved;
	return status;
}

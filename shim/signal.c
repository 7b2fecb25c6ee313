/* SPDX-License-Identifier: MIT */
/*
 * Signals. For every signal whose default action ends the process, the
 * shim keeps the program's own view of the disposition and gives the
 * kernel what makes cleanup possible without changing behaviour:
 *
 *   program has       kernel gets
 *   SIG_DFL           on_fatal_signal: clean up, restore SIG_DFL, re-raise
 *   SIG_IGN           SIG_IGN (so it survives exec, as it should)
 *   a handler         the handler itself, with the program's flags and mask
 *   ... SA_RESETHAND  on_oneshot_signal: emulates the reset so that the
 *                     next delivery still reaches on_fatal_signal
 *
 * Every installer is wrapped and every query answers with the program's
 * view. Signals whose default does not end the process are passed through.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "seqlock.h"
#include "shim.h"
#include "sigdefault.h"

static struct {
	bool managed[NSIG];
	/* Writers hold .lock with all signals blocked in their thread and
	 * make .seq odd while they change .program; on_oneshot_signal reads
	 * it as a seqlock (no lock in a signal handler). */
	pthread_mutex_t lock;
	atomic_uint seq;
	struct sigaction program[NSIG];
	/* SA_RESETHAND fired: the program's view is SIG_DFL now. */
	atomic_bool reset[NSIG];
	sigset_t interrupting; /* siginterrupt(sig, 1) */
	bool ready;
} sigs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_fatal_signal(int signo, siginfo_t *info, void *ucontext);
static void on_oneshot_signal(int signo, siginfo_t *info, void *ucontext);

static void fatal_action(struct sigaction *kernel)
{
	memset(kernel, 0, sizeof(*kernel));
	kernel->sa_sigaction = on_fatal_signal;
	kernel->sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	/* Cleanup runs once: nothing else interrupts it. */
	sigfillset(&kernel->sa_mask);
}

/* SIG_DFL and SIG_IGN are handler values whatever sa_flags says: the
 * kernel reads a null (or 1) handler as the default (or the ignore) with
 * SA_SIGINFO set too, and the two fields share their storage. */
static bool is_default(const struct sigaction *act)
{
	return act->sa_handler == SIG_DFL;
}

static bool is_ignore(const struct sigaction *act)
{
	return act->sa_handler == SIG_IGN;
}

/* What the kernel must hold for the program's disposition PROGRAM. */
static void kernel_action(const struct sigaction *program,
			  struct sigaction *kernel)
{
	if (is_default(program)) {
		fatal_action(kernel);
		return;
	}
	*kernel = *program;
	if ((program->sa_flags & SA_RESETHAND) && !is_ignore(program)) {
		kernel->sa_sigaction = on_oneshot_signal;
		kernel->sa_flags = (program->sa_flags & ~SA_RESETHAND) |
				   SA_SIGINFO;
	}
}

static void on_fatal_signal(int signo, siginfo_t *info, void *ucontext)
{
	struct sigaction again;
	int saved = errno;

	(void)info;
	(void)ucontext;
	shim_cleanup_for_exit();
	sigdefault_reraise(signo, libc(sigaction));
	/* Still alive (the signal was a stop, or is blocked elsewhere):
	 * keep watching. */
	fatal_action(&again);
	libc(sigaction)(signo, &again, NULL);
	errno = saved;
}

static void read_program(int signo, struct sigaction *out)
{
	unsigned begin;

	do {
		begin = seqlock_read_begin(&sigs.seq);
		memcpy(out, &sigs.program[signo], sizeof(*out));
	} while (seqlock_read_retry(&sigs.seq, begin));
}

static void on_oneshot_signal(int signo, siginfo_t *info, void *ucontext)
{
	struct sigaction program, fatal;
	int saved = errno;

	read_program(signo, &program);
	/* The kernel would have reset to SIG_DFL before the handler: we put
	 * our fatal handler there instead, and the program sees SIG_DFL. */
	atomic_store(&sigs.reset[signo], true);
	fatal_action(&fatal);
	libc(sigaction)(signo, &fatal, NULL);
	/* the program's handler sees errno as the interrupted code left it */
	errno = saved;
	if (is_default(&program) || is_ignore(&program))
		return;
	if (program.sa_flags & SA_SIGINFO)
		program.sa_sigaction(signo, info, ucontext);
	else
		program.sa_handler(signo);
}

static bool valid_signal(int signo)
{
	return signo > 0 && signo < NSIG;
}

static bool is_managed(int signo)
{
	return sigs.ready && valid_signal(signo) && sigs.managed[signo];
}

void signals_init(void)
{
	for (int signo = 1; signo < NSIG; signo++) {
		struct sigaction current, kernel;

		/* glibc keeps the two signals below SIGRTMIN for itself */
		if (signo == SIGKILL || signo == SIGSTOP ||
		    (signo > 31 && signo < SIGRTMIN) ||
		    !sigdefault_terminates(signo))
			continue;
		if (libc(sigaction)(signo, NULL, &current) < 0)
			continue;
		/* The kernel's mask has 64 signals; glibc before 2.32 copies
		 * the rest of its 1024-bit sigset_t from uninitialized stack.
		 * The program must read back a clean mask from us. */
		memset((char *)&current.sa_mask + _NSIG / 8, 0,
		       sizeof(current.sa_mask) - _NSIG / 8);
		sigs.program[signo] = current;
		sigs.managed[signo] = true;
		/* An ignore inherited at start (nohup) stays an ignore. */
		kernel_action(&current, &kernel);
		if (kernel.sa_sigaction != current.sa_sigaction)
			libc(sigaction)(signo, &kernel, NULL);
	}
	sigs.ready = true;
}

static int virtual_sigaction(int signo, const struct sigaction *act,
			     struct sigaction *oldact)
{
	struct sigaction kernel, previous;
	sigset_t all, mask;
	int ret = 0;

	if (!shim_ready() || !is_managed(signo))
		return libc(sigaction)(signo, act, oldact);

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &mask);
	pthread_mutex_lock(&sigs.lock);
	previous = sigs.program[signo];
	if (atomic_load(&sigs.reset[signo])) {
		previous.sa_handler = SIG_DFL;
		previous.sa_flags &= ~(SA_SIGINFO | SA_RESETHAND);
	}
	if (act) {
		kernel_action(act, &kernel);
		ret = libc(sigaction)(signo, &kernel, NULL);
		if (ret == 0) {
			seqlock_write_begin(&sigs.seq);
			sigs.program[signo] = *act;
			atomic_store(&sigs.reset[signo], false);
			seqlock_write_end(&sigs.seq);
		}
	}
	pthread_mutex_unlock(&sigs.lock);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (ret == 0 && oldact)
		*oldact = previous;
	return ret;
}

/* ---- the installers --------------------------------------------------- */

static sighandler_t install_handler(int signo, sighandler_t handler,
				    int flags, bool mask_self)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || !valid_signal(signo)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, signo);
	act.sa_flags = flags;
	if (virtual_sigaction(signo, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* BSD semantics, glibc's signal(): the handler stays, the signal is
 * blocked while it runs, calls restart unless siginterrupt() said not. */
static sighandler_t shim_bsd_signal(int signo, sighandler_t handler)
{
	bool interrupt = valid_signal(signo) &&
			 sigismember(&sigs.interrupting, signo) == 1;

	return install_handler(signo, handler, interrupt ? 0 : SA_RESTART,
			       true);
}

/* System V semantics: one shot, not blocked while it runs. */
static sighandler_t shim_sysv_signal(int signo, sighandler_t handler)
{
	return install_handler(signo, handler, SA_RESETHAND | SA_NODEFER,
			       false);
}

static sighandler_t shim_sigset(int signo, sighandler_t disp)
{
	struct sigaction act, old;
	sigset_t set, was;

	if (!valid_signal(signo)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, signo);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &was) < 0)
			return SIG_ERR;
		if (sigismember(&was, signo))
			return SIG_HOLD;
		if (virtual_sigaction(signo, NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (virtual_sigaction(signo, &act, &old) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &set, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, signo) ? SIG_HOLD : old.sa_handler;
}

static int shim_sigignore(int signo)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = SIG_IGN;
	sigemptyset(&act.sa_mask);
	return virtual_sigaction(signo, &act, NULL);
}

static int shim_siginterrupt(int signo, int interrupt)
{
	struct sigaction act;

	if (!valid_signal(signo)) {
		errno = EINVAL;
		return -1;
	}
	if (virtual_sigaction(signo, NULL, &act) < 0)
		return -1;
	if (interrupt) {
		sigaddset(&sigs.interrupting, signo);
		act.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&sigs.interrupting, signo);
		act.sa_flags |= SA_RESTART;
	}
	return virtual_sigaction(signo, &act, NULL);
}

/* ---- exported libc names ------------------------------------------------ */

SHIM_EXPORT int sigaction(int signo, const struct sigaction *act,
			  struct sigaction *oldact)
{
	return virtual_sigaction(signo, act, oldact);
}

SHIM_EXPORT int __sigaction(int signo, const struct sigaction *act,
			    struct sigaction *oldact)
{
	return virtual_sigaction(signo, act, oldact);
}

SHIM_EXPORT sighandler_t signal(int signo, sighandler_t handler)
{
	return shim_bsd_signal(signo, handler);
}

SHIM_EXPORT sighandler_t bsd_signal(int signo, sighandler_t handler)
{
	return shim_bsd_signal(signo, handler);
}

SHIM_EXPORT sighandler_t sysv_signal(int signo, sighandler_t handler)
{
	return shim_sysv_signal(signo, handler);
}

SHIM_EXPORT sighandler_t __sysv_signal(int signo, sighandler_t handler)
{
	return shim_sysv_signal(signo, handler);
}

SHIM_EXPORT sighandler_t sigset(int signo, sighandler_t disp)
{
	return shim_sigset(signo, disp);
}

SHIM_EXPORT int sigignore(int signo)
{
	return shim_sigignore(signo);
}

SHIM_EXPORT int siginterrupt(int signo, int interrupt)
{
	return shim_siginterrupt(signo, interrupt);
}

/* The mask of the forking thread, kept while the table's lock is held
 * across fork: written only by the lock's holder. */
static sigset_t fork_mask;

/* A handler that calls signal() (SysV style, common in servers that fork
 * per connection) takes the table's lock: a signal delivered while fork
 * holds that lock would wait for itself forever. So signals stay blocked
 * from before the lock is taken until fork is done. */
void signals_before_fork(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&sigs.lock);
	fork_mask = old;
}

void signals_after_fork_in_parent(void)
{
	sigset_t old = fork_mask;

	pthread_mutex_unlock(&sigs.lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void signals_after_fork_in_child(void)
{
	pthread_mutex_init(&sigs.lock, NULL);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

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
 * Every installer (sigaction.c) goes through signals_sigaction, and every
 * query answers with the program's view. Signals whose default does not
 * end the process are passed through.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "seqlock.h"
#include "shim.h"
#include "sigdefault.h"

/* What start-up writes comes first, and .program last: it is 10 KiB, and
 * a disposition left at SIG_DFL is its zero bytes, never written, so a
 * process pays for the pages of the dispositions it changes only. */
static struct {
	bool ready;
	bool managed[NSIG];
	/* Writers hold .lock with all signals blocked in their thread and
	 * make .seq odd while they change .program; on_oneshot_signal reads
	 * it as a seqlock (no lock in a signal handler). */
	pthread_mutex_t lock;
	atomic_uint seq;
	/* SA_RESETHAND fired: the program's view is SIG_DFL now. */
	atomic_bool reset[NSIG];
	struct sigaction program[NSIG];
} sigs = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What the process removes when a signal ends it (lifecycle.c gives it):
 * async-signal-safe. */
static void (*cleanup_at_signal)(void);

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
		kernel->sa_flags =
		    (program->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
	}
}

/* Whether the kernel would have spared this process the signal at
 * SIG_DFL: the init of a PID namespace (PID 1 in it: a container's first
 * process) never gets a signal it leaves at its default, except those the
 * kernel forces on it, the faults of an instruction and seccomp's SIGSYS
 * (si_code > 0). Caught, such a signal must end nothing either, the PID
 * file least of all: the init runs on (libpidshim(7), "Signals"). */
static bool spared_as_init(int signo, const siginfo_t *info)
{
	if (getpid() != 1)
		return false;
	switch (signo) {
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGTRAP:
	case SIGSYS:
		return info->si_code <= 0;
	default:
		return true;
	}
}

static void on_fatal_signal(int signo, siginfo_t *info, void *ucontext)
{
	struct sigaction again;
	int saved = errno;

	(void)ucontext;
	if (spared_as_init(signo, info))
		return;
	cleanup_at_signal();
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

bool signals_valid(int signo)
{
	return signo > 0 && signo < NSIG;
}

static bool is_managed(int signo)
{
	return sigs.ready && signals_valid(signo) && sigs.managed[signo];
}

void signals_init(void (*cleanup)(void))
{
	static const struct sigaction left_default;
	struct sigaction fatal;

	cleanup_at_signal = cleanup;
	fatal_action(&fatal);
	for (int signo = 1; signo < NSIG; signo++) {
		struct sigaction current, kernel;

		/* glibc keeps the two signals below SIGRTMIN for itself */
		if (signo == SIGKILL || signo == SIGSTOP ||
		    (signo > 31 && signo < SIGRTMIN) ||
		    !sigdefault_terminates(signo))
			continue;
		/* One call installs the cleanup and reads what was there: at
		 * start that is SIG_DFL (exec resets handlers) but for an
		 * ignore inherited across exec (nohup) or what an earlier
		 * constructor installed, which are put back below. Every
		 * signal is blocked (the caller), so none reaches the
		 * cleanup meanwhile, and putting an ignore back discards
		 * what arrived for it. */
		/* zeros where sigaction writes nothing (padding), so that the
		 * comparison below sees only what it wrote */
		memset(&current, 0, sizeof(current));
		if (libc(sigaction)(signo, &fatal, &current) < 0)
			continue;
		/* The kernel's mask has 64 signals; glibc before 2.32 copies
		 * the rest of its 1024-bit sigset_t from uninitialized stack.
		 * The program must read back a clean mask from us. */
		memset((char *)&current.sa_mask + _NSIG / 8, 0,
		       sizeof(current.sa_mask) - _NSIG / 8);
		sigs.managed[signo] = true;
		/* .program already holds zeros: SIG_DFL, as exec left it */
		if (memcmp(&current, &left_default, sizeof(current)) == 0)
			continue;
		sigs.program[signo] = current;
		/* An ignore inherited at start (nohup) stays an ignore. */
		kernel_action(&current, &kernel);
		if (kernel.sa_sigaction != fatal.sa_sigaction)
			libc(sigaction)(signo, &kernel, NULL);
	}
	sigs.ready = true;
}

int signals_sigaction(int signo, const struct sigaction *act,
		      struct sigaction *oldact)
{
	struct sigaction kernel, previous;
	sigset_t all, mask;
	int ret = 0;

	if (!is_managed(signo))
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

/* SPDX-License-Identifier: MIT */
/*
 * The signal installers: sigaction and every older way libc offers to set
 * a disposition (signal, bsd_signal, sysv_signal, sigset, sigignore,
 * siginterrupt), each built on the program's view that signal.c keeps, so
 * that each returns the program's own previous disposition.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "guard.h"
#include "shim.h"

/* siginterrupt(sig, 1): signal() installs handlers for these without
 * SA_RESTART. */
static sigset_t interrupting;

/* Before our constructor (another library's constructor installing a
 * handler) the kernel's view is the program's: pass it through. */
static int program_sigaction(int signo, const struct sigaction *act,
			     struct sigaction *oldact)
{
	/* a handler of the program may open and close guarded paths */
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN)
		guard_note_program_handler();
	if (!shim_ready())
		return libc(sigaction)(signo, act, oldact);
	return signals_sigaction(signo, act, oldact);
}

static sighandler_t install_handler(int signo, sighandler_t handler, int flags,
				    bool mask_self)
{
	struct sigaction act, old;

	if (handler == SIG_ERR || !signals_valid(signo)) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, signo);
	act.sa_flags = flags;
	if (program_sigaction(signo, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* BSD semantics, glibc's signal(): the handler stays, the signal is
 * blocked while it runs, calls restart unless siginterrupt() said not. */
static sighandler_t shim_bsd_signal(int signo, sighandler_t handler)
{
	bool interrupt =
	    signals_valid(signo) && sigismember(&interrupting, signo) == 1;

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

	if (!signals_valid(signo)) {
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
		if (program_sigaction(signo, NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (program_sigaction(signo, &act, &old) < 0)
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
	return program_sigaction(signo, &act, NULL);
}

static int shim_siginterrupt(int signo, int interrupt)
{
	struct sigaction act;

	if (!signals_valid(signo)) {
		errno = EINVAL;
		return -1;
	}
	if (program_sigaction(signo, NULL, &act) < 0)
		return -1;
	if (interrupt) {
		sigaddset(&interrupting, signo);
		act.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&interrupting, signo);
		act.sa_flags |= SA_RESTART;
	}
	return program_sigaction(signo, &act, NULL);
}

SHIM_EXPORT int sigaction(int signo, const struct sigaction *act,
			  struct sigaction *oldact)
{
	return program_sigaction(signo, act, oldact);
}

SHIM_EXPORT int __sigaction(int signo, const struct sigaction *act,
			    struct sigaction *oldact)
{
	return program_sigaction(signo, act, oldact);
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

/* SPDX-License-Identifier: MIT */
#include "sigdefault.h"

#include <errno.h>
#include <string.h>

enum sigdefault_action sigdefault_action(int signo)
{
	switch (signo) {
	case SIGQUIT:
	case SIGILL:
	case SIGTRAP:
	case SIGABRT:
	case SIGBUS:
	case SIGFPE:
	case SIGSEGV:
	case SIGXCPU:
	case SIGXFSZ:
	case SIGSYS:
		return SIGDEFAULT_CORE;
	case SIGCHLD:
	case SIGURG:
	case SIGWINCH:
		return SIGDEFAULT_IGNORE;
	case SIGCONT:
		return SIGDEFAULT_CONTINUE;
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return SIGDEFAULT_STOP;
	default:
		/* HUP INT PIPE ALRM TERM USR1 USR2 VTALRM PROF IO PWR STKFLT
		 * and every real-time signal. */
		return SIGDEFAULT_TERMINATE;
	}
}

bool sigdefault_terminates(int signo)
{
	enum sigdefault_action action = sigdefault_action(signo);

	return action == SIGDEFAULT_TERMINATE || action == SIGDEFAULT_CORE;
}

void sigdefault_reraise(int signo, sigdefault_setter set_action)
{
	struct sigaction dfl;
	sigset_t unblock;
	int saved = errno;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	set_action(signo, &dfl, NULL);
	sigemptyset(&unblock);
	sigaddset(&unblock, signo);
	/* raise() goes to this thread, where the signal is blocked while its
	 * handler runs: unblock it first or it would stay pending. */
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
	raise(signo);
	/* cppcheck-suppress unreachableCode ; false positive: raise()
	 * returns after a stop (cppcheck's std.cfg has it "maybe noreturn") */
	errno = saved;
}

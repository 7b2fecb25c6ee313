/* SPDX-License-Identifier: MIT */
/* What the kernel does with a signal left at SIG_DFL, and how to let it do
 * that after our cleanup ran. Shared by the dispatcher and the shim. */
#ifndef PIDLOCK_SIGDEFAULT_H
#define PIDLOCK_SIGDEFAULT_H

#include <signal.h>
#include <stdbool.h>

#include "lockfd.h"

enum sigdefault_action {
	SIGDEFAULT_TERMINATE,
	SIGDEFAULT_CORE,
	SIGDEFAULT_IGNORE,
	SIGDEFAULT_STOP,
	SIGDEFAULT_CONTINUE,
};

typedef int (*sigdefault_setter)(int signo, const struct sigaction *act,
				 struct sigaction *oldact);

PIDLOCK_HIDDEN enum sigdefault_action sigdefault_action(int signo);

/* True for signals whose default action ends the process. */
PIDLOCK_HIDDEN bool sigdefault_terminates(int signo);

/*
 * Put SIG_DFL back (through SET_ACTION, the caller's way to reach the
 * kernel), unblock SIGNO and raise it, so the process ends by that signal
 * with its wait status and core dump. Returns only when the default action
 * did not end the process (a stop); the caller then re-installs its handler.
 * Async-signal-safe.
 */
PIDLOCK_HIDDEN void sigdefault_reraise(int signo, sigdefault_setter set_action);

#endif

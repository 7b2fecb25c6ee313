/* SPDX-License-Identifier: MIT */
/*
 * The signal mask around the guard table's critical sections. Blocking
 * every signal costs two system calls per section, four per guarded open
 * and close, to keep a handler of the program from opening or closing a
 * guarded path in a thread that holds the table. Until the program
 * installs a handler of its own, none can run: the shim's own handler (a
 * terminating signal's cleanup) takes no lock and reads the table as the
 * exit path always does. So the mask is left alone until the first
 * handler, and that installation first waits for the sections that began
 * with the mask alone to end (libpidshim(7), "Guards").
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "guard_int.h"

/* The program has installed a handler (never cleared). */
static atomic_bool program_handlers;
/* Critical sections running with the program's mask. */
static atomic_int unmasked_sections;

/* No real mask holds SIGKILL (the kernel never blocks it): an OLD holding
 * it says the section left the mask alone. */
static void mark_unmasked(sigset_t *old)
{
	sigemptyset(old);
	sigaddset(old, SIGKILL);
}

static bool is_unmasked(const sigset_t *old)
{
	return sigismember(old, SIGKILL) == 1;
}

static void block_all(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

void guard_block_signals(sigset_t *old)
{
	/* counted first, then the flag read (both sequentially consistent):
	 * either this section sees the first handler's flag, or that
	 * installation sees this section and waits for its end */
	if (!atomic_load(&program_handlers)) {
		atomic_fetch_add(&unmasked_sections, 1);
		if (!atomic_load(&program_handlers)) {
			mark_unmasked(old);
			return;
		}
		atomic_fetch_sub(&unmasked_sections, 1);
	}
	block_all(old);
}

void guard_restore_signals(const sigset_t *old)
{
	if (is_unmasked(old))
		atomic_fetch_sub(&unmasked_sections, 1);
	else
		pthread_sigmask(SIG_SETMASK, old, NULL);
}

void guard_block_signals_for_wait(sigset_t *old)
{
	/* The wait may be long, and a first handler's installation must not
	 * wait for it: block for real, and leave the count. */
	if (is_unmasked(old)) {
		block_all(old);
		atomic_fetch_sub(&unmasked_sections, 1);
	}
}

void guard_signals_after_fork_in_child(const sigset_t *forking)
{
	/* the parent's other threads were counted, and are not here */
	atomic_store(&unmasked_sections, is_unmasked(forking) ? 1 : 0);
	guard_restore_signals(forking);
}

void guard_note_program_handler(void)
{
	if (atomic_load(&program_handlers))
		return;
	atomic_store(&program_handlers, true);
	/* No handler of the program may run in a section that left the
	 * mask alone: they are short (no waits), let them end. */
	while (atomic_load(&unmasked_sections) > 0)
		sched_yield();
}

/* SPDX-License-Identifier: MIT */
/*
 * The signal dispatcher (pylockfile's SignalDispatcher, made to chain any
 * number of handlers): one kernel handler per signal walks a stack of
 * registrations, newest first, down to the disposition the signal had
 * before the dispatcher took it.
 */
#include "pidlock.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "lockfd.h"
#include "seqlock.h"
#include "sigdefault.h"

struct sig_entry {
	pidlock_sig_fn fn;
	void *data;
	int id;
	bool replaces; /* set: nothing below it runs */
};

/*
 * Writers hold config_lock with every signal blocked in their thread and
 * bump seq around changes (odd while changing). The handler copies the
 * chain under the seqlock, so it never takes a lock or sees a half-made
 * entry, and a handler on the writer's own thread cannot interrupt it.
 */
struct sig_chain {
	atomic_uint seq;
	int count;
	struct sig_entry entries[PIDLOCK_SIG_MAX_HANDLERS];
	struct sigaction previous;
	atomic_bool previous_reset; /* SA_RESETHAND of the previous fired */
	/* Handlers running our entries right now, on any thread: a writer
	 * waits for them, so that after pidlock_sig_restore() returns no
	 * handler still uses the data it was registered with. */
	atomic_int in_flight;
};

static struct sig_chain chains[NSIG];
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static int last_id;

struct sig_snapshot {
	int count;
	struct sig_entry entries[PIDLOCK_SIG_MAX_HANDLERS];
	struct sigaction previous;
};

static void snapshot(int signo, struct sig_snapshot *snap)
{
	struct sig_chain *chain = &chains[signo];
	unsigned begin;

	do {
		begin = seqlock_read_begin(&chain->seq);
		snap->count = chain->count;
		memcpy(snap->entries, chain->entries, sizeof(snap->entries));
		memcpy(&snap->previous, &chain->previous,
		       sizeof(snap->previous));
	} while (seqlock_read_retry(&chain->seq, begin));
	if (atomic_load(&chain->previous_reset))
		snap->previous.sa_handler = SIG_DFL;
}

static void dispatch(int signo, siginfo_t *info, void *ucontext);

/* Put the dispatcher in the kernel over PREVIOUS, the disposition it
 * chains to. */
static void install_dispatcher(int signo, const struct sigaction *previous)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = dispatch;
	sa.sa_flags = SA_SIGINFO;
	/* Over the default action, the alternate stack (when the program
	 * has one) lets the cleanup run after a stack overflow; a program
	 * handler runs on the stack it asked for. */
	if (previous->sa_handler == SIG_DFL ||
	    (previous->sa_flags & SA_ONSTACK))
		sa.sa_flags |= SA_ONSTACK;
	/* A program handler without SA_RESTART wants its blocking calls to
	 * fail with EINTR: chaining it must not take that away. Over SIG_DFL
	 * or SIG_IGN, our handlers stay invisible: restart. */
	if (previous->sa_handler == SIG_DFL ||
	    previous->sa_handler == SIG_IGN ||
	    (previous->sa_flags & SA_RESTART))
		sa.sa_flags |= SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(signo, &sa, NULL);
}

/* Whether the kernel still runs the dispatcher for SIGNO. */
static bool dispatcher_installed(int signo)
{
	struct sigaction now;

	return sigaction(signo, NULL, &now) == 0 &&
	       (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == dispatch;
}

static void run_previous(int signo, siginfo_t *info, void *ucontext,
			 const struct sigaction *previous)
{
	sigset_t mask, old;

	if (previous->sa_handler == SIG_IGN)
		return;
	if (previous->sa_handler == SIG_DFL) {
		enum sigdefault_action action = sigdefault_action(signo);

		if (action == SIGDEFAULT_IGNORE ||
		    action == SIGDEFAULT_CONTINUE)
			return;
		sigdefault_reraise(signo, sigaction);
		/* Still here: it was a stop and we were continued. */
		install_dispatcher(signo, previous);
		return;
	}
	if (previous->sa_flags & SA_RESETHAND)
		atomic_store(&chains[signo].previous_reset, true);
	/* Give the previous handler the mask it asked for. */
	mask = previous->sa_mask;
	if (!(previous->sa_flags & SA_NODEFER))
		sigaddset(&mask, signo);
	pthread_sigmask(SIG_BLOCK, &mask, &old);
	if (previous->sa_flags & SA_SIGINFO)
		previous->sa_sigaction(signo, info, ucontext);
	else
		previous->sa_handler(signo);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void dispatch(int signo, siginfo_t *info, void *ucontext)
{
	struct sig_snapshot snap;
	int saved = errno;

	bool stop = false;

	atomic_fetch_add(&chains[signo].in_flight, 1);
	snapshot(signo, &snap);
	for (int i = snap.count - 1; i >= 0 && !stop; i--) {
		snap.entries[i].fn(signo, info, ucontext, snap.entries[i].data);
		stop = snap.entries[i].replaces;
	}
	atomic_fetch_sub(&chains[signo].in_flight, 1);
	if (!stop)
		run_previous(signo, info, ucontext, &snap.previous);
	errno = saved;
}

PIDLOCK_EXPORT bool pidlock_sig_will_terminate(int signo)
{
	struct sig_snapshot snap;
	struct sigaction current;

	if (signo <= 0 || signo >= NSIG)
		return false;
	snapshot(signo, &snap);
	if (snap.count == 0) {
		if (sigaction(signo, NULL, &current) < 0)
			return false;
		snap.previous = current;
	}
	for (int i = 0; i < snap.count; i++)
		if (snap.entries[i].replaces)
			return false;
	return snap.previous.sa_handler == SIG_DFL &&
	       sigdefault_terminates(signo);
}

static bool valid_signal(int signo)
{
	return signo > 0 && signo < NSIG && signo != SIGKILL &&
	       signo != SIGSTOP;
}

/* config_lock is held only briefly, never while waiting: holding it across
 * fork costs nothing, and a child forked while another thread changes a
 * chain does not start with it locked forever. A handler that changes its
 * own disposition takes that lock: signals stay blocked from before the
 * lock until fork is done, or it would wait for itself. fork_mask is the
 * forking thread's mask meanwhile. */
static sigset_t fork_mask;

static void lock_for_fork(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&config_lock);
	fork_mask = old;
}

static void unlock_after_fork(void)
{
	sigset_t old = fork_mask;

	pthread_mutex_unlock(&config_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void reset_after_fork(void)
{
	pthread_mutex_init(&config_lock, NULL);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

static void register_fork_handlers(void)
{
	pthread_atfork(lock_for_fork, unlock_after_fork, reset_after_fork);
}

/* Run CHANGE on SIGNO's chain as a writer (see struct sig_chain). */
static int change_chain(int signo,
			int (*change)(int signo, struct sig_chain *chain,
				      void *arg),
			void *arg)
{
	static pthread_once_t fork_handlers = PTHREAD_ONCE_INIT;
	struct sig_chain *chain = &chains[signo];
	sigset_t all, old;
	int ret;

	if (!valid_signal(signo))
		return -EINVAL;
	pthread_once(&fork_handlers, register_fork_handlers);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_mutex_lock(&config_lock);
	seqlock_write_begin(&chain->seq);
	ret = change(signo, chain, arg);
	seqlock_write_end(&chain->seq);
	/* Signals are blocked here, so none of them is ours. */
	while (atomic_load(&chain->in_flight) > 0)
		sched_yield();
	pthread_mutex_unlock(&config_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

struct push_args {
	pidlock_sig_fn fn;
	void *data;
	bool replaces;
};

static int push_entry(int signo, struct sig_chain *chain, void *arg)
{
	const struct push_args *args = arg;
	struct sig_entry *entry;

	if (chain->count == PIDLOCK_SIG_MAX_HANDLERS)
		return -ENOSPC;
	if (chain->count == 0) {
		if (sigaction(signo, NULL, &chain->previous) < 0)
			return -errno;
		atomic_store(&chain->previous_reset, false);
	}
	entry = &chain->entries[chain->count];
	entry->fn = args->fn;
	entry->data = args->data;
	entry->replaces = args->replaces;
	if (++last_id <= 0)
		last_id = 1;
	entry->id = last_id;
	chain->count++;
	if (chain->count == 1)
		install_dispatcher(signo, &chain->previous);
	return entry->id;
}

static int push(int signo, pidlock_sig_fn fn, void *data, bool replaces)
{
	struct push_args args = { fn, data, replaces };

	if (!fn)
		return -EINVAL;
	return change_chain(signo, push_entry, &args);
}

PIDLOCK_EXPORT int pidlock_sig_set(int signo, pidlock_sig_fn fn, void *data)
{
	return push(signo, fn, data, true);
}

PIDLOCK_EXPORT int pidlock_sig_add(int signo, pidlock_sig_fn fn, void *data)
{
	return push(signo, fn, data, false);
}

static int remove_entry(int signo, struct sig_chain *chain, void *arg)
{
	int id = *(int *)arg;
	int i;

	for (i = 0; i < chain->count; i++)
		if (chain->entries[i].id == id)
			break;
	if (i == chain->count)
		return -ENOENT;
	memmove(&chain->entries[i], &chain->entries[i + 1],
		(size_t)(chain->count - i - 1) * sizeof(chain->entries[0]));
	chain->count--;
	if (chain->count == 0) {
		struct sigaction previous = chain->previous;

		if (atomic_load(&chain->previous_reset))
			previous.sa_handler = SIG_DFL;
		/* A handler the program installed over the dispatcher since is
		 * its own: putting the older disposition back would undo it. */
		if (dispatcher_installed(signo))
			sigaction(signo, &previous, NULL);
	}
	return 0;
}

PIDLOCK_EXPORT int pidlock_sig_restore(int signo, int id)
{
	return change_chain(signo, remove_entry, &id);
}

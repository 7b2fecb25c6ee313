/* SPDX-License-Identifier: MIT */
#include "sigcleanup.h"

#include "pidlock.h"

static const struct {
	unsigned flag;
	int signo;
} cleanup_signals[2] = {
	{ PIDLOCK_REMOVE_ON_SIGINT, SIGINT },
	{ PIDLOCK_REMOVE_ON_SIGTERM, SIGTERM },
};

void sigcleanup_init(struct sigcleanup *cleanup, unsigned flags)
{
	cleanup->flags = flags;
	cleanup->ids[0] = cleanup->ids[1] = 0;
	cleanup->lk = NULL;
	cleanup->path = NULL;
}

static void remove_on_signal(int signo, siginfo_t *info, void *ucontext,
			     void *data)
{
	const struct sigcleanup *cleanup = data;

	(void)info;
	(void)ucontext;
	/* A program handler that keeps the process alive must not leave it
	 * running with its lock file deleted. */
	if (pidlock_sig_will_terminate(signo))
		lockfd_unlink_if_ours(cleanup->lk, cleanup->path);
}

int sigcleanup_arm(struct sigcleanup *cleanup, const struct lockfd *lk,
		   const char *path)
{
	cleanup->lk = lk;
	cleanup->path = path;
	for (int i = 0; i < 2; i++) {
		int id;

		if (!(cleanup->flags & cleanup_signals[i].flag))
			continue;
		id = pidlock_sig_add(cleanup_signals[i].signo, remove_on_signal,
				     cleanup);
		if (id < 0) {
			sigcleanup_disarm(cleanup);
			return id;
		}
		cleanup->ids[i] = id;
	}
	return 0;
}

void sigcleanup_disarm(struct sigcleanup *cleanup)
{
	for (int i = 0; i < 2; i++) {
		if (cleanup->ids[i] > 0)
			pidlock_sig_restore(cleanup_signals[i].signo,
					    cleanup->ids[i]);
		cleanup->ids[i] = 0;
	}
}

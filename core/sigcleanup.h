/* SPDX-License-Identifier: MIT */
/* Removal of a held lock or PID file when SIGINT/SIGTERM is about to end
 * the process (pylockfile's delete_lock_on_sigint/sigterm), through the
 * dispatcher. */
#ifndef PIDLOCK_SIGCLEANUP_H
#define PIDLOCK_SIGCLEANUP_H

#include "lockfd.h"

struct sigcleanup {
	unsigned flags; /* enum pidlock_flags */
	int ids[2];	/* dispatcher registrations: SIGINT, SIGTERM */
	const struct lockfd *lk;
	const char *path;
};

PIDLOCK_HIDDEN void sigcleanup_init(struct sigcleanup *cleanup, unsigned flags);
PIDLOCK_HIDDEN int sigcleanup_arm(struct sigcleanup *cleanup,
				  const struct lockfd *lk, const char *path);
PIDLOCK_HIDDEN void sigcleanup_disarm(struct sigcleanup *cleanup);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Fencing (pidshim(1), "Cluster locks"): the command's process group is
 * stopped before our lease can run out on the server. A watchdog process
 * of its own does it, told each renewal's new deadline through a pipe, so
 * that it happens even when the pidshim that renews is stopped or killed.
 */
#ifndef PIDSHIM_FENCE_H
#define PIDSHIM_FENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Between the KILL and the lease's earliest end: the kernel's time to
 * deliver it, and slack for the clocks' rates. */
#define FENCE_MARGIN_MS 500

struct fence {
	pid_t pid;  /* the watchdog */
	int pidfd;  /* its pidfd, readable when it ends */
	int notify; /* the pipe's end it reads deadlines from */
};

/* Start the watchdog for the command PGID (its leader's pidfd
 * LEADER_PIDFD), the lease ending at EXPIRES (etcd_now_ms) at the
 * earliest: it sends TERM (and CONT) to the group at EXPIRES - GRACE_MS -
 * FENCE_MARGIN_MS, KILL at EXPIRES - FENCE_MARGIN_MS, and the same at once
 * when we end while the command runs, then calls ORPHANED(ARG) (in the
 * watchdog: our descriptors are closed there, our memory a copy).
 * DESCRIPTION names the lock in its message. 0, or -1 (said). */
int fence_start(struct fence *f, const char *sub, const char *description,
		pid_t pgid, int leader_pidfd, int64_t expires, int grace_ms,
		void (*orphaned)(void *), void *arg);
/* The lease renewed: it ends at EXPIRES at the earliest. 0 (lost): fence
 * now. */
void fence_update(struct fence *f, int64_t expires);
/* The command ended: the watchdog ends too, and is reaped. */
void fence_end(struct fence *f);

/* Stop the job: the group PGID and every process below its leader
 * (LEADER_PIDFD) or below OWNER (pidshim, 0 when gone) but us, those
 * that left the group (setsid, a daemon) too. TERM and CONT, then KILL
 * when the leader has ended or GRACE_MS has passed. */
void fence_stop(pid_t pgid, int leader_pidfd, int grace_ms, pid_t owner);

int fence_pidfd_open(pid_t pid);

/* SIG (0: none) to every process below ROOT (/proc's children lists, its
 * threads'), SPARE and what is below it left alone: whether there was
 * any. */
bool fence_descendants(pid_t root, pid_t spare, int sig);

#endif

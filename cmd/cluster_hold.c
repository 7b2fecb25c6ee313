/* SPDX-License-Identifier: MIT */
/*
 * A command run while we hold a cluster lock (pidshim(1), "Cluster
 * locks"): our child, leading a process group of its own, with the
 * fencing token in its environment. We renew the lease every --renew,
 * tell each renewal to the fencing watchdog, pass on the signals that ask
 * the command to end, and when it ends (however it ends) stop what is
 * left of its group and let the lock go.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"
#include "fence.h"

/* A renewal that failed is tried again this soon (or at renew/4). */
#define RETRY_MS 500
/* What is left of the group when the command ended is given this long to
 * end with it (a shell's children told to end along with it). */
#define LEFTOVER_MS 200

/* Our children that have ended, but SPARE, reaped. */
static void reap_ended(pid_t spare)
{
	char path[64];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		 (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid != spare)
			waitpid(pid, NULL, WNOHANG);
	fclose(f);
}

/* Whether anything of the job is left after up to MS (what was told to
 * end is given that long): its group, or a process below us but the
 * watchdog (SPARE), one that left the group (setsid, a daemon) and came
 * to us, a subreaper, orphaned. Zombies of ours are reaped on the way. */
static bool job_left(pid_t pgid, pid_t spare, int ms)
{
	int64_t until = etcd_now_ms() + ms;

	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		/* orphans that came to us and ended (the watchdog's end is
		 * fence_end's to reap) */
		while (waitpid(-pgid, NULL, WNOHANG) > 0)
			;
		reap_ended(spare);
		if (kill(-pgid, 0) < 0 &&
		    !fence_descendants(getpid(), spare, 0))
			return false;
		if (etcd_now_ms() >= until)
			return true;
		nanosleep(&ts, NULL);
	}
}

/* Whatever of the job outlived its leader: TERM, KILL after the grace. */
static void stop_leftovers(struct cluster *c, pid_t pgid, pid_t spare)
{
	if (!job_left(pgid, spare, LEFTOVER_MS))
		return;
	cmd_say(c->sub,
		"cluster lock %s: processes the command started outlived "
		"it: stopping them before the lock goes (TERM, then KILL after "
		"%.3g s)",
		c->name, c->grace_ms / 1000.0);
	kill(-pgid, SIGTERM);
	fence_descendants(getpid(), spare, SIGTERM);
	kill(-pgid, SIGCONT);
	fence_descendants(getpid(), spare, SIGCONT);
	if (job_left(pgid, spare, c->grace_ms)) {
		kill(-pgid, SIGKILL);
		fence_descendants(getpid(), spare, SIGKILL);
		job_left(pgid, spare, LEFTOVER_MS);
	}
}

/* In the watchdog, pidshim gone and the command stopped: the lease
 * revoked through a client of its own (the old one's connections were
 * ours, and are closed there), so the next host need not wait out the
 * TTL. */
static void revoke_orphaned(void *arg)
{
	struct cluster *c = arg;
	struct etcd mine;
	struct etcd_call login;

	if (etcd_init(&mine, c->sub, c->etcd.urls, c->etcd.count,
		      &c->etcd.options, c->verbose) < 0)
		return;
	c->etcd = mine;
	if (etcd_login(&c->etcd, &login) == ETCD_OK)
		cluster_release(c);
}

int cluster_hold(struct cluster *c, const char *file, char **command)
{
	struct etcd_call renewal = { .result = ETCD_OK };
	struct etcd_call details = { .result = ETCD_OK };
	/* on from the last renewal, made while we waited perhaps */
	int64_t sent = 0, next_renewal = c->renewed + c->renew_ms;
	char token[32], description[300];
	bool renewing = false, fenced = false;
	struct fence f;
	int pidfd, status;
	pid_t pid;

	snprintf(token, sizeof(token), "%" PRId64, c->token);
	snprintf(description, sizeof(description), "cluster lock %.250s",
		 c->name);
	if (setenv("PIDSHIM_FENCING_TOKEN", token, 1) < 0) {
		cluster_release(c);
		return CMD_EXIT_NOEXEC;
	}
	/* a lease that could not have been renewed lately (a wait whose
	 * renewals failed) is renewed before anything starts, so that the
	 * watchdog has the grace to fence in */
	if (c->expires - etcd_now_ms() <
	    (int64_t)c->renew_ms + c->grace_ms + FENCE_MARGIN_MS) {
		struct etcd_call now;
		int64_t at;

		cluster_renew_start(c, &now, &at);
		while (now.result == ETCD_PENDING)
			etcd_poll(&c->etcd, NULL, 0, -1);
		if (cluster_renewed(c, &now, at) <= 0) {
			cmd_say(c->sub,
				"%s: the lease cannot be renewed: not "
				"starting the command",
				description);
			cluster_release(c);
			return CMD_EXIT_UNAVAILABLE;
		}
	}
	/* what the command leaves behind comes to us, to be stopped and
	 * reaped before the lock goes */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	cluster_fds_cloexec(c);
	pid = child_start(c->sub, file, command, true);
	if (pid < 0) {
		cluster_release(c);
		return CMD_EXIT_NOEXEC;
	}
	pidfd = fence_pidfd_open(pid);
	if (pidfd < 0 ||
	    fence_start(&f, c->sub, description, pid, pidfd, c->expires,
			c->grace_ms, revoke_orphaned, c) < 0) {
		if (pidfd < 0)
			cmd_say(c->sub, "cannot watch the command: %s",
				strerror(errno));
		kill(-pid, SIGKILL);
		child_wait(pid);
		cluster_release(c);
		return CMD_EXIT_NOEXEC;
	}
	/* a waiter's details said when it queued: now when it got the lock */
	if (c->waited)
		cluster_details_start(c, &details);
	for (;;) {
		struct curl_waitfd fds[2] = {
			{ .fd = pidfd, .events = CURL_WAIT_POLLIN },
			{ .fd = f.pidfd, .events = CURL_WAIT_POLLIN },
		};
		int64_t now = etcd_now_ms();
		int timeout = -1;

		if (!renewing && now >= next_renewal) {
			cluster_renew_start(c, &renewal, &sent);
			renewing = true;
		} else if (!renewing && next_renewal != INT64_MAX) {
			timeout = (int)(next_renewal - now);
		}
		/* a watchdog gone, its pidfd stays readable: once is enough */
		etcd_poll(&c->etcd, fds, f.pidfd >= 0 && !fenced ? 2 : 1,
			  timeout);
		if (fds[0].revents)
			break; /* the command ended */
		if (fds[1].revents && !fenced) {
			/* the watchdog is gone (killed): we fence */
			cmd_say(c->sub,
				"%s: the fencing watchdog ended: stopping the "
				"command",
				description);
			fence_stop(pid, pidfd, c->grace_ms, getpid());
			fenced = true;
		}
		if (details.result != ETCD_PENDING)
			etcd_done(&details);
		if (!renewing || renewal.result == ETCD_PENDING)
			continue;
		renewing = false;
		switch (cluster_renewed(c, &renewal, sent)) {
		case 1:
			fence_update(&f, c->expires);
			next_renewal = sent + c->renew_ms;
			break;
		case 0:
			cmd_say(c->sub,
				"%s: etcd says our lease %" PRIx64
				" is gone: stopping the command",
				description, (uint64_t)c->lease);
			fence_update(&f, 0);
			next_renewal = INT64_MAX;
			break;
		default:
			next_renewal =
			    etcd_now_ms() + (c->renew_ms / 4 < RETRY_MS
						 ? c->renew_ms / 4
						 : RETRY_MS);
		}
	}
	if (renewing)
		etcd_cancel(&renewal);
	if (details.result == ETCD_PENDING)
		etcd_cancel(&details);
	status = child_wait(pid);
	stop_leftovers(c, pid, f.pid);
	fence_end(&f);
	close(pidfd);
	cluster_release(c);
	return status;
}

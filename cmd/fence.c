/* SPDX-License-Identifier: MIT */
/*
 * The fencing watchdog (pidshim(1), "Cluster locks"). A child of pidshim
 * in a process group of its own, so that a terminal's ^Z or ^C, and a
 * SIGSTOP or SIGKILL sent to pidshim, do not reach it. It knows the
 * earliest moment the lease may end on the server (a renewal's sending
 * time plus the TTL: the server counts from when it got it, later) and
 * stops the command before then, unless pidshim tells it of a newer
 * renewal first. It makes no network connection and holds none of ours.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "etcd.h"
#include "fence.h"

/* Linux 5.3 and 5.9; Debian 11's headers lack the second */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

int fence_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Whether the process behind PIDFD has ended, waiting up to TIMEOUT_MS */
static bool ended(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return n != 0;
}

/* Whether PID has ended, not yet reaped: nothing left to stop. */
static bool zombie(pid_t pid)
{
	char buf[512];
	const char *state = cmd_proc_stat(pid, buf, sizeof(buf));

	return !state || state[1] == 'Z' || state[1] == 'X';
}

bool fence_descendants(pid_t root, pid_t spare, int sig)
{
	char path[64];
	bool any = false;
	DIR *tasks;
	struct dirent *t;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)root);
	tasks = opendir(path);
	if (!tasks)
		return false;
	while ((t = readdir(tasks))) {
		char children[384];
		FILE *f;
		int pid;

		if (t->d_name[0] == '.')
			continue;
		snprintf(children, sizeof(children), "%s/%s/children", path,
			 t->d_name);
		f = fopen(children, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &pid) == 1) {
			if (pid == spare || zombie(pid))
				continue;
			any = true;
			if (sig)
				kill(pid, sig);
			fence_descendants(pid, spare, sig);
		}
		fclose(f);
	}
	closedir(tasks);
	return any;
}

/* SIG to the group PGID, to everything below its leader while it lives
 * (LEADER_PIDFD: a PID reaped elsewhere may be anyone's), and below OWNER
 * (pidshim, a subreaper: what left the group and was orphaned comes to
 * it; 0 when it is gone), ourselves spared. */
static void signal_job(pid_t pgid, int leader_pidfd, pid_t owner, int sig)
{
	kill(-pgid, sig);
	if (!ended(leader_pidfd, 0))
		fence_descendants(pgid, getpid(), sig);
	if (owner > 1)
		fence_descendants(owner, getpid(), sig);
}

void fence_stop(pid_t pgid, int leader_pidfd, int grace_ms, pid_t owner)
{
	/* CONT: a stopped program gets its TERM too */
	signal_job(pgid, leader_pidfd, owner, SIGTERM);
	signal_job(pgid, leader_pidfd, owner, SIGCONT);
	ended(leader_pidfd, grace_ms);
	/* the leader gone or not, nothing of the job runs on */
	signal_job(pgid, leader_pidfd, owner, SIGKILL);
}

struct watch {
	const char *sub, *description;
	pid_t pgid, owner;
	int pidfd, notify, grace_ms;
	void (*orphaned)(void *);
	void *arg;
};

/* The time left before the KILL must have been sent: the grace, cut
 * short where the lease's earliest end comes sooner (a watchdog that
 * woke late, a suspended machine). */
static int kill_within(int64_t expires, int grace_ms)
{
	int64_t left = expires - FENCE_MARGIN_MS - etcd_now_ms();

	if (left < 0)
		return 0;
	return left < grace_ms ? (int)left : grace_ms;
}

/* A timer at AT_MS (etcd_now_ms: CLOCK_BOOTTIME, which goes on while the
 * machine sleeps, as poll's timeout does not). */
static void timer_at(int timer, int64_t at_ms)
{
	struct itimerspec it = { 0 };

	if (at_ms < 1)
		at_ms = 1;
	it.it_value.tv_sec = at_ms / 1000;
	it.it_value.tv_nsec = at_ms % 1000 * 1000000;
	timerfd_settime(timer, TFD_TIMER_ABSTIME, &it, NULL);
}

static __attribute__((noreturn)) void watch(const struct watch *w,
					    int64_t expires)
{
	const char *sub = w->sub, *description = w->description;
	int pidfd = w->pidfd, notify = w->notify, grace_ms = w->grace_ms;
	pid_t pgid = w->pgid;
	static const int ignored[] = { SIGHUP,	SIGINT,	 SIGQUIT, SIGTERM,
				       SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE,
				       SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH };
	int64_t renewed = etcd_now_ms();
	int timer = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC);
	bool told_end = false;

	/* only ^Z or a SIGSTOP meant for pidshim and its command: not us */
	setpgid(0, 0);
	prctl(PR_SET_NAME, "pidshim-fence");
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	for (;;) {
		int64_t fence_at = expires - grace_ms - FENCE_MARGIN_MS;
		int64_t now = etcd_now_ms(), v;
		struct pollfd p[3] = { { .fd = pidfd, .events = POLLIN },
				       { .fd = notify, .events = POLLIN },
				       { .fd = timer, .events = POLLIN } };
		ssize_t n;

		if (now >= fence_at || told_end) {
			int within = kill_within(expires, grace_ms);

			if (ended(pidfd, 0))
				_exit(0);
			if (told_end)
				cmd_say(sub,
					"%s: pidshim ended while the command "
					"ran: stopping it (TERM, then KILL "
					"after %.3g s)",
					description, within / 1000.0);
			else
				cmd_say(sub,
					"%s: lease not renewed for %.1f s: "
					"stopping the command before it can "
					"run out (TERM, then KILL after "
					"%.3g s)",
					description, (now - renewed) / 1000.0,
					within / 1000.0);
			/* pidshim gone: its PID may be anyone's now */
			fence_stop(pgid, pidfd, within,
				   told_end ? 0 : w->owner);
			if (told_end && w->orphaned)
				w->orphaned(w->arg);
			_exit(0);
		}
		/* without a timer (none left), poll's own timeout */
		if (timer >= 0)
			timer_at(timer, fence_at);
		if (poll(p, timer >= 0 ? 3 : 2,
			 timer >= 0 ? -1 : (int)(fence_at - now)) < 0)
			continue;
		if (p[0].revents)
			_exit(0); /* the command ended */
		if (!p[1].revents)
			continue;
		n = read(notify, &v, sizeof(v));
		if (n == (ssize_t)sizeof(v)) {
			expires = v;
			renewed = etcd_now_ms();
		} else if (n == 0) {
			told_end = true; /* pidshim is gone */
		}
	}
}

int fence_start(struct fence *f, const char *sub, const char *description,
		pid_t pgid, int leader_pidfd, int64_t expires, int grace_ms,
		void (*orphaned)(void *), void *arg)
{
	int fds[2];
	pid_t owner;

	/* a socket pair, not a pipe: sent to with MSG_NOSIGNAL, a watchdog
	 * gone (killed) is an error, not a SIGPIPE that ends pidshim, and
	 * one stopped with a full buffer never blocks us; SEQPACKET: a
	 * deadline arrives whole or not at all */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
		cmd_say(sub, "cannot start the fencing watchdog: %s",
			strerror(errno));
		return -1;
	}
	owner = getpid();
	f->pid = fork();
	if (f->pid == 0) {
		close(fds[1]);
		/* none of our descriptors (etcd's connections) kept alive
		 * by it: only the pipe, the leader's pidfd and stdio */
		int notify = fcntl(fds[0], F_DUPFD, 5);
		int leader = fcntl(leader_pidfd, F_DUPFD, 5);

		if (notify < 0 || leader < 0 || dup2(notify, 3) < 0 ||
		    dup2(leader, 4) < 0)
			_exit(1);
		if (syscall(SYS_close_range, 5U, ~0U, 0U) < 0)
			for (int fd = 5; fd < 1024; fd++)
				close(fd);
		watch(&(struct watch){ sub, description, pgid, owner, 4, 3,
				       grace_ms, orphaned, arg },
		      expires);
	}
	close(fds[0]);
	if (f->pid > 0)
		setpgid(f->pid, f->pid); /* as it does: no race with ^Z */
	if (f->pid < 0) {
		cmd_say(sub, "cannot start the fencing watchdog: %s",
			strerror(errno));
		close(fds[1]);
		return -1;
	}
	f->notify = fds[1];
	f->pidfd = fence_pidfd_open(f->pid);
	return 0;
}

void fence_update(struct fence *f, int64_t expires)
{
	if (send(f->notify, &expires, sizeof(expires),
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the watchdog is gone, our loop sees it; or stopped with
		 * its buffer full, and a newer deadline comes later */
	}
}

void fence_end(struct fence *f)
{
	int status;

	close(f->notify);
	while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (f->pidfd >= 0)
		close(f->pidfd);
}

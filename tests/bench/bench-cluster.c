/* SPDX-License-Identifier: MIT */
/*
 * Row 7, cluster: pidshim lock --cluster against etcdctl lock, on the same
 * etcd member in the same run. The member runs on 127.0.0.1, one per
 * filesystem, its data directory on it (etcd syncs its log on every
 * write, so the filesystem is the server's cost); bench-etcd.sh starts it
 * with tests/etcd-common.sh and stops it when the row closes its input.
 *
 *   cycle: one command line takes the lock, runs /bin/true and lets go,
 *     as a cron job does it: `pidshim lock -n --cluster E/NAME /bin/true`
 *     against `etcdctl lock NAME /bin/true`, started and waited for by the
 *     harness, batches alternating, medians over rounds.
 *   hand-off: a holder runs a command that waits; a waiter (the same tool)
 *     waits for NAME with a command that stamps the time it starts. Once
 *     the waiter's key is on the server (it waits there), the holder's
 *     command stamps the time and ends; the figure is the waiter's
 *     command's stamp minus the holder's: the holder seeing its command
 *     end, releasing, the server waking the waiter, and the waiter
 *     starting its command. Both tools in turn, round after round; p50 and
 *     the maximum over the rounds.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* targets: pidshim, a C program, takes and passes a lock no slower than
 * etcdctl, a Go program starting its runtime and a gRPC connection;
 * the hand-off may cost pidshim one more write than etcdctl (the holder's
 * host, PID and since, written beside the lock before its command starts) */
#define CLUSTER_CYCLE_TARGET 1.0
#define CLUSTER_HANDOFF_TARGET 1.25

/*
 * How long a waiter whose key is on the server is left waiting before the
 * release. A waiter watches its predecessor's key from the revision it
 * read; etcd catches such a watch up with the present in a loop that runs
 * every 100 ms, and until then a release reaches the waiter only at that
 * loop's next turn (up to 100 ms late, whichever tool waits): a waiter is
 * measured once it waits as a cron job's waiter does, for longer.
 */
#define BLOCKED_MS 200
/* how long a step may take on a loaded machine before the round fails */
#define STEP_TIMEOUT_MS 15000

enum { PIDSHIM, ETCDCTL, NPEERS };

#define MAX_ROUNDS 128

struct cluster_ctx {
	const struct bench *b;
	const char *endpoints; /* http://127.0.0.1:PORT */
	const char *dir;
	int port;
	char **env;
	double ns[NPEERS][MAX_ROUNDS]; /* hand-off latency of each round */
};

/* The peers' environment: the harness's, no LD_PRELOAD or PIDSHIM_*, and
 * etcdctl speaking v3 (its default from 3.4 on; said for older clients);
 * a copy, as bench_env's storage serves its next call. */
static char **peer_env(void)
{
	static const char *const add[] = { "ETCDCTL_API=3", NULL };
	static char *env[512];
	char **e = bench_env(add);
	int n = 0;

	while (e[n] && n < 511) {
		env[n] = e[n];
		n++;
	}
	env[n] = NULL;
	return env;
}

/* The command line of PEER taking NAME, running CMD (NULL-terminated). */
static void peer_argv(const struct cluster_ctx *cc, int peer, bool nowait,
		      const char *name, char *const cmd[], char **argv,
		      char *target, size_t size)
{
	int a = 0;

	if (peer == PIDSHIM) {
		snprintf(target, size, "%s/%s", cc->endpoints, name);
		argv[a++] = (char *)cc->b->pidshim;
		argv[a++] = "lock";
		if (nowait)
			argv[a++] = "-n";
		argv[a++] = "--cluster";
		argv[a++] = target;
	} else {
		argv[a++] = "etcdctl";
		argv[a++] = "--endpoints";
		argv[a++] = (char *)cc->endpoints;
		argv[a++] = "lock";
		argv[a++] = (char *)name;
	}
	argv[a++] = "--";
	while (*cmd)
		argv[a++] = *cmd++;
	argv[a] = NULL;
}

/* Started with standard input and output on /dev/null (the harness's
 * output is the table), standard error the harness's. */
static pid_t spawn(char *const argv[], char **env)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "pidshim-bench: %s: %s\n", argv[0],
			strerror(err));
		return -1;
	}
	return pid;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* 0 when PID exited with status 0; a process still running after
 * TIMEOUT_MS is killed and fails. WHAT names it in a message. The wait
 * blocks (a poll would add its period to a cycle's time); the timer's
 * signal, caught without SA_RESTART, interrupts it. */
static int finish(pid_t pid, int timeout_ms, const char *what)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval timer = { .it_value = { timeout_ms / 1000,
						 timeout_ms % 1000 * 1000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	int status = 0;
	pid_t r;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &timer, NULL);
	r = waitpid(pid, &status, 0);
	setitimer(ITIMER_REAL, &off, NULL);
	if (r < 0 && errno == EINTR) {
		fprintf(stderr, "pidshim-bench: %s still runs, killed\n", what);
		kill(pid, SIGKILL);
		r = waitpid(pid, &status, 0);
	}
	if (r != pid)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "pidshim-bench: %s %s %d\n", what,
		WIFEXITED(status) ? "exited" : "killed by signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

static bool running(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/* ---- the server: how many keys a lock has ---------------------------- */

static void base64(const char *in, char *out)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(in), o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)in[i + 2];
		out[o++] = digits[(v >> 18) & 63];
		out[o++] = digits[(v >> 12) & 63];
		out[o++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? digits[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * The number of keys under NAME/ (the holder's and the waiters', as
 * etcd's lock service names them), by one range request to the member's
 * JSON gateway: -1 when it does not answer. A small request by hand keeps
 * the polling cheap next to a round (an etcdctl process is 20 ms).
 */
static int count_keys(const struct cluster_ctx *cc, const char *name)
{
	char key[256], end[256], key64[400], end64[400], body[1024];
	char req[1536], resp[4096];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 2, 0 };
	size_t got = 0;
	const char *count;
	int fd, len;
	ssize_t r;

	/* the range [NAME/, NAME0): '0' follows '/' */
	snprintf(key, sizeof(key), "%s/", name);
	snprintf(end, sizeof(end), "%s0", name);
	base64(key, key64);
	base64(end, end64);
	snprintf(body, sizeof(body),
		 "{\"key\":\"%s\",\"range_end\":\"%s\",\"count_only\":true}",
		 key64, end64);
	len = snprintf(req, sizeof(req),
		       "POST /v3/kv/range HTTP/1.0\r\nHost: 127.0.0.1\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\n\r\n%s",
		       strlen(body), body);
	sa.sin_port = htons((uint16_t)cc->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	/* HTTP/1.0: the server closes the connection after its answer */
	while (got + 1 < sizeof(resp) &&
	       (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	resp[got] = '\0';
	if (strncmp(resp, "HTTP/1.", 7) || strncmp(resp + 8, " 200", 4))
		return -1;
	/* proto3's JSON leaves a count of 0 out; an int64 is a string */
	count = strstr(resp, "\"count\":\"");
	return count ? atoi(count + 9) : 0;
}

/* ---- cycle ----------------------------------------------------------- */

static double cycle_batch(const struct bench *b, void *ctx, int peer,
			  const char *dir, int n)
{
	static char *const cmd[] = { "/bin/true", NULL };
	struct cluster_ctx *cc = ctx;
	char *argv[16], target[1024];
	int64_t t0 = bench_now_ns();

	peer_argv(cc, peer, true,
		  peer == PIDSHIM ? "cycle-pidshim" : "cycle-etcdctl", cmd,
		  argv, target, sizeof(target));
	for (int i = 0; i < n; i++) {
		pid_t pid = spawn(argv, cc->env);
		if (pid < 0 || finish(pid, STEP_TIMEOUT_MS, argv[0]) < 0)
			return NAN;
	}
	return (double)(bench_now_ns() - t0) / n;
}

/* ---- hand-off -------------------------------------------------------- */

static int64_t read_i64(const char *path)
{
	char line[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (r <= 0)
		return -1;
	line[r] = '\0';
	return strtoll(line, NULL, 10);
}

/* Waits until PATH exists while PID runs: false when PID ended first or
 * it took too long. */
static bool wait_file(const char *path, pid_t pid)
{
	for (int i = 0; i < STEP_TIMEOUT_MS; i++) {
		if (access(path, F_OK) == 0)
			return true;
		if (!running(pid))
			return false;
		bench_sleep_ms(1);
	}
	return false;
}

/* Waits until NAME has N keys while PID runs. */
static bool wait_keys(const struct cluster_ctx *cc, const char *name, int n,
		      pid_t pid)
{
	for (int i = 0; i < STEP_TIMEOUT_MS / 2; i++) {
		if (count_keys(cc, name) >= n)
			return true;
		if (!running(pid))
			return false;
		bench_sleep_ms(2);
	}
	return false;
}

static double handoff_once(struct cluster_ctx *cc, int peer, int round)
{
	const struct bench *b = cc->b;
	char name[64], ready[4200], t0path[4200], t1path[4200];
	char target[2][1024], *hargv[16], *wargv[16];
	char *hold[] = { (char *)b->self, "child", "cluster-hold",
			 ready,		  t0path,  NULL };
	char *stamp[] = { (char *)b->self, "child", "cluster-stamp", t1path,
			  NULL };
	pid_t holder, waiter = -1, command = -1;
	int64_t t0, t1;
	bool ok = false;

	snprintf(name, sizeof(name), "handoff-%s-%d",
		 peer == PIDSHIM ? "pidshim" : "etcdctl", round);
	snprintf(ready, sizeof(ready), "%s/cluster-ready", cc->dir);
	snprintf(t0path, sizeof(t0path), "%s/cluster-t0", cc->dir);
	snprintf(t1path, sizeof(t1path), "%s/cluster-t1", cc->dir);
	unlink(ready);
	unlink(t0path);
	unlink(t1path);
	peer_argv(cc, peer, false, name, hold, hargv, target[0],
		  sizeof(target[0]));
	peer_argv(cc, peer, false, name, stamp, wargv, target[1],
		  sizeof(target[1]));

	holder = spawn(hargv, cc->env);
	if (holder < 0)
		return NAN;
	if (wait_file(ready, holder)) {
		command = (pid_t)read_i64(ready);
		waiter = spawn(wargv, cc->env);
	}
	if (waiter > 0 && wait_keys(cc, name, 2, waiter)) {
		bench_sleep_ms(BLOCKED_MS);
		ok = true;
	}
	/* the holder's command ends (a round that failed lets it end too) */
	if (command > 0)
		kill(command, SIGUSR1);
	if (finish(holder, STEP_TIMEOUT_MS, "the holder") < 0)
		ok = false;
	if (waiter > 0 && finish(waiter, STEP_TIMEOUT_MS, "the waiter") < 0)
		ok = false;
	if (!ok)
		return NAN;
	t0 = read_i64(t0path);
	t1 = read_i64(t1path);
	/* a waiter whose command started before the holder's ended did
	 * not wait: the lock did not exclude */
	if (t0 < 0 || t1 < 0 || t1 < t0)
		return NAN;
	return (double)(t1 - t0);
}

/* ---- the row --------------------------------------------------------- */

static const char *const subject_cycle =
    "pidshim lock -n --cluster E/NAME /bin/true";
static const char *const peer_cycle = "etcdctl lock NAME /bin/true";
static const char *const subject_handoff =
    "pidshim lock --cluster E/NAME, waiting";
static const char *const peer_handoff = "etcdctl lock NAME, waiting";

static void emit_skip(const char *fs, const char *why)
{
	bench_emit_skip("7 cluster cycle", subject_cycle, peer_cycle, fs, why);
	bench_emit_skip("7 cluster hand-off, p50", subject_handoff,
			peer_handoff, fs, why);
}

static void emit_failed(const char *fs)
{
	bench_emit_ratio("7 cluster cycle", subject_cycle, peer_cycle, fs, NAN,
			 NAN, NAN, BENCH_AT_MOST(CLUSTER_CYCLE_TARGET), NULL);
	bench_emit_ratio("7 cluster hand-off, p50", subject_handoff,
			 peer_handoff, fs, NAN, NAN, NAN,
			 BENCH_AT_MOST(CLUSTER_HANDOFF_TARGET), NULL);
}

/* Whether this pidshim takes --cluster: against a port nobody listens
 * on, one that does says the cluster is unreachable (69); an older one
 * refuses the option (64). */
static bool pidshim_has_cluster(const struct bench *b, char **env)
{
	char *argv[] = {
		(char *)b->pidshim,	    "lock",	 "-n", "--cluster",
		"http://127.0.0.1:1/probe", "/bin/true", NULL
	};
	posix_spawn_file_actions_t fa;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, env) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return false;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 69;
}

static void measure(struct cluster_ctx *cc, const char *fs)
{
	const struct bench *b = cc->b;
	struct bench_samples s;
	int n = b->quick ? 2 : 10;
	int rounds = b->quick ? 2 : 21;
	double s50, p50;
	char extra[96], a[32], p[32];

	bench_alternate(b, cc, cycle_batch, NPEERS, cc->dir, n, &s);
	bench_emit_ratio("7 cluster cycle", subject_cycle, peer_cycle, fs,
			 bench_samples_median(&s, PIDSHIM),
			 bench_samples_median(&s, ETCDCTL),
			 bench_samples_ratio(&s, PIDSHIM, ETCDCTL),
			 BENCH_AT_MOST(CLUSTER_CYCLE_TARGET), NULL);

	for (int i = 0; i < rounds; i++)
		for (int j = 0; j < NPEERS; j++) {
			int peer = (i + j) % NPEERS;
			cc->ns[peer][i] = handoff_once(cc, peer, i);
		}
	s50 = bench_percentile(cc->ns[PIDSHIM], rounds, 50);
	p50 = bench_percentile(cc->ns[ETCDCTL], rounds, 50);
	/* a round is a third of a second: too few of them for a p99 */
	snprintf(extra, sizeof(extra), "max %s vs %s",
		 bench_fmt_ns(a, sizeof(a),
			      bench_percentile(cc->ns[PIDSHIM], rounds, 100)),
		 bench_fmt_ns(p, sizeof(p),
			      bench_percentile(cc->ns[ETCDCTL], rounds, 100)));
	bench_emit_ratio("7 cluster hand-off, p50", subject_handoff,
			 peer_handoff, fs, s50, p50, s50 / p50,
			 BENCH_AT_MOST(CLUSTER_HANDOFF_TARGET), extra);
}

void bench_row_cluster(const struct bench *b)
{
	static struct cluster_ctx cc;
	char **env = peer_env();
	bool has_cluster = pidshim_has_cluster(b, env);

	for (int f = 0; f < b->nfs; f++) {
		const char *fs = b->fs_name[f];
		char etcd_dir[4200], line[512];
		char *argv[] = { "/bin/sh", (char *)b->etcd_sh, etcd_dir,
				 NULL };
		struct bench_child etcd;
		const char *colon;

		if (!has_cluster) {
			emit_skip(fs, "this pidshim has no --cluster");
			continue;
		}
		snprintf(etcd_dir, sizeof(etcd_dir), "%s/etcd", b->fs_dir[f]);
		if (bench_child_start(&etcd, argv, bench_env(NULL), true, 0) <
		    0) {
			emit_failed(fs);
			continue;
		}
		if (!bench_read_line(etcd.from, line, sizeof(line)) ||
		    strncmp(line, "endpoints http://", 17)) {
			if (!strncmp(line, "skip ", 5))
				emit_skip(fs, line + 5);
			else
				emit_failed(fs);
			bench_child_finish(&etcd);
			continue;
		}
		memset(&cc, 0, sizeof(cc));
		cc.b = b;
		cc.env = env;
		cc.dir = b->fs_dir[f];
		cc.endpoints = line + 10;
		colon = strrchr(cc.endpoints, ':');
		cc.port = colon ? atoi(colon + 1) : 0;
		measure(&cc, fs);
		/* its input ends: the script stops the member, by its PID */
		bench_child_finish(&etcd);
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * Cluster locks on etcd (pidshim(1), "Cluster locks"): the options, and
 * the lock taken and let go.
 *
 * The lock NAME is etcd's lock service's: the holder is the key under
 * NAME/ with the lowest create revision, each key NAME/<lease in hex>
 * under its owner's lease, so `etcdctl lock NAME` and we exclude each
 * other. We create our key ourselves first, in one transaction with a
 * read of the first key: its value is our holder details (host, PID,
 * since when), written with the key so that a loser always finds them,
 * and the answer says at once whether we hold the lock. Else, to wait,
 * etcd's lock service (/v3/lock/lock) takes our key as it is and answers
 * when every key before it is gone: woken by the server, never polling.
 * Whether we hold it is then checked against the key itself (etcd answers
 * a lock whose lease ran out meanwhile); its create revision is the
 * fencing token. Revoking the lease lets the lock go, key and all.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include "base64.h"
#include "cluster.h"
#include "cmd.h"
#include "fence.h"

/* etcd's shortest lease: its lessor's minimum TTL with the default
 * election timeout */
#define TTL_MIN_S 2
#define TTL_MAX_S 86400
#define TTL_DEFAULT_S 10
#define GRACE_DEFAULT_MS 2000
/* requests other than the lock wait */
#define REQUEST_TIMEOUT_MS 5000

/* SPEC split: the endpoints (a NULL-ended array in one block) and NAME,
 * or a usage error. */
static char **split_spec(const char *sub, const char *spec, char **name)
{
	const char *last = strrchr(spec, ','), *host, *slash;
	size_t count = 1;
	char **urls, *copy, *p;

	last = last ? last + 1 : spec;
	host = strstr(last, "://");
	host = host ? host + 3 : last;
	slash = strchr(host, '/');
	if (!slash || !slash[1] || slash == host)
		cmd_usage_error(sub,
				"--cluster %s: expected URL[,URL...]/NAME, "
				"e.g. http://10.0.0.1:2379/nightly-backup",
				spec);
	for (p = (char *)spec; p < slash; p++)
		count += *p == ',';
	urls = malloc((count + 1) * sizeof(*urls) + (size_t)(slash - spec) + 1);
	if (!urls) {
		cmd_say(sub, "out of memory");
		exit(CMD_EXIT_NOEXEC);
	}
	copy = (char *)(urls + count + 1);
	memcpy(copy, spec, (size_t)(slash - spec));
	copy[slash - spec] = '\0';
	count = 0;
	for (p = strtok(copy, ","); p; p = strtok(NULL, ","))
		urls[count++] = p;
	urls[count] = NULL;
	if (!count || strstr(spec, ",,") || spec[0] == ',')
		cmd_usage_error(sub,
				"--cluster %s: an empty URL in the list "
				"(expected URL[,URL...]/NAME)",
				spec);
	*name = strdup(slash + 1);
	return urls;
}

static int checked_ms(const char *sub, const char *option, const char *value,
		      int fallback)
{
	return value ? cmd_seconds_ms(sub, option, value) : fallback;
}

/* Each open descriptor below 1024 but /proc's own: FN(C, FD). */
static void each_fd(struct cluster *c, void (*fn)(struct cluster *, int))
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(d) && fd < 1024)
			fn(c, fd);
	}
	closedir(d);
}

static void note_inherited(struct cluster *c, int fd)
{
	c->inherited[fd / 64] |= 1ULL << (fd % 64);
}

static void cloexec_ours(struct cluster *c, int fd)
{
	int flags;

	if (c->inherited[fd / 64] & 1ULL << (fd % 64))
		return;
	flags = fcntl(fd, F_GETFD);
	if (flags >= 0 && !(flags & FD_CLOEXEC))
		fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

void cluster_fds_cloexec(const struct cluster *c)
{
	each_fd((struct cluster *)c, cloexec_ours);
}

int cluster_setup(struct cluster *c, const char *sub,
		  const struct cluster_options *o, bool environment)
{
	const char *spec = cluster_spec(sub, o, environment);
	int ttl_s = TTL_DEFAULT_S;
	char **urls;
	size_t count = 0;

	if (!spec)
		return -1;
	/* kept (o->tls.user): out of what ps shows from now on */
	if (o->user_typed && strchr(o->user_typed, ':'))
		memset(strchr(o->user_typed, ':') + 1, '*',
		       strlen(strchr(o->user_typed, ':') + 1));
	memset(c, 0, sizeof(*c));
	c->sub = sub;
	c->verbose = o->verbose;
	each_fd(c, note_inherited);
	if (o->ttl) {
		char *end;
		long v;

		errno = 0;
		v = strtol(o->ttl, &end, 10);
		if (errno || end == o->ttl || *end || o->ttl[0] == '-' ||
		    o->ttl[0] == '+' || v < TTL_MIN_S || v > TTL_MAX_S)
			cmd_usage_error(sub,
					"--ttl %s: expected whole SECONDS "
					"from %d (etcd's shortest lease) to "
					"%d",
					o->ttl, TTL_MIN_S, TTL_MAX_S);
		ttl_s = (int)v;
	}
	c->ttl_ms = ttl_s * 1000;
	c->renew_ms = checked_ms(sub, "--renew", o->renew, c->ttl_ms / 3);
	c->grace_ms =
	    checked_ms(sub, "--grace", o->grace,
		       c->ttl_ms / 5 < GRACE_DEFAULT_MS ? c->ttl_ms / 5
							: GRACE_DEFAULT_MS);
	if (c->renew_ms < 100)
		cmd_usage_error(
		    sub, "--renew %s: expected at least 0.1 SECONDS", o->renew);
	if ((int64_t)c->renew_ms + c->grace_ms + FENCE_MARGIN_MS >= c->ttl_ms)
		cmd_usage_error(
		    sub,
		    "--ttl %d, --renew %.6g, --grace %.6g: expected renew + "
		    "grace + %.1f < TTL, so that the command is stopped before "
		    "the lease can run out",
		    ttl_s, c->renew_ms / 1000.0, c->grace_ms / 1000.0,
		    FENCE_MARGIN_MS / 1000.0);
	if (o->host) {
		if (!*o->host || strlen(o->host) >= sizeof(c->host) ||
		    strpbrk(o->host, "\n\r"))
			cmd_usage_error(sub,
					"--host %s: expected a name of 1 to "
					"255 characters on one line",
					o->host);
		strcpy(c->host, o->host);
	} else if (gethostname(c->host, sizeof(c->host) - 1) < 0) {
		strcpy(c->host, "unknown");
	}
	for (const char *const *f =
		 (const char *const[]){ o->tls.cacert, o->tls.cert, o->tls.key,
					NULL, NULL };
	     f[0] || f[1]; f++)
		if (*f && access(*f, R_OK) < 0) {
			cmd_say(sub, "%s: cannot read: %s", *f,
				strerror(errno));
			exit(CMD_EXIT_NOINPUT);
		}
	urls = split_spec(sub, spec, &c->name);
	while (urls[count])
		count++;
	if (!c->name ||
	    etcd_init(&c->etcd, sub, urls, count, &o->tls, o->verbose) < 0) {
		free(urls);
		exit(CMD_EXIT_USAGE);
	}
	free(urls);
	return 0;
}

void cluster_free(struct cluster *c)
{
	etcd_free(&c->etcd);
	free(c->name);
	free(c->key);
	c->name = c->key = NULL;
}

/* The status for a request that did not end ETCD_OK, its message said. */
static int failed(struct cluster *c, struct etcd_call *call, const char *what)
{
	switch (call->result) {
	case ETCD_LOGIN:
		cmd_say(c->sub, "cluster lock %s: login refused: %s%s", c->name,
			call->message,
			strstr(call->message, "user name is empty")
			    ? " (etcd wants a login: --user NAME:PASSWORD)"
			    : "");
		etcd_done(call);
		return CMD_EXIT_NOPERM;
	case ETCD_NOMEM:
		cmd_say(c->sub, "cluster lock %s: %s: out of memory", c->name,
			what);
		return CMD_EXIT_NOEXEC;
	case ETCD_UNREACHABLE:
	case ETCD_TIMEOUT:
		cmd_say(c->sub,
			"cluster lock %s: %s: no etcd member answered "
			"(last: %s)",
			c->name, what, call->message);
		etcd_done(call);
		return CMD_EXIT_UNAVAILABLE;
	default:
		cmd_say(c->sub, "cluster lock %s: %s: %s", c->name, what,
			call->message);
		etcd_done(call);
		return CMD_EXIT_UNAVAILABLE;
	}
}

static json_object *b64_string(const char *data, size_t len)
{
	char *text = base64_encode(data, len);
	json_object *s = json_object_new_string(text ? text : "");

	free(text);
	return s;
}

static json_object *int_string(int64_t v)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return json_object_new_string(text);
}

/* The key range NAME/...: from NAME/ to NAME0 ('/' + 1). */
static void add_prefix_range(struct cluster *c, json_object *obj)
{
	size_t len = strlen(c->name);
	char *prefix = malloc(len + 2);

	if (!prefix)
		return;
	memcpy(prefix, c->name, len);
	prefix[len] = '/';
	json_object_object_add(obj, "key", b64_string(prefix, len + 1));
	prefix[len] = '0';
	json_object_object_add(obj, "range_end", b64_string(prefix, len + 1));
	free(prefix);
}

/* The first key of the lock (the holder's), sorted by create revision. */
static json_object *first_key_range(struct cluster *c)
{
	json_object *range = json_object_new_object();

	add_prefix_range(c, range);
	json_object_object_add(range, "sort_order",
			       json_object_new_string("ASCEND"));
	json_object_object_add(range, "sort_target",
			       json_object_new_string("CREATE"));
	json_object_object_add(range, "limit", json_object_new_int(1));
	return range;
}

static json_object *holder_details(struct cluster *c)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "host", json_object_new_string(c->host));
	json_object_object_add(d, "pid", json_object_new_int(getpid()));
	json_object_object_add(d, "since",
			       json_object_new_int64((int64_t)time(NULL)));
	return d;
}

static json_object *put_request(struct cluster *c)
{
	json_object *put = json_object_new_object(), *op;
	json_object *details = holder_details(c);
	const char *text =
	    json_object_to_json_string_ext(details, JSON_C_TO_STRING_PLAIN);

	json_object_object_add(put, "key", b64_string(c->key, strlen(c->key)));
	json_object_object_add(put, "value", b64_string(text, strlen(text)));
	json_object_object_add(put, "lease", int_string(c->lease));
	json_object_put(details);
	op = json_object_new_object();
	json_object_object_add(op, "request_put", put);
	return op;
}

/* TEXT into OUT as one printable line: anyone may write a key and its
 * details, and they end up in our messages. */
static void printable(char *out, size_t size, const char *text)
{
	size_t n = 0;

	for (; n < size - 1 && text[n]; n++)
		out[n] = text[n] >= ' ' && text[n] < 127 ? text[n] : '?';
	out[n] = '\0';
}

/* "held by HOST (PID N) since TIME", from the holder's key KV, into OUT */
static void describe_holder(json_object *kv, char *out, size_t size)
{
	json_object *value =
	    etcd_get(kv, (const char *const[]){ "value", NULL });
	json_object *key = etcd_get(kv, (const char *const[]){ "key", NULL });
	char *text =
	    value ? base64_decode(json_object_get_string(value), NULL) : NULL;
	char *name =
	    key ? base64_decode(json_object_get_string(key), NULL) : NULL;
	json_object *d = text ? json_tokener_parse(text) : NULL;
	json_object *host = etcd_get(d, (const char *const[]){ "host", NULL });

	if (host && json_object_is_type(host, json_type_string)) {
		time_t since = (time_t)etcd_int(d, "since", 0);
		int64_t pid = etcd_int(d, "pid", 0);
		char when[64] = "?", shown[64];
		struct tm tm;

		printable(shown, sizeof(shown), json_object_get_string(host));
		if (since > 0 && gmtime_r(&since, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
				 &tm);
		snprintf(out, size,
			 "held by %s (PID %" PRId64 ") since %s, fencing "
			 "token %" PRId64,
			 shown, pid > 0 && pid <= INT_MAX ? pid : 0, when,
			 etcd_int(kv, "create_revision", 0));
	} else {
		/* etcdctl lock, or another client of the lock service */
		char shown[128];

		printable(shown, sizeof(shown), name ? name : "?");
		snprintf(out, size,
			 "held by a client that left no holder details (key "
			 "%s)",
			 shown);
	}
	json_object_put(d);
	free(text);
	free(name);
}

static int grant(struct cluster *c, struct etcd_call *call)
{
	json_object *body = json_object_new_object();
	int64_t sent = etcd_now_ms();
	int err;

	json_object_object_add(body, "TTL",
			       json_object_new_int(c->ttl_ms / 1000));
	if (etcd_request(call, &c->etcd, "/v3/lease/grant", body,
			 REQUEST_TIMEOUT_MS) != ETCD_OK)
		return failed(c, call, "cannot grant a lease");
	c->lease = etcd_int(call->json, "ID", 0);
	c->expires = sent + etcd_int(call->json, "TTL", 0) * 1000;
	c->renewed = sent;
	etcd_done(call);
	err = asprintf(&c->key, "%s/%" PRIx64, c->name, (uint64_t)c->lease);
	if (err < 0 || !c->lease) {
		cmd_say(c->sub, "cluster lock %s: no lease in etcd's answer",
			c->name);
		return CMD_EXIT_UNAVAILABLE;
	}
	if (c->verbose)
		cmd_say(c->sub,
			"cluster lock %s: lease %" PRIx64 " granted by %s, "
			"TTL %" PRId64 " s",
			c->name, (uint64_t)c->lease,
			c->etcd.urls[call->endpoint],
			(c->expires - sent) / 1000);
	return 0;
}

void cluster_renew_start(struct cluster *c, struct etcd_call *call,
			 int64_t *sent)
{
	json_object *body = json_object_new_object();

	json_object_object_add(body, "ID", int_string(c->lease));
	*sent = etcd_now_ms();
	etcd_start(call, &c->etcd, "/v3/lease/keepalive", body,
		   c->renew_ms < REQUEST_TIMEOUT_MS ? c->renew_ms
						    : REQUEST_TIMEOUT_MS,
		   true);
}

int cluster_renewed(struct cluster *c, struct etcd_call *call, int64_t sent)
{
	int64_t ttl;

	if (call->result != ETCD_OK) {
		if (c->verbose)
			cmd_say(c->sub,
				"cluster lock %s: lease not renewed: %s",
				c->name, call->message);
		etcd_done(call);
		return -1;
	}
	ttl = etcd_int(
	    etcd_get(call->json, (const char *const[]){ "result", NULL }),
	    "TTL", 0);
	etcd_done(call);
	if (ttl <= 0)
		return 0;
	c->expires = sent + ttl * 1000;
	c->renewed = sent;
	return 1;
}

void cluster_release(struct cluster *c)
{
	struct etcd_call call;
	json_object *body;

	if (!c->lease)
		return;
	body = json_object_new_object();
	json_object_object_add(body, "ID", int_string(c->lease));
	/* a lease already gone (expired, revoked) is let go too */
	if (etcd_request(&call, &c->etcd, "/v3/lease/revoke", body,
			 REQUEST_TIMEOUT_MS) != ETCD_OK &&
	    !strstr(call.message, "not found"))
		cmd_say(c->sub,
			"cluster lock %s: cannot revoke lease %" PRIx64
			" (%s): the lock is free when it expires, within %d s",
			c->name, (uint64_t)c->lease, call.message,
			c->ttl_ms / 1000);
	else if (c->verbose)
		cmd_say(c->sub,
			"cluster lock %s: let go (lease %" PRIx64 " revoked)",
			c->name, (uint64_t)c->lease);
	etcd_done(&call);
	c->lease = 0;
}

/* A transaction on our key: when its TARGET (FIELD) is VALUE, our
 * details put (with PUT) and RANGE read (when given). */
static json_object *our_key_txn(struct cluster *c, const char *target,
				const char *field, int64_t value, bool put,
				json_object *range)
{
	json_object *body = json_object_new_object(), *cmp, *ops;
	json_object *compare = json_object_new_array();

	cmp = json_object_new_object();
	json_object_object_add(cmp, "key", b64_string(c->key, strlen(c->key)));
	json_object_object_add(cmp, "target", json_object_new_string(target));
	json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
	json_object_object_add(cmp, field, int_string(value));
	json_object_array_add(compare, cmp);
	json_object_object_add(body, "compare", compare);
	ops = json_object_new_array();
	if (put)
		json_object_array_add(ops, put_request(c));
	if (range) {
		json_object *op = json_object_new_object();

		json_object_object_add(op, "request_range", range);
		json_object_array_add(ops, op);
	}
	json_object_object_add(body, "success", ops);
	return body;
}

/* BODY (our_key_txn's, with a RANGE) sent: the range's first key, in
 * CALL's answer (the caller's to etcd_done), NULL when it has none; with
 * *STATUS an exit status when etcd did not answer (said, WHAT naming the
 * step). */
static json_object *on_our_key(struct cluster *c, struct etcd_call *call,
			       json_object *body, size_t range_at,
			       const char *what, int *status)
{
	json_object *op;

	*status = 0;
	if (etcd_request(call, &c->etcd, "/v3/kv/txn", body,
			 REQUEST_TIMEOUT_MS) != ETCD_OK) {
		*status = failed(c, call, what);
		return NULL;
	}
	op = etcd_item(
	    etcd_get(call->json, (const char *const[]){ "responses", NULL }),
	    range_at);
	return etcd_item(etcd_get(op, (const char *const[]){ "response_range",
							     "kvs", NULL }),
			 0);
}

void cluster_details_start(struct cluster *c, struct etcd_call *call)
{
	etcd_start(call, &c->etcd, "/v3/kv/txn",
		   our_key_txn(c, "LEASE", "lease", c->lease, true, NULL),
		   REQUEST_TIMEOUT_MS, true);
}

/* Our key made, with our details, and the first key read, in one
 * transaction: 1 we hold the lock, 0 someone else does (DESCRIBED), or
 * an exit status < 0 negated. */
static int enqueue(struct cluster *c, struct etcd_call *call, char *holder,
		   size_t size)
{
	const char *first;
	char *name;
	int status;
	json_object *kv = on_our_key(c, call,
				     our_key_txn(c, "CREATE", "create_revision",
						 0, true, first_key_range(c)),
				     1, "cannot queue for the lock", &status);
	bool ours;

	if (status)
		return -status;
	if (!kv) {
		cmd_say(c->sub, "cluster lock %s: etcd's answer has no key",
			c->name);
		etcd_done(call);
		return -CMD_EXIT_UNAVAILABLE;
	}
	/* our key's create revision: the transaction's */
	c->token = etcd_int(
	    etcd_get(call->json, (const char *const[]){ "header", NULL }),
	    "revision", 0);
	first = json_object_get_string(
	    etcd_get(kv, (const char *const[]){ "key", NULL }));
	name = first ? base64_decode(first, NULL) : NULL;
	ours = name && strcmp(name, c->key) == 0;
	free(name);
	if (!ours)
		describe_holder(kv, holder, size);
	etcd_done(call);
	return ours;
}

/* After the lock service answered: whether our key is still there under
 * our lease (etcd answers a waiter whose lease ran out), and the token.
 * A read: our details are made current once the command runs
 * (cluster_details_start), out of the hand-off's way. 0, or an exit
 * status. */
static int confirm(struct cluster *c, struct etcd_call *call)
{
	json_object *range = json_object_new_object(), *kv;
	int status;

	json_object_object_add(range, "key",
			       b64_string(c->key, strlen(c->key)));
	kv = on_our_key(
	    c, call, our_key_txn(c, "LEASE", "lease", c->lease, false, range),
	    0, "cannot check the lock", &status);
	if (status)
		return status;
	c->token = etcd_int(kv, "create_revision", 0);
	etcd_done(call);
	if (!c->token) {
		cmd_say(c->sub,
			"cluster lock %s: granted after our lease %" PRIx64
			" ran out (not renewed in time): not held",
			c->name, (uint64_t)c->lease);
		return CMD_EXIT_UNAVAILABLE;
	}
	return 0;
}

/* The signals that ask us to end, while we wait: their number comes
 * through a pipe to the wait's poll. */
static int wait_pipe[2] = { -1, -1 };
static const int wait_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
#define WAIT_SIGNALS (sizeof(wait_signals) / sizeof(wait_signals[0]))

static void wait_interrupted(int sig)
{
	int saved = errno;
	unsigned char n = (unsigned char)sig;

	if (write(wait_pipe[1], &n, 1) < 0) {
		/* full: a signal is there already */
	}
	errno = saved;
}

/* What waiting came to, besides 0 (held) and an exit status */
enum {
	ACQUIRE_BUSY = -1,  /* held elsewhere all the time we waited */
	ACQUIRE_AGAIN = -2, /* the member we waited at failed: queue again */
	WAITING = -3,
};

/* Wait for the lock through etcd's lock service, the lease renewed
 * meanwhile: 0 granted, ACQUIRE_*, or an exit status. */
static int wait_granted(struct cluster *c, int wait_ms, const char *holder)
{
	struct sigaction sa = { .sa_handler = wait_interrupted },
			 old[WAIT_SIGNALS];
	struct etcd_call lock, renewal = { .result = ETCD_OK };
	int64_t next_renewal = c->renewed + c->renew_ms, sent = 0;
	bool renewing = false;
	json_object *body = json_object_new_object();
	unsigned char sig = 0;
	int status = WAITING;

	if (pipe2(wait_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		cmd_say(c->sub, "cannot wait: %s", strerror(errno));
		return CMD_EXIT_NOEXEC;
	}
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < WAIT_SIGNALS; i++) {
		sigaction(wait_signals[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(wait_signals[i], &sa, NULL);
	}
	if (c->verbose)
		cmd_say(c->sub, "cluster lock %s: waiting; %s", c->name,
			holder);
	json_object_object_add(body, "name",
			       b64_string(c->name, strlen(c->name)));
	json_object_object_add(body, "lease", int_string(c->lease));
	etcd_start(&lock, &c->etcd, "/v3/lock/lock", body,
		   wait_ms > 0 ? wait_ms : 0, false);
	/* never sent again elsewhere: see etcd_call's one_endpoint */
	lock.one_endpoint = true;
	while (status == WAITING) {
		struct curl_waitfd fd = { .fd = wait_pipe[0],
					  .events = CURL_WAIT_POLLIN };
		int64_t now = etcd_now_ms();

		if (!renewing && now >= next_renewal) {
			cluster_renew_start(c, &renewal, &sent);
			renewing = true;
		}
		if (lock.result == ETCD_PENDING)
			etcd_poll(&c->etcd, &fd, 1,
				  renewing ? -1 : (int)(next_renewal - now));
		if (read(wait_pipe[0], &sig, 1) == 1) {
			status = 128 + sig;
			break;
		}
		if (renewing && renewal.result != ETCD_PENDING) {
			int r = cluster_renewed(c, &renewal, sent);

			renewing = false;
			next_renewal = r > 0 ? sent + c->renew_ms
					     : etcd_now_ms() + c->renew_ms / 4;
			if (r == 0) {
				cmd_say(c->sub,
					"cluster lock %s: our lease ran out "
					"while we waited",
					c->name);
				status = CMD_EXIT_UNAVAILABLE;
			}
		}
		if (lock.result == ETCD_PENDING || status != WAITING)
			continue;
		if (lock.result == ETCD_OK) {
			etcd_done(&lock);
			status = confirm(c, &lock);
			/* a signal while we checked: we end, not the command
			 * starts */
			if (status == 0 && read(wait_pipe[0], &sig, 1) == 1)
				status = 128 + sig;
		} else if (lock.result == ETCD_TIMEOUT) {
			status = ACQUIRE_BUSY;
		} else if (lock.result == ETCD_UNREACHABLE &&
			   lock.failed_over) {
			if (c->verbose)
				cmd_say(c->sub,
					"cluster lock %s: %s: queueing again "
					"at %s",
					c->name, lock.message,
					c->etcd.urls[c->etcd.current]);
			etcd_done(&lock);
			status = ACQUIRE_AGAIN;
		} else {
			status = failed(c, &lock, "waiting");
		}
	}
	if (lock.result == ETCD_PENDING)
		etcd_cancel(&lock);
	if (renewing)
		etcd_cancel(&renewal);
	for (size_t i = 0; i < WAIT_SIGNALS; i++)
		if (old[i].sa_handler != SIG_IGN)
			sigaction(wait_signals[i], &old[i], NULL);
	close(wait_pipe[0]);
	close(wait_pipe[1]);
	wait_pipe[0] = wait_pipe[1] = -1;
	if (sig && c->verbose)
		cmd_say(c->sub, "cluster lock %s: SIG%s: no longer waiting",
			c->name, cmd_signal_name(sig));
	return status;
}

/* Who holds the lock now, into HOLDER: 0, or an exit status. */
static int current_holder(struct cluster *c, char *holder, size_t size)
{
	struct etcd_call call;
	json_object *kv;

	if (etcd_request(&call, &c->etcd, "/v3/kv/range", first_key_range(c),
			 REQUEST_TIMEOUT_MS) != ETCD_OK)
		return failed(c, &call, "cannot read the lock");
	kv = etcd_item(
	    etcd_get(call.json, (const char *const[]){ "kvs", NULL }), 0);
	if (kv)
		describe_holder(kv, holder, size);
	else
		snprintf(holder, size, "free");
	etcd_done(&call);
	return kv ? 0 : 3;
}

static void say_held(struct cluster *c)
{
	if (c->verbose)
		cmd_say(c->sub,
			"cluster lock %s: held, key %s, fencing token %" PRId64,
			c->name, c->key, c->token);
}

int cluster_acquire(struct cluster *c, int wait_ms, int busy)
{
	int64_t deadline = wait_ms > 0 ? etcd_now_ms() + wait_ms : 0;
	struct etcd_call call;
	char holder[512] = "";
	int status, probe = fence_pidfd_open(getpid());

	/* fencing watches the command through a pidfd: without one (Linux
	 * before 5.3, a seccomp filter), no lock is taken at all */
	if (probe < 0) {
		cmd_say(c->sub,
			"cluster lock %s: cannot fence a command without "
			"pidfd_open (Linux 5.3): %s",
			c->name, strerror(errno));
		return CMD_EXIT_NOEXEC;
	}
	close(probe);
	if (etcd_login(&c->etcd, &call) != ETCD_OK)
		return failed(c, &call, "cannot log in");
	for (;;) {
		status = grant(c, &call);
		if (status)
			return status;
		status = enqueue(c, &call, holder, sizeof(holder));
		if (status == 1) {
			say_held(c);
			return 0;
		}
		if (status < 0) {
			status = -status;
			break;
		}
		if (wait_ms == 0) {
			status = ACQUIRE_BUSY;
			break;
		}
		if (deadline) {
			wait_ms = (int)(deadline - etcd_now_ms());
			if (wait_ms <= 0) {
				status = ACQUIRE_BUSY;
				break;
			}
		}
		status = wait_granted(c, wait_ms, holder);
		c->waited = true;
		if (status == 0) {
			say_held(c);
			return 0;
		}
		if (status != ACQUIRE_AGAIN)
			break;
		/* a new lease, a new key: the old wait may still be going
		 * on at a member we left, and its end deletes its key */
		cluster_release(c);
		free(c->key);
		c->key = NULL;
	}
	cluster_release(c);
	if (status == ACQUIRE_BUSY) {
		/* the holder now, for the message */
		if (wait_ms != 0)
			current_holder(c, holder, sizeof(holder));
		cmd_say(c->sub, "cluster lock %s: busy, %s", c->name, holder);
		return busy;
	}
	return status;
}

int cluster_status(struct cluster *c)
{
	struct etcd_call call;
	char holder[512];
	int status;

	if (etcd_login(&c->etcd, &call) != ETCD_OK) {
		failed(c, &call, "cannot log in");
		return 4;
	}
	status = current_holder(c, holder, sizeof(holder));
	if (status == 0)
		printf("%s\n", holder);
	else if (status == 3 && c->verbose)
		cmd_say(c->sub, "cluster lock %s: free", c->name);
	return status == 0 || status == 3 ? status : 4;
}

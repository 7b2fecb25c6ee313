/* SPDX-License-Identifier: MIT */
/*
 * Cluster locks (pidshim(1), "Cluster locks"): the lock NAME taken on
 * etcd under a lease that we keep alive, our command stopped (fenced)
 * before the lease can run out on the server when it cannot be renewed.
 */
#ifndef PIDSHIM_CLUSTER_H
#define PIDSHIM_CLUSTER_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "etcd.h"

/* Exit statuses of their own (sysexits.h) */
#define CMD_EXIT_NOINPUT 66	/* a TLS file cannot be read */
#define CMD_EXIT_UNAVAILABLE 69 /* no etcd member answered */
#define CMD_EXIT_NOPERM 77	/* the login was refused */

/* The long options every subcommand with --cluster takes (getopt_long's
 * values from CLUSTER_OPT_FIRST on). */
enum {
	CLUSTER_OPT_FIRST = 0x1000,
	CLUSTER_OPT_CLUSTER = CLUSTER_OPT_FIRST,
	CLUSTER_OPT_HOST,
	CLUSTER_OPT_TTL,
	CLUSTER_OPT_RENEW,
	CLUSTER_OPT_GRACE,
	CLUSTER_OPT_CACERT,
	CLUSTER_OPT_CERT,
	CLUSTER_OPT_KEY,
	CLUSTER_OPT_USER,
	CLUSTER_OPT_LAST = CLUSTER_OPT_USER,
};
#define CLUSTER_LONG_OPTIONS                                                   \
	{ "cluster", required_argument, NULL, CLUSTER_OPT_CLUSTER },           \
	    { "host", required_argument, NULL, CLUSTER_OPT_HOST },             \
	    { "ttl", required_argument, NULL, CLUSTER_OPT_TTL },               \
	    { "renew", required_argument, NULL, CLUSTER_OPT_RENEW },           \
	    { "grace", required_argument, NULL, CLUSTER_OPT_GRACE },           \
	    { "cacert", required_argument, NULL, CLUSTER_OPT_CACERT },         \
	    { "cert", required_argument, NULL, CLUSTER_OPT_CERT },             \
	    { "key", required_argument, NULL, CLUSTER_OPT_KEY },               \
	{                                                                      \
		"user", required_argument, NULL, CLUSTER_OPT_USER              \
	}

/* The cluster options' lines in a subcommand's --help. */
extern const char cluster_usage[];

struct cluster_options {
	const char *spec; /* --cluster URL[,URL...]/NAME, or PIDSHIM_CLUSTER */
	const char *host; /* --host */
	const char *ttl, *renew, *grace;
	struct etcd_options tls;
	char *user_typed; /* --user's value in our command line */
	bool verbose;
};

/* KEY (a getopt_long value) as a cluster option: true when it was one. */
bool cluster_option(struct cluster_options *o, int key, const char *value);

/* The cluster lock asked for: --cluster's value (or, with ENVIRONMENT,
 * PIDSHIM_CLUSTER's); NULL for none, a usage error when other cluster
 * options were given without it. */
const char *cluster_spec(const char *sub, const struct cluster_options *o,
			 bool environment);

/* Two builds of the command (cmd/meson.build): pidshim, which starts
 * without libcurl and its thirty libraries, and pidshim-cluster, which
 * holds cluster locks. In pidshim, cluster_setup replaces the process
 * with pidshim-cluster, same arguments, when a cluster lock is asked for
 * (cluster_exec.c), and the functions after it, which only a
 * cluster_setup that returned 0 leads to, are not there: weak, never
 * called. */
#ifdef PIDSHIM_CLUSTER_CLIENT
#define CLUSTER_CLIENT
#else
#define CLUSTER_CLIENT __attribute__((weak))
#endif

struct cluster {
	const char *sub;
	struct etcd etcd;
	char *name;	 /* the lock's name: its keys are NAME/<lease> */
	char host[256];	 /* what we call ourselves as holder */
	int ttl_ms;	 /* the lease's TTL as asked */
	int renew_ms;	 /* how often it is renewed */
	int grace_ms;	 /* fencing: TERM, then KILL this much later */
	int64_t lease;	 /* the lease's ID, 0 before it is granted */
	int64_t expires; /* the earliest the server may let it go
			    (etcd_now_ms) */
	int64_t renewed; /* when the renewal (or grant) behind it was sent */
	char *key;	 /* NAME/<lease in hex> */
	int64_t token;	 /* our key's create revision: the fencing token */
	bool waited;	 /* our details say when we queued, not since when
			    we hold it */
	/* the descriptors (below 1024) open before the client was made:
	 * the command's to inherit, as without --cluster */
	uint64_t inherited[16];
	bool verbose;
};

/* The options checked (a usage error, 64, for a bad one) and the client
 * made: 0; or -1, C untouched, when no --cluster was given (nor, with
 * ENVIRONMENT, PIDSHIM_CLUSTER). In pidshim: never 0 (see above). */
int cluster_setup(struct cluster *c, const char *sub,
		  const struct cluster_options *o, bool environment);
CLUSTER_CLIENT void cluster_free(struct cluster *c);

/* Wait for the lock: WAIT_MS 0 not at all, -1 forever. 0 when held (a
 * lease granted and kept alive meanwhile, the token known), else the
 * exit status, said: BUSY when held elsewhere (naming the holder), 69
 * unreachable, 77 login refused, 128+N for signal N while waiting. */
CLUSTER_CLIENT int cluster_acquire(struct cluster *c, int wait_ms, int busy);

/* Run COMMAND (FILE as child_start takes it) while holding the lock, the
 * lease renewed and a watchdog ready to fence; then let the lock go. The
 * command's exit status. */
CLUSTER_CLIENT int cluster_hold(struct cluster *c, const char *file,
				char **command);

/* Every descriptor the client opened since cluster_setup (libcurl's
 * connections, its wake-up socket pair) closed on exec: the command gets
 * none of ours. */
void cluster_fds_cloexec(const struct cluster *c);

/* Start making our details current (since when we hold the lock). */
void cluster_details_start(struct cluster *c, struct etcd_call *call);

/* Let the lock go now (the lease revoked). */
void cluster_release(struct cluster *c);

/* Start renewing the lease (CALL): SENT is when. */
void cluster_renew_start(struct cluster *c, struct etcd_call *call,
			 int64_t *sent);
/* CALL, a renewal sent at SENT, ended: 1 renewed (C's expires moved on),
 * 0 the lease is gone, -1 no answer. */
int cluster_renewed(struct cluster *c, struct etcd_call *call, int64_t sent);

/* pidshim status --cluster: 0 held (the holder printed), 3 free, 4
 * cannot tell. */
CLUSTER_CLIENT int cluster_status(struct cluster *c);

#endif

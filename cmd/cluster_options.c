/* SPDX-License-Identifier: MIT */
/*
 * The cluster options (pidshim(1), "CLUSTER LOCKS"), which every build of
 * the command knows: pidshim checks them and hands a cluster lock over
 * to pidshim-cluster (cluster_exec.c), which holds it (cluster.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cmd.h"

const char cluster_usage[] =
    "      --cluster URL[,URL...]/NAME  also hold the lock NAME on etcd "
    "(or\n"
    "                                PIDSHIM_CLUSTER)\n"
    "      --host NAME               the holder's name (default: the host "
    "name)\n"
    "      --ttl SECONDS             the lease's TTL (2-86400, default "
    "10)\n"
    "      --renew SECONDS           renew the lease this often (default "
    "TTL/3)\n"
    "      --grace SECONDS           fencing: TERM, then KILL this much "
    "later\n"
    "                                (default TTL/5, at most 2)\n"
    "      --cacert FILE             trust etcd's certificate by this CA\n"
    "      --cert FILE               our client certificate\n"
    "      --key FILE                its private key\n"
    "      --user NAME[:PASSWORD]    log in to etcd\n";

/* --user NAME:PASSWORD kept (cluster_setup then overwrites the password
 * in what ps shows); --user NAME takes ETCDCTL_PASSWORD, as etcdctl
 * does, which keeps it out of the command line altogether. */
static const char *user_option(const char *value)
{
	const char *password = getenv("ETCDCTL_PASSWORD");
	char *kept;

	if (strchr(value, ':')) {
		kept = strdup(value);
	} else if (password) {
		if (asprintf(&kept, "%s:%s", value, password) < 0)
			kept = NULL;
	} else {
		cmd_usage_error(NULL,
				"--user %s: no password (expected "
				"NAME:PASSWORD, or ETCDCTL_PASSWORD in the "
				"environment)",
				value);
	}
	if (!kept) {
		cmd_say(NULL, "out of memory");
		exit(CMD_EXIT_NOEXEC);
	}
	return kept;
}

bool cluster_option(struct cluster_options *o, int key, const char *value)
{
	switch (key) {
	case CLUSTER_OPT_CLUSTER:
		o->spec = value;
		return true;
	case CLUSTER_OPT_HOST:
		o->host = value;
		return true;
	case CLUSTER_OPT_TTL:
		o->ttl = value;
		return true;
	case CLUSTER_OPT_RENEW:
		o->renew = value;
		return true;
	case CLUSTER_OPT_GRACE:
		o->grace = value;
		return true;
	case CLUSTER_OPT_CACERT:
		o->tls.cacert = value;
		return true;
	case CLUSTER_OPT_CERT:
		o->tls.cert = value;
		return true;
	case CLUSTER_OPT_KEY:
		o->tls.key = value;
		return true;
	case CLUSTER_OPT_USER:
		o->tls.user = user_option(value);
		o->user_typed = (char *)value;
		return true;
	default:
		return false;
	}
}

const char *cluster_spec(const char *sub, const struct cluster_options *o,
			 bool environment)
{
	const char *spec =
	    o->spec ? o->spec
		    : (environment ? getenv("PIDSHIM_CLUSTER") : NULL);

	if (spec && *spec)
		return spec;
	if (o->spec || o->host || o->ttl || o->renew || o->grace ||
	    o->tls.cacert || o->tls.cert || o->tls.key || o->tls.user)
		cmd_usage_error(sub, "the cluster options need "
				     "--cluster URL[,URL...]/NAME");
	return NULL;
}

/* SPDX-License-Identifier: MIT */
/*
 * pidshim's side of a cluster lock: pidshim-cluster holds it. The client
 * of etcd links libcurl, which brings some thirty shared libraries
 * (TLS, Kerberos, LDAP, HTTP/2...) that every start of a command linked
 * with it loads: 5 to 30 ms here, against 1 for pidshim without them. So
 * pidshim stays without, and hands a cluster lock over to its other build
 * with the command line it was given, in the same process.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"

static bool executable_at(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* pidshim-cluster beside us (a build tree), in ../libexec of where we
 * are (an installed or relocated prefix), or where it was installed. */
static bool find_cluster_client(char out[PATH_MAX])
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		int dir_len;

		exe[n] = '\0';
		dir_len = (int)(strrchr(exe, '/') - exe);
		snprintf(out, PATH_MAX, "%.*s/pidshim-cluster", dir_len, exe);
		if (executable_at(out))
			return true;
		snprintf(out, PATH_MAX, "%.*s/../libexec/pidshim-cluster",
			 dir_len, exe);
		if (executable_at(out))
			return true;
	}
	snprintf(out, PATH_MAX, "%s", PIDSHIM_LIBEXECDIR "/pidshim-cluster");
	return executable_at(out);
}

int cluster_setup(struct cluster *c, const char *sub,
		  const struct cluster_options *o, bool environment)
{
	char client[PATH_MAX];

	(void)c;
	if (!cluster_spec(sub, o, environment))
		return -1;
	if (!find_cluster_client(client)) {
		cmd_say(sub, "cannot find pidshim-cluster, which holds cluster "
			     "locks (looked beside this command and "
			     "in " PIDSHIM_LIBEXECDIR ")");
		exit(CMD_EXIT_NOEXEC);
	}
	execv(client, cmd_argv);
	cmd_say(sub, "%s: %s", client, strerror(errno));
	exit(CMD_EXIT_NOEXEC);
}

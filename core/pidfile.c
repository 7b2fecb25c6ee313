/* SPDX-License-Identifier: MIT */
/* PID files (pylockfile PidFile, SinglePidFile). */
#include "pidlock.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockfd.h"
#include "sigcleanup.h"

struct pidlock_pidfile {
	char *path;
	struct lockfd lk;
	struct sigcleanup cleanup;
};

/* SinglePidFile: the process-wide object, NULL until opened. single_lock
 * serialises opening and closing it; single itself is atomic so that
 * pidlock_pidfile_close() can forget it without that lock, which an open
 * holds for as long as it waits. */
static pthread_mutex_t single_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct pidlock_pidfile *) single;

PIDLOCK_EXPORT int
pidlock_pidfile_open(struct pidlock_pidfile **pfp, const char *path_template,
		     const struct pidlock_pidfile_options *opts, pid_t *holder)
{
	static const struct pidlock_pidfile_options defaults;
	struct pidlock_pidfile *pf;
	char path[PATH_MAX];
	int err;

	if (holder)
		*holder = 0;
	if (!opts)
		opts = &defaults;
	if (!pfp || (opts->mode & ~(mode_t)07777) ||
	    (opts->flags &
	     ~(unsigned)(PIDLOCK_REMOVE_ON_SIGINT | PIDLOCK_REMOVE_ON_SIGTERM)))
		return -EINVAL;
	err = pidlock_path_expand(path_template, path, sizeof(path));
	if (err < 0)
		return err;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	pf->path = strdup(path);
	if (!pf->path) {
		free(pf);
		return -ENOMEM;
	}
	err = lockfd_acquire(&pf->lk, pf->path, opts->mode ? opts->mode : 0644,
			     false, opts->timeout_ms, LOCKFD_PID_LINE, holder);
	if (err == 0) {
		sigcleanup_init(&pf->cleanup, opts->flags);
		err = sigcleanup_arm(&pf->cleanup, &pf->lk, pf->path);
		if (err < 0)
			lockfd_release(&pf->lk, pf->path, true);
	}
	if (err < 0) {
		free(pf->path);
		free(pf);
		return err;
	}
	*pfp = pf;
	return 0;
}

static void pidfile_free(struct pidlock_pidfile *pf)
{
	sigcleanup_disarm(&pf->cleanup);
	/* lockfd_release removes only from the owner: a forked child that
	 * closes its copy leaves the parent's file alone. */
	lockfd_release(&pf->lk, pf->path, true);
	free(pf->path);
	free(pf);
}

PIDLOCK_EXPORT int pidlock_pidfile_close(struct pidlock_pidfile *pf)
{
	struct pidlock_pidfile *expected = pf;

	if (!pf)
		return -EINVAL;
	/* The SinglePidFile closed this way must not be handed out again
	 * once freed. */
	atomic_compare_exchange_strong(&single, &expected, NULL);
	pidfile_free(pf);
	return 0;
}

PIDLOCK_EXPORT int pidlock_pidfile_rewrite(struct pidlock_pidfile *pf)
{
	if (!pf || pf->lk.fd < 0)
		return -EINVAL;
	if (!lockfd_still_ours(&pf->lk, pf->path))
		return -ESTALE;
	return lockfd_write_pid(&pf->lk, LOCKFD_PID_LINE);
}

PIDLOCK_EXPORT bool pidlock_pidfile_is_held(const struct pidlock_pidfile *pf)
{
	return pf && pf->lk.fd >= 0 && lockfd_still_ours(&pf->lk, pf->path);
}

PIDLOCK_EXPORT const char *
pidlock_pidfile_path(const struct pidlock_pidfile *pf)
{
	return pf ? pf->path : NULL;
}

PIDLOCK_EXPORT int pidlock_pidfile_fd(const struct pidlock_pidfile *pf)
{
	return pf ? pf->lk.fd : -EINVAL;
}

PIDLOCK_EXPORT int pidlock_check(const char *path, pid_t *holder)
{
	if (!path || !*path)
		return -EINVAL;
	return lockfd_check(path, holder);
}

/* ---- SinglePidFile ----------------------------------------------------- */

PIDLOCK_EXPORT int
pidlock_single_pidfile(struct pidlock_pidfile **pfp, const char *path_template,
		       const struct pidlock_pidfile_options *opts,
		       pid_t *holder)
{
	struct pidlock_pidfile *pf;
	int err = 0;

	if (holder)
		*holder = 0;
	if (!pfp)
		return -EINVAL;
	pthread_mutex_lock(&single_lock);
	pf = atomic_load(&single);
	if (pf) {
		if (path_template) {
			char path[PATH_MAX];

			err = pidlock_path_expand(path_template, path,
						  sizeof(path));
			if (err >= 0)
				err = strcmp(path, pf->path) ? -EEXIST : 0;
		}
		if (err == 0)
			*pfp = pf;
	} else if (!path_template) {
		err = -EINVAL;
	} else {
		err = pidlock_pidfile_open(&pf, path_template, opts, holder);
		if (err == 0) {
			atomic_store(&single, pf);
			*pfp = pf;
		}
	}
	pthread_mutex_unlock(&single_lock);
	return err;
}

PIDLOCK_EXPORT int pidlock_single_pidfile_close(void)
{
	struct pidlock_pidfile *pf;
	int err = -ENOLCK;

	pthread_mutex_lock(&single_lock);
	pf = atomic_exchange(&single, NULL);
	if (pf) {
		pidfile_free(pf);
		err = 0;
	}
	pthread_mutex_unlock(&single_lock);
	return err;
}

/* SPDX-License-Identifier: MIT */
/* Lock files (pylockfile LockFile), the scoped block and the wrapped call. */
#include "pidlock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lockfd.h"
#include "sigcleanup.h"

#define LOCK_SUFFIX ".lock"

struct pidlock_lock {
	char *path;
	mode_t mode;
	struct lockfd lk;
	struct sigcleanup cleanup;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* pylockfile names an anonymous lock at random; so do we. */
static int random_name(char *buf, size_t size)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char bytes[12];
	const char *prefix = "pidlock-";
	size_t len = strlen(prefix);

	if (size < len + sizeof(bytes) + 1)
		return -ENAMETOOLONG;
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return -errno;
	memcpy(buf, prefix, len);
	for (size_t i = 0; i < sizeof(bytes); i++)
		buf[len++] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
	buf[len] = '\0';
	return 0;
}

PIDLOCK_EXPORT int pidlock_lock_new(struct pidlock_lock **lockp,
				    const char *dir, const char *name,
				    unsigned flags)
{
	char generated[32];
	struct pidlock_lock *lock;
	const char *suffix;
	int len;

	if (!lockp || (name && (!*name || strchr(name, '/'))) ||
	    (dir && !*dir) ||
	    (flags &
	     ~(unsigned)(PIDLOCK_REMOVE_ON_SIGINT | PIDLOCK_REMOVE_ON_SIGTERM)))
		return -EINVAL;
	if (!name) {
		int err = random_name(generated, sizeof(generated));

		if (err < 0)
			return err;
		name = generated;
	}
	lock = calloc(1, sizeof(*lock));
	if (!lock)
		return -ENOMEM;
	suffix = ends_with(name, LOCK_SUFFIX) ? "" : LOCK_SUFFIX;
	len = asprintf(&lock->path, "%s/%s%s", dir ? dir : ".", name, suffix);
	if (len < 0) {
		free(lock);
		return -ENOMEM;
	}
	lock->mode = 0644;
	lock->lk.fd = -1;
	sigcleanup_init(&lock->cleanup, flags);
	*lockp = lock;
	return 0;
}

PIDLOCK_EXPORT void pidlock_lock_free(struct pidlock_lock *lock)
{
	if (!lock)
		return;
	if (lock->lk.fd >= 0)
		pidlock_lock_release(lock);
	free(lock->path);
	free(lock);
}

PIDLOCK_EXPORT int pidlock_lock_set_mode(struct pidlock_lock *lock, mode_t mode)
{
	if (!lock || (mode & ~(mode_t)07777))
		return -EINVAL;
	lock->mode = mode;
	return 0;
}

PIDLOCK_EXPORT const char *pidlock_lock_path(const struct pidlock_lock *lock)
{
	return lock ? lock->path : NULL;
}

PIDLOCK_EXPORT bool pidlock_lock_is_held(const struct pidlock_lock *lock)
{
	return lock && lock->lk.fd >= 0;
}

PIDLOCK_EXPORT int pidlock_lock_acquire(struct pidlock_lock *lock,
					enum pidlock_how how, int timeout_ms,
					pid_t *holder)
{
	int err;

	if (holder)
		*holder = 0;
	if (!lock || (how != PIDLOCK_EXCLUSIVE && how != PIDLOCK_SHARED))
		return -EINVAL;
	if (lock->lk.fd >= 0) {
		if (holder)
			*holder = lock->lk.owner;
		return -EALREADY;
	}
	err = lockfd_acquire(&lock->lk, lock->path, lock->mode,
			     how == PIDLOCK_SHARED, timeout_ms, LOCKFD_PID_LINE,
			     holder);
	if (err < 0)
		return err;
	/* A forked child's copy of the object cannot write the file (no
	 * rewrite as for PID files; an acquire is -EALREADY). */
	lock->lk.sole_writer = true;
	err = sigcleanup_arm(&lock->cleanup, &lock->lk, lock->path);
	if (err < 0)
		lockfd_release(&lock->lk, lock->path, true);
	return err;
}

PIDLOCK_EXPORT int pidlock_lock_release(struct pidlock_lock *lock)
{
	if (!lock)
		return -EINVAL;
	if (lock->lk.fd < 0)
		return -ENOLCK;
	sigcleanup_disarm(&lock->cleanup);
	lockfd_release(&lock->lk, lock->path, true);
	return 0;
}

PIDLOCK_EXPORT int pidlock_lock_query(const struct pidlock_lock *lock,
				      pid_t *holder)
{
	if (!lock)
		return -EINVAL;
	return lockfd_check(lock->path, holder);
}

PIDLOCK_EXPORT int pidlock_lock_call(struct pidlock_lock *lock,
				     enum pidlock_how how, int timeout_ms,
				     void *(*fn)(void *arg), void *arg,
				     void **result)
{
	void *value;
	int err;

	if (!fn)
		return -EINVAL;
	err = pidlock_lock_acquire(lock, how, timeout_ms, NULL);
	if (err < 0)
		return err;
	value = fn(arg);
	if (result)
		*result = value;
	return pidlock_lock_release(lock);
}

PIDLOCK_EXPORT struct pidlock_scope
pidlock_scope_begin(struct pidlock_lock *lock, enum pidlock_how how,
		    int timeout_ms, int *err)
{
	struct pidlock_scope scope = { lock, 0 };
	int ret = pidlock_lock_acquire(lock, how, timeout_ms, NULL);

	scope.active = ret == 0;
	if (err)
		*err = ret;
	return scope;
}

PIDLOCK_EXPORT void pidlock_scope_end(struct pidlock_scope *scope)
{
	if (scope->active) {
		scope->active = 0;
		pidlock_lock_release(scope->lock);
	}
}

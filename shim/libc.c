/* SPDX-License-Identifier: MIT */
/*
 * The third layer of every interposed call: the real libc function, bound
 * once with dlsym(RTLD_NEXT). The shim's own code (and the core linked into
 * it) calls these, never the exported names, so it never re-enters itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "lockfd.h"
#include "shim.h"

/* Kernel headers newer than glibc's list of names (Debian 11: 5.10 and
 * 2.31) have the number without glibc's SYS_ name. */
#if !defined(SYS_close_range) && defined(__NR_close_range)
#define SYS_close_range __NR_close_range
#endif

struct libc_functions libc_fn;

/* The core's open and close (lockfd.h): libc's real ones, so that the
 * locking algorithm never calls the shim's wrappers. Defined here, they
 * keep the core's own definitions (libc's names) out of the shim. */
lockfd_open_fn lockfd_sys_open;
lockfd_close_fn lockfd_sys_close;

/* A function every glibc the shim supports has: without it, nothing the
 * shim does can work, so it says which and stops. */
static void *bind_required(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);
	static const char msg[] = "pidshim: cannot find libc's ";

	if (!fn) {
		/* No logging yet: this runs before anything else. */
		if (write(2, msg, sizeof(msg) - 1) < 0 ||
		    write(2, name, strlen(name)) < 0 || write(2, "\n", 1) < 0)
			abort();
		abort();
	}
	return fn;
}

/* Stand-ins for the REAL_NEWER functions on a glibc without them: what
 * that glibc function does. */
static int fallback_execveat(int dirfd, const char *path, char *const argv[],
			     char *const envp[], int flags)
{
	/* glibc's execveat is the system call itself */
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static int fallback_close_range(unsigned first, unsigned last, int flags)
{
	/* glibc's close_range is the system call itself (ENOSYS on kernels
	 * before 5.9, as it is with glibc's) */
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, first, last, flags);
#else
	(void)first, (void)last, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

static void fallback_closefrom(int lowfd)
{
	long max;

	/* close_range, or one close at a time where the kernel lacks it */
	if (lowfd < 0)
		lowfd = 0;
	if (libc_fn.close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > INT_MAX)
		max = 1 << 20; /* Linux's default ceiling, fs.nr_open */
	for (long fd = lowfd; fd < max; fd++)
		libc_fn.close((int)fd);
}

/* The bindings, from the one list (interposed.h). */
static void bind_all(void)
{
#define BIND(name) libc_fn.name = bind_required(#name);
#define BIND_NEWER(name)                                                       \
	libc_fn.name = dlsym(RTLD_NEXT, #name);                                \
	if (!libc_fn.name)                                                     \
		libc_fn.name = fallback_##name;
#define UNBOUND(name)
	SHIM_INTERPOSED(BIND, BIND_NEWER, UNBOUND)
	lockfd_sys_open = libc_fn.open;
	lockfd_sys_close = libc_fn.close;
#undef BIND
#undef BIND_NEWER
#undef UNBOUND
}

void libc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	/* dlsym is not async-signal-safe: the first binding happens here,
	 * from the constructor or the first interposed call, never later. */
	pthread_once(&once, bind_all);
}

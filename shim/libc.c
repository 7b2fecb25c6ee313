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

#include "shim.h"

/* Kernel headers newer than glibc's list of names (Debian 11: 5.10 and
 * 2.31) have the number without glibc's SYS_ name. */
#if !defined(SYS_close_range) && defined(__NR_close_range)
#define SYS_close_range __NR_close_range
#endif

static struct {
	int (*open)(const char *, int, ...);
	int (*close)(int);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	void (*_exit)(int);
	void (*_Exit)(int);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	pid_t (*fork)(void);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*creat)(const char *, mode_t);
	int (*creat64)(const char *, mode_t);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	FILE *(*freopen)(const char *, const char *, FILE *);
	FILE *(*freopen64)(const char *, const char *, FILE *);
	int (*fclose)(FILE *);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	pid_t (*setsid)(void);
} real;

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

/* A function newer than some glibc the shim supports (closefrom,
 * close_range and execveat came in 2.34): NULL when this libc lacks it,
 * and its trampoline below does what that glibc function would do. */
static void *bind_optional(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* The one list of bindings: each is required or optional here. */
static void bind_all(void)
{
	real.open = bind_required("open");
	real.close = bind_required("close");
	real.sigaction = bind_required("sigaction");
	real._exit = bind_required("_exit");
	real._Exit = bind_required("_Exit");
	real.execve = bind_required("execve");
	real.execv = bind_required("execv");
	real.execvp = bind_required("execvp");
	real.execvpe = bind_required("execvpe");
	real.fexecve = bind_required("fexecve");
	real.execveat = bind_optional("execveat");
	real.fork = bind_required("fork");
	real.open64 = bind_required("open64");
	real.openat = bind_required("openat");
	real.openat64 = bind_required("openat64");
	real.creat = bind_required("creat");
	real.creat64 = bind_required("creat64");
	real.open_2 = bind_required("__open_2");
	real.open64_2 = bind_required("__open64_2");
	real.openat_2 = bind_required("__openat_2");
	real.openat64_2 = bind_required("__openat64_2");
	real.fopen = bind_required("fopen");
	real.fopen64 = bind_required("fopen64");
	real.freopen = bind_required("freopen");
	real.freopen64 = bind_required("freopen64");
	real.fclose = bind_required("fclose");
	real.dup = bind_required("dup");
	real.dup2 = bind_required("dup2");
	real.dup3 = bind_required("dup3");
	real.fcntl = bind_required("fcntl");
	real.close_range = bind_optional("close_range");
	real.closefrom = bind_optional("closefrom");
	real.setsid = bind_required("setsid");
}

void libc_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	/* dlsym is not async-signal-safe: the first binding happens here,
	 * from the constructor or the first interposed call, never later. */
	pthread_once(&once, bind_all);
}

int libc_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	libc_init();
	return real.open(path, flags, mode);
}

int libc_close(int fd)
{
	libc_init();
	return real.close(fd);
}

int libc_sigaction(int signo, const struct sigaction *act,
		   struct sigaction *oldact)
{
	libc_init();
	return real.sigaction(signo, act, oldact);
}

void libc__exit(int status)
{
	libc_init();
	real._exit(status);
	__builtin_unreachable();
}

void libc__Exit(int status)
{
	libc_init();
	real._Exit(status);
	__builtin_unreachable();
}

int libc_execve(const char *path, char *const argv[], char *const envp[])
{
	libc_init();
	return real.execve(path, argv, envp);
}

int libc_execv(const char *path, char *const argv[])
{
	libc_init();
	return real.execv(path, argv);
}

int libc_execvp(const char *file, char *const argv[])
{
	libc_init();
	return real.execvp(file, argv);
}

int libc_execvpe(const char *file, char *const argv[], char *const envp[])
{
	libc_init();
	return real.execvpe(file, argv, envp);
}

int libc_fexecve(int fd, char *const argv[], char *const envp[])
{
	libc_init();
	return real.fexecve(fd, argv, envp);
}

int libc_execveat(int dirfd, const char *path, char *const argv[],
		  char *const envp[], int flags)
{
	libc_init();
	if (real.execveat)
		return real.execveat(dirfd, path, argv, envp, flags);
	/* glibc's execveat is the system call itself */
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

pid_t libc_fork(void)
{
	libc_init();
	return real.fork();
}

int libc_open64(const char *path, int flags, mode_t mode)
{
	libc_init();
	return real.open64(path, flags, mode);
}

int libc_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	libc_init();
	return real.openat(dirfd, path, flags, mode);
}

int libc_openat64(int dirfd, const char *path, int flags, mode_t mode)
{
	libc_init();
	return real.openat64(dirfd, path, flags, mode);
}

int libc_creat(const char *path, mode_t mode)
{
	libc_init();
	return real.creat(path, mode);
}

int libc_creat64(const char *path, mode_t mode)
{
	libc_init();
	return real.creat64(path, mode);
}

int libc___open_2(const char *path, int flags)
{
	libc_init();
	return real.open_2(path, flags);
}

int libc___open64_2(const char *path, int flags)
{
	libc_init();
	return real.open64_2(path, flags);
}

int libc___openat_2(int dirfd, const char *path, int flags)
{
	libc_init();
	return real.openat_2(dirfd, path, flags);
}

int libc___openat64_2(int dirfd, const char *path, int flags)
{
	libc_init();
	return real.openat64_2(dirfd, path, flags);
}

FILE *libc_fopen(const char *path, const char *mode)
{
	libc_init();
	return real.fopen(path, mode);
}

FILE *libc_fopen64(const char *path, const char *mode)
{
	libc_init();
	return real.fopen64(path, mode);
}

FILE *libc_freopen(const char *path, const char *mode, FILE *stream)
{
	libc_init();
	return real.freopen(path, mode, stream);
}

FILE *libc_freopen64(const char *path, const char *mode, FILE *stream)
{
	libc_init();
	return real.freopen64(path, mode, stream);
}

int libc_fclose(FILE *stream)
{
	libc_init();
	return real.fclose(stream);
}

int libc_dup(int fd)
{
	libc_init();
	return real.dup(fd);
}

int libc_dup2(int fd, int newfd)
{
	libc_init();
	return real.dup2(fd, newfd);
}

int libc_dup3(int fd, int newfd, int flags)
{
	libc_init();
	return real.dup3(fd, newfd, flags);
}

int libc_fcntl(int fd, int cmd, void *arg)
{
	libc_init();
	return real.fcntl(fd, cmd, arg);
}

int libc_close_range(unsigned first, unsigned last, int flags)
{
	libc_init();
	if (real.close_range)
		return real.close_range(first, last, flags);
	/* glibc's close_range is the system call itself (ENOSYS on kernels
	 * before 5.9, as it is with glibc's) */
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, first, last, flags);
#else
	errno = ENOSYS;
	return -1;
#endif
}

void libc_closefrom(int lowfd)
{
	long max;

	libc_init();
	if (real.closefrom) {
		real.closefrom(lowfd);
		return;
	}
	/* what glibc's closefrom does: close_range, or one close at a time
	 * where the kernel lacks it */
	if (lowfd < 0)
		lowfd = 0;
	if (libc_close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > INT_MAX)
		max = 1 << 20; /* Linux's default ceiling, fs.nr_open */
	for (long fd = lowfd; fd < max; fd++)
		real.close((int)fd);
}

pid_t libc_setsid(void)
{
	libc_init();
	return real.setsid();
}

/* SPDX-License-Identifier: MIT */
/*
 * The third layer of every interposed call: the real libc function, bound
 * once with dlsym(RTLD_NEXT). The shim's own code (and the core linked into
 * it) calls these, never the exported names, so it never re-enters itself.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

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
} real;

static void *bind(const char *name)
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

static void bind_all(void)
{
	real.open = bind("open");
	real.close = bind("close");
	real.sigaction = bind("sigaction");
	real._exit = bind("_exit");
	real._Exit = bind("_Exit");
	real.execve = bind("execve");
	real.execv = bind("execv");
	real.execvp = bind("execvp");
	real.execvpe = bind("execvpe");
	real.fexecve = bind("fexecve");
	real.execveat = bind("execveat");
	real.fork = bind("fork");
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
	return real.execveat(dirfd, path, argv, envp, flags);
}

pid_t libc_fork(void)
{
	libc_init();
	return real.fork();
}

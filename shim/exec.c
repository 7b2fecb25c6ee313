/* SPDX-License-Identifier: MIT */
/*
 * exec by the owner: the PID file's lock must survive into the new image
 * with no moment in which a second instance could take it. Its descriptor
 * is close-on-exec everywhere else (children must not keep the lock); for
 * the owner's own exec the flag is lifted and put back if exec fails.
 * glibc's exec*() call execve inside libc, so each one is wrapped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

/* Run EXEC with the PID file kept open across it. */
#define KEEPING_PIDFILE(call)                                                  \
	do {                                                                   \
		bool kept;                                                     \
		int ret, saved;                                                \
                                                                               \
		shim_ready();                                                  \
		kept = pidfile_keep_across_exec();                             \
		ret = (call);                                                  \
		saved = errno;                                                 \
		if (kept)                                                      \
			pidfile_exec_failed();                                 \
		errno = saved;                                                 \
		return ret;                                                    \
	} while (0)

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	KEEPING_PIDFILE(libc_execve(path, argv, envp));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	KEEPING_PIDFILE(libc_execv(path, argv));
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	KEEPING_PIDFILE(libc_execvp(file, argv));
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	KEEPING_PIDFILE(libc_execvpe(file, argv, envp));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	KEEPING_PIDFILE(libc_fexecve(fd, argv, envp));
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	KEEPING_PIDFILE(libc_execveat(dirfd, path, argv, envp, flags));
}

/* execl and friends: gather the list into an argv (and, for execle, the
 * environment after the terminating NULL). */
static char **collect_args(const char *arg0, va_list ap, char ***envp)
{
	va_list count;
	size_t n = 1;
	char **argv;

	va_copy(count, ap);
	while (va_arg(count, char *))
		n++;
	va_end(count);
	argv = malloc((n + 1) * sizeof(char *));
	if (!argv)
		return NULL;
	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *);
	if (envp)
		*envp = va_arg(ap, char **);
	return argv;
}

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	char **argv;
	int ret, saved;

	va_start(ap, arg);
	argv = collect_args(arg, ap, NULL);
	va_end(ap);
	if (!argv)
		return -1;
	ret = execve(path, argv, environ);
	saved = errno;
	free(argv);
	errno = saved;
	return ret;
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	char **argv;
	int ret, saved;

	va_start(ap, arg);
	argv = collect_args(arg, ap, NULL);
	va_end(ap);
	if (!argv)
		return -1;
	ret = execvp(file, argv);
	saved = errno;
	free(argv);
	errno = saved;
	return ret;
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char **argv, **envp;
	int ret, saved;

	va_start(ap, arg);
	argv = collect_args(arg, ap, &envp);
	va_end(ap);
	if (!argv)
		return -1;
	ret = execve(path, argv, envp);
	saved = errno;
	free(argv);
	errno = saved;
	return ret;
}

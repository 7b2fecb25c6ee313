/* SPDX-License-Identifier: MIT */
/*
 * exec by the owner: the PID file's lock must survive into the new image
 * with no moment in which a second instance could take it. Its descriptor
 * is close-on-exec everywhere else (children must not keep the lock); for
 * the owner's own exec the flag is lifted and put back if exec fails.
 * glibc's exec*() call execve inside libc, so each one is wrapped.
 */
#include <errno.h>
#include <alloca.h>
#include <stdarg.h>
#include <unistd.h>

#include "guard.h"
#include "shim.h"

extern char **environ;

/* Run CALL, an exec, with the PID file's lock (the owner's) and the locks
 * of guarded descriptors that survive it kept open across it. */
#define KEEPING_LOCKS(call)                                                    \
	do {                                                                   \
		bool kept;                                                     \
		int ret, saved;                                                \
                                                                               \
		shim_ready();                                                  \
		kept = pidfile_keep_across_exec();                             \
		if (guards_active())                                           \
			guard_keep_across_exec();                              \
		ret = (call);                                                  \
		saved = errno;                                                 \
		if (kept)                                                      \
			pidfile_exec_failed();                                 \
		if (guards_active())                                           \
			guard_exec_failed();                                   \
		errno = saved;                                                 \
		return ret;                                                    \
	} while (0)

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	KEEPING_LOCKS(libc(execve)(path, argv, envp));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
	KEEPING_LOCKS(libc(execv)(path, argv));
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
	KEEPING_LOCKS(libc(execvp)(file, argv));
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	KEEPING_LOCKS(libc(execvpe)(file, argv, envp));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	KEEPING_LOCKS(libc(fexecve)(fd, argv, envp));
}

SHIM_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
			 char *const envp[], int flags)
{
	KEEPING_LOCKS(libc(execveat)(dirfd, path, argv, envp, flags));
}

/* execl and friends: gather the list into an argv on the stack, as glibc
 * does (they are async-signal-safe: no malloc), and for execle the
 * environment after the terminating NULL; then exec from this frame,
 * which holds the argv. */
enum list_exec { LIST_EXECV, LIST_EXECVP, LIST_EXECVE };

static int exec_list(enum list_exec how, const char *path, const char *arg0,
		     va_list ap)
{
	va_list args;
	size_t slots = 2; /* arg0 and the terminating NULL */
	char **argv, **envp = environ;

	va_copy(args, ap);
	while (va_arg(args, char *))
		slots++;
	va_end(args);
	/* alloca, not a VLA: gcc's -fsanitize builds misread the VLA */
	/* cppcheck-suppress allocaCalled */
	argv = alloca(slots * sizeof(char *));
	argv[0] = (char *)arg0;
	va_copy(args, ap);
	for (size_t i = 1; i < slots; i++)
		argv[i] = va_arg(args, char *);
	if (how == LIST_EXECVE)
		envp = va_arg(args, char **);
	va_end(args);
	return how == LIST_EXECVP ? execvp(path, argv)
				  : execve(path, argv, envp);
}

/* The body of an execl-style wrapper: ARG starts its list. */
#define EXEC_LIST(how, path, arg)                                              \
	do {                                                                   \
		va_list ap;                                                    \
		int ret;                                                       \
                                                                               \
		va_start(ap, arg);                                             \
		ret = exec_list((how), (path), (arg), ap);                     \
		va_end(ap);                                                    \
		return ret;                                                    \
	} while (0)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXEC_LIST(LIST_EXECV, path, arg);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXEC_LIST(LIST_EXECVP, file, arg);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
	EXEC_LIST(LIST_EXECVE, path, arg);
}

/* SPDX-License-Identifier: MIT */
/*
 * The libc functions the shim interposes: the one list. Every entry is
 * exported by the shim, and says how libc's own is reached:
 *
 *   REAL(name)        bound at start (libc.c); every glibc the shim
 *                     supports has it, and the shim stops, naming it,
 *                     where one does not
 *   REAL_NEWER(name)  bound where libc has it; newer than some glibc the
 *                     shim supports (2.34 added these), so libc.c's
 *                     fallback_<name> stands in where it lacks it
 *   OWN(name)         not bound: the shim's wrapper is built on other
 *                     functions (signal on sigaction, execl on execve)
 *
 * Adding an interposed function is one entry here and its wrapper, marked
 * SHIM_EXPORT. The version script (libpidshim.sym.in) is made from this
 * list, and tests/test-shim-structure.sh checks that the shim exports exactly
 * these names and marks exactly these wrappers.
 */
#ifndef PIDSHIM_INTERPOSED_H
#define PIDSHIM_INTERPOSED_H

/* One group a line: clang-format would run them together. */
/* clang-format off */
#define SHIM_INTERPOSED(REAL, REAL_NEWER, OWN)                                 \
	/* opens (open.c) */                                                   \
	REAL(open) REAL(open64) REAL(openat) REAL(openat64)                    \
	REAL(creat) REAL(creat64)                                              \
	REAL(__open_2) REAL(__open64_2) REAL(__openat_2) REAL(__openat64_2)    \
	REAL(fopen) REAL(fopen64) REAL(freopen) REAL(freopen64)                \
	/* closes and copies (close.c) */                                      \
	REAL(close) REAL(fclose) REAL(dup) REAL(dup2) REAL(dup3)               \
	REAL(fcntl) OWN(fcntl64)                                               \
	REAL_NEWER(close_range) REAL_NEWER(closefrom)                          \
	/* exec (exec.c) */                                                    \
	REAL(execve) REAL(execv) REAL(execvp) REAL(execvpe) REAL(fexecve)      \
	REAL_NEWER(execveat) OWN(execl) OWN(execlp) OWN(execle)                \
	/* the process's life (lifecycle.c) */                                 \
	REAL(fork) REAL(_exit) REAL(_Exit) REAL(setsid) OWN(daemon)            \
	/* signal installers (signal.c) */                                     \
	REAL(sigaction) OWN(__sigaction) OWN(signal) OWN(bsd_signal)           \
	OWN(sysv_signal) OWN(__sysv_signal) OWN(sigset) OWN(sigignore)         \
	OWN(siginterrupt)
/* clang-format on */

#endif

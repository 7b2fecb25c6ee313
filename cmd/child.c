/* SPDX-License-Identifier: MIT */
/*
 * A command run as our child (pidshim lock, and run when it supervises):
 * the signals that ask us to end are passed on to it, and its status is
 * given back as a shell gives it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"

/* What a service manager or a user sends a program: ended, reloaded,
 * told to rotate logs, a window resized. */
static const int forwarded[] = { SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
				 SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH };
#define FORWARDED_COUNT (sizeof(forwarded) / sizeof(forwarded[0]))

static volatile pid_t tracked;
/* The command leads its own group: what we pass on goes to all of it, as
 * a terminal's signals go to a job. */
static volatile bool tracked_group;
/* The command's group was given the terminal: child_wait takes it back. */
static volatile bool terminal_handed;
/* The dispositions we started with, which the command gets back. */
static struct sigaction inherited[FORWARDED_COUNT];

static void forward(int sig, siginfo_t *info, void *context)
{
	int saved = errno;

	(void)context;
	/* The terminal's own signals (^C, a resize, a hang-up) reach the
	 * command's process group from the kernel already; passing them on
	 * would deliver them twice. Not when the command leads a group of
	 * its own that the terminal was not given (stdin not the terminal):
	 * then they reached only us. */
	if (tracked > 0 &&
	    (info->si_code != SI_KERNEL || (tracked_group && !terminal_handed)))
		kill(tracked_group ? -tracked : tracked, sig);
	errno = saved;
}

static void forwarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < FORWARDED_COUNT; i++)
		sigaddset(set, forwarded[i]);
}

/* The child: everything as we found it, then COMMAND. */
static __attribute__((noreturn)) void
exec_command(const char *sub, const char *file, char **command,
	     const sigset_t *mask, bool own_group)
{
	if (own_group) {
		setpgid(0, 0);
		/* the terminal's foreground is the command's, as a shell
		 * gives it to a job (SIGTTOU is among the blocked) */
		if (terminal_handed)
			tcsetpgrp(STDIN_FILENO, getpid());
	}
	for (size_t i = 0; i < FORWARDED_COUNT; i++)
		sigaction(forwarded[i], &inherited[i], NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (file)
		execv(file, command);
	else
		execvp(command[0], command);
	cmd_say(sub, "%s: %s", command[0], strerror(errno));
	_exit(errno == ENOENT ? CMD_EXIT_NOTFOUND : CMD_EXIT_NOEXEC);
}

pid_t child_start(const char *sub, const char *file, char **command,
		  bool own_group)
{
	struct sigaction sa = { .sa_sigaction = forward,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	sigset_t block, old;
	pid_t pid;

	/* blocked until the child is tracked, so no signal is lost between
	 * fork and the assignment */
	forwarded_set(&block);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &old);
	terminal_handed = own_group && isatty(STDIN_FILENO) &&
			  tcgetpgrp(STDIN_FILENO) == getpgrp();
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < FORWARDED_COUNT; i++) {
		sigaction(forwarded[i], NULL, &inherited[i]);
		/* An ignore we inherited (nohup, a background job's SIGINT)
		 * is the command's too: nothing to pass on. */
		if (inherited[i].sa_handler != SIG_IGN)
			sigaction(forwarded[i], &sa, NULL);
	}
	pid = fork();
	if (pid == 0)
		exec_command(sub, file, command, &old, own_group);
	if (pid > 0 && own_group)
		setpgid(pid, pid); /* as the child does: either may be first */
	if (pid < 0)
		cmd_say(sub, "cannot start %s: %s", command[0],
			strerror(errno));
	else
		tracked = pid;
	tracked_group = pid > 0 && own_group;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid;
}

void child_track(pid_t pid)
{
	tracked = pid;
}

void child_take_terminal(void)
{
	sigset_t ttou, old;

	if (!terminal_handed)
		return;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(STDIN_FILENO, getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
	terminal_handed = false;
}

int child_status(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}

int child_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CMD_EXIT_NOEXEC;
	child_take_terminal();
	return child_status(status);
}

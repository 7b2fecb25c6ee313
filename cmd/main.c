/* SPDX-License-Identifier: MIT */
/*
 * pidshim: PID files and lock files from the shell (pidshim(1)).
 * This file only picks the subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char usage[] =
    "Usage: pidshim SUBCOMMAND [OPTIONS] ARGS\n"
    "\n"
    "  run [OPTIONS] [--] COMMAND [ARG...]\n"
    "                               run COMMAND under the shim (a PID "
    "file,\n"
    "                               single instance, guards)\n"
    "  status [-v] PIDFILE          is the PID file's holder running?\n"
    "                               0 running (prints the PID), 1 stale "
    "file,\n"
    "                               3 not running, 4 unknown\n"
    "  wait [-t SECONDS] PIDFILE    wait until the holder is gone\n"
    "  stop [-s SIGNAL] [-t SECONDS] [--then SIGNAL] PIDFILE\n"
    "                               signal the holder, wait until it is "
    "gone\n"
    "  lock [-n | -w SECONDS] [-s] [-E CODE] LOCKFILE [--] COMMAND "
    "[ARG...]\n"
    "                               run COMMAND holding LOCKFILE\n"
    "\n"
    "  pidshim SUBCOMMAND --help    the subcommand's options\n"
    "  pidshim --version\n"
    "\n"
    "A PID is trusted only while its file is locked (flock). Usage errors "
    "exit 64.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "status", cmd_status }, { "wait", cmd_wait }, { "stop", cmd_stop },
	{ "lock", cmd_lock },	  { "run", cmd_run },
};

char **cmd_argv;

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	cmd_argv = argv;
	if (!sub)
		cmd_usage_error(NULL,
				"missing SUBCOMMAND: run, status, wait, stop "
				"or lock (see --help)");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(sub, "--version") == 0) {
		printf("pidshim %s\n", PIDSHIM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		if (strcmp(sub, subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	cmd_usage_error(
	    NULL,
	    "%s: unknown subcommand: expected run, status, wait, stop "
	    "or lock (see --help)",
	    sub);
}

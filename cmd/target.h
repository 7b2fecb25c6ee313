/* SPDX-License-Identifier: MIT */
/* What pidshim run executes, and whether the shim can enter it. */
#ifndef PIDSHIM_TARGET_H
#define PIDSHIM_TARGET_H

#include <limits.h>
#include <stdbool.h>

struct target {
	char path[PATH_MAX];   /* the file executed (COMMAND found in PATH) */
	char loader[PATH_MAX]; /* the loader it names, if any */
	bool preloadable;      /* the shim can enter it */
	char why[PATH_MAX + 128]; /* why, or why not, for -v and refusals */
};

/* Find COMMAND as execvp would and look at it (through #! lines to the
 * interpreter). 0; or, said, 127 not found, 126 not executable. */
int target_find(const char *sub, const char *command, struct target *t);

#endif

/* SPDX-License-Identifier: MIT */
/* pidshim run for a program the shim cannot enter. */
#ifndef PIDSHIM_SUPERVISE_H
#define PIDSHIM_SUPERVISE_H

#include <stdbool.h>

#include "target.h"

/* Run COMMAND (T) as our child holding the PID file the shim's variables
 * in our environment name (already checked): its exit status as a shell
 * gives it, or ours (75 busy, 73 the PID file cannot be made). */
int supervise(const struct target *t, char **command, bool verbose, bool quiet);

#endif

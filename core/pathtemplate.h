/* SPDX-License-Identifier: MIT */
/* Path templates (pidlock_path_expand) for internal callers. */
#ifndef PIDLOCK_PATHTEMPLATE_H
#define PIDLOCK_PATHTEMPLATE_H

#include <stddef.h>

#include "lockfd.h"

/* pidlock_path_expand with NAME as %n: a supervisor names the PID file
 * after the program it runs, not after itself. */
PIDLOCK_HIDDEN int path_expand_as(const char *path_template, const char *name,
				  char *buf, size_t size);

#endif

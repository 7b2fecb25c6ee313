/* SPDX-License-Identifier: MIT */
/* A time in seconds as users write it, read strictly: shared by the
 * shim's PIDSHIM_*_WAIT variables and the pidshim command's options. */
#ifndef PIDLOCK_SECONDS_H
#define PIDLOCK_SECONDS_H

#include "lockfd.h"

/* "N" or "N.F" seconds in plain decimal digits, rounded to milliseconds;
 * -1 when invalid or longer than an int of milliseconds holds. */
PIDLOCK_HIDDEN int seconds_parse_ms(const char *s);

#endif

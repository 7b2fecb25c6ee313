/* SPDX-License-Identifier: MIT */
/* libpidlock's open and close for the locking algorithm: libc's. The shim
 * defines these two itself (see lockfd.h), so this file is not linked
 * into it. */
#include <fcntl.h>
#include <unistd.h>

#include "lockfd.h"

lockfd_open_fn lockfd_sys_open = open;
lockfd_close_fn lockfd_sys_close = close;

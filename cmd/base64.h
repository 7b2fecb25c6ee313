/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, with padding): etcd's JSON gateway carries keys and
 * values so. */
#ifndef PIDSHIM_BASE64_H
#define PIDSHIM_BASE64_H

#include <stddef.h>

/* LEN bytes of DATA encoded, NUL-ended, malloc'd; NULL without memory. */
char *base64_encode(const void *data, size_t len);
/* TEXT decoded, NUL-ended (LEN without the NUL), malloc'd; NULL when TEXT
 * is not base64 or without memory. */
char *base64_decode(const char *text, size_t *len);

#endif

/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648), for etcd's JSON gateway (cmd/etcd.c). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int sextet(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

char *base64_decode(const char *text, size_t *len)
{
	size_t n = strlen(text), o = 0;
	char *out;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 4) {
		int a = sextet(text[i]), b = sextet(text[i + 1]);
		int c = text[i + 2] == '=' ? 0 : sextet(text[i + 2]);
		int d = text[i + 3] == '=' ? 0 : sextet(text[i + 3]);
		bool last = i + 4 == n;

		/* '=' only at the end, and "x=y=" is not a form */
		if (a < 0 || b < 0 || c < 0 || d < 0 ||
		    ((text[i + 2] == '=' || text[i + 3] == '=') && !last) ||
		    (text[i + 2] == '=' && text[i + 3] != '=')) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(a << 2 | b >> 4);
		if (text[i + 2] != '=')
			out[o++] = (char)((b & 15) << 4 | c >> 2);
		if (text[i + 3] != '=')
			out[o++] = (char)((c & 3) << 6 | d);
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

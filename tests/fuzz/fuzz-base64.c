/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: base64 as the cluster client reads etcd's answers
 * (cmd/base64.c; keys and values any client of the cluster may write).
 * Any text decodes or is refused without reading or writing out of
 * bounds; any bytes encoded decode back to themselves.
 *
 * Input: the bytes, encoded and decoded back, and the same bytes as text,
 * decoded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *encoded = base64_encode(data, size), *decoded, *text;
	size_t len = 0;

	if (!encoded)
		return 0;
	decoded = base64_decode(encoded, &len);
	if (!decoded || len != size || memcmp(decoded, data, size) != 0)
		abort();
	free(decoded);
	free(encoded);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	decoded = base64_decode(text, &len);
	if (decoded && len > size)
		abort();
	free(decoded);
	free(text);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the PID-file path template (pidlock(3), "PID files":
 * %p pid, %n program name, %u uid, %h hostname, %%). path_expand_as must
 * give what the template says, or -ENAMETOOLONG when that does not fit in
 * the buffer, or -EINVAL for an unknown or unfinished %, and never write
 * past the buffer it is given.
 *
 * Input: two bytes of buffer size, the template, a NUL, the name.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathtemplate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The expansion written out independently, into OUT (large enough for any
 * input): its length, or -EINVAL. Overflow is the caller's to judge. */
static long expected(const char *template, const char *name, char *out)
{
	char host[HOST_NAME_MAX + 1] = "";
	size_t len = 0;

	gethostname(host, sizeof(host));
	host[HOST_NAME_MAX] = '\0';
	for (const char *t = template; *t; t++) {
		if (*t != '%') {
			out[len++] = *t;
			continue;
		}
		switch (*++t) {
		case 'p':
			len += (size_t)sprintf(out + len, "%d", (int)getpid());
			break;
		case 'u':
			len += (size_t)sprintf(out + len, "%u",
					       (unsigned)getuid());
			break;
		case 'n':
			len += (size_t)sprintf(out + len, "%s", name);
			break;
		case 'h':
			len += (size_t)sprintf(out + len, "%s", host);
			break;
		case '%':
			out[len++] = '%';
			break;
		default:
			return -EINVAL;
		}
	}
	out[len] = '\0';
	return (long)len;
}

/* Where, in the template, the expansion first reaches SIZE bytes: the
 * implementation stops there with -ENAMETOOLONG before it sees a bad %
 * further on. True when it does. */
static bool overflows_before_error(const char *template, const char *name,
				   size_t size, char *scratch)
{
	char *prefix = strdup(template);
	bool over = false;

	if (!prefix)
		abort();
	for (size_t cut = 1; cut <= strlen(template) && !over; cut++) {
		long n;

		memcpy(prefix, template, cut);
		prefix[cut] = '\0';
		n = expected(prefix, name, scratch);
		if (n == -EINVAL && template[cut - 1] == '%')
			continue; /* a % cut from its letter */
		if (n == -EINVAL)
			break;
		over = (size_t)n >= size;
	}
	free(prefix);
	return over;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *template, *name, *nul;
	size_t bufsize, scratch_size;
	char *input, *buf, *want;
	long want_len;
	int got;

	if (size < 2)
		return 0;
	bufsize = (((size_t)data[0] << 8) | data[1]) % (PATH_MAX + 1);
	input = malloc(size - 2 + 2);
	if (!input)
		abort();
	memcpy(input, data + 2, size - 2);
	input[size - 2] = '\0';
	input[size - 1] = '\0';
	template = input;
	nul = memchr(input, '\0', size - 2);
	name = nul ? nul + 1 : input + size - 1;
	/* every field at most as long as the name or a hostname */
	scratch_size =
	    strlen(template) * (strlen(name) + HOST_NAME_MAX + 32) + 1;
	want = malloc(scratch_size);
	/* exactly BUFSIZE bytes: one more written is ASan's to see */
	buf = malloc(bufsize ? bufsize : 1);
	if (!want || !buf)
		abort();

	got = path_expand_as(template, name, bufsize ? buf : NULL, bufsize);
	want_len = *template ? expected(template, name, want) : -EINVAL;
	if (bufsize == 0 || !*template) {
		if (got != -EINVAL)
			abort();
	} else if (overflows_before_error(template, name, bufsize, want)) {
		if (got != -ENAMETOOLONG)
			abort();
	} else if (want_len < 0) {
		if (got != want_len)
			abort();
	} else {
		want_len = expected(template, name, want);
		if (got != want_len || strcmp(buf, want) != 0)
			abort();
	}
	free(buf);
	free(want);
	free(input);
	return 0;
}

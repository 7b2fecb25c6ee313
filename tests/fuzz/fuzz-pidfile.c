/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the PID-file reader (pidlock(3), "How a lock is
 * taken", step 7). lockfd_parse_pid must accept exactly blanks, one to ten
 * decimal digits naming a PID in range and an optional newline, and
 * lockfd_read_pid must read a file's first bytes as that parse does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lockfd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the PID-file format accepts, written out independently: 0 for
 * no bytes at all, -EINVAL for anything else that is not a PID line. */
static long expected_pid(const char *buf, size_t len)
{
	size_t i = 0, first;
	long value = 0;

	if (len == 0)
		return 0;
	while (i < len && buf[i] == ' ')
		i++;
	first = i;
	while (i < len && buf[i] >= '0' && buf[i] <= '9' && i - first < 11)
		value = value * 10 + (buf[i++] - '0');
	if (i == first || i - first > 10 || value <= 0 || value > 0x7fffffff)
		return -EINVAL;
	if (i < len && buf[i] == '\n')
		i++;
	return i == len ? value : -EINVAL;
}

/* The file reader over a memfd holding DATA: what a holder wrote. */
static void check_read_pid(const uint8_t *data, size_t size)
{
	static int fd = -1;
	long want;
	pid_t got;

	if (fd < 0)
		fd = memfd_create("fuzz-pidfile", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (ftruncate(fd, 0) < 0 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	/* the reader looks at a few bytes only (PID_TEXT_MAX, 32): a file
	 * longer than that is no PID line, even when its first bytes are */
	want = size > 32 ? 0 : expected_pid((const char *)data, size);
	got = lockfd_read_pid(fd, false);
	if (got != (want > 0 ? want : 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact copy, so that a read past SIZE is ASan's to see */
	char *buf = malloc(size ? size : 1);
	long want;
	int got;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	got = lockfd_parse_pid(buf, size);
	want = expected_pid(buf, size);
	if (got != want)
		abort();
	free(buf);
	check_read_pid(data, size);
	return 0;
}

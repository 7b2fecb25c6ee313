/* SPDX-License-Identifier: MIT */
/*
 * Messages: "pidshim[PID]: ...", at the level PIDSHIM_LOG asks, to
 * PIDSHIM_LOG_FILE or to stderr — but never to an fd 2 that is no longer
 * the stderr the process started with (daemons reuse fd 2 for their own
 * files and sockets).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

static struct {
	bool known; /* identity of fd 2 recorded */
	bool open;  /* fd 2 was open at start */
	dev_t dev;
	ino_t ino;
	int file_fd; /* PIDSHIM_LOG_FILE, or -1 */
} sink = { .file_fd = -1 };

void log_init(void)
{
	struct stat st;

	sink.known = true;
	sink.open = fstat(2, &st) == 0;
	if (sink.open) {
		sink.dev = st.st_dev;
		sink.ino = st.st_ino;
	}
	if (shim_config.log_file[0]) {
		sink.file_fd = libc_open(shim_config.log_file,
					 O_WRONLY | O_APPEND | O_CREAT |
						 O_CLOEXEC | O_NOCTTY,
					 0644);
		private_fd_adopt(&sink.file_fd);
		if (sink.file_fd < 0)
			log_warn("PIDSHIM_LOG_FILE=%s: cannot open: %s; "
				 "logging to stderr",
				 shim_config.log_file, strerror(errno));
	}
}

static bool stderr_is_original(void)
{
	struct stat st;

	if (!sink.known)
		return true;
	return sink.open && fstat(2, &st) == 0 && st.st_dev == sink.dev &&
	       st.st_ino == sink.ino;
}

static __attribute__((format(printf, 1, 0))) void emit(const char *fmt,
						      va_list ap)
{
	char buf[1024];
	int saved = errno;
	int len = snprintf(buf, sizeof(buf), "pidshim[%d]: ", getpid());
	int fd;

	len += vsnprintf(buf + len, sizeof(buf) - (size_t)len - 1, fmt, ap);
	if (len > (int)sizeof(buf) - 2)
		len = (int)sizeof(buf) - 2;
	buf[len++] = '\n';
	fd = sink.file_fd >= 0 ? sink.file_fd : stderr_is_original() ? 2 : -1;
	if (fd >= 0 && write(fd, buf, (size_t)len) < 0) {
		/* nowhere else to say it */
	}
	errno = saved;
}

void shim_log(enum shim_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > shim_config.log_level || shim_config.log_level == LOG_QUIET)
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void shim_die(int status, const char *fmt, ...)
{
	if (shim_config.log_level != LOG_QUIET) {
		va_list ap;

		va_start(ap, fmt);
		emit(fmt, ap);
		va_end(ap);
	}
	libc__exit(status);
}

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
	enum shim_log_level level;
} sink = { .file_fd = -1, .level = SHIM_LOG_WARN };

/* Why the file at PATH, opened as FD, is not one to append to, or NULL.
 * The log is opened like our own files: the shim often runs as root, and
 * another user's symlink in /tmp must not make it append to a file of
 * root's, nor a FIFO hang the program before main. */
static const char *unsafe_log_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return "cannot be examined";
	if (S_ISDIR(st.st_mode))
		return "is a directory";
	if (!S_ISREG(st.st_mode))
		return "is not a regular file (a FIFO, device or socket)";
	if (st.st_nlink > 1)
		return "is hard-linked";
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return "belongs to another user";
	return NULL;
}

static __attribute__((noreturn)) void refuse_log_file(const char *path,
						      const char *why)
{
	shim_die(SHIM_EXIT_CONFIG,
		 "PIDSHIM_LOG_FILE=%s: refused: %s; expected a regular file of "
		 "ours (no symlink, FIFO or directory)",
		 path, why);
}

static void open_log_file(const char *path)
{
	const char *why;
	int fd = libc(open)(path,
			    O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
				O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
			    0644);

	if (fd < 0 && (errno == ELOOP || errno == EISDIR || errno == ENXIO))
		refuse_log_file(path, errno == ELOOP ? "is a symlink"
				      : errno == EISDIR
					  ? "is a directory"
					  : "is a FIFO with no reader");
	if (fd < 0) {
		log_warn("PIDSHIM_LOG_FILE=%s: cannot open: %s; logging to "
			 "stderr",
			 path, strerror(errno));
		return;
	}
	why = unsafe_log_file(fd);
	if (why) {
		libc(close)(fd);
		refuse_log_file(path, why);
	}
	sink.file_fd = fd;
	private_fd_adopt(&sink.file_fd);
}

void log_set_level(enum shim_log_level level)
{
	sink.level = level;
}

void log_start(const char *file)
{
	struct stat st;

	sink.known = true;
	sink.open = fstat(2, &st) == 0;
	if (sink.open) {
		sink.dev = st.st_dev;
		sink.ino = st.st_ino;
	}
	if (file)
		open_log_file(file);
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

bool log_enabled(enum shim_log_level level)
{
	return level <= sink.level && sink.level != SHIM_LOG_QUIET;
}

void shim_log(enum shim_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	emit(fmt, ap);
	va_end(ap);
}

void shim_die(int status, const char *fmt, ...)
{
	if (sink.level != SHIM_LOG_QUIET) {
		va_list ap;

		va_start(ap, fmt);
		emit(fmt, ap);
		va_end(ap);
	}
	libc(_exit)(status);
	__builtin_unreachable(); /* a pointer to it loses noreturn */
}

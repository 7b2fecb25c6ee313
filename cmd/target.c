/* SPDX-License-Identifier: MIT */
/*
 * What `pidshim run` is about to execute, and whether the shim can enter
 * it (pidshim(1), "Supervised programs"). The loader preloads nothing into
 * a program that changes credentials (it runs with AT_SECURE), has no
 * loader at all (static), makes its system calls without libc (Go), or is
 * built for another machine or word size than the shim.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cmd.h"
#include "target.h"

/* Linux follows at most this many #! lines (BINPRM_MAX_RECURSION). */
#define SCRIPT_DEPTH 4

static __attribute__((format(printf, 2, 3))) void say_why(struct target *t,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/* COMMAND as execvp would find it: the first executable regular file in
 * PATH (a command with a slash is itself). 0, or ENOENT / EACCES. */
static int find_in_path(const char *command, char *out, size_t size)
{
	const char *path = getenv("PATH");
	int err = ENOENT;

	if (strchr(command, '/')) {
		struct stat st;

		if ((size_t)snprintf(out, size, "%s", command) >= size)
			return ENAMETOOLONG;
		if (stat(out, &st) < 0)
			return errno;
		if (!S_ISREG(st.st_mode))
			return EACCES;
		return access(out, X_OK) == 0 ? 0 : errno;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *dir = path;; dir = strchr(dir, ':') + 1) {
		size_t len = strcspn(dir, ":");
		struct stat st;

		/* an empty entry is the current directory */
		if ((size_t)snprintf(out, size, "%.*s/%s", len ? (int)len : 1,
				     len ? dir : ".", command) < size &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			err = EACCES;
		}
		if (!dir[len])
			return err;
	}
}

/* Would executing the file at PATH change our credentials? Then the
 * kernel sets AT_SECURE and the loader ignores LD_PRELOAD for it. */
static bool changes_credentials(const char *path, const struct stat *st,
				struct target *t)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	struct statvfs fs;

	/* set-ID bits count for nothing there, or after no_new_privs */
	if ((statvfs(path, &fs) == 0 && (fs.f_flag & ST_NOSUID)) ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return false;
	if (st->st_mode & S_ISUID)
		euid = st->st_uid;
	/* set-group-ID without group execute is mandatory locking, not ID */
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP))
		egid = st->st_gid;
	if (euid != getuid()) {
		say_why(t, "%s is set-user-ID (it runs as uid %ld)", path,
			(long)euid);
		return true;
	}
	if (egid != getgid()) {
		say_why(t, "%s is set-group-ID (it runs as gid %ld)", path,
			(long)egid);
		return true;
	}
	if (getuid() != 0 &&
	    getxattr(path, "security.capability", NULL, 0) > 0) {
		say_why(t, "%s has file capabilities", path);
		return true;
	}
	return false;
}

static bool read_at(int fd, void *buf, size_t len, off_t at)
{
	return pread(fd, buf, len, at) == (ssize_t)len;
}

/* Go's toolchain marks its programs with one of these sections. */
static bool is_go_program(int fd, const ElfW(Ehdr) * eh)
{
	ElfW(Shdr) names, sh;
	char name[24];

	if (eh->e_shoff == 0 || eh->e_shstrndx == SHN_UNDEF ||
	    eh->e_shstrndx >= eh->e_shnum ||
	    !read_at(fd, &names, sizeof(names),
		     (off_t)(eh->e_shoff + eh->e_shstrndx * sizeof(sh))))
		return false;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (!read_at(fd, &sh, sizeof(sh),
			     (off_t)(eh->e_shoff + i * sizeof(sh))))
			return false;
		memset(name, 0, sizeof(name));
		if (pread(fd, name, sizeof(name) - 1,
			  (off_t)(names.sh_offset + sh.sh_name)) <= 0)
			continue;
		if (strcmp(name, ".go.buildinfo") == 0 ||
		    strcmp(name, ".note.go.buildid") == 0)
			return true;
	}
	return false;
}

/* The loader an ELF program names (PT_INTERP) into T->loader; false when
 * it names none: a static program. */
static bool find_loader(int fd, const ElfW(Ehdr) * eh, struct target *t)
{
	ElfW(Phdr) ph;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (!read_at(fd, &ph, sizeof(ph),
			     (off_t)(eh->e_phoff + i * sizeof(ph))))
			return false;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz > sizeof(t->loader) ||
		    !read_at(fd, t->loader, ph.p_filesz, (off_t)ph.p_offset))
			return false;
		t->loader[ph.p_filesz - 1] = '\0';
		return true;
	}
	return false;
}

/* Ours: the shim is built as this command is. */
static bool same_machine(const ElfW(Ehdr) * eh)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned char data = ELFDATA2LSB;
#else
	const unsigned char data = ELFDATA2MSB;
#endif

#if defined(__x86_64__)
	const ElfW(Half) machine = EM_X86_64;
#elif defined(__aarch64__)
	const ElfW(Half) machine = EM_AARCH64;
#elif defined(__i386__)
	const ElfW(Half) machine = EM_386;
#elif defined(__arm__)
	const ElfW(Half) machine = EM_ARM;
#else
	const ElfW(Half) machine = eh->e_machine;
#endif
	return eh->e_ident[EI_CLASS] ==
		   (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) &&
	       eh->e_ident[EI_DATA] == data && eh->e_machine == machine;
}

static void inspect(const char *path, int depth, struct target *t);

/* "#!INTERPRETER [ARG]": what the kernel runs is the interpreter. */
static void inspect_script(const char *path, const char *line, int depth,
			   struct target *t)
{
	char interpreter[PATH_MAX];
	size_t start = strspn(line + 2, " \t") + 2;
	size_t len = strcspn(line + start, " \t\n");

	if (len == 0 || len >= sizeof(interpreter) || depth >= SCRIPT_DEPTH) {
		t->preloadable = true;
		say_why(t, "%s: its #! line names no program we can look at",
			path);
		return;
	}
	memcpy(interpreter, line + start, len);
	interpreter[len] = '\0';
	inspect(interpreter, depth + 1, t);
}

static void inspect(const char *path, int depth, struct target *t)
{
	union {
		ElfW(Ehdr) eh;
		char line[PATH_MAX + 8];
	} head;
	struct stat st;
	ssize_t n;
	int fd;

	t->preloadable = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		/* execve will say what is wrong with it */
		t->preloadable = true;
		say_why(t, "%s: cannot look at it (%s)", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	memset(&head, 0, sizeof(head));
	n = pread(fd, &head, sizeof(head) - 1, 0);
	if (n >= 2 && head.line[0] == '#' && head.line[1] == '!') {
		close(fd);
		/* the kernel ignores set-ID bits on scripts */
		inspect_script(path, head.line, depth, t);
		return;
	}
	if (n < (ssize_t)EI_NIDENT ||
	    memcmp(head.eh.e_ident, ELFMAG, SELFMAG) != 0) {
		t->preloadable = true;
		say_why(t, "%s: neither an ELF program nor a #! script", path);
	} else if (!same_machine(&head.eh)) {
		say_why(t,
			"%s is built for another machine or word size than "
			"the shim",
			path);
	} else if (changes_credentials(path, &st, t)) {
		/* said */
	} else if (!find_loader(fd, &head.eh, t)) {
		say_why(t,
			"%s is statically linked (no loader to preload "
			"into)",
			path);
	} else if (is_go_program(fd, &head.eh)) {
		say_why(t,
			"%s is a Go program (it makes its system calls "
			"without libc)",
			path);
	} else {
		t->preloadable = true;
		say_why(t, "%s is dynamically linked (loader %s)", path,
			t->loader);
	}
	close(fd);
}

int target_find(const char *sub, const char *command, struct target *t)
{
	int err = find_in_path(command, t->path, sizeof(t->path));

	memset(t->loader, 0, sizeof(t->loader));
	if (err) {
		cmd_say(sub, "%s: %s", command,
			err == ENOENT ? "command not found" : strerror(err));
		return err == ENOENT ? CMD_EXIT_NOTFOUND : CMD_EXIT_NOEXEC;
	}
	inspect(t->path, 0, t);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Run under the shim by test-shim-guard: does the opens and closes named
 * on its command line, one step per argument, and reports each one on
 * stdout, so that the test can watch guards being taken and released.
 *
 *   guard-helper STEP...
 *
 * Steps that open put their descriptor in the next slot (0, 1, ...) and
 * print "VERB ok slot=N fd=FD ms=MS" ("VERB fail ERRNO ms=MS" on failure):
 *   open:PATH:FLAGS  open64:PATH:FLAGS  openat:DIR:NAME:FLAGS
 *   openat64:DIR:NAME:FLAGS  creat:PATH  creat64:PATH
 *   fopen:PATH:MODE  fopen64:PATH:MODE
 *       FLAGS: r read, w write, + both, c O_CREAT, t O_TRUNC, a O_APPEND,
 *       x O_EXCL, n O_NOFOLLOW, p O_PATH
 *   dup:SLOT  dupfd:SLOT (fcntl F_DUPFD)  dup2:SLOT:FD  dup3:SLOT:FD
 * Steps that change a slot or close:
 *   freopen:PATH:MODE:SLOT  freopen64:PATH:MODE:SLOT  close:SLOT
 *   fclose:SLOT  close-range:FIRST:LAST  closefrom:FD
 *   vfork-close:SLOT (a vfork child closes it, then execs true)
 * Others:
 *   chdir:DIR
 *   pause      print "pause N", then wait for a line (or EOF) on stdin
 *   fork-rules:PATH:LOCK  threads:PATH:THREADS:ROUNDS
 *   append:PATH:LETTER:RECORDS:SIZE   (see the functions of those names)
 *   sigopen:PATH:ROUNDS  alarm-open:PATH:FLAGS:RESTART  many:DIR:COUNT
 * The first step that fails ends the program: status 2 for EBUSY, 3 for
 * any other error, 4 for a broken rule (fork-rules, threads) — except a
 * step written "try-STEP", whose failure is reported and passed over.
 *
 * Built a second time with -O2 -D_FORTIFY_SOURCE=2 (guard-helper-fortify):
 * there every open without a mode reaches __open_2, __open64_2,
 * __openat_2 or __openat64_2, because the flags are not constants.
 */

/* Meson defines _FILE_OFFSET_BITS=64, under which glibc's headers turn
 * open into open64 and fopen into fopen64: each must be called by its own
 * name here, as the shim wraps each. */
#undef _FILE_OFFSET_BITS

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !__GLIBC_PREREQ(2, 34)
/* glibc 2.34 added these; on older glibc (Debian 11) the shim preloaded
 * under the helper is what defines them: weak, so the helper links. */
extern void closefrom(int lowfd) __attribute__((weak));
extern int close_range(unsigned first, unsigned last, int flags)
    __attribute__((weak));
#endif

#define MAX_SLOTS 64
#define MAX_FIELDS 6

enum {
	STATUS_BUSY = 2,
	STATUS_ERROR = 3,
	STATUS_BROKEN_RULE = 4,
};

static struct {
	int fd;
	FILE *fp;
} slots[MAX_SLOTS];
static int slot_count;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#if !__GLIBC_PREREQ(2, 32)
/* strerrorname_np came in glibc 2.32: the names the tests may meet */
static const char *strerrorname_np(int err)
{
/* one line: clang-format would spread the braces over four */
/* clang-format off */
#define NAME(e) { e, #e }
	/* clang-format on */
	static const struct {
		int err;
		const char *name;
	} names[] = {
		NAME(EPERM),	    NAME(ENOENT),    NAME(EINTR),
		NAME(EIO),	    NAME(ENXIO),     NAME(EBADF),
		NAME(EAGAIN),	    NAME(ENOMEM),    NAME(EACCES),
		NAME(EBUSY),	    NAME(EEXIST),    NAME(EXDEV),
		NAME(ENOTDIR),	    NAME(EISDIR),    NAME(EINVAL),
		NAME(EMFILE),	    NAME(ETXTBSY),   NAME(ENOSPC),
		NAME(EROFS),	    NAME(EDEADLK),   NAME(ENOLCK),
		NAME(ENAMETOOLONG), NAME(ENOSYS),    NAME(ELOOP),
		NAME(EOPNOTSUPP),   NAME(ETIMEDOUT),
	};
#undef NAME

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	return NULL;
}
#endif

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

/* Set while a "try-" step runs: its failure returns to main. */
static bool trying;
static jmp_buf after_try;

static __attribute__((noreturn)) void fail_step(const char *verb, int err,
						long ms)
{
	report("%s fail %s ms=%ld", verb, errno_name(err), ms);
	if (trying)
		longjmp(after_try, 1);
	exit(err == EBUSY ? STATUS_BUSY : STATUS_ERROR);
}

static __attribute__((noreturn)) void usage(const char *step)
{
	report("guard-helper: bad step '%s'", step);
	exit(64);
}

static __attribute__((noreturn)) void broken_rule(const char *what)
{
	report("BROKEN: %s", what);
	exit(STATUS_BROKEN_RULE);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split S at ':' into at most MAX fields; the last one keeps the rest. */
static int split(char *s, char **fields, int max)
{
	int n = 0;

	fields[n++] = s;
	while (n < max && (s = strchr(s, ':'))) {
		*s++ = '\0';
		fields[n++] = s;
	}
	return n;
}

static int parse_flags(const char *s)
{
	int flags = O_RDONLY;

	for (; *s; s++) {
		switch (*s) {
		case 'r':
			break;
		case 'w':
			flags = (flags & ~O_ACCMODE) | O_WRONLY;
			break;
		case '+':
			flags = (flags & ~O_ACCMODE) | O_RDWR;
			break;
		case 'c':
			flags |= O_CREAT;
			break;
		case 't':
			flags |= O_TRUNC;
			break;
		case 'a':
			flags |= O_APPEND;
			break;
		case 'x':
			flags |= O_EXCL;
			break;
		case 'n':
			flags |= O_NOFOLLOW;
			break;
		case 'p':
			flags |= O_PATH;
			break;
		default:
			usage(s);
		}
	}
	return flags;
}

static int slot_index(const char *s)
{
	int i = atoi(s);

	if (i < 0 || i >= slot_count)
		usage(s);
	return i;
}

static int add_slot(int fd, FILE *fp)
{
	if (slot_count == MAX_SLOTS)
		usage("too many slots");
	slots[slot_count].fd = fd;
	slots[slot_count].fp = fp;
	return slot_count++;
}

/* ---- opening ------------------------------------------------------------- */

/*
 * A mode argument only when the flags need one: with _FORTIFY_SOURCE and
 * flags the compiler cannot see, a call without one is compiled to
 * __open_2 (__open64_2, __openat_2, __openat64_2).
 */
static int call_open(const char *verb, int dirfd, const char *path, int flags)
{
	bool mode = flags & O_CREAT;

	if (strcmp(verb, "open") == 0)
		return mode ? open(path, flags, 0644) : open(path, flags);
	if (strcmp(verb, "open64") == 0)
		return mode ? open64(path, flags, 0644) : open64(path, flags);
	if (strcmp(verb, "openat") == 0)
		return mode ? openat(dirfd, path, flags, 0644)
			    : openat(dirfd, path, flags);
	if (strcmp(verb, "openat64") == 0)
		return mode ? openat64(dirfd, path, flags, 0644)
			    : openat64(dirfd, path, flags);
	if (strcmp(verb, "creat") == 0)
		return creat(path, 0644);
	if (strcmp(verb, "creat64") == 0)
		return creat64(path, 0644);
	usage(verb);
}

static void step_open(const char *verb, char **f, int n)
{
	bool at = strncmp(verb, "openat", 6) == 0;
	bool creating = strncmp(verb, "creat", 5) == 0;
	int dirfd = AT_FDCWD, fd, err, slot;
	const char *path;
	long long start;
	int flags;

	if (n != (at ? 4 : creating ? 2 : 3))
		usage(verb);
	if (at) {
		/* the directory by descriptor: its path is not the cwd */
		dirfd = open(f[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (dirfd < 0)
			fail_step(verb, errno, 0);
	}
	path = f[at ? 2 : 1];
	flags = creating ? O_WRONLY | O_CREAT | O_TRUNC
			 : parse_flags(f[at ? 3 : 2]);
	start = now_ms();
	fd = call_open(verb, dirfd, path, flags);
	err = errno;
	if (at)
		close(dirfd);
	if (fd < 0)
		fail_step(verb, err, (long)(now_ms() - start));
	slot = add_slot(fd, NULL);
	report("%s ok slot=%d fd=%d ms=%ld", verb, slot, fd,
	       (long)(now_ms() - start));
}

static void step_fopen(const char *verb, char **f, int n)
{
	long long start = now_ms();
	FILE *fp;
	int slot;

	if (n != 3)
		usage(verb);
	fp = strcmp(verb, "fopen") == 0 ? fopen(f[1], f[2])
					: fopen64(f[1], f[2]);
	if (!fp)
		fail_step(verb, errno, (long)(now_ms() - start));
	slot = add_slot(fileno(fp), fp);
	report("%s ok slot=%d fd=%d ms=%ld", verb, slot, fileno(fp),
	       (long)(now_ms() - start));
}

static void step_freopen(const char *verb, char **f, int n)
{
	long long start = now_ms();
	int slot;
	FILE *fp;

	if (n != 4)
		usage(verb);
	slot = slot_index(f[3]);
	if (!slots[slot].fp)
		usage(verb);
	fp = strcmp(verb, "freopen") == 0
		 ? freopen(f[1], f[2], slots[slot].fp)
		 : freopen64(f[1], f[2], slots[slot].fp);
	if (!fp)
		fail_step(verb, errno, (long)(now_ms() - start));
	slots[slot].fp = fp;
	slots[slot].fd = fileno(fp);
	report("%s ok slot=%d fd=%d ms=%ld", verb, slot, fileno(fp),
	       (long)(now_ms() - start));
}

static void step_dup(const char *verb, char **f, int n)
{
	bool to_fd = strcmp(verb, "dup2") == 0 || strcmp(verb, "dup3") == 0;
	int old, fd, slot;

	if (n != (to_fd ? 3 : 2))
		usage(verb);
	old = slots[slot_index(f[1])].fd;
	if (strcmp(verb, "dup") == 0)
		fd = dup(old);
	else if (strcmp(verb, "dupfd") == 0)
		fd = fcntl(old, F_DUPFD, 0);
	else if (strcmp(verb, "dup2") == 0)
		fd = dup2(old, atoi(f[2]));
	else
		fd = dup3(old, atoi(f[2]), 0);
	if (fd < 0)
		fail_step(verb, errno, 0);
	slot = add_slot(fd, NULL);
	report("%s ok slot=%d fd=%d", verb, slot, fd);
}

/* ---- closing ------------------------------------------------------------- */

static void step_close(const char *verb, char **f, int n)
{
	int slot, ret;

	if (n != 2)
		usage(verb);
	slot = slot_index(f[1]);
	if (strcmp(verb, "fclose") == 0) {
		if (!slots[slot].fp)
			usage(verb);
		ret = fclose(slots[slot].fp);
	} else {
		ret = close(slots[slot].fd);
	}
	if (ret != 0)
		fail_step(verb, errno, 0);
	slots[slot].fd = -1;
	slots[slot].fp = NULL;
	report("%s ok slot=%d", verb, slot);
}

/* vfork-close:SLOT — a vfork child (our memory, no atfork handlers)
 * closes the slot's descriptor and execs true: the parent's guard
 * bookkeeping must not change. */
static void step_vfork_close(const char *verb, char **f, int n)
{
	int slot, status;
	pid_t pid;

	if (n != 2)
		usage(verb);
	slot = slot_index(f[1]);
	pid = vfork();
	if (pid == 0) {
		close(slots[slot].fd);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		fail_step(verb, errno, 0);
	report("%s ok slot=%d", verb, slot);
}

static void step_close_range(const char *verb, char **f, int n)
{
	if (strcmp(verb, "closefrom") == 0) {
		if (n != 2)
			usage(verb);
		closefrom(atoi(f[1]));
	} else {
		if (n != 3)
			usage(verb);
		if (close_range((unsigned)atoi(f[1]), (unsigned)atoi(f[2]),
				0) != 0)
			fail_step(verb, errno, 0);
	}
	report("%s ok", verb);
}

/* ---- composite steps ----------------------------------------------------- */

/* Whether someone (this process included) holds a flock on PATH: the
 * suites' test_is_flocked, here because a helper links nothing of the
 * Check harness (fortify_symbols counts on this program's own calls). */
static bool flocked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

static pid_t pid_in(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : 0;
}

static void post(int fd)
{
	if (write(fd, "x", 1) != 1)
		_exit(STATUS_ERROR);
}

static void await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(STATUS_ERROR);
}

static int wait_child(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		broken_rule("could not wait for a child");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The fork rules of libpidshim(7) ("Guards"), checked from inside (run
 * it with PIDSHIM_GUARD_WAIT=fail): the parent's guard is the parent's; a
 * child's inherited copies neither release it nor keep it alive; a child's own
 * opens take guards of their own.
 */
static void fork_rules(const char *path, const char *lock)
{
	int fd = open(path, O_RDWR), ready[2], go[2], probe, status;
	pid_t pid;

	if (fd < 0)
		fail_step("fork-rules", errno, 0);
	if (!flocked(lock) || pid_in(lock) != getpid())
		broken_rule("the parent's open took no guard");
	fflush(stdout);

	/* 1. a child closes its copy and exits: the parent still holds */
	pid = fork();
	if (pid == 0) {
		close(fd);
		exit(0);
	}
	if (wait_child(pid) != 0)
		broken_rule("the first child failed");
	if (!flocked(lock) || pid_in(lock) != getpid())
		broken_rule("a child's close and exit released the parent's "
			    "guard");
	report("fork-rules: a child's close leaves the parent's guard");

	/* 2. a child keeps its copy open while the parent closes its own */
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		fail_step("fork-rules", errno, 0);
	pid = fork();
	if (pid == 0) {
		int again = open(path, O_RDONLY);

		/* its own open needs its own guard, which the parent holds */
		if (again >= 0 || errno != EBUSY) {
			report("BROKEN: the child's own open did not wait for "
			       "the parent's guard (fd %d, %s)",
			       again, errno_name(errno));
			_exit(STATUS_BROKEN_RULE);
		}
		post(ready[1]);
		await(go[0]);
		again = open(path, O_RDONLY);
		if (again < 0) {
			report("BROKEN: the child cannot open once the parent "
			       "released (%s)",
			       errno_name(errno));
			_exit(STATUS_BROKEN_RULE);
		}
		if (!flocked(lock) || pid_in(lock) != getpid()) {
			report("BROKEN: the child's own open took no guard");
			_exit(STATUS_BROKEN_RULE);
		}
		close(again);
		if (access(lock, F_OK) == 0) {
			report("BROKEN: the child's close kept its guard");
			_exit(STATUS_BROKEN_RULE);
		}
		close(fd);
		exit(0);
	}
	await(ready[0]);
	probe = open(lock, O_RDONLY | O_CLOEXEC);
	if (probe < 0)
		broken_rule("the parent's lock file is gone");
	close(fd);
	/* the inode the parent locked: nobody may hold it any more */
	if (flock(probe, LOCK_EX | LOCK_NB) != 0)
		broken_rule("the child's inherited copy keeps the parent's "
			    "guard alive");
	close(probe);
	if (access(lock, F_OK) == 0)
		broken_rule("the parent's close left its lock file");
	report("fork-rules: a child's copy does not keep the guard alive");
	post(go[1]);
	status = wait_child(pid);
	if (status != 0)
		exit(status);
	report("fork-rules: a child's own open takes its own guard");
	report("fork-rules ok");
}

struct worker {
	const char *path;
	int rounds;
	pthread_barrier_t *start;
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	for (int i = 0; i < w->rounds && !w->err; i++) {
		int fd = open(w->path, O_RDWR), again;

		if (fd < 0) {
			w->err = errno;
			break;
		}
		/* the same thread a second time, while the other thread may
		 * be taking or holding the same guard */
		again = open(w->path, O_RDONLY);
		if (again < 0)
			w->err = errno;
		if (i % 3 == 0)
			sched_yield();
		if (again >= 0)
			close(again);
		close(fd);
	}
	return NULL;
}

#define MAX_THREADS 8

/* COUNT threads open and close one guarded file ROUNDS times each: they
 * share the guard and never wait for each other. */
static void threads(const char *path, int count, int rounds)
{
	pthread_barrier_t start;
	struct worker w[MAX_THREADS];
	pthread_t t[MAX_THREADS];

	if (count < 1 || count > MAX_THREADS)
		usage("threads");
	pthread_barrier_init(&start, NULL, (unsigned)count);
	for (int i = 0; i < count; i++) {
		w[i] = (struct worker){ path, rounds, &start, 0 };
		if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
			fail_step("threads", EAGAIN, 0);
	}
	for (int i = 0; i < count; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < count; i++)
		if (w[i].err)
			fail_step("threads", w[i].err, 0);
	report("threads ok threads=%d rounds=%d", count, rounds);
}

/* RECORDS lines of SIZE times LETTER, each appended by one open in small
 * writes (so that unguarded writers interleave within a record). */
static void append(const char *path, char letter, int records, int size)
{
	char chunk[256];

	memset(chunk, letter, sizeof(chunk));
	for (int r = 0; r < records; r++) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

		if (fd < 0)
			fail_step("append", errno, 0);
		for (int left = size; left > 0;) {
			size_t n = left < (int)sizeof(chunk) ? (size_t)left
							     : sizeof(chunk);

			if (write(fd, chunk, n) != (ssize_t)n)
				fail_step("append", errno, 0);
			left -= (int)n;
			sched_yield();
		}
		if (write(fd, "\n", 1) != 1 || close(fd) != 0)
			fail_step("append", errno, 0);
	}
	report("append ok");
}

/* sigopen:PATH:ROUNDS — an interval timer every 200 us whose handler
 * opens and closes PATH (open and close are async-signal-safe), while the
 * main program does the same ROUNDS times: nothing may wait for itself. */
static const char *sigopen_path;
static volatile sig_atomic_t sigopen_runs, sigopen_errors;

/* Opens from the handler after which it only counts: a guarded open and
 * close take longer than the interval on a busy machine, and the handler
 * would otherwise leave the main program no time at all. */
#define SIGOPEN_HANDLER_OPENS 3000

static void sigopen_handler(int signo)
{
	int saved = errno, fd;

	(void)signo;
	if (sigopen_runs >= SIGOPEN_HANDLER_OPENS) {
		sigopen_runs++;
		return;
	}
	fd = open(sigopen_path, O_RDWR);
	if (fd >= 0)
		close(fd);
	else
		sigopen_errors++;
	sigopen_runs++;
	errno = saved;
}

static void sigopen(const char *path, int rounds)
{
	struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = sigopen_handler,
				.sa_flags = SA_RESTART };

	sigopen_path = path;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    setitimer(ITIMER_REAL, &every, NULL) != 0)
		fail_step("sigopen", errno, 0);
	for (int i = 0; i < rounds; i++) {
		int fd = open(path, O_RDWR);

		if (fd < 0 && errno != EINTR)
			fail_step("sigopen", errno, 0);
		if (fd >= 0)
			close(fd);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	if (sigopen_errors)
		broken_rule("an open in the signal handler failed");
	report("sigopen ok rounds=%d handler=%d", rounds, (int)sigopen_runs);
}

/* alarm-open:PATH:FLAGS:RESTART — open PATH with a SIGALRM handler
 * (SA_RESTART when RESTART is 1) due in one second: the open reports what
 * the signal made of it ("open fail EINTR", or "open ok" once the holder
 * lets go). */
static volatile sig_atomic_t alarms;

static void on_alarm(int signo)
{
	(void)signo;
	alarms++;
}

static void alarm_open(const char *path, const char *flags, bool restart)
{
	struct sigaction sa = { .sa_handler = on_alarm,
				.sa_flags = restart ? SA_RESTART : 0 };
	long long start = now_ms();
	int fd;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		fail_step("alarm-open", errno, 0);
	alarm(1);
	fd = open(path, parse_flags(flags));
	if (fd < 0)
		fail_step("open", errno, (long)(now_ms() - start));
	add_slot(fd, NULL);
	report("open ok fd=%d alarms=%d ms=%ld", fd, (int)alarms,
	       (long)(now_ms() - start));
}

static void wait_for_test(void);

/* many:DIR:COUNT — DIR/f0 ... creates and holds COUNT guarded files
 * at once, then "pause", then closes them all. */
static void open_many(const char *dir, int count)
{
	int *fds = calloc((size_t)count, sizeof(int));
	char path[4200];

	if (!fds)
		fail_step("many", ENOMEM, 0);
	for (int i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fds[i] = open(path, O_RDWR | O_CREAT, 0644);
		if (fds[i] < 0) {
			report("many: open %d of %d failed", i + 1, count);
			fail_step("many", errno, 0);
		}
	}
	report("many ok count=%d", count);
	wait_for_test();
	for (int i = 0; i < count; i++)
		if (close(fds[i]) != 0)
			fail_step("many", errno, 0);
	free(fds);
	report("many closed");
}

/* ---- main ---------------------------------------------------------------- */

static void wait_for_test(void)
{
	static int count;
	char c;

	report("pause %d", ++count);
	while (read(0, &c, 1) == 1 && c != '\n')
		;
}

static void run_step(char *step)
{
	char *f[MAX_FIELDS];
	int n = split(step, f, MAX_FIELDS);
	const char *verb = f[0];

	if (strcmp(verb, "pause") == 0)
		wait_for_test();
	else if (strncmp(verb, "open", 4) == 0 ||
		 strncmp(verb, "creat", 5) == 0)
		step_open(verb, f, n);
	else if (strncmp(verb, "fopen", 5) == 0)
		step_fopen(verb, f, n);
	else if (strncmp(verb, "freopen", 7) == 0)
		step_freopen(verb, f, n);
	else if (strncmp(verb, "dup", 3) == 0)
		step_dup(verb, f, n);
	else if (strcmp(verb, "close") == 0 || strcmp(verb, "fclose") == 0)
		step_close(verb, f, n);
	else if (strcmp(verb, "vfork-close") == 0)
		step_vfork_close(verb, f, n);
	else if (strcmp(verb, "close-range") == 0 ||
		 strcmp(verb, "closefrom") == 0)
		step_close_range(verb, f, n);
	else if (strcmp(verb, "chdir") == 0 && n == 2) {
		if (chdir(f[1]) != 0)
			fail_step(verb, errno, 0);
		report("chdir ok");
	} else if (strcmp(verb, "fork-rules") == 0 && n == 3)
		fork_rules(f[1], f[2]);
	else if (strcmp(verb, "threads") == 0 && n == 4)
		threads(f[1], atoi(f[2]), atoi(f[3]));
	else if (strcmp(verb, "append") == 0 && n == 5)
		append(f[1], f[2][0], atoi(f[3]), atoi(f[4]));
	else if (strcmp(verb, "sigopen") == 0 && n == 3)
		sigopen(f[1], atoi(f[2]));
	else if (strcmp(verb, "alarm-open") == 0 && n == 4)
		alarm_open(f[1], f[2], atoi(f[3]) == 1);
	else if (strcmp(verb, "many") == 0 && n == 3)
		open_many(f[1], atoi(f[2]));
	else
		usage(verb);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char step[4096];

		if (strlen(argv[i]) >= sizeof(step))
			usage(argv[i]);
		trying = strncmp(argv[i], "try-", 4) == 0;
		strcpy(step, argv[i] + (trying ? 4 : 0));
		if (setjmp(after_try) == 0)
			run_step(step);
		trying = false;
	}
	return 0;
}

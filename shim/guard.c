/* SPDX-License-Identifier: MIT */
/*
 * Guarded resources: a path matching PIDSHIM_GUARD is opened only while
 * this process holds the resource's lock file, taken *before* the real
 * open (so O_TRUNC and O_CREAT happen under the lock) and released when the
 * last descriptor of that open is closed (scope open) or at exit (scope
 * process).
 *
 * One guard per resource per process, counted: two opens of one resource
 * in one process (or from two threads) share the lock instead of waiting
 * for each other. The table is a fixed array so that the signal path can
 * walk it without allocating or locking.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "lockfd.h"
#include "shim.h"

#define MAX_GUARDS GUARD_MAX
/* Descriptors below this are tracked in a flat array of bytes; a guarded
 * open landing higher keeps its guard until exit. */
#define FD_TRACKED 65536

enum guard_state { GUARD_FREE, GUARD_ACQUIRING, GUARD_HELD };

struct guard {
	_Atomic int state; /* enum guard_state; read by the signal path */
	char resource[PATH_MAX];
	char lockpath[PATH_MAX];
	struct lockfd lk;
	bool shared;
	int refs; /* descriptors open on it */
	pid_t acquirer; /* the thread taking it while GUARD_ACQUIRING */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a guard left GUARD_ACQUIRING */
	struct guard guards[MAX_GUARDS];
	/* Slots ever used: every walk of the table stops there, so that a
	 * process touches (and a fork copies) only the slots it used. */
	_Atomic int used;
	/* guard index + 1 for each tracked descriptor, 0 for none */
	_Atomic unsigned short fd_guard[FD_TRACKED];
} table = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

/* The mask of the forking thread, set aside while it holds the table
 * across the fork (the table's lock serializes forking threads). */
static sigset_t fork_mask;

/* ---- paths ---------------------------------------------------------------- */

/* Lexically normalize an absolute path in place: no "//", ".", "..". */
static void normalize(char *path)
{
	char *out = path;
	const char *in = path;

	while (*in) {
		const char *end;
		size_t len;

		while (*in == '/')
			in++;
		end = strchrnul(in, '/');
		len = (size_t)(end - in);
		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* nothing */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			while (out > path && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, in, len);
			out += len;
		}
		in = end;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* The absolute path the kernel has for descriptor FD (PATH_MAX bytes). */
static bool fd_path(int fd, char *out)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, PATH_MAX - 1);
	if (n <= 0 || out[0] != '/')
		return false;
	out[n] = '\0';
	return true;
}

static bool directory_of(int dirfd, char *buf, size_t size)
{
	if (dirfd == AT_FDCWD)
		return getcwd(buf, size) != NULL;
	return size >= PATH_MAX && fd_path(dirfd, buf);
}

/* The kernel's path (PATH_MAX bytes) for PATH, relative to DIRFD, opened
 * O_PATH with EXTRA (O_DIRECTORY, O_NOFOLLOW): 0, the open's errno, or
 * ENOSYS when the kernel does not say (no /proc). */
static int kernel_path(int dirfd, const char *path, int extra, char *out)
{
	int fd = libc(openat)(dirfd, path, O_PATH | O_CLOEXEC | extra, 0);
	bool known;

	if (fd < 0)
		return errno;
	known = fd_path(fd, out);
	libc(close)(fd);
	/* realpath resolves as the kernel does (a symlink before the ".."
	 * after it), but it follows a final symlink */
	if (!known && !(extra & O_NOFOLLOW) &&
	    (dirfd == AT_FDCWD || path[0] == '/'))
		known = realpath(path, out) != NULL;
	return known ? 0 : ENOSYS;
}

/* Where the last ".." component of PATH ends (0: it has none). */
static size_t past_last_dotdot(const char *path)
{
	size_t end = 0;

	for (const char *p = path; *p;) {
		const char *next = strchrnul(p, '/');

		if (next - p == 2 && p[0] == '.' && p[1] == '.')
			end = (size_t)(next - path);
		p = *next ? next + 1 : next;
	}
	return end;
}

/*
 * PATH by name, made absolute: relative to DIRFD, "." and "//" dropped,
 * symlinks kept as named (a pattern may name a file through a symlinked
 * directory). Up to its last "..", though, the path is the kernel's: it
 * follows a symlink before the ".." after it, where a lexical ".." would
 * name another file (README, "How guards behave").
 */
static bool absolute_form(int dirfd, const char *path, char *out)
{
	size_t cut = past_last_dotdot(path);
	char base[PATH_MAX];

	if (cut > 0) {
		char prefix[PATH_MAX];

		if (cut >= sizeof(prefix))
			return false;
		memcpy(prefix, path, cut);
		prefix[cut] = '\0';
		/* unresolvable: the program's open fails there too */
		if (kernel_path(dirfd, prefix, O_DIRECTORY, base) != 0)
			return false;
	} else if (path[0] == '/') {
		base[0] = '\0';
	} else if (!directory_of(dirfd, base, sizeof(base))) {
		return false;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", base, path + cut) >=
	    PATH_MAX)
		return false;
	normalize(out);
	return true;
}

/* Whether an open with FLAGS follows a final symlink: not with
 * O_NOFOLLOW, nor with O_CREAT|O_EXCL (which fails on a link). */
static bool follows_final_symlink(int flags)
{
	return !(flags & O_NOFOLLOW) &&
	       (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

/* Whether NAME (LEN bytes) is "." or "..": never a file to create. */
static bool is_dot_name(const char *name, size_t len)
{
	return (len == 1 || len == 2) && strncmp(name, "..", len) == 0;
}

/*
 * What the kernel resolves PATH (relative to DIRFD) to for an open with
 * FLAGS, from the path as the program gave it: symlinks followed as that
 * open follows them, so a final symlink the open does not follow is the
 * file itself (its lock goes beside the link, never where the open does
 * not reach: README, "How guards behave"). A file not there yet: its
 * directory, as named, resolved, and its name.
 */
static bool real_form(int dirfd, const char *path, int flags, char *out)
{
	int nofollow = follows_final_symlink(flags) ? 0 : O_NOFOLLOW;
	char real_dir[PATH_MAX];
	const char *name, *end;
	int err = kernel_path(dirfd, path, nofollow, out);

	if (err != ENOENT)
		return err == 0;
	for (end = path + strlen(path); end > path + 1 && end[-1] == '/';)
		end--;
	for (name = end; name > path && name[-1] != '/';)
		name--;
	if (name == end || is_dot_name(name, (size_t)(end - name)) ||
	    name - path >= PATH_MAX)
		return false;
	if (name == path) {
		if (!directory_of(dirfd, real_dir, sizeof(real_dir)))
			return false;
	} else {
		char dir[PATH_MAX];

		memcpy(dir, path, (size_t)(name - path));
		dir[name - path] = '\0';
		if (kernel_path(dirfd, dir, O_DIRECTORY, real_dir) != 0)
			return false;
	}
	if ((size_t)snprintf(out, PATH_MAX, "%s/%.*s", real_dir,
			     (int)(end - name), name) >= PATH_MAX)
		return false;
	normalize(out);
	return true;
}

static bool matches(const char *path)
{
	for (size_t i = 0; i < shim_config.guard_count; i++)
		if (fnmatch(shim_config.guards[i], path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* The names of lock files in each style (README, "Variables"). */
#define PIDSHIM_LOCK_SUFFIX ".pidshim-lock"
#define DOTLOCK_SUFFIX ".lock"
#define UUCP_PREFIX "LCK.."

/* The lock file of RESOURCE. By default a hidden name beside it that no
 * program uses as its own lock: "<resource>.lock" is git's index.lock and
 * the mail spool's dotlock, and taking it breaks those programs' own
 * locking (README, "How guards behave"). */
static bool lock_path_for(const char *resource, char *out)
{
	const char *base = strrchr(resource, '/') + 1;
	bool beside = !shim_config.lock_dir[0]; /* uucp always has a dir */
	const char *dir = beside ? resource : shim_config.lock_dir;
	int dir_len = beside ? (int)(base - 1 - resource) : (int)strlen(dir);
	int n;

	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		n = snprintf(out, PATH_MAX, "%.*s/" UUCP_PREFIX "%s", dir_len,
			     dir, base);
		break;
	case SHIM_LOCK_STYLE_DOTLOCK:
		n = snprintf(out, PATH_MAX, "%.*s/%s" DOTLOCK_SUFFIX, dir_len,
			     dir, base);
		break;
	default:
		/* beside the resource, hidden */
		n = snprintf(out, PATH_MAX, "%.*s/%s%s" PIDSHIM_LOCK_SUFFIX,
			     dir_len, dir, beside ? "." : "", base);
		break;
	}
	return n > 0 && n < PATH_MAX;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether the base name of PATH (absolute) is one lock_path_for makes in
 * the configured style. */
static bool named_as_lock(const char *path)
{
	const char *base = strrchr(path, '/') + 1;

	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		return strncmp(base, UUCP_PREFIX, strlen(UUCP_PREFIX)) == 0;
	case SHIM_LOCK_STYLE_DOTLOCK:
		return ends_with(base, DOTLOCK_SUFFIX);
	default:
		return ends_with(base, PIDSHIM_LOCK_SUFFIX) &&
		       (shim_config.lock_dir[0] || base[0] == '.');
	}
}

/* ---- the table ------------------------------------------------------------- */

/*
 * open and close are async-signal-safe, so a signal handler may open or
 * close a guarded path while its thread is inside the table: every critical
 * section runs with the thread's signals blocked, and a handler never finds
 * the mutex held by its own thread. Only the waits in the kernel run with
 * the program's mask (a handler ends them with EINTR; see "How guards
 * behave" in the README).
 */
static void block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static void restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void table_lock(sigset_t *old)
{
	block_signals(old);
	pthread_mutex_lock(&table.lock);
}

static void table_unlock(const sigset_t *old)
{
	pthread_mutex_unlock(&table.lock);
	restore_signals(old);
}

static int used_slots(void)
{
	return atomic_load(&table.used);
}

static struct guard *find(const char *resource)
{
	for (int i = 0; i < used_slots(); i++) {
		struct guard *g = &table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE &&
		    strcmp(g->resource, resource) == 0)
			return g;
	}
	return NULL;
}

static struct guard *new_guard(void)
{
	int used = used_slots();

	for (int i = 0; i < used; i++)
		if (atomic_load(&table.guards[i].state) == GUARD_FREE)
			return &table.guards[i];
	if (used == MAX_GUARDS)
		return NULL;
	atomic_store(&table.used, used + 1);
	return &table.guards[used];
}

/* The lock file's convention: in the UUCP and dotlock styles a file
 * naming a live process is held, flock or not. */
static enum lockfd_format pid_format(void)
{
	switch (shim_config.lock_style) {
	case SHIM_LOCK_STYLE_UUCP:
		return LOCKFD_PID_UUCP;
	case SHIM_LOCK_STYLE_DOTLOCK:
		return LOCKFD_PID_DOTLOCK;
	default:
		return LOCKFD_PID_LINE;
	}
}

/* A wait MS (< 0 forever) as lockfd_acquire takes it: forever ends at a
 * handler without SA_RESTART, as the real open would. */
static int acquire_timeout(int ms)
{
	return ms < 0 ? LOCKFD_WAIT_INTERRUPTIBLE : ms;
}

/* The guard's lock descriptor becomes FRESH (signals blocked: the signal
 * path reads g->lk). */
static void replace_lock(struct guard *g, struct lockfd *fresh)
{
	sigset_t old;

	block_signals(&old);
	private_fd_forget(&g->lk.fd);
	libc(close)(g->lk.fd);
	g->lk = *fresh;
	private_fd_adopt(&g->lk.fd);
	restore_signals(&old);
}

/* flock granted G's lock again after it had been dropped (a conversion
 * drops the old lock first): in between, a releasing holder that found
 * the file free may have removed it, and a lock on the removed inode
 * excludes nobody. Take the file at the path afresh then, as
 * lockfd_acquire does, waiting at most MS. */
static int verify_relocked(struct guard *g, bool shared, int ms)
{
	struct lockfd fresh;
	int err;

	if (lockfd_still_ours(&g->lk, g->lockpath))
		return 0;
	log_debug("%s: %s was removed while the lock was converted; taking it "
		  "again",
		  g->resource, g->lockpath);
	err = lockfd_acquire(&fresh, g->lockpath, shim_config.mode, shared,
			     acquire_timeout(ms), pid_format(), NULL);
	if (err == 0)
		replace_lock(g, &fresh);
	return err;
}

/* A reader whose conversion was refused takes its shared lock back: its
 * descriptors are open and it reads on under the lock. It must have it,
 * so it waits (a writer may have got in meanwhile) and is not ended by a
 * signal. */
static void retake_shared(struct guard *g)
{
	int err;

	while (flock(g->lk.fd, LOCK_SH) < 0 && errno == EINTR)
		;
	do
		err = verify_relocked(g, true, -1);
	while (err == -EINTR);
	if (err < 0)
		log_warn("%s: cannot take the shared lock %s back: %s",
			 g->resource, g->lockpath, strerror(-err));
}

static void put_locked(struct guard *g);

static int wait_ms(void)
{
	switch (shim_config.guard_wait) {
	case SHIM_GUARD_WAIT_FAIL:
		return 0;
	case SHIM_GUARD_WAIT_TIMEOUT:
		return shim_config.guard_timeout_ms;
	default:
		return -1;
	}
}

static void deadline_after(int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* errno for a lock that could not be taken: busy is EBUSY (README,
 * "Guarded resources"); an unsafe or impossible lock file refuses the open
 * with the reason. */
static int open_errno(int err)
{
	switch (err) {
	case -EAGAIN:
	case -ETIMEDOUT:
		return EBUSY;
	case -ELOOP:
	case -EISDIR:
	case -EINVAL:
	case -EMLINK:
	case -EPERM:
		return ENOLCK;
	default:
		return -err;
	}
}

/* A reader holding the shared lock that opens for writing: convert. flock
 * converts by dropping the old lock first, so a refused conversion has
 * lost it; the reader takes its shared lock back before the open is
 * refused, and between timed attempts. (While a blocking conversion
 * waits, the reader holds no lock: flock offers no atomic upgrade.) Every
 * lock flock grants again is checked against the path (verify_relocked).
 * The guard is GUARD_ACQUIRING, the table unlocked, the signals blocked
 * but for the waits, which run with the program's mask OLD. */
static int upgrade(struct guard *g, int ms, const sigset_t *old)
{
	long waited = 0;
	int err;

	for (;;) {
		if (flock(g->lk.fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK) {
			err = -errno;
			goto refused;
		}
		if (ms < 0) {
			/* the kernel restarts it for an SA_RESTART handler */
			restore_signals(old);
			err = flock(g->lk.fd, LOCK_EX) < 0 ? -errno : 0;
			block_signals(NULL);
			if (err < 0)
				goto refused;
			break;
		}
		if (waited >= ms) {
			err = -EAGAIN;
			goto refused;
		}
		restore_signals(old);
		retake_shared(g);
		nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
		block_signals(NULL);
		waited += 5;
	}
	if (!lockfd_still_ours(&g->lk, g->lockpath)) {
		restore_signals(old);
		err = verify_relocked(g, false,
				      ms < 0 ? -1 : (int)(ms - waited));
		block_signals(NULL);
		if (err < 0)
			goto refused;
		g->shared = false;
		return 0; /* lockfd_acquire wrote our PID */
	}
	g->shared = false;
	lockfd_write_pid(&g->lk, pid_format());
	return 0;
refused:
	restore_signals(old);
	retake_shared(g);
	block_signals(NULL);
	return err;
}

/* The lock of a new guard: at once with the signals blocked, so that a
 * handler never finds its own thread's guard GUARD_ACQUIRING but while it
 * waits; then, busy, the wait itself with the program's mask OLD. */
static int acquire_new(struct guard *g, bool shared, int ms,
		       const struct timespec *deadline, const sigset_t *old)
{
	int err = lockfd_acquire(&g->lk, g->lockpath, shim_config.mode, shared,
				 0, pid_format(), NULL);

	if (err != -EAGAIN || ms == 0)
		return err;
	if (ms > 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		ms = (int)((deadline->tv_sec - now.tv_sec) * 1000 +
			   (deadline->tv_nsec - now.tv_nsec) / 1000000);
		if (ms < 1)
			ms = 1;
	}
	restore_signals(old);
	err = lockfd_acquire(&g->lk, g->lockpath, shim_config.mode, shared,
			     acquire_timeout(ms), pid_format(), NULL);
	block_signals(NULL);
	return err;
}

int guard_claim(int dirfd, const char *path, int flags, struct guard_claim *claim)
{
	char abs[PATH_MAX], real[PATH_MAX];
	bool shared = shim_config.guard_mode == SHIM_GUARD_MODE_SHARED_READ &&
		      (flags & O_ACCMODE) == O_RDONLY &&
		      !(flags & (O_TRUNC | O_CREAT));
	struct timespec deadline;
	struct guard *g;
	sigset_t old;
	pid_t self;
	int ms = wait_ms(), err, saved = errno;

	claim->guard = NULL;
	if (!path || (flags & O_PATH) || !absolute_form(dirfd, path, abs))
		goto unguarded;
	if (!real_form(dirfd, path, flags, real))
		strcpy(real, abs);
	if (!matches(abs) && !matches(real))
		goto unguarded;
	if (ms > 0)
		deadline_after(ms, &deadline);
	self = gettid();

	table_lock(&old);
	while ((g = find(real)) && atomic_load(&g->state) == GUARD_ACQUIRING) {
		/* A signal handler that interrupted its own thread's wait
		 * for this guard: that wait goes on only once the handler
		 * returns, so the handler cannot wait. It is refused as
		 * busy (see "How guards behave" in the README). */
		if (g->acquirer == self) {
			table_unlock(&old);
			errno = EBUSY;
			return -1;
		}
		/* another thread is taking this very lock: wait for it and
		 * share, never compete with ourselves */
		if (ms == 0 ||
		    (ms > 0 && pthread_cond_timedwait(&table.changed, &table.lock,
						      &deadline) == ETIMEDOUT)) {
			table_unlock(&old);
			errno = EBUSY;
			return -1;
		}
		if (ms < 0)
			pthread_cond_wait(&table.changed, &table.lock);
	}
	if (g) {
		/* held already: share it */
		g->refs++;
		err = 0;
		if (g->shared && !shared) {
			/* a reader opening for writing: convert, without the
			 * table (the wait may be long; closes and forks of
			 * other guards go on), others of this guard wait */
			g->acquirer = self;
			atomic_store(&g->state, GUARD_ACQUIRING);
			pthread_mutex_unlock(&table.lock);
			err = upgrade(g, ms, &old);
			pthread_mutex_lock(&table.lock);
			atomic_store(&g->state, GUARD_HELD);
			pthread_cond_broadcast(&table.changed);
			if (err < 0)
				put_locked(g);
		}
		table_unlock(&old);
		if (err < 0) {
			errno = open_errno(err);
			return -1;
		}
		claim->guard = g;
		errno = saved;
		return 1;
	}
	g = new_guard();
	if (!g) {
		table_unlock(&old);
		log_warn("%s: more than %d guarded resources open at once; "
			 "open refused",
			 real, MAX_GUARDS);
		errno = ENOLCK;
		return -1;
	}
	strcpy(g->resource, real);
	if (!lock_path_for(real, g->lockpath)) {
		table_unlock(&old);
		errno = ENAMETOOLONG;
		return -1;
	}
	g->refs = 1;
	g->shared = shared;
	g->lk.fd = -1;
	g->acquirer = self;
	atomic_store(&g->state, GUARD_ACQUIRING);
	pthread_mutex_unlock(&table.lock);

	log_debug("%s: taking %s", real, g->lockpath);
	err = acquire_new(g, shared, ms, &deadline, &old);
	if (err == 0)
		private_fd_adopt(&g->lk.fd);
	pthread_mutex_lock(&table.lock);
	atomic_store(&g->state, err == 0 ? GUARD_HELD : GUARD_FREE);
	pthread_cond_broadcast(&table.changed);
	table_unlock(&old);
	if (err < 0) {
		if (err != -EAGAIN && err != -ETIMEDOUT && err != -EINTR)
			log_warn("%s: cannot take the guard lock %s: %s; open "
				 "refused",
				 real, g->lockpath, strerror(-err));
		errno = open_errno(err);
		return -1;
	}
	claim->guard = g;
	errno = saved;
	return 1;

unguarded:
	errno = saved;
	return 0;
}

/* Drop one reference; the last one releases (scope open). Table locked. */
static void put_locked(struct guard *g)
{
	if (--g->refs > 0 || shim_config.guard_scope == SHIM_GUARD_SCOPE_PROCESS)
		return;
	if (g->refs < 0)
		g->refs = 0;
	log_debug("%s: releasing %s", g->resource, g->lockpath);
	atomic_store(&g->state, GUARD_FREE);
	private_fd_forget(&g->lk.fd);
	lockfd_release(&g->lk, g->lockpath, true);
}

void guard_attach(struct guard_claim *claim, int fd)
{
	struct guard *g = claim->guard;

	if (!g)
		return;
	if (fd >= 0 && fd < FD_TRACKED) {
		atomic_store(&table.fd_guard[fd],
			     (unsigned short)(g - table.guards + 1));
		return;
	}
	if (fd < 0) {
		sigset_t old;

		table_lock(&old);
		put_locked(g);
		table_unlock(&old);
	}
	/* untracked descriptor: the guard stays until exit */
}

bool guards_active(void)
{
	return process_role() != SHIM_ROLE_INERT &&
	       shim_config.guard_count > 0 && shim_in_own_process();
}

bool guard_tracks(int fd)
{
	return fd >= 0 && fd < FD_TRACKED && atomic_load(&table.fd_guard[fd]);
}

int guard_detach(int fd)
{
	if (fd < 0 || fd >= FD_TRACKED)
		return 0;
	return atomic_exchange(&table.fd_guard[fd], 0);
}

void guard_put(int handle)
{
	sigset_t old;

	if (handle <= 0 || handle > MAX_GUARDS)
		return;
	table_lock(&old);
	put_locked(&table.guards[handle - 1]);
	table_unlock(&old);
}

void guard_closed(int fd)
{
	guard_put(guard_detach(fd));
}

void guard_detach_range(unsigned first, unsigned last,
			struct guard_range *range)
{
	memset(range->puts, 0, sizeof(range->puts));
	if (first >= FD_TRACKED)
		return;
	if (last >= FD_TRACKED)
		last = FD_TRACKED - 1;
	for (unsigned fd = first; fd <= last; fd++) {
		unsigned short handle = atomic_exchange(&table.fd_guard[fd], 0);

		if (handle)
			range->puts[handle - 1]++;
	}
}

void guard_range_done(struct guard_range *range)
{
	for (int i = 0; i < used_slots(); i++)
		while (range->puts[i]-- > 0)
			guard_put(i + 1);
}

void guard_duplicated(int oldfd, int newfd)
{
	unsigned short index;
	sigset_t old;

	if (oldfd < 0 || oldfd >= FD_TRACKED || newfd < 0 ||
	    newfd >= FD_TRACKED)
		return;
	index = atomic_load(&table.fd_guard[oldfd]);
	if (!index)
		return;
	table_lock(&old);
	table.guards[index - 1].refs++;
	atomic_store(&table.fd_guard[newfd], index);
	table_unlock(&old);
}

void guard_release_all_for_exit(void)
{
	/* Signal path too: no lock, no allocation. The lock files go; the
	 * locks stay until the process is gone, so that another thread still
	 * writing does so under its guard. */
	for (int i = 0; i < used_slots(); i++) {
		struct guard *g = &table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE && g->lk.fd >= 0) {
			struct lockfd mine = g->lk;

			lockfd_remove_at_exit(&mine, g->lockpath);
		}
	}
}

void guard_after_fork_in_child(void)
{
	/* The parent's guards stay the parent's: a child must not keep a
	 * lock alive, nor remove a lock file, that its parent holds. Its
	 * inherited descriptors are unguarded; its own opens take guards. */
	pthread_mutex_init(&table.lock, NULL);
	pthread_cond_init(&table.changed, NULL);
	for (int i = 0; i < used_slots(); i++) {
		struct guard *g = &table.guards[i];

		if (atomic_load(&g->state) != GUARD_FREE && g->lk.fd >= 0) {
			private_fd_forget(&g->lk.fd);
			libc(close)(g->lk.fd);
		}
		g->lk.fd = -1;
		g->refs = 0;
		atomic_store(&g->state, GUARD_FREE);
	}
	memset((void *)table.fd_guard, 0, sizeof(table.fd_guard));
	restore_signals(&fork_mask);
}

/* ---- exec ------------------------------------------------------------------ */

/* Guards whose lock descriptor was kept open for an exec. */
static bool kept_for_exec[MAX_GUARDS];

void guard_keep_across_exec(void)
{
	bool needed[MAX_GUARDS] = { false };
	bool any = false;

	for (int i = 0; i < used_slots(); i++)
		any |= atomic_load(&table.guards[i].state) == GUARD_HELD;
	if (!any)
		return;
	/* A guarded descriptor that survives the exec keeps its guard: the
	 * new image goes on writing through it. */
	for (int fd = 0; fd < FD_TRACKED; fd++) {
		unsigned short handle = atomic_load(&table.fd_guard[fd]);
		long flags;

		if (!handle || needed[handle - 1])
			continue;
		flags = libc(fcntl)(fd, F_GETFD, NULL);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			needed[handle - 1] = true;
	}
	for (int i = 0; i < used_slots(); i++) {
		struct guard *g = &table.guards[i];

		/* shared guards are not kept: the new image could not
		 * tell their (PID-less) lock files for its own */
		kept_for_exec[i] = needed[i] && !g->shared &&
				   atomic_load(&g->state) == GUARD_HELD &&
				   libc(fcntl)(g->lk.fd, F_SETFD, NULL) == 0;
	}
}

void guard_exec_failed(void)
{
	for (int i = 0; i < used_slots(); i++) {
		if (kept_for_exec[i])
			libc(fcntl)(table.guards[i].lk.fd, F_SETFD,
				   (void *)(long)FD_CLOEXEC);
		kept_for_exec[i] = false;
	}
}

/* The new image after an exec: a lock descriptor kept open for it, named
 * by its resource's lock path, holding our PID (the same process), with
 * the resource's descriptors beside it. Take the guard back over, so that
 * closing them releases it and a new open of the resource shares it. */
static bool adopt_one(int lockfd, const char *lockpath)
{
	char path[PATH_MAX], expect[PATH_MAX];
	struct guard *g = NULL;
	struct dirent *entry;
	struct stat st;
	int refs = 0;
	DIR *fds;

	if (lockfd_read_pid(lockfd, false) != getpid() ||
	    fstat(lockfd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	fds = opendir("/proc/self/fd");
	if (!fds)
		return false;
	while ((entry = readdir(fds))) {
		int fd = atoi(entry->d_name);

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' ||
		    fd == lockfd || fd == dirfd(fds) || fd >= FD_TRACKED)
			continue;
		if (!fd_path(fd, path) || !matches(path) ||
		    !lock_path_for(path, expect) || strcmp(expect, lockpath))
			continue;
		if (!g && !(g = new_guard()))
			break;
		if (refs++ == 0) {
			strcpy(g->resource, path);
			strcpy(g->lockpath, lockpath);
			g->lk.fd = lockfd;
			g->lk.dev = st.st_dev;
			g->lk.ino = st.st_ino;
			g->lk.owner = getpid();
			g->lk.shared = false;
			g->lk.names_owner = true;
			g->shared = false;
		}
		atomic_store(&table.fd_guard[fd],
			     (unsigned short)(g - table.guards + 1));
	}
	closedir(fds);
	if (!g || refs == 0)
		return false;
	g->refs = refs;
	libc(fcntl)(lockfd, F_SETFD, (void *)(long)FD_CLOEXEC);
	atomic_store(&g->state, GUARD_HELD);
	private_fd_adopt(&g->lk.fd);
	log_debug("%s: guard kept across exec (%s)", g->resource, lockpath);
	return true;
}

void guard_adopt_after_exec(void)
{
	DIR *fds = opendir("/proc/self/fd");
	struct dirent *entry;
	int candidates[16], count = 0;

	if (!fds)
		return;
	while ((entry = readdir(fds)) && count < 16) {
		char path[PATH_MAX];
		int fd = atoi(entry->d_name);
		long flags;

		if (entry->d_name[0] < '0' || entry->d_name[0] > '9' ||
		    fd == dirfd(fds))
			continue;
		/* kept for us: not close-on-exec, unlike every lock we make */
		flags = libc(fcntl)(fd, F_GETFD, NULL);
		if (flags < 0 || (flags & FD_CLOEXEC))
			continue;
		if (fd_path(fd, path) && named_as_lock(path))
			candidates[count++] = fd;
	}
	closedir(fds);
	for (int i = 0; i < count; i++) {
		char path[PATH_MAX];

		if (!fd_path(candidates[i], path))
			continue;
		/* ours (it names us) yet not adoptable: at least do not hand
		 * it on to every program this one starts */
		if (!adopt_one(candidates[i], path) &&
		    lockfd_read_pid(candidates[i], false) == getpid())
			libc(fcntl)(candidates[i], F_SETFD,
				   (void *)(long)FD_CLOEXEC);
	}
}

void guard_before_fork(void)
{
	sigset_t old;

	table_lock(&old);
	fork_mask = old;
}

void guard_after_fork_in_parent(void)
{
	sigset_t old = fork_mask;

	table_unlock(&old);
}

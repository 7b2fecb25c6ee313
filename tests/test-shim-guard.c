/* SPDX-License-Identifier: MIT */
/* Guarded resources, on real programs under LD_PRELOAD: the guard is taken
 * before every kind of open, held while the file is open (or until exit),
 * released on every kind of close, waited for in the kernel, kept to its
 * own process; lock styles, descendants, signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-common.h"

static char *dir;
static char data[4096];	     /* the guarded resource, "secret\n" */
static char lock[4200];	     /* its lock file (lock_file_of) */
static char guard_env[8500]; /* PIDSHIM_GUARD=<data>:<dir>/new */
static int out_count;

static const char *const no_pidfile = "PIDSHIM_PIDFILE=none";

/* The lock file of RESOURCE in the default style, beside it: hidden, and
 * a name no program uses as its own lock (libpidshim(7), "Guards").
 * In a pool that lives as long as the test. */
static const char *lock_file_of(const char *resource)
{
	static char pool[16][4400];
	static int next;
	char *out = pool[next++ % 16];
	const char *slash = strrchr(resource, '/');

	snprintf(out, sizeof(pool[0]), "%.*s/.%s.pidshim-lock",
		 (int)(slash - resource), resource, slash + 1);
	return out;
}

static void setup(void)
{
	dir = test_dir_make();
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(lock, sizeof(lock), "%s", lock_file_of(data));
	snprintf(guard_env, sizeof(guard_env), "PIDSHIM_GUARD=%s:%s/new", data,
		 dir);
	test_write_file(data, "secret\n");
	test_write_file(test_path(dir, "other"), "other\n");
	ck_assert_int_eq(mkdir(test_path(dir, "sub"), 0755), 0);
	ck_assert_int_eq(symlink(data, test_path(dir, "link")), 0);
	/* a directory symlink: @/sub/up/data is @/data */
	ck_assert_int_eq(symlink("..", test_path(dir, "sub/up")), 0);
	out_count = 0;
}

static void teardown(void)
{
	test_dir_remove(dir);
	dir = NULL;
}

/* PATTERN with every '@' replaced by the test directory, in a pool that
 * lives as long as the test. */
static const char *at_dir(const char *pattern)
{
	static char pool[64][4400];
	static int next;
	char *out = pool[next++ % 64], *p = out;

	for (; *pattern; pattern++) {
		if (*pattern == '@')
			p = stpcpy(p, dir);
		else
			*p++ = *pattern;
	}
	*p = '\0';
	return out;
}

/* A ThreadSanitizer build of the shim crashes the system's own programs
 * (sh, cat, sleep) at start: only our instrumented helpers can run under
 * it, so the tests of sh and cat say so and stop there. */
static bool system_programs_run_under_shim(const char *test)
{
#if defined(__SANITIZE_THREAD__)
	fprintf(stderr,
		"%s: skipped in a ThreadSanitizer build (sh and cat "
		"cannot load a TSan-built shim)\n",
		test);
	return false;
#else
	(void)test;
	return true;
#endif
}

/* Whether PROGRAM is on PATH. */
static bool on_path(const char *program)
{
	const char *path = getenv("PATH");
	char candidate[4096];

	for (const char *p = path ? path : ""; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p,
			 program);
		if (access(candidate, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

/* A program the test needs, installed by scripts/setup: missing, the test
 * fails saying so (a check that cannot be made is never passed). */
static void require_program(const char *program, const char *package)
{
	ck_assert_msg(on_path(program),
		      "%s is not installed (package %s, scripts/setup)",
		      program, package);
}

/* ---- programs under the shim, stepped by the test ------------------------ */

/* A program whose standard input the test holds: guard-helper stops at
 * each "pause" step until the test writes a line. */
struct proc {
	pid_t pid;
	int in;
	char out[4400];
};

static void proc_start(struct proc *p, const char *const *env,
		       const char *const *argv)
{
	int fds[2];

	*p = (struct proc){ .pid = -1, .in = -1 };
	snprintf(p->out, sizeof(p->out), "%s/out-%d", dir, out_count++);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	p->pid = test_spawn(env, argv, p->out, fds[0]);
	close(fds[0]);
	p->in = fds[1];
}

/* guard-helper STEP... (NULL-terminated, at most 30) */
static void helper_start(struct proc *p, const char *helper,
			 const char *const *env, const char *const *steps)
{
	const char *argv[32];
	int n = 0;

	argv[n++] = test_helper(helper);
	while (*steps && n < 31)
		argv[n++] = *steps++;
	argv[n] = NULL;
	proc_start(p, env, argv);
}

/* The text of an output file. */
static const char *output_of_file(const char *path)
{
	static char buf[16384];

	if (test_read_file(path, buf, sizeof(buf)) < 0)
		return "(no output)";
	return buf;
}

static const char *output_of(const struct proc *p)
{
	return output_of_file(p->out);
}

static bool proc_says(const struct proc *p, const char *text, int timeout_s)
{
	struct timespec tick = { 0, 1000 * 1000 };

	for (long i = 0; i < timeout_s * 1000L; i++) {
		if (test_file_contains(p->out, text))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

static void expect_pause(const struct proc *p, int n, const char *what)
{
	char text[32];

	snprintf(text, sizeof(text), "pause %d\n", n);
	ck_assert_msg(proc_says(p, text, 20), "%s: never reached pause %d: %s",
		      what, n, output_of(p));
}

static void proc_next(const struct proc *p)
{
	ck_assert_int_eq(write(p->in, "\n", 1), 1);
}

/* Let it run to its end: the wait status. */
static int proc_end(struct proc *p, int timeout_s)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
	return test_wait(p->pid, timeout_s);
}

static void expect_exit(struct proc *p, int want, const char *what)
{
	int status = proc_end(p, 60);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == want,
		      "%s: status %#x, expected exit %d: %s", what, status,
		      want, output_of(p));
}

/* The ms=N a step reported on the line starting with PREFIX. */
static long reported_ms(const struct proc *p, const char *prefix)
{
	const char *out = output_of(p), *line = strstr(out, prefix), *ms;

	ck_assert_msg(line, "no '%s' in: %s", prefix, out);
	ms = strstr(line, "ms=");
	ck_assert_ptr_nonnull(ms);
	return atol(ms + 3);
}

/* ---- what the test sees of a guard --------------------------------------- */

static void assert_held_by(const char *lockpath, pid_t pid, const char *what)
{
	ck_assert_msg(test_is_flocked(lockpath), "%s: %s is not locked", what,
		      lockpath);
	ck_assert_msg(test_read_pid(lockpath) == pid,
		      "%s: %s names %d, not the holder %d", what, lockpath,
		      test_read_pid(lockpath), pid);
}

static void assert_released(const char *lockpath, const char *what)
{
	ck_assert_msg(!test_is_flocked(lockpath), "%s: %s is still locked",
		      what, lockpath);
	ck_assert_msg(access(lockpath, F_OK) < 0, "%s: %s was left behind",
		      what, lockpath);
}

/* A guard-helper holding the resource: "open", pause 1, "close", pause 2. */
static void start_holder(struct proc *p, const char *const *env)
{
	const char *steps[] = { at_dir("open:@/data:+"), "pause", "close:0",
				"pause", NULL };

	helper_start(p, "guard-helper", env, steps);
	expect_pause(p, 1, "holder");
	assert_held_by(lock, p->pid, "holder");
}

/* A guard-helper that opens with STEP, then pauses: it holds LOCKPATH
 * until the test lets it go on (and end). */
static void hold(struct proc *p, const char *const *env, const char *step,
		 const char *lockpath)
{
	const char *steps[] = { step, "pause", NULL };

	helper_start(p, "guard-helper", env, steps);
	expect_pause(p, 1, "holder");
	assert_held_by(lockpath, p->pid, "holder");
}

/* The holder closes: the guard must be released at once. */
static void release_holder(struct proc *p)
{
	proc_next(p);
	expect_pause(p, 2, "holder");
}

/* ---- scripts: every entry point takes the guard, every close drops it ---- */

struct script {
	const char *name;
	const char *helper;
	const char *steps[16]; /* '@' is the test directory */
	const char *states;    /* at each pause: 'H' held by the helper,
				  'R' released (no lock file) */
	const char *resource;  /* whose lock is watched, when not data's;
				  '@' is the test directory */
};

static const struct script scripts[] = {
	{ "entry_open",
	  "guard-helper",
	  { "open:@/data:+", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_open64",
	  "guard-helper",
	  { "open64:@/data:r", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_openat_dirfd",
	  "guard-helper",
	  { "openat:@:data:+", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_openat64_dirfd",
	  "guard-helper",
	  { "openat64:@/sub:../data:r", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_relative",
	  "guard-helper",
	  { "chdir:@", "open:data:+", "pause", "close:0", "pause",
	    "chdir:@/sub", "open:./../sub/../data:r", "pause", "close:1",
	    "pause" },
	  "HRHR",
	  NULL },
	{ "entry_creat",
	  "guard-helper",
	  { "creat:@/data", "pause", "close:0", "pause", "creat64:@/data",
	    "pause", "close:1", "pause" },
	  "HRHR",
	  NULL },
	{ "entry_creat_new_file",
	  "guard-helper",
	  { "open:@/new:wcx", "pause", "close:0", "pause" },
	  "HR",
	  "@/new" },
	{ "entry_fopen",
	  "guard-helper",
	  { "fopen:@/data:r", "pause", "fclose:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_fopen64",
	  "guard-helper",
	  { "fopen64:@/data:a", "pause", "fclose:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_freopen",
	  "guard-helper",
	  { "fopen:@/other:r", "pause", "freopen:@/data:r+:0", "pause",
	    "freopen:@/other:r:0", "pause", "freopen64:@/data:r:0", "pause",
	    "fclose:0", "pause" },
	  "RHRHR",
	  NULL },
	{ "entry_symlink",
	  "guard-helper",
	  { "open:@/link:+", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	/* The -D_FORTIFY_SOURCE=2 build: __open_2 and friends. */
	{ "entry_fortify_open_2",
	  "guard-helper-fortify",
	  { "open:@/data:+", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_fortify_open64_2",
	  "guard-helper-fortify",
	  { "open64:@/data:r", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_fortify_openat_2",
	  "guard-helper-fortify",
	  { "openat:@:data:+", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	{ "entry_fortify_openat64_2",
	  "guard-helper-fortify",
	  { "openat64:@:data:r", "pause", "close:0", "pause" },
	  "HR",
	  NULL },
	/* The last of several duplicates releases, whichever way it goes. */
	{ "release_after_last_dup",
	  "guard-helper",
	  { "open:@/data:+", "dup:0", "dup2:0:40", "dup3:0:41", "dupfd:0",
	    "pause", "close:0", "pause", "close:1", "pause", "close:2", "pause",
	    "close:3", "pause", "close:4", "pause" },
	  "HHHHHR",
	  NULL },
	{ "release_close_range",
	  "guard-helper",
	  { "open:@/data:+", "dup2:0:50", "dup2:0:51", "close:0", "pause",
	    "close-range:50:51", "pause" },
	  "HR",
	  NULL },
	{ "release_closefrom",
	  "guard-helper",
	  { "open:@/data:+", "dup2:0:900", "close:0", "pause", "closefrom:900",
	    "pause" },
	  "HR",
	  NULL },
	{ "release_dup2_over_guarded",
	  "guard-helper",
	  { "open:@/data:+", "dup2:0:70", "close:0", "pause",
	    "open:/dev/null:r", "dup2:2:70", "pause" },
	  "HR",
	  NULL },
	/* Names no pattern matches that reach the guarded file through a
	 * symlink: the open by name fails on the symlink, and the path is
	 * resolved then (a directory symlink, a relative path, a directory
	 * descriptor, fopen, which opens inside libc). */
	{ "name_through_directory_symlink",
	  "guard-helper",
	  { "open:@/sub/up/data:r", "pause", "close:0", "pause",
	    "fopen:@/sub/up/data:r", "pause", "fclose:1", "pause" },
	  "HRHR",
	  NULL },
	{ "name_relative_through_symlinks",
	  "guard-helper",
	  { "chdir:@/sub", "open:up/data:+", "pause", "close:0", "pause",
	    "chdir:@", "open:link:r", "pause", "close:1", "pause",
	    "fopen:link:r", "pause", "fclose:2", "pause" },
	  "HRHRHR",
	  NULL },
	{ "name_openat_dirfd_through_symlinks",
	  "guard-helper",
	  { "openat:@/sub:up/data:r", "pause", "close:0", "pause",
	    "openat:@/sub/up:data:+", "pause", "close:1", "pause",
	    "openat:@:link:r", "pause", "close:2", "pause" },
	  "HRHRHR",
	  NULL },
	/* the guard of a file open by one name is shared with its other
	 * names in the same process, never waited for */
	{ "name_and_symlink_share",
	  "guard-helper",
	  { "open:@/data:r", "open:@/sub/up/data:r", "open:@/link:r", "pause",
	    "close:0", "close:1", "pause", "close:2", "pause" },
	  "HHR",
	  NULL },
	/* absolute names written loosely are matched as normalized */
	{ "loosely_written_absolute_names",
	  "guard-helper",
	  { "open:@//data:r", "pause", "close:0", "pause", "open:@/./data:r",
	    "pause", "close:1", "pause", "open:@/sub/../data:r", "pause",
	    "close:2", "pause", "open:@/sub/.././/data:r", "pause", "close:3",
	    "pause" },
	  "HRHRHRHR",
	  NULL },
	/* paths no guard concerns stay unguarded, by every way in */
	{ "unmatched_names_unguarded",
	  "guard-helper",
	  { "chdir:@", "open:other:r", "pause", "open:./sub/../other:r",
	    "pause", "openat:@/sub:../other:r", "pause", "fopen:other:r",
	    "pause", "open:@/sub/up/other:r", "pause" },
	  "RRRRR",
	  "@/other" },
	{ "same_thread_twice",
	  "guard-helper",
	  { "open:@/data:+", "open:@/data:r", "fopen:@/data:r", "pause",
	    "close:0", "pause", "fclose:2", "pause", "close:1", "pause" },
	  "HHHR",
	  NULL },
};

#define SCRIPT_COUNT (int)(sizeof(scripts) / sizeof(scripts[0]))

static void run_script(const struct script *s, const char *const *env)
{
	const char *steps[17];
	const char *lockpath =
	    s->resource ? lock_file_of(at_dir(s->resource)) : lock;
	struct proc p;
	int n = 0;

	for (; n < 16 && s->steps[n]; n++)
		steps[n] = at_dir(s->steps[n]);
	steps[n] = NULL;
	helper_start(&p, s->helper, env, steps);
	for (int i = 0; s->states[i]; i++) {
		char what[128];

		snprintf(what, sizeof(what), "%s, pause %d", s->name, i + 1);
		expect_pause(&p, i + 1, what);
		if (s->states[i] == 'H')
			assert_held_by(lockpath, p.pid, what);
		else
			assert_released(lockpath, what);
		proc_next(&p);
	}
	expect_exit(&p, 0, s->name);
	assert_released(lockpath, s->name);
}

/* Each script in "fail" mode (an open competing with its own process
 * would say EBUSY) and in "block" mode (it would hang). */
START_TEST(script_holds_and_releases)
{
	const char *fail[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			       NULL };
	const char *block[] = { no_pidfile, guard_env, NULL };

	run_script(&scripts[_i], fail);
	test_write_file(data, "secret\n");
	unlink(at_dir("@/new"));
	run_script(&scripts[_i], block);
}
END_TEST

/* Whether nm's output OUT lists SYMBOL as undefined (versioned, or not
 * when a sanitizer runtime defines it). */
static bool nm_lists_undefined(const char *out, const char *symbol)
{
	char versioned[128], bare[128];

	snprintf(versioned, sizeof(versioned), " U %s@", symbol);
	snprintf(bare, sizeof(bare), " U %s\n", symbol);
	return test_file_contains(out, versioned) ||
	       test_file_contains(out, bare);
}

/* The fortify build really calls __open_2 and friends, and the plain one
 * open, open64, fopen, fopen64... each by its own name. */
START_TEST(helpers_reference_every_entry_point)
{
	static const char *const plain[] = {
		"open",	 "open64",  "openat",  "openat64",  "creat", "creat64",
		"fopen", "fopen64", "freopen", "freopen64", NULL,
	};
	static const char *const fortify[] = { "__open_2", "__open64_2",
					       "__openat_2", "__openat64_2",
					       NULL };
	const char *env[] = { "LD_PRELOAD=", NULL };
	const char *nm_out = test_path(dir, "nm");
	const char *argv[] = { "nm", "-D", NULL, NULL };
	int status;

	argv[2] = test_helper("guard-helper");
	status = test_run(env, argv, nm_out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "nm: status %#x", status);
	for (int i = 0; plain[i]; i++)
		ck_assert_msg(nm_lists_undefined(nm_out, plain[i]),
			      "guard-helper does not call %s", plain[i]);
	unlink(nm_out);
	argv[2] = test_helper("guard-helper-fortify");
	status = test_run(env, argv, nm_out, 30);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; fortify[i]; i++)
		ck_assert_msg(nm_lists_undefined(nm_out, fortify[i]),
			      "guard-helper-fortify does not call %s",
			      fortify[i]);
}
END_TEST

/* ---- consistency --------------------------------------------------------- */

/* Eight shell loops, each 200 times read-increment-write of one counter. */
static long count_after_loops(const char *counter, const char *const *env,
			      bool under_shim)
{
	static const char loop[] =
	    "i=0; while [ $i -lt 200 ]; do read n < \"$1\"; "
	    "echo $((n + 1)) > \"$1\"; i=$((i + 1)); done";
	const char *argv[] = { "sh", "-c", loop, "sh", counter, NULL };
	const char *out = test_path(dir, "loops");
	char buf[64];
	pid_t pids[8];

	test_write_file(counter, "0\n");
	for (int i = 0; i < 8; i++)
		pids[i] = test_spawn(env, argv, out, -1);
	for (int i = 0; i < 8; i++) {
		int status = test_wait(pids[i], 240);

		/* without the shim a loop may read a half-written file: its
		 * status is not the point there */
		ck_assert_msg(!under_shim || (WIFEXITED(status) &&
					      WEXITSTATUS(status) == 0),
			      "loop %d: status %#x", i, status);
	}
	ck_assert_int_gt(test_read_file(counter, buf, sizeof(buf)), 0);
	return strtol(buf, NULL, 10);
}

START_TEST(scope_process_prevents_lost_updates)
{
	char counter[4200], env_guard[4300];
	const char *env[] = { no_pidfile, env_guard,
			      "PIDSHIM_GUARD_SCOPE=process", NULL };
	const char *bare[] = { "LD_PRELOAD=", NULL };
	long count;

	if (!system_programs_run_under_shim("lost_updates"))
		return;

	snprintf(counter, sizeof(counter), "%s/counter", dir);
	snprintf(env_guard, sizeof(env_guard), "PIDSHIM_GUARD=%s", counter);
	count = count_after_loops(counter, env, true);
	ck_assert_msg(count == 1600, "under the shim: %ld, not 1600", count);
	assert_released(lock_file_of(counter), "after the loops");

	count = count_after_loops(counter, bare, false);
	if (count == 1600)
		fprintf(stderr, "lost_updates: this run without the shim lost "
				"no update; that half is skipped\n");
	else
		ck_assert_int_lt(count, 1600);
}
END_TEST

/* Lines of PATH that are not SIZE times one letter; COUNT gets the lines. */
static int torn_records(const char *path, int size, int *count)
{
	size_t cap = 4 << 20;
	char *buf = malloc(cap), *line, *save = NULL;
	int torn = 0;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(test_read_file(path, buf, cap), 0);
	*count = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);

		(*count)++;
		if (len != (size_t)size ||
		    strspn(line, (char[]){ line[0], '\0' }) != len)
			torn++;
	}
	free(buf);
	return torn;
}

static void run_appenders(const char *path, const char *const *env)
{
	char step[4400];
	const char *argv[] = { test_helper("guard-helper"), step, NULL };
	struct proc p[4];

	for (int i = 0; i < 4; i++) {
		snprintf(step, sizeof(step), "append:%s:%c:30:4096", path,
			 'a' + i);
		proc_start(&p[i], env, argv);
	}
	for (int i = 0; i < 4; i++)
		expect_exit(&p[i], 0, "appender");
}

START_TEST(scope_open_records_never_interleave)
{
	char log[4200], env_guard[4300];
	const char *env[] = { no_pidfile, env_guard, NULL };
	const char *bare[] = { "LD_PRELOAD=", NULL };
	int torn, count;

	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(env_guard, sizeof(env_guard), "PIDSHIM_GUARD=%s", log);
	run_appenders(log, env);
	torn = torn_records(log, 4096, &count);
	ck_assert_int_eq(count, 4 * 30);
	ck_assert_msg(torn == 0, "%d of %d records interleaved under the shim",
		      torn, count);
	assert_released(lock_file_of(log), "after the appenders");

	unlink(log);
	run_appenders(log, bare);
	torn = torn_records(log, 4096, &count);
	if (torn == 0)
		fprintf(stderr, "records: this run without the shim tore no "
				"record; that half is skipped\n");
}
END_TEST

/* A waiter's O_TRUNC (open, creat, fopen "w") happens only once the holder
 * has released. */
START_TEST(truncate_waits_for_holder)
{
	static const char *const waiters[] = { "open:@/data:wt", "creat:@/data",
					       "fopen:@/data:w" };
	const char *env[] = { no_pidfile, guard_env, NULL };
	char buf[64];

	for (int i = 0; i < 3; i++) {
		const char *steps[] = { at_dir(waiters[i]), "pause", NULL };
		struct proc holder, waiter;

		test_write_file(data, "secret\n");
		start_holder(&holder, env);
		helper_start(&waiter, "guard-helper", env, steps);
		ck_assert_msg(test_wait_for_lock_waiter(lock, 20),
			      "%s: no waiter on the lock", waiters[i]);
		ck_assert_int_eq(test_read_file(data, buf, sizeof(buf)), 7);
		ck_assert_msg(strcmp(buf, "secret\n") == 0,
			      "%s truncated the file before the holder "
			      "released it",
			      waiters[i]);
		release_holder(&holder);
		expect_pause(&waiter, 1, waiters[i]);
		ck_assert_int_eq(test_read_file(data, buf, sizeof(buf)), 0);
		expect_exit(&waiter, 0, waiters[i]);
		expect_exit(&holder, 0, "holder");
	}
}
END_TEST

/* ---- descriptors across fork --------------------------------------------- */

START_TEST(fork_keeps_guard_with_its_process)
{
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	char rules[8400];
	const char *steps[] = { rules, NULL };
	struct proc p;

	snprintf(rules, sizeof(rules), "fork-rules:%s:%s", data, lock);
	helper_start(&p, "guard-helper", env, steps);
	expect_exit(&p, 0, "fork-rules");
	ck_assert(test_file_contains(p.out, "fork-rules ok"));
	assert_released(lock, "after fork-rules");
}
END_TEST

/* ---- waiting ------------------------------------------------------------- */

START_TEST(wait_fail_is_ebusy_at_once)
{
	const char *hold_env[] = { no_pidfile, guard_env, NULL };
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("open:@/data:r"), NULL };
	const char *fsteps[] = { at_dir("fopen:@/data:r"), NULL };
	struct proc holder, p;
	long ms;

	start_holder(&holder, hold_env);
	helper_start(&p, "guard-helper", env, steps);
	expect_exit(&p, 2, "fail");
	ms = reported_ms(&p, "open fail EBUSY");
	ck_assert_msg(ms < 1000, "EBUSY after %ld ms", ms);
	helper_start(&p, "guard-helper", env, fsteps);
	expect_exit(&p, 2, "fail, fopen");
	ck_assert(test_file_contains(p.out, "fopen fail EBUSY"));
	assert_held_by(lock, holder.pid, "after the refusals");
	release_holder(&holder);
	expect_exit(&holder, 0, "holder");
}
END_TEST

START_TEST(wait_seconds_is_ebusy_after_timeout)
{
	const char *hold_env[] = { no_pidfile, guard_env, NULL };
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=0.5",
			      NULL };
	const char *steps[] = { at_dir("open:@/data:+"), NULL };
	struct proc holder, p;
	long ms;

	start_holder(&holder, hold_env);
	helper_start(&p, "guard-helper", env, steps);
	expect_exit(&p, 2, "0.5");
	ms = reported_ms(&p, "open fail EBUSY");
	ck_assert_msg(ms >= 450 && ms < 5000, "EBUSY after %ld ms", ms);
	assert_held_by(lock, holder.pid, "after the time-out");
	release_holder(&holder);
	expect_exit(&holder, 0, "holder");
}
END_TEST

/* "block" sleeps in the kernel (a waiter in /proc/locks, which a polling
 * loop never is) and wakes on the release. */
START_TEST(wait_block_wakes_on_release)
{
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=block",
			      NULL };
	const char *steps[] = { at_dir("open:@/data:+"), "pause", NULL };
	struct proc holder, waiter;
	struct timespec released;
	long ms;

	start_holder(&holder, env);
	helper_start(&waiter, "guard-helper", env, steps);
	ck_assert_msg(test_wait_for_lock_waiter(lock, 20),
		      "the blocked open is not waiting in the kernel: %s",
		      output_of(&waiter));
	ck_assert(!test_file_contains(waiter.out, "open ok"));
	clock_gettime(CLOCK_MONOTONIC, &released);
	release_holder(&holder);
	expect_pause(&waiter, 1, "waiter");
	ms = test_ms_since(&released);
	ck_assert_msg(ms < 2000, "woke %ld ms after the release", ms);
	assert_held_by(lock, waiter.pid, "waiter");
	expect_exit(&waiter, 0, "waiter");
	expect_exit(&holder, 0, "holder");
	assert_released(lock, "at the end");
}
END_TEST

/* ---- sharing ------------------------------------------------------------- */

START_TEST(shared_read_readers_share_writer_waits)
{
	const char *env[] = { no_pidfile, guard_env,
			      "PIDSHIM_GUARD_MODE=shared-read",
			      "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *wenv[] = { no_pidfile, guard_env,
			       "PIDSHIM_GUARD_MODE=shared-read", NULL };
	const char *rsteps[] = { at_dir("open:@/data:r"), "pause", "close:0",
				 "pause", NULL };
	const char *wsteps[] = { at_dir("open:@/data:w"), "pause", NULL };
	struct proc r1, r2, w;

	helper_start(&r1, "guard-helper", env, rsteps);
	expect_pause(&r1, 1, "reader 1");
	helper_start(&r2, "guard-helper", env, rsteps);
	expect_pause(&r2, 1, "reader 2 (while reader 1 holds)");
	ck_assert(test_is_flocked(lock));

	helper_start(&w, "guard-helper", wenv, wsteps);
	ck_assert_msg(test_wait_for_lock_waiter(lock, 20),
		      "the writer does not wait: %s", output_of(&w));
	proc_next(&r1);
	expect_pause(&r1, 2, "reader 1 closed");
	/* one reader left: the writer still waits */
	ck_assert(test_wait_for_lock_waiter(lock, 20));
	ck_assert_msg(!test_file_contains(w.out, "open ok"),
		      "the writer went in with a reader holding");
	proc_next(&r2);
	expect_pause(&r2, 2, "reader 2 closed");
	expect_pause(&w, 1, "writer");
	assert_held_by(lock, w.pid, "writer");
	expect_exit(&w, 0, "writer");
	expect_exit(&r1, 0, "reader 1");
	expect_exit(&r2, 0, "reader 2");
	assert_released(lock, "at the end");
}
END_TEST

/* A reader that is refused a write open (another reader holds) keeps its
 * shared lock: flock drops the old lock when a conversion fails, and the
 * shim must take it back, or a writer could get in under the reader. */
START_TEST(shared_read_refused_upgrade_keeps_reader_lock)
{
	const char *env[] = { no_pidfile, guard_env,
			      "PIDSHIM_GUARD_MODE=shared-read",
			      "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *r1steps[] = { at_dir("open:@/data:r"), "pause", "close:0",
				  "pause", NULL };
	/* reader 2 closes before it ends: a shared holder leaving with the
	 * file open cannot tell it is the last, and leaves the lock file */
	const char *r2steps[] = { at_dir("open:@/data:r"),
				  at_dir("try-open:@/data:w"), "pause",
				  "close:0", NULL };
	const char *wsteps[] = { at_dir("open:@/data:w"), NULL };
	struct proc r1, r2, w;

	helper_start(&r1, "guard-helper", env, r1steps);
	expect_pause(&r1, 1, "reader 1");
	helper_start(&r2, "guard-helper", env, r2steps);
	expect_pause(&r2, 1, "reader 2 after its refused write open");
	ck_assert_msg(test_file_contains(r2.out, "open fail EBUSY"),
		      "reader 2's write open was not refused: %s",
		      output_of(&r2));
	proc_next(&r1);
	expect_pause(&r1, 2, "reader 1 closed");
	/* reader 2 still reads: a writer must be refused */
	helper_start(&w, "guard-helper", env, wsteps);
	expect_exit(&w, 2, "writer while reader 2 reads");
	proc_next(&r2);
	expect_exit(&r2, 0, "reader 2");
	proc_next(&r1);
	expect_exit(&r1, 0, "reader 1");
	assert_released(lock, "at the end");
}
END_TEST

/* A vfork child shares its parent's memory and runs no atfork handler:
 * its close must not release (or forget) the parent's guard, or the
 * parent's next open would wait for its own leaked lock. */
START_TEST(vfork_child_leaves_parent_guard)
{
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = {
		at_dir("open:@/data:w"), "vfork-close:0", "pause", "close:0",
		at_dir("open:@/data:w"), "close:1",	  "pause", NULL
	};
	struct proc p;

	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "after the vfork child closed its copy");
	assert_held_by(lock, p.pid, "the parent still holds");
	proc_next(&p);
	expect_pause(&p, 2, "reopened after its own close");
	assert_released(lock, "after the last close");
	proc_next(&p);
	expect_exit(&p, 0, "vfork");
}
END_TEST

/* `cmd >> file`: the shell opens the guarded file, then execs cmd, which
 * writes through the inherited descriptor: the guard must stay held by
 * the new image and go when it closes the file. */
START_TEST(exec_keeps_guard_of_inherited_descriptor)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	char cmd[8200];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	int fds[2], status;
	pid_t pid;

	if (!system_programs_run_under_shim("exec"))
		return;
	snprintf(cmd, sizeof(cmd), "exec cat >> %s", data);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = test_spawn(env, argv, NULL, fds[0]);
	close(fds[0]);
	for (int i = 0; i < 5000 && !test_is_flocked(lock); i++)
		usleep(1000);
	ck_assert_msg(test_is_flocked(lock), "the guard was never taken");
	/* sh has exec'd cat by now or will: either way the lock stays */
	usleep(200 * 1000);
	ck_assert_msg(test_is_flocked(lock), "the exec dropped the guard");
	ck_assert_int_eq(write(fds[1], "appended\n", 9), 9);
	close(fds[1]);
	status = test_wait(pid, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(test_file_contains(data, "appended"));
	ck_assert_msg(access(lock, F_OK) < 0, "lock file left behind");
}
END_TEST

/* Two threads open the one file over and over (each also twice at once):
 * they share the guard, never deadlock, and the last close releases. Then
 * eight: a close racing another thread's open of the number it frees must
 * not lose track of that open's guard. */
START_TEST(threads_never_deadlock)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *steps[] = { at_dir("threads:@/data:2:10000"), "pause",
				at_dir("threads:@/data:8:2500"), "pause",
				NULL };
	struct proc p;

	helper_start(&p, "guard-helper", env, steps);
	ck_assert_msg(proc_says(&p, "pause 1\n", 240), "2 threads: %s",
		      output_of(&p));
	ck_assert(test_file_contains(p.out, "threads ok threads=2"));
	assert_released(lock, "after 2 threads");
	proc_next(&p);
	ck_assert_msg(proc_says(&p, "pause 2\n", 240), "8 threads: %s",
		      output_of(&p));
	ck_assert(test_file_contains(p.out, "threads ok threads=8"));
	assert_released(lock, "after 8 threads");
	expect_exit(&p, 0, "threads");
}
END_TEST

/* ---- lock files ---------------------------------------------------------- */

START_TEST(uucp_style_lock_file)
{
	char env_guard[4300], env_dir[4300], want[32], got[64];
	const char *env[] = { no_pidfile, env_guard, "PIDSHIM_LOCK_STYLE=uucp",
			      env_dir, NULL };
	const char *steps[] = { at_dir("open:@/ttyS9:+"), "pause", "close:0",
				"pause", NULL };
	const char *uucp_lock = at_dir("@/locks/LCK..ttyS9");
	struct proc p;

	ck_assert_int_eq(mkdir(test_path(dir, "locks"), 0755), 0);
	test_write_file(test_path(dir, "ttyS9"), "");
	snprintf(env_guard, sizeof(env_guard), "PIDSHIM_GUARD=%s/tty*", dir);
	snprintf(env_dir, sizeof(env_dir), "PIDSHIM_LOCK_DIR=%s/locks", dir);

	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "uucp");
	snprintf(want, sizeof(want), "%10d\n", p.pid);
	ck_assert_int_eq(test_read_file(uucp_lock, got, sizeof(got)), 11);
	ck_assert_str_eq(got, want);
	ck_assert(test_is_flocked(uucp_lock));
	ck_assert_int_eq(access(at_dir("@/ttyS9.lock"), F_OK), -1);
	ck_assert_int_eq(access(lock_file_of(at_dir("@/ttyS9")), F_OK), -1);
	proc_next(&p);
	expect_pause(&p, 2, "uucp");
	assert_released(uucp_lock, "uucp");
	expect_exit(&p, 0, "uucp");
}
END_TEST

/* Where each style puts the lock file of @/data; and a guard kept across
 * an exec is known again by that name (sh opens the file and execs cat:
 * cat's shim takes the guard over and removes the file at its exit). */
static const struct lock_name {
	const char *style; /* NULL: the default */
	const char *lock_dir;
	const char *lock;
} lock_names[] = {
	{ NULL, NULL, "@/.data.pidshim-lock" },
	{ "pidshim", NULL, "@/.data.pidshim-lock" },
	{ "pidshim", "@/locks", "@/locks/data.pidshim-lock" },
	{ "dotlock", NULL, "@/data.lock" },
	{ "dotlock", "@/locks", "@/locks/data.lock" },
	{ "suffix", NULL, "@/data.lock" },
	{ "uucp", "@/locks", "@/locks/LCK..data" },
};

#define LOCK_NAME_COUNT (int)(sizeof(lock_names) / sizeof(lock_names[0]))

START_TEST(lock_file_name_per_style)
{
	const struct lock_name *n = &lock_names[_i];
	char style[64], lock_dir[4400];
	const char *env[] = { no_pidfile, guard_env, NULL, NULL, NULL };
	const char *steps[] = { at_dir("open:@/data:+"), "pause", "close:0",
				"pause", NULL };
	const char *argv[] = { "sh", "-c", "exec cat >> \"$1\"",
			       "sh", data, NULL };
	const char *expect = at_dir(n->lock);
	struct proc p;
	int e = 2, status;

	ck_assert_int_eq(mkdir(test_path(dir, "locks"), 0755), 0);
	if (n->style) {
		snprintf(style, sizeof(style), "PIDSHIM_LOCK_STYLE=%s",
			 n->style);
		env[e++] = style;
	}
	if (n->lock_dir) {
		snprintf(lock_dir, sizeof(lock_dir), "PIDSHIM_LOCK_DIR=%s",
			 at_dir(n->lock_dir));
		env[e++] = lock_dir;
	}
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, n->lock);
	assert_held_by(expect, p.pid, n->lock);
	for (int i = 0; i < LOCK_NAME_COUNT; i++)
		ck_assert_msg(!strcmp(lock_names[i].lock, n->lock) ||
				  access(at_dir(lock_names[i].lock), F_OK),
			      "%s: %s was made too", n->lock,
			      lock_names[i].lock);
	proc_next(&p);
	expect_pause(&p, 2, n->lock);
	assert_released(expect, n->lock);
	expect_exit(&p, 0, n->lock);

	if (!system_programs_run_under_shim("lock_names"))
		return;
	status = test_run(env, argv, NULL, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: sh -c 'exec cat': status %#x", n->lock, status);
	ck_assert_msg(access(expect, F_OK) < 0,
		      "%s: left behind: the guard was not taken over across "
		      "the exec",
		      n->lock);
}
END_TEST

/* The new image knows the guard's lock descriptor by its exact name, not
 * by ".lock" anywhere in a path: sixteen inherited descriptors on files
 * in a directory named like lock files must not hide it. */
START_TEST(exec_finds_lock_among_lock_like_names)
{
	static const char script[] =
	    "import os, sys\n"
	    "crowd, data = sys.argv[1], sys.argv[2]\n"
	    "for i in range(16):\n"
	    "    name = crowd + '/f' + str(i)\n"
	    "    fd = os.open(name, os.O_RDONLY | os.O_CREAT)\n"
	    "    os.set_inheritable(fd, True)\n"
	    "fd = os.open(data, os.O_WRONLY | os.O_APPEND)\n"
	    "os.dup2(fd, 1)\n"
	    "os.close(fd)\n"
	    "os.execvp('cat', ['cat'])\n";
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *crowd = at_dir("@/crowd.lock.pidshim-lock");
	const char *argv[] = { "python3", "-c", script, crowd, data, NULL };
	const char *out = test_path(dir, "python");
	int fds[2], status;
	pid_t pid;

	if (!system_programs_run_under_shim("exec_lock_like_names"))
		return;
	ck_assert_int_eq(mkdir(crowd, 0755), 0);
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = test_spawn(env, argv, out, fds[0]);
	close(fds[0]);
	for (int i = 0; i < 10000 && !test_is_flocked(lock); i++)
		usleep(1000);
	ck_assert_msg(test_is_flocked(lock), "the guard was never taken");
	ck_assert_int_eq(write(fds[1], "appended\n", 9), 9);
	close(fds[1]);
	status = test_wait(pid, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x: %s", status, output_of_file(out));
	ck_assert(test_file_contains(data, "appended"));
	ck_assert_msg(access(lock, F_OK) < 0,
		      "lock file left behind: cat's shim did not take the "
		      "guard over");
}
END_TEST

/* git takes .git/index.lock by O_EXCL creation, writes the new index into
 * it and renames it over the index: a guard on the index must never take
 * that name (issue 7). Twenty concurrent `git add`s, each retried while
 * git says another holds index.lock, leave every file in an intact
 * index. */
START_TEST(git_under_guard_on_its_index)
{
	static const char script[] =
	    "set -eu\n"
	    "cd \"$1\"\n"
	    "git init -q repo\n"
	    "cd repo\n"
	    "echo one > one\n"
	    "git add one\n"
	    "git commit -q -m one\n"
	    "k=1\n"
	    "while [ $k -le 20 ]; do echo $k > file$k; k=$((k + 1)); done\n"
	    "pids=\n"
	    "k=1\n"
	    "while [ $k -le 20 ]; do\n"
	    "	(tries=0\n"
	    "	 until git add file$k 2>> ../add-errors; do\n"
	    "		tries=$((tries + 1))\n"
	    "		[ $tries -lt 500 ] || exit 1\n"
	    "		sleep 0.01\n"
	    "	 done) &\n"
	    "	pids=\"$pids $!\"\n"
	    "	k=$((k + 1))\n"
	    "done\n"
	    "failed=0\n"
	    "for p in $pids; do wait $p || failed=1; done\n"
	    "if [ $failed -ne 0 ]; then\n"
	    "	echo 'a git add never succeeded'; exit 1\n"
	    "fi\n"
	    "if grep -E '^(fatal|error):' ../add-errors |\n"
	    "   grep -v \"index.lock': File exists\"; then\n"
	    "	echo 'git add failed otherwise than busy'; exit 1\n"
	    "fi\n"
	    "git fsck --no-progress\n"
	    "git ls-files > ../listed\n"
	    "git commit -q -m twenty\n"
	    "git status --porcelain > ../status\n";
	char genv[4400], home[4400], xdg[4400];
	const char *env[] = { no_pidfile,
			      genv,
			      home,
			      xdg,
			      "GIT_CONFIG_NOSYSTEM=1",
			      "GIT_AUTHOR_NAME=pidshim test",
			      "GIT_AUTHOR_EMAIL=test@pidshim.invalid",
			      "GIT_COMMITTER_NAME=pidshim test",
			      "GIT_COMMITTER_EMAIL=test@pidshim.invalid",
			      NULL };
	const char *argv[] = { "sh", "-c", script, "sh", dir, NULL };
	const char *out = test_path(dir, "git");
	char listed[4096], want[4096] = "";
	int status;

	if (!system_programs_run_under_shim("git_index"))
		return;
	require_program("git", "git");
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/repo/.git/index", dir);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	snprintf(xdg, sizeof(xdg), "XDG_CONFIG_HOME=%s", dir);
	status = test_run(env, argv, out, 300);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "git under the guard: status %#x: %s", status,
		      output_of_file(out));
	for (int k = 1; k <= 20; k++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "file%d\n", k);
	strcat(want, "one\n");
	ck_assert_int_gt(
	    test_read_file(test_path(dir, "listed"), listed, sizeof(listed)),
	    0);
	/* git ls-files sorts by name: file1 file10 ... file19 file2 ... */
	ck_assert_int_eq(strlen(listed), strlen(want));
	for (int k = 1; k <= 20; k++) {
		char line[32];

		snprintf(line, sizeof(line), "file%d\n", k);
		ck_assert_msg(strstr(listed, line), "%s missing: %s", line,
			      listed);
	}
	ck_assert_msg(test_file_contains(test_path(dir, "listed"), "one\n"),
		      "one missing");
	ck_assert_int_eq(
	    test_read_file(test_path(dir, "status"), listed, sizeof(listed)),
	    0);
	assert_released(at_dir("@/repo/.git/.index.pidshim-lock"), "after git");
	ck_assert(access(at_dir("@/repo/.git/index.lock"), F_OK) < 0);
}
END_TEST

/* A process that ends holding a guard (sh, by exit or by SIGTERM) while
 * another waits for it: the waiter is handed the lock file the holder had,
 * not a removed inode it must let go of and create again. */
START_TEST(guard_held_at_the_end_is_handed_over)
{
	const char *env[] = { guard_env, no_pidfile, NULL };
	const char *wait_env[] = { guard_env, no_pidfile,
				   "PIDSHIM_GUARD_WAIT=block", NULL };
	char script[4400];
	const char *argv[] = { "sh", "-c", script, NULL };

	snprintf(script, sizeof(script), "exec 3<'%s'; echo holding; read x",
		 data);
	for (int by_signal = 0; by_signal < 2; by_signal++) {
		struct proc holder, waiter;
		struct stat had, got;
		int keep;

		proc_start(&holder, env, argv);
		ck_assert_msg(proc_says(&holder, "holding", 20), "holder: %s",
			      output_of(&holder));
		proc_start(&waiter, wait_env, argv);
		ck_assert_msg(test_wait_for_lock_waiter(lock, 20),
			      "the waiter never waited");
		/* held open, so that its inode number cannot come back */
		keep = open(lock, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(keep, 0);
		ck_assert_int_eq(fstat(keep, &had), 0);
		if (by_signal)
			kill(holder.pid, SIGTERM);
		else
			proc_next(&holder);
		proc_end(&holder, 20);
		ck_assert_msg(proc_says(&waiter, "holding", 20), "waiter: %s",
			      output_of(&waiter));
		ck_assert_int_eq(stat(lock, &got), 0);
		ck_assert_msg(got.st_ino == had.st_ino,
			      "%s: the waiter made a new lock file",
			      by_signal ? "SIGTERM" : "exit");
		close(keep);
		proc_next(&waiter);
		ck_assert_int_eq(proc_end(&waiter, 20), 0);
		ck_assert_int_eq(access(lock, F_OK), -1);
	}
}
END_TEST

/* ---- the conventions of existence and PID -------------------------------- */

/* A process that lives until killed, started without the shim. */
static pid_t start_sleeper(void)
{
	const char *env[] = { "LD_PRELOAD=", NULL };
	const char *argv[] = { "sleep", "600", NULL };

	return test_spawn(env, argv, NULL, -1);
}

static void stop_sleeper(pid_t pid)
{
	kill(pid, SIGKILL);
	test_wait(pid, 20);
}

static void assert_file_is(const char *path, const char *want, const char *what)
{
	char got[256];

	ck_assert_msg(test_read_file(path, got, sizeof(got)) >= 0 &&
			  strcmp(got, want) == 0,
		      "%s: %s changed", what, path);
	ck_assert_msg(!test_is_flocked(path), "%s: %s is locked", what, path);
}

/* UUCP tools (minicom, cu, lockdev) hold a device by an LCK.. file naming
 * a live process, without flock: such a file is held, waited for as
 * PIDSHIM_GUARD_WAIT says, and never rewritten; a dead process's file is
 * taken over at once. */
START_TEST(uucp_lock_of_a_live_process_is_held)
{
	char env_guard[4300], env_dir[4300], text[64];
	const char *fail[] = { no_pidfile,
			       env_guard,
			       env_dir,
			       "PIDSHIM_LOCK_STYLE=uucp",
			       "PIDSHIM_GUARD_WAIT=fail",
			       NULL };
	const char *timed[] = { no_pidfile,
				env_guard,
				env_dir,
				"PIDSHIM_LOCK_STYLE=uucp",
				"PIDSHIM_GUARD_WAIT=20",
				NULL };
	const char *block[] = { no_pidfile, env_guard, env_dir,
				"PIDSHIM_LOCK_STYLE=uucp", NULL };
	const char *steps[] = { at_dir("open:@/ttyS9:+"), "pause", NULL };
	const char *nsteps[] = { at_dir("alarm-open:@/ttyS9:+:0"), NULL };
	const char *rsteps[] = { at_dir("alarm-open:@/ttyS9:+:1"), "pause",
				 NULL };
	const char *uucp_lock = at_dir("@/locks/LCK..ttyS9");
	struct proc p;
	pid_t sleeper;
	long ms;

	ck_assert_int_eq(mkdir(test_path(dir, "locks"), 0755), 0);
	test_write_file(test_path(dir, "ttyS9"), "");
	snprintf(env_guard, sizeof(env_guard), "PIDSHIM_GUARD=%s/tty*", dir);
	snprintf(env_dir, sizeof(env_dir), "PIDSHIM_LOCK_DIR=%s/locks", dir);

	/* fail: EBUSY at once, the file untouched; also as minicom writes it */
	sleeper = start_sleeper();
	snprintf(text, sizeof(text), "%10d\n", sleeper);
	test_write_file(uucp_lock, text);
	helper_start(&p, "guard-helper", fail, steps);
	expect_exit(&p, 2, "uucp, live holder, fail");
	ms = reported_ms(&p, "open fail EBUSY");
	ck_assert_msg(ms < 1000, "EBUSY after %ld ms", ms);
	assert_file_is(uucp_lock, text, "uucp, live holder, fail");
	snprintf(text, sizeof(text), "%10d minicom tester\n", sleeper);
	test_write_file(uucp_lock, text);
	helper_start(&p, "guard-helper", fail, steps);
	expect_exit(&p, 2, "uucp, minicom's file, fail");
	assert_file_is(uucp_lock, text, "uucp, minicom's file");

	/* timed: the open goes in once the holder is gone */
	snprintf(text, sizeof(text), "%10d\n", sleeper);
	test_write_file(uucp_lock, text);
	helper_start(&p, "guard-helper", timed, steps);
	usleep(500 * 1000);
	ck_assert_msg(!test_file_contains(p.out, "open"),
		      "the open did not wait: %s", output_of(&p));
	assert_file_is(uucp_lock, text, "uucp, live holder, waiting");
	stop_sleeper(sleeper);
	expect_pause(&p, 1, "uucp, holder gone");
	/* No lower bound: the helper times its open from its own start, which
	 * a slow runtime (valgrind) delays past the test's 500 ms; that the
	 * open waited is what the check before stop_sleeper() shows. */
	ms = reported_ms(&p, "open ok");
	ck_assert_msg(ms < 10000, "open after %ld ms", ms);
	snprintf(text, sizeof(text), "%10d\n", p.pid);
	ck_assert_msg(test_is_flocked(uucp_lock) &&
			  test_file_contains(uucp_lock, text),
		      "the waiter does not hold %s", uucp_lock);
	expect_exit(&p, 0, "uucp, timed");
	assert_released(uucp_lock, "uucp, timed");

	/* a dead process's file: taken over at once */
	snprintf(text, sizeof(text), "%10d\n", sleeper);
	test_write_file(uucp_lock, text);
	helper_start(&p, "guard-helper", fail, steps);
	expect_pause(&p, 1, "uucp, dead holder");
	ms = reported_ms(&p, "open ok");
	ck_assert_msg(ms < 1000, "took %ld ms", ms);
	snprintf(text, sizeof(text), "%10d\n", p.pid);
	ck_assert(test_file_contains(uucp_lock, text));
	expect_exit(&p, 0, "uucp, dead holder");
	assert_released(uucp_lock, "uucp, dead holder");

	/* block: waits as for a flock; a handler without SA_RESTART ends the
	 * wait with EINTR, one with SA_RESTART does not */
	sleeper = start_sleeper();
	snprintf(text, sizeof(text), "%10d\n", sleeper);
	test_write_file(uucp_lock, text);
	helper_start(&p, "guard-helper", block, nsteps);
	ck_assert_msg(proc_says(&p, "open fail EINTR", 20),
		      "the interrupted open did not fail with EINTR: %s",
		      output_of(&p));
	expect_exit(&p, 3, "uucp, no SA_RESTART");
	assert_file_is(uucp_lock, text, "uucp, after EINTR");
	helper_start(&p, "guard-helper", block, rsteps);
	sleep(2); /* past the alarm */
	ck_assert_msg(!test_file_contains(p.out, "open"),
		      "the SA_RESTART open did not go on waiting: %s",
		      output_of(&p));
	stop_sleeper(sleeper);
	expect_pause(&p, 1, "uucp, SA_RESTART, holder gone");
	ck_assert_msg(test_file_contains(p.out, "open ok") &&
			  test_file_contains(p.out, "alarms=1"),
		      "%s", output_of(&p));
	expect_exit(&p, 0, "uucp, SA_RESTART");
	assert_released(uucp_lock, "uucp, SA_RESTART");
}
END_TEST

/* dotlock joins liblockfile's convention: dotlockfile -p's lock (naming a
 * live process, no flock) is held for us, and ours is held for it. */
START_TEST(dotlock_style_and_dotlockfile)
{
	const char *env[] = { no_pidfile, guard_env,
			      "PIDSHIM_LOCK_STYLE=dotlock",
			      "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *bare[] = { "LD_PRELOAD=", NULL };
	const char *steps[] = { at_dir("open:@/data:+"), "pause", "close:0",
				"pause", NULL };
	const char *dotlock = at_dir("@/data.lock");
	const char *take_pid[] = { "dotlockfile", "-p",	   "-r", "0",
				   "-l",	  dotlock, NULL };
	const char *take[] = { "dotlockfile", "-r", "0", "-l", dotlock, NULL };
	const char *drop[] = { "dotlockfile", "-u", dotlock, NULL };
	const char *out = test_path(dir, "dotlockfile");
	char text[32];
	struct proc p;
	int status;

	require_program("dotlockfile", "liblockfile-bin");
	/* dotlockfile -p names its caller: this test process */
	status = test_run(bare, take_pid, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "dotlockfile -l: %#x: %s", status, output_of_file(out));
	snprintf(text, sizeof(text), "%d\n", getpid());
	assert_file_is(dotlock, text, "dotlockfile's lock");
	helper_start(&p, "guard-helper", env, steps);
	expect_exit(&p, 2, "dotlock, dotlockfile holds");
	ck_assert(test_file_contains(p.out, "open fail EBUSY"));
	assert_file_is(dotlock, text, "dotlockfile's lock, after the open");
	ck_assert_int_eq(test_run(bare, drop, NULL, 30), 0);

	/* ours, held: dotlockfile waits for it, with -p or without */
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "dotlock holder");
	assert_held_by(dotlock, p.pid, "dotlock holder");
	status = test_run(bare, take_pid, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		      "dotlockfile -p took the lock we hold");
	status = test_run(bare, take, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		      "dotlockfile took the lock we hold");
	assert_held_by(dotlock, p.pid, "dotlock holder, after dotlockfile");
	proc_next(&p);
	expect_pause(&p, 2, "dotlock holder closed");
	assert_released(dotlock, "dotlock holder closed");
	expect_exit(&p, 0, "dotlock holder");
	status = test_run(bare, take_pid, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "dotlockfile after our release: %#x", status);
	ck_assert_int_eq(test_run(bare, drop, NULL, 30), 0);
}
END_TEST

/* A lock file that cannot be made refuses the open (nothing is created)
 * and the log says why. */
START_TEST(uncreatable_lock_file_refuses_open)
{
	char env_dir[4300];
	const char *missing[] = { no_pidfile, guard_env, env_dir, NULL };
	const char *beside[] = { no_pidfile, guard_env, NULL };
	const char *steps[] = { at_dir("open:@/data:+"), NULL };
	const char *create[] = { at_dir("open:@/new:wc"), NULL };
	struct proc p;

	snprintf(env_dir, sizeof(env_dir), "PIDSHIM_LOCK_DIR=%s/missing", dir);
	helper_start(&p, "guard-helper", missing, steps);
	expect_exit(&p, 3, "missing lock directory");
	ck_assert_msg(test_file_contains(p.out, "open fail ENOENT") &&
			  test_file_contains(p.out, "cannot take the guard "
						    "lock") &&
			  test_file_contains(p.out, "No such file"),
		      "no reason given: %s", output_of(&p));

	helper_start(&p, "guard-helper", missing, create);
	expect_exit(&p, 3, "missing lock directory, O_CREAT");
	ck_assert_msg(access(at_dir("@/new"), F_OK) < 0,
		      "the refused open created the file");

	/* a directory where the lock file should be */
	ck_assert_int_eq(mkdir(lock, 0755), 0);
	helper_start(&p, "guard-helper", beside, steps);
	expect_exit(&p, 3, "lock path is a directory");
	ck_assert_msg(test_file_contains(p.out, lock) &&
			  test_file_contains(p.out, "Is a directory"),
		      "no reason given: %s", output_of(&p));
}
END_TEST

/* A timed conversion that runs out is refused with EBUSY after its time,
 * and the reader still holds its shared lock; one whose readers leave in
 * time is granted. */
START_TEST(shared_read_timed_upgrade)
{
	const char *env[] = { no_pidfile, guard_env,
			      "PIDSHIM_GUARD_MODE=shared-read",
			      "PIDSHIM_GUARD_WAIT=0.5", NULL };
	const char *long_env[] = { no_pidfile, guard_env,
				   "PIDSHIM_GUARD_MODE=shared-read",
				   "PIDSHIM_GUARD_WAIT=30", NULL };
	const char *fail_env[] = { no_pidfile, guard_env,
				   "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *r1steps[] = { at_dir("open:@/data:r"), "pause", "close:0",
				  "pause", NULL };
	const char *r2steps[] = { at_dir("open:@/data:r"),
				  at_dir("try-open:@/data:w"), "pause",
				  "close:0", NULL };
	const char *wsteps[] = { at_dir("open:@/data:w"), NULL };
	struct proc r1, r2, w;
	long ms;

	helper_start(&r1, "guard-helper", env, r1steps);
	expect_pause(&r1, 1, "reader 1");
	helper_start(&r2, "guard-helper", env, r2steps);
	expect_pause(&r2, 1, "reader 2 after its timed write open");
	ms = reported_ms(&r2, "open fail EBUSY");
	ck_assert_msg(ms >= 450 && ms < 5000, "refused after %ld ms", ms);
	proc_next(&r1);
	expect_pause(&r1, 2, "reader 1 closed");
	helper_start(&w, "guard-helper", fail_env, wsteps);
	expect_exit(&w, 2, "writer while reader 2 still reads");
	proc_next(&r2);
	expect_exit(&r2, 0, "reader 2");
	proc_next(&r1);
	expect_exit(&r1, 0, "reader 1");

	/* reader 1 leaves while reader 2 waits: the conversion is granted */
	helper_start(&r1, "guard-helper", long_env, r1steps);
	expect_pause(&r1, 1, "reader 1 again");
	helper_start(&r2, "guard-helper", long_env, r2steps);
	usleep(300 * 1000); /* reader 2 is polling for its conversion */
	proc_next(&r1);
	expect_pause(&r2, 1, "reader 2 converted");
	ck_assert_msg(!test_file_contains(r2.out, "open fail"),
		      "the conversion was refused: %s", output_of(&r2));
	assert_held_by(lock, r2.pid, "converted");
	proc_next(&r2);
	expect_exit(&r2, 0, "reader 2, converted");
	proc_next(&r1);
	expect_exit(&r1, 0, "reader 1 again");
}
END_TEST

/* An unsafe file at the lock file's path (libpidshim(7), "Guards")
 * refuses the open with ENOLCK and says why. */
START_TEST(unsafe_lock_file_refuses_open)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *steps[] = { at_dir("open:@/data:+"), NULL };
	const char *why[] = { "symbolic link", "FIFO", "hard link" };
	struct proc p;

	for (int i = 0; i < 3; i++) {
		unlink(lock);
		if (i == 0)
			ck_assert_int_eq(symlink(at_dir("@/other"), lock), 0);
		else if (i == 1)
			ck_assert_int_eq(mkfifo(lock, 0644), 0);
		else
			ck_assert_int_eq(link(at_dir("@/other"), lock), 0);
		helper_start(&p, "guard-helper", env, steps);
		expect_exit(&p, 3, why[i]);
		ck_assert_msg(test_file_contains(p.out, "open fail ENOLCK") &&
				  test_file_contains(p.out, "cannot take "
							    "the guard"),
			      "%s at the lock path: %s", why[i], output_of(&p));
	}
	unlink(lock);
	ck_assert_msg(test_file_contains(at_dir("@/other"), "other"),
		      "the file the lock path led to was changed");
}
END_TEST

START_TEST(sigterm_holder_leaves_no_lock_file)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *steps[] = { at_dir("open:@/data:+"), "pause", NULL };
	struct proc holder, waiter;
	int status;

	helper_start(&holder, "guard-helper", env, steps);
	expect_pause(&holder, 1, "holder");
	helper_start(&waiter, "guard-helper", env, steps);
	ck_assert(test_wait_for_lock_waiter(lock, 20));

	kill(holder.pid, SIGTERM);
	status = proc_end(&holder, 20);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
		      "holder: status %#x", status);
	expect_pause(&waiter, 1, "waiter after the holder's SIGTERM");
	assert_held_by(lock, waiter.pid, "waiter");

	/* nobody waiting now: nothing may be left */
	kill(waiter.pid, SIGTERM);
	status = proc_end(&waiter, 20);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_released(lock, "after SIGTERM");
}
END_TEST

/* ---- descendants and O_PATH ---------------------------------------------- */

/* sh -c 'cat DATA' while another process holds DATA: status and output. */
static int cat_under_sh(const char *children, const char *wait, const char *out)
{
	const char *env[] = { no_pidfile, guard_env, children, wait, NULL };
	/* not the last command: sh forks cat instead of exec'ing it */
	const char *argv[] = { "sh", "-c", "cat \"$1\"; st=$?; exit $st",
			       "sh", data, NULL };

	return test_run(env, argv, out, 30);
}

START_TEST(children_tree_descendant_takes_guard)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *out = test_path(dir, "cat");
	const char *block[] = { no_pidfile, guard_env, "PIDSHIM_CHILDREN=tree",
				NULL };
	const char *argv[] = { "sh", "-c", "cat \"$1\"; st=$?; exit $st",
			       "sh", data, NULL };
	struct proc holder, sh;
	int status;

	if (!system_programs_run_under_shim("children_tree"))
		return;

	start_holder(&holder, env);
	status = cat_under_sh("PIDSHIM_CHILDREN=tree",
			      "PIDSHIM_GUARD_WAIT=fail", out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		      "cat read a guarded file another process holds");
	ck_assert(test_file_contains(out, "Device or resource busy"));

	/* blocking: the descendant waits, then reads */
	proc_start(&sh, block, argv);
	ck_assert(test_wait_for_lock_waiter(lock, 20));
	ck_assert(!test_file_contains(sh.out, "secret"));
	release_holder(&holder);
	expect_exit(&sh, 0, "sh -c cat");
	ck_assert(test_file_contains(sh.out, "secret"));
	expect_exit(&holder, 0, "holder");
	assert_released(lock, "at the end");
}
END_TEST

START_TEST(children_none_descendant_unguarded)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *out = test_path(dir, "cat");
	const char *own[] = { no_pidfile, guard_env, "PIDSHIM_CHILDREN=none",
			      "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *read_argv[] = { "sh", "-c", "read x < \"$1\"",
				    "sh", data, NULL };
	struct proc holder;
	int status;

	if (!system_programs_run_under_shim("children_none"))
		return;

	start_holder(&holder, env);
	status = cat_under_sh("PIDSHIM_CHILDREN=none",
			      "PIDSHIM_GUARD_WAIT=fail", out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "cat under CHILDREN=none: status %#x", status);
	ck_assert(test_file_contains(out, "secret"));
	/* the program itself still takes guards */
	status = test_run(own, read_argv, NULL, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		      "sh's own open was not guarded");
	assert_held_by(lock, holder.pid, "holder");
	release_holder(&holder);
	expect_exit(&holder, 0, "holder");
}
END_TEST

START_TEST(o_path_is_not_guarded)
{
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("open:@/data:p"), "pause", NULL };
	struct proc holder, p;

	/* alone: no lock file at all */
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "O_PATH");
	assert_released(lock, "O_PATH open");
	expect_exit(&p, 0, "O_PATH");

	/* while another process holds the guard: no EBUSY */
	start_holder(&holder, env);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "O_PATH while held");
	expect_exit(&p, 0, "O_PATH while held");
	assert_held_by(lock, holder.pid, "holder");
	release_holder(&holder);
	expect_exit(&holder, 0, "holder");
}
END_TEST

/* ---- hardening (issue 7) ------------------------------------------------ */

/* A reader converting to exclusive holds no lock while it waits; the other
 * reader's release then proves itself the last and removes the lock file.
 * The converter must not be granted the lock on the removed inode: a new
 * writer would create a new file and go in beside it. */
START_TEST(shared_read_conversion_reverifies_lock_path)
{
	const char *env[] = { no_pidfile, guard_env,
			      "PIDSHIM_GUARD_MODE=shared-read", NULL };
	const char *fenv[] = { no_pidfile, guard_env,
			       "PIDSHIM_GUARD_MODE=shared-read",
			       "PIDSHIM_GUARD_WAIT=fail", NULL };
	const char *p1steps[] = { at_dir("open:@/data:r"),
				  "pause",
				  at_dir("open:@/data:+"),
				  "pause",
				  "close:1",
				  "close:0",
				  NULL };
	const char *p2steps[] = { at_dir("open:@/data:r"), "pause", "close:0",
				  "pause", NULL };
	const char *p3steps[] = { at_dir("open:@/data:+"), NULL };
	struct proc p1, p2, p3;

	helper_start(&p1, "guard-helper", env, p1steps);
	expect_pause(&p1, 1, "reader 1");
	helper_start(&p2, "guard-helper", env, p2steps);
	expect_pause(&p2, 1, "reader 2");
	proc_next(&p1);
	ck_assert_msg(test_wait_for_lock_waiter(lock, 20),
		      "reader 1's conversion does not wait: %s",
		      output_of(&p1));
	proc_next(&p2);
	expect_pause(&p2, 2, "reader 2 closed");
	expect_pause(&p1, 2, "reader 1 converted");
	assert_held_by(lock, p1.pid, "the converted reader");
	helper_start(&p3, "guard-helper", fenv, p3steps);
	expect_exit(&p3, 2, "a writer while the converted reader writes");
	proc_next(&p1);
	expect_exit(&p1, 0, "reader 1");
	proc_next(&p2);
	expect_exit(&p2, 0, "reader 2");
	assert_released(lock, "at the end");
}
END_TEST

/* open and close are async-signal-safe: a handler that opens and closes
 * the guarded file while the program does the same must never wait for
 * its own thread. */
START_TEST(signal_handler_open_never_deadlocks)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *penv[] = { no_pidfile, guard_env,
			       "PIDSHIM_GUARD_SCOPE=process", NULL };
	const char *steps[] = { at_dir("sigopen:@/data:300"), NULL };
	struct proc p;

	helper_start(&p, "guard-helper", env, steps);
	expect_exit(&p, 0, "sigopen, scope open");
	ck_assert(test_file_contains(p.out, "sigopen ok"));
	assert_released(lock, "after sigopen");
	helper_start(&p, "guard-helper", penv, steps);
	expect_exit(&p, 0, "sigopen, scope process");
	ck_assert(test_file_contains(p.out, "sigopen ok"));
}
END_TEST

/* A blocking wait for a busy guard interrupted by a handler without
 * SA_RESTART fails with EINTR, as the real open would; with SA_RESTART it
 * goes on waiting. */
START_TEST(eintr_ends_a_blocking_wait)
{
	const char *env[] = { no_pidfile, guard_env, NULL };
	const char *nsteps[] = { at_dir("alarm-open:@/data:+:0"), NULL };
	const char *rsteps[] = { at_dir("alarm-open:@/data:+:1"), "pause",
				 NULL };
	struct proc holder, p;

	start_holder(&holder, env);
	helper_start(&p, "guard-helper", env, nsteps);
	ck_assert_msg(proc_says(&p, "open fail EINTR", 20),
		      "the interrupted open did not fail with EINTR: %s",
		      output_of(&p));
	expect_exit(&p, 3, "no SA_RESTART");
	assert_held_by(lock, holder.pid, "after the interrupted open");

	helper_start(&p, "guard-helper", env, rsteps);
	ck_assert(test_wait_for_lock_waiter(lock, 20));
	/* past the alarm: still waiting */
	sleep(2);
	ck_assert_msg(!test_file_contains(p.out, "open"),
		      "the SA_RESTART open did not go on waiting: %s",
		      output_of(&p));
	ck_assert(test_wait_for_lock_waiter(lock, 20));
	release_holder(&holder);
	expect_pause(&p, 1, "SA_RESTART open");
	ck_assert_msg(test_file_contains(p.out, "open ok"), "%s",
		      output_of(&p));
	ck_assert(test_file_contains(p.out, "alarms=1"));
	assert_held_by(lock, p.pid, "after the SA_RESTART open");
	expect_exit(&p, 0, "SA_RESTART");
	expect_exit(&holder, 0, "holder");
}
END_TEST

/* More than 64 guarded resources open at once in one process. */
START_TEST(many_resources_at_once)
{
	char genv[4400];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("many:@/many:100"), NULL };
	struct proc p;

	ck_assert_int_eq(mkdir(test_path(dir, "many"), 0755), 0);
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/many/f*", dir);
	helper_start(&p, "guard-helper", env, steps);
	ck_assert_msg(proc_says(&p, "pause 1", 20), "%s", output_of(&p));
	assert_held_by(lock_file_of(at_dir("@/many/f0")), p.pid, "first");
	assert_held_by(lock_file_of(at_dir("@/many/f99")), p.pid, "hundredth");
	proc_next(&p);
	expect_exit(&p, 0, "many");
	assert_released(lock_file_of(at_dir("@/many/f0")), "first, closed");
	assert_released(lock_file_of(at_dir("@/many/f99")),
			"hundredth, closed");
}
END_TEST

/* ---- path resolution (issue 7) ------------------------------------------- */

/* @/g/counter, and a way back to it through a symlink and a "..":
 * @/g/link -> @/real/sub and @/real/g -> @/g. The kernel reads
 * @/g/link/../g/counter as @/real/g/counter, which is @/g/counter; a
 * lexical ".." would make it @/g/g/counter. */
static void make_dotdot_maze(void)
{
	ck_assert_int_eq(mkdir(at_dir("@/g"), 0755), 0);
	ck_assert_int_eq(mkdir(at_dir("@/real"), 0755), 0);
	ck_assert_int_eq(mkdir(at_dir("@/real/sub"), 0755), 0);
	ck_assert_int_eq(symlink(at_dir("@/real/sub"), at_dir("@/g/link")), 0);
	ck_assert_int_eq(symlink(at_dir("@/g"), at_dir("@/real/g")), 0);
	test_write_file(at_dir("@/g/counter"), "0\n");
}

/* The kernel follows a symlink before the ".." after it, and so must the
 * guard: else @/g/link/../g/counter opens the guarded @/g/counter
 * unguarded. */
START_TEST(dotdot_after_symlink_is_resolved_first)
{
	char genv[8500];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *opens[] = { at_dir("open:@/g/link/../g/counter:r"), NULL };
	const char *openats[] = { at_dir("openat:@/g:link/../g/counter:r"),
				  NULL };
	const char *creates[] = { at_dir("open:@/g/link/../g/new:wc"), "pause",
				  NULL };
	struct proc holder, p;

	make_dotdot_maze();
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/g/counter:%s/g/new", dir,
		 dir);
	hold(&holder, env, at_dir("open:@/g/counter:r"),
	     lock_file_of(at_dir("@/g/counter")));
	helper_start(&p, "guard-helper", env, opens);
	expect_exit(&p, 2, "open through the symlink and ..");
	helper_start(&p, "guard-helper", env, openats);
	expect_exit(&p, 2, "openat through the symlink and ..");
	proc_next(&holder);
	expect_exit(&holder, 0, "holder");

	/* a file not there yet: its directory as the program named it */
	helper_start(&p, "guard-helper", env, creates);
	expect_pause(&p, 1, "create through the symlink and ..");
	assert_held_by(lock_file_of(at_dir("@/g/new")), p.pid,
		       "create through the symlink and ..");
	expect_exit(&p, 0, "create through the symlink and ..");
}
END_TEST

/* A pattern may name a file through a symlinked directory (/var/run/x,
 * /var/run -> /run): the path's name matches it, with the ".." in it
 * resolved first, and the lock is the real file's. */
START_TEST(pattern_through_symlinked_directory_matches_by_name)
{
	char genv[4400];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = {
		at_dir("open:@/real/g/counter:r"),	"pause", "close:0",
		at_dir("open:@/g/link/../g/counter:r"), "pause", NULL
	};
	const char *counter_lock = lock_file_of(at_dir("@/g/counter"));
	struct proc p;

	make_dotdot_maze();
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/real/g/counter", dir);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "by name");
	assert_held_by(counter_lock, p.pid, "by name");
	proc_next(&p);
	expect_pause(&p, 2, "by name, past ..");
	assert_held_by(counter_lock, p.pid, "by name, past ..");
	expect_exit(&p, 0, "by name");
	assert_released(counter_lock, "by name, at the end");
}
END_TEST

/* Patterns match names: a hard link is another name, unguarded unless a
 * pattern matches it, and then a lock of its own (libpidshim(7),
 * "Guards"). */
START_TEST(hard_link_is_a_resource_of_its_own)
{
	char both[8500];
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *benv[] = { no_pidfile, both, "PIDSHIM_GUARD_WAIT=fail",
			       NULL };
	const char *steps[] = { at_dir("open:@/alias:+"), "pause", NULL };
	const char *alias_lock = lock_file_of(at_dir("@/alias"));
	struct proc holder, p;

	ck_assert_int_eq(link(data, at_dir("@/alias")), 0);
	start_holder(&holder, env);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "the hard link, no pattern");
	assert_released(alias_lock, "the hard link, no pattern");
	expect_exit(&p, 0, "the hard link, no pattern");

	snprintf(both, sizeof(both), "PIDSHIM_GUARD=%s:%s/alias", data, dir);
	helper_start(&p, "guard-helper", benv, steps);
	expect_pause(&p, 1, "the hard link, matched");
	assert_held_by(alias_lock, p.pid, "the hard link, matched");
	assert_held_by(lock, holder.pid, "the file's holder");
	expect_exit(&p, 0, "the hard link, matched");
	release_holder(&holder);
	expect_exit(&holder, 0, "holder");
}
END_TEST

/* O_NOFOLLOW and O_CREAT|O_EXCL opens do not follow a final symlink, and
 * neither does their guard: it never takes a lock where the program's
 * open would not reach (another user's links/x -> /etc/hostname, under a
 * pattern for every file in links). The link's own name is locked, and
 * released when the open fails. */
START_TEST(nofollow_does_not_resolve_final_symlink)
{
	char genv[4400];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("try-open:@/links/x:rn"),
				at_dir("try-openat:@/links:x:+n"),
				at_dir("try-open:@/links/x:wcx"),
				at_dir("try-fopen:@/links/x:wx"),
				"pause",
				at_dir("open:@/links/plain:+n"),
				"pause",
				NULL };
	const char *failures[] = { "open fail ELOOP", "openat fail ELOOP",
				   "open fail EEXIST", "fopen fail EEXIST" };
	const char *target_lock = lock_file_of(at_dir("@/elsewhere/target"));
	const char *link_lock = lock_file_of(at_dir("@/links/x"));
	struct proc holder, p;

	ck_assert_int_eq(mkdir(at_dir("@/links"), 0755), 0);
	ck_assert_int_eq(mkdir(at_dir("@/elsewhere"), 0755), 0);
	test_write_file(at_dir("@/elsewhere/target"), "target\n");
	test_write_file(at_dir("@/links/plain"), "plain\n");
	ck_assert_int_eq(
	    symlink(at_dir("@/elsewhere/target"), at_dir("@/links/x")), 0);
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/links/*", dir);

	/* alone, then while an open that follows the link holds the
	 * target's lock (which a lock taken there would meet as busy) */
	for (int held = 0; held < 2; held++) {
		const char *what = held ? "target held" : "alone";

		if (held)
			hold(&holder, env, at_dir("open:@/links/x:r"),
			     target_lock);
		helper_start(&p, "guard-helper", env, steps);
		expect_pause(&p, 1, what);
		for (int i = 0; i < 4; i++)
			ck_assert_msg(test_file_contains(p.out, failures[i]),
				      "%s: no '%s': %s", what, failures[i],
				      output_of(&p));
		assert_released(link_lock, what);
		if (held)
			assert_held_by(target_lock, holder.pid, what);
		else
			ck_assert_msg(access(target_lock, F_OK) < 0,
				      "%s: a lock file beside the target",
				      what);
		proc_next(&p);
		expect_pause(&p, 2, what);
		assert_held_by(lock_file_of(at_dir("@/links/plain")), p.pid,
			       what);
		expect_exit(&p, 0, what);
		if (held) {
			proc_next(&holder);
			expect_exit(&holder, 0, "holder");
		}
	}
}
END_TEST

/* ---- opens decided by name (issue 10) ------------------------------------ */

/* A relative name is matched by the patterns' last components, without
 * looking up the directory it is relative to: a pattern with wildcards
 * in the directories and in the name still guards it. */
START_TEST(relative_name_matches_pattern_tail)
{
	char genv[4400];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("chdir:@/sub"),
				"open:f1.db:wc",
				"pause",
				"close:0",
				"pause",
				"open:./up/sub//f2.db:wc",
				"pause",
				at_dir("openat:@:sub/f3.db:wc"),
				"pause",
				"open:other.db:wc",
				"pause",
				NULL };
	struct proc p;

	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/s?b/f[0-9].db", dir);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "relative");
	assert_held_by(lock_file_of(at_dir("@/sub/f1.db")), p.pid, "relative");
	proc_next(&p);
	expect_pause(&p, 2, "relative, closed");
	assert_released(lock_file_of(at_dir("@/sub/f1.db")),
			"relative, closed");
	proc_next(&p);
	expect_pause(&p, 3, "relative through a symlink");
	assert_held_by(lock_file_of(at_dir("@/sub/f2.db")), p.pid,
		       "relative through a symlink");
	proc_next(&p);
	expect_pause(&p, 4, "openat");
	assert_held_by(lock_file_of(at_dir("@/sub/f3.db")), p.pid, "openat");
	proc_next(&p);
	expect_pause(&p, 5, "no pattern");
	assert_released(lock_file_of(at_dir("@/sub/other.db")), "no pattern");
	expect_exit(&p, 0, "relative");
}
END_TEST

/* A name that matches a pattern is tried as the real path, and when the
 * open shows a symlink on the way, that try is given up whatever the
 * scope: in scope process it must not stay held until exit (its lock
 * file may be the real one, through a symlinked directory, which the
 * open then waits for: itself). */
START_TEST(matching_name_through_symlink_in_scope_process)
{
	char genv[8500];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_SCOPE=process",
			      NULL };
	const char *steps[] = { at_dir("open:@/real/g/counter:r"), "pause",
				at_dir("open:@/links/x:r"), "pause", NULL };
	struct proc p;

	make_dotdot_maze();
	ck_assert_int_eq(mkdir(at_dir("@/links"), 0755), 0);
	ck_assert_int_eq(mkdir(at_dir("@/elsewhere"), 0755), 0);
	test_write_file(at_dir("@/elsewhere/target"), "target\n");
	ck_assert_int_eq(
	    symlink(at_dir("@/elsewhere/target"), at_dir("@/links/x")), 0);
	snprintf(genv, sizeof(genv),
		 "PIDSHIM_GUARD=%s/real/g/counter:%s/links/*", dir, dir);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "through a symlinked directory");
	assert_held_by(lock_file_of(at_dir("@/g/counter")), p.pid,
		       "through a symlinked directory");
	proc_next(&p);
	expect_pause(&p, 2, "through a file symlink");
	assert_held_by(lock_file_of(at_dir("@/elsewhere/target")), p.pid,
		       "through a file symlink");
	assert_released(lock_file_of(at_dir("@/links/x")),
			"the symlink's own name");
	expect_exit(&p, 0, "scope process");
}
END_TEST

/* A pattern ending in a bare '*' may match any relative name by its last
 * component: the directory the name is relative to decides, as getcwd
 * has it (the real path, whatever symlink the program entered it by),
 * and a ".." in the name climbs from there. */
START_TEST(relative_name_under_bare_star_pattern)
{
	char genv[4400];
	const char *env[] = { no_pidfile, genv, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *steps[] = { at_dir("chdir:@/sub"),
				"open:f1:wc",
				"pause",
				"close:0",
				"open:../sub/f2:wc",
				"pause",
				"close:1",
				at_dir("chdir:@/cwdlink"),
				"open:f3:wc",
				"pause",
				"close:2",
				"open:up/sub/f4:wc",
				"pause",
				"close:3",
				"open:../other:r",
				"pause",
				NULL };
	struct proc p;

	ck_assert_int_eq(symlink(at_dir("@/sub"), at_dir("@/cwdlink")), 0);
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s/sub/*", dir);
	helper_start(&p, "guard-helper", env, steps);
	expect_pause(&p, 1, "plain relative name");
	assert_held_by(lock_file_of(at_dir("@/sub/f1")), p.pid,
		       "plain relative name");
	proc_next(&p);
	expect_pause(&p, 2, "relative name with ..");
	assert_held_by(lock_file_of(at_dir("@/sub/f2")), p.pid,
		       "relative name with ..");
	proc_next(&p);
	expect_pause(&p, 3, "cwd entered through a symlink");
	assert_held_by(lock_file_of(at_dir("@/sub/f3")), p.pid,
		       "cwd entered through a symlink");
	proc_next(&p);
	expect_pause(&p, 4, "relative name through a symlinked directory");
	assert_held_by(lock_file_of(at_dir("@/sub/f4")), p.pid,
		       "relative name through a symlinked directory");
	proc_next(&p);
	expect_pause(&p, 5, "relative name outside the pattern");
	assert_released(lock_file_of(at_dir("@/other")),
			"relative name outside the pattern");
	expect_exit(&p, 0, "bare star");
}
END_TEST

/* A guard's lock file is written by its holder alone: the close that
 * releases it removes it without reading it back. */
START_TEST(guarded_cycle_does_not_read_its_lock_file)
{
	char preload[4200], genv[4400];
	const char *env[] = { no_pidfile, genv, NULL };
	const char *argv[] = { "env",
			       preload,
			       test_helper("guard-helper"),
			       at_dir("open:@/data:r"),
			       "close:0",
			       at_dir("open:@/data:r"),
			       "close:1",
			       NULL };

	if (!test_strace_usable()) {
		printf("skip: strace is missing, or may not trace here\n");
		return;
	}
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
		 test_shim_preload());
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s", data);
	ck_assert_int_eq(
	    test_strace_count("trace=pread64", lock, env, argv, 30), 0);
	/* the cycles ran: each wrote its PID into the lock file */
	ck_assert_int_eq(
	    test_strace_count("trace=pwrite64", lock, env, argv, 30), 2);
}
END_TEST

/* The getpid calls of CYCLES guarded open+close cycles of the data file
 * (and of the helper's start and end). */
static int getpid_calls(int cycles)
{
	char preload[4200], genv[4400];
	const char *env[] = { no_pidfile, genv, NULL };
	const char *argv[32] = { "env", preload, test_helper("guard-helper") };
	static char closes[8][16];
	int n = 3;

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
		 test_shim_preload());
	snprintf(genv, sizeof(genv), "PIDSHIM_GUARD=%s", data);
	for (int i = 0; i < cycles && i < 8; i++) {
		snprintf(closes[i], sizeof(closes[i]), "close:%d", i);
		argv[n++] = at_dir("open:@/data:r");
		argv[n++] = closes[i];
	}
	argv[n] = NULL;
	return test_strace_count("trace=getpid", NULL, env, argv, 30);
}

/* A vfork child shares its parent's memory: the shim asks getpid once at
 * the open and once at the close, before it touches its table. The
 * lock's release, made only there, asks nothing more. */
START_TEST(guarded_cycle_asks_getpid_at_open_and_close)
{
	int two, four;

	if (!test_strace_usable()) {
		printf("skip: strace is missing, or may not trace here\n");
		return;
	}
	two = getpid_calls(2);
	four = getpid_calls(4);
	ck_assert_int_ge(two, 0);
	/* the open's check, the PID written, the close's check */
	ck_assert_int_eq(four - two, 2 * 3);
}
END_TEST

/* Without openat2 (Linux before 5.6, or a seccomp filter refusing it with
 * ENOSYS or EPERM) every path is resolved: guarded files are guarded by
 * every name, others open as they would. */
START_TEST(without_openat2_paths_are_resolved)
{
	const char *env[] = { no_pidfile, guard_env, "PIDSHIM_GUARD_WAIT=fail",
			      NULL };
	const char *answers[] = { "ENOSYS", "EPERM" };

	for (int i = 0; i < 2; i++) {
		const char *argv[] = { test_helper("no-openat2"),
				       answers[i],
				       test_helper("guard-helper"),
				       at_dir("open:@/sub/up/data:r"),
				       "pause",
				       "close:0",
				       at_dir("chdir:@"),
				       "open:data:r",
				       "pause",
				       "close:1",
				       "fopen:link:r",
				       "pause",
				       "fclose:2",
				       "open:other:r",
				       "pause",
				       NULL };
		struct proc p;

		proc_start(&p, env, argv);
		for (int n = 1; n <= 3; n++) {
			expect_pause(&p, n, answers[i]);
			assert_held_by(lock, p.pid, answers[i]);
			proc_next(&p);
		}
		expect_pause(&p, 4, answers[i]);
		assert_released(lock, answers[i]);
		ck_assert(test_file_contains(p.out, "open ok slot=3"));
		expect_exit(&p, 0, answers[i]);
	}
}
END_TEST

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("shim-guard");
	const char *only = getenv("CK_RUN_CASE");

	/* A check that cannot be made is skipped, never passed. */
	if (only && strcmp(only, "fortify_symbols") == 0 && !on_path("nm")) {
		printf("skip: nm (binutils) is not installed\n");
		return EXIT_SKIP;
	}
	for (int i = 0; i < SCRIPT_COUNT; i++)
		test_add(s, scripts[i].name, script_holds_and_releases, 60,
			 &fixture, &(const struct test_loop){ i, i + 1 });
	/* its own meson test (shim-guard-symbols), which can be skipped */
	if (only && strcmp(only, "fortify_symbols") == 0)
		test_add(s, "fortify_symbols",
			 helpers_reference_every_entry_point, 30, &fixture,
			 NULL);
	test_add(s, "lost_updates", scope_process_prevents_lost_updates, 600,
		 &fixture, NULL);
	test_add(s, "records", scope_open_records_never_interleave, 300,
		 &fixture, NULL);
	test_add(s, "truncate", truncate_waits_for_holder, 60, &fixture, NULL);
	test_add(s, "fork", fork_keeps_guard_with_its_process, 60, &fixture,
		 NULL);
	test_add(s, "wait_fail", wait_fail_is_ebusy_at_once, 60, &fixture,
		 NULL);
	test_add(s, "wait_seconds", wait_seconds_is_ebusy_after_timeout, 60,
		 &fixture, NULL);
	test_add(s, "wait_block", wait_block_wakes_on_release, 60, &fixture,
		 NULL);
	test_add(s, "shared_read", shared_read_readers_share_writer_waits, 60,
		 &fixture, NULL);
	test_add(s, "shared_read_upgrade",
		 shared_read_refused_upgrade_keeps_reader_lock, 60, &fixture,
		 NULL);
	test_add(s, "vfork", vfork_child_leaves_parent_guard, 60, &fixture,
		 NULL);
	test_add(s, "exec", exec_keeps_guard_of_inherited_descriptor, 60,
		 &fixture, NULL);
	test_add(s, "threads", threads_never_deadlock, 600, &fixture, NULL);
	test_add(s, "uucp", uucp_style_lock_file, 60, &fixture, NULL);
	test_add(s, "lock_names", lock_file_name_per_style, 60, &fixture,
		 TEST_LOOP(LOCK_NAME_COUNT));
	test_add(s, "exec_lock_like_names",
		 exec_finds_lock_among_lock_like_names, 60, &fixture, NULL);
	test_add(s, "git_index", git_under_guard_on_its_index, 300, &fixture,
		 NULL);
	test_add(s, "uucp_live_holder", uucp_lock_of_a_live_process_is_held,
		 120, &fixture, NULL);
	test_add(s, "dotlockfile", dotlock_style_and_dotlockfile, 120, &fixture,
		 NULL);
	test_add(s, "lock_uncreatable", uncreatable_lock_file_refuses_open, 60,
		 &fixture, NULL);
	test_add(s, "sigterm", sigterm_holder_leaves_no_lock_file, 60, &fixture,
		 NULL);
	test_add(s, "children_tree", children_tree_descendant_takes_guard, 60,
		 &fixture, NULL);
	test_add(s, "children_none", children_none_descendant_unguarded, 60,
		 &fixture, NULL);
	test_add(s, "o_path", o_path_is_not_guarded, 60, &fixture, NULL);
	test_add(s, "shared_read_conversion_reverifies",
		 shared_read_conversion_reverifies_lock_path, 60, &fixture,
		 NULL);
	test_add(s, "handed_over_at_the_end",
		 guard_held_at_the_end_is_handed_over, 120, &fixture, NULL);
	test_add(s, "signal_handler_open", signal_handler_open_never_deadlocks,
		 120, &fixture, NULL);
	test_add(s, "eintr_while_waiting", eintr_ends_a_blocking_wait, 60,
		 &fixture, NULL);
	test_add(s, "many_resources", many_resources_at_once, 60, &fixture,
		 NULL);
	test_add(s, "dotdot_after_symlink",
		 dotdot_after_symlink_is_resolved_first, 60, &fixture, NULL);
	test_add(s, "pattern_through_symlink",
		 pattern_through_symlinked_directory_matches_by_name, 60,
		 &fixture, NULL);
	test_add(s, "hard_link", hard_link_is_a_resource_of_its_own, 60,
		 &fixture, NULL);
	test_add(s, "nofollow", nofollow_does_not_resolve_final_symlink, 60,
		 &fixture, NULL);
	test_add(s, "shared_read_timed_upgrade", shared_read_timed_upgrade, 60,
		 &fixture, NULL);
	test_add(s, "unsafe_lock_file", unsafe_lock_file_refuses_open, 60,
		 &fixture, NULL);
	test_add(s, "relative_pattern_tail", relative_name_matches_pattern_tail,
		 60, &fixture, NULL);
	test_add(s, "relative_bare_star", relative_name_under_bare_star_pattern,
		 60, &fixture, NULL);
	test_add(s, "cycle_reads_no_lock",
		 guarded_cycle_does_not_read_its_lock_file, 60, &fixture, NULL);
	test_add(s, "cycle_getpid", guarded_cycle_asks_getpid_at_open_and_close,
		 60, &fixture, NULL);
	test_add(s, "without_openat2", without_openat2_paths_are_resolved, 60,
		 &fixture, NULL);
	test_add(s, "by_name_scope_process",
		 matching_name_through_symlink_in_scope_process, 60, &fixture,
		 NULL);
	return test_run_suite(s);
}

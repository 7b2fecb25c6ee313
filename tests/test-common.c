/* SPDX-License-Identifier: MIT */
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *test_dir_make(void)
{
	const char *base = getenv("PIDSHIM_TEST_TMPDIR");
	char *dir;

	if (asprintf(&dir, "%s/pidshim-test-XXXXXX", base ? base : "/tmp") < 0)
		abort();
	ck_assert_msg(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

void test_dir_remove(char *dir)
{
	char *cmd;

	if (!dir)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
	free(dir);
}

const char *test_path(const char *dir, const char *name)
{
	static char buf[4][4096];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

ssize_t test_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

void test_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

int test_wait(pid_t pid, int timeout_s)
{
	struct timespec tick = { 0, 2 * 1000 * 1000 };
	long waited_ms = 0;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		ck_assert_msg(r == 0, "waitpid %d: %s", pid, strerror(errno));
		if (waited_ms > timeout_s * 1000L) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("child %d still running after %ds", pid,
				     timeout_s);
		}
		nanosleep(&tick, NULL);
		waited_ms += 2;
	}
}

long test_ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

pid_t test_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		test_reset_signals();
		_exit(fn(arg));
	}
	return pid;
}

void test_reset_signals(void)
{
	/* Check's runner kills the whole process group from its SIGTERM and
	 * SIGINT handlers, which its forked test processes inherit. */
	static const int reset[] = { SIGTERM, SIGINT, SIGALRM, SIGHUP };

	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
}

void test_signal_init(struct test_signal *s)
{
	ck_assert_int_eq(pipe2(s->fd, O_CLOEXEC), 0);
}

void test_signal_post(struct test_signal *s)
{
	char c = 'x';

	if (write(s->fd[1], &c, 1) != 1)
		_exit(99);
}

void test_signal_wait(struct test_signal *s, int timeout_s)
{
	struct pollfd pfd = { s->fd[0], POLLIN, 0 };
	char c;

	ck_assert_msg(poll(&pfd, 1, timeout_s * 1000) == 1,
		      "no signal from the other process in %ds", timeout_s);
	ck_assert_int_eq(read(s->fd[0], &c, 1), 1);
}

void test_signal_close(struct test_signal *s)
{
	close(s->fd[0]);
	close(s->fd[1]);
}

static bool has_lock_waiter(const struct stat *st)
{
	char line[256], dev[64];
	FILE *f = fopen("/proc/locks", "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(dev, sizeof(dev), "%02x:%02x:%lu", major(st->st_dev),
		 minor(st->st_dev), (unsigned long)st->st_ino);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "->") && strstr(line, dev);
	fclose(f);
	return found;
}

bool test_wait_for_lock_waiter(const char *path, int timeout_s)
{
	struct timespec tick = { 0, 200 * 1000 };
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	for (long i = 0; i < timeout_s * 5000L; i++) {
		if (has_lock_waiter(&st))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

bool test_is_flocked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

bool test_proc_mask_has(pid_t pid, const char *field, int signo)
{
	char path[64], buf[8192], key[32];
	const char *line;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	if (test_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	line = strstr(buf, key);
	return line &&
	       (strtoull(line + strlen(key), NULL, 16) >> (signo - 1)) & 1;
}

void test_pause_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* It shows in LD_PRELOAD. */
bool test_under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "/vgpreload_");
}

const char *test_shim_preload(void)
{
	static char preload[8192];
	const char *shim = getenv("PIDSHIM_TEST_SHIM");
	const char *first = getenv("PIDSHIM_TEST_PRELOAD");

	ck_assert_msg(shim, "PIDSHIM_TEST_SHIM is not set (run through meson)");
	if (first && *first)
		snprintf(preload, sizeof(preload), "%s:%s", first, shim);
	else
		snprintf(preload, sizeof(preload), "%s", shim);
	return preload;
}

const char *test_helper(const char *name)
{
	static char path[4][4096];
	static int next;
	const char *dir = getenv("PIDSHIM_TEST_HELPERS");
	char *p = path[next++ % 4];

	ck_assert_msg(dir,
		      "PIDSHIM_TEST_HELPERS is not set (run through meson)");
	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

static void clean_environment(void)
{
	extern char **environ;
	bool again = true;

	while (again) {
		again = false;
		for (char **env = environ; env && *env; env++) {
			char name[256];
			const char *eq = strchr(*env, '=');
			size_t len = eq ? (size_t)(eq - *env) : strlen(*env);

			if (strncmp(*env, "PIDSHIM_", 8) != 0 ||
			    len >= sizeof(name))
				continue;
			memcpy(name, *env, len);
			name[len] = '\0';
			unsetenv(name);
			again = true;
			break;
		}
	}
}

pid_t test_spawn(const char *const *env, const char *const *argv,
		 const char *out_path, int stdin_fd)
{
	const char *preload = test_shim_preload();
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int out, in;

		test_reset_signals();
		clean_environment();
		setenv("LD_PRELOAD", preload, 1);
		for (; env && *env; env++)
			putenv((char *)*env);
		out = open(out_path ? out_path : "/dev/null",
			   O_WRONLY | O_CREAT | O_APPEND, 0644);
		in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
		if (out < 0 || in < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int test_run(const char *const *env, const char *const *argv,
	     const char *out_path, int timeout_s)
{
	return test_wait(test_spawn(env, argv, out_path, -1), timeout_s);
}

pid_t test_read_pid(const char *path)
{
	char buf[64];
	char *end;
	long v;

	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	v = strtol(buf, &end, 10);
	return (*end == '\n' || *end == '\0') && v > 0 ? (pid_t)v : 0;
}

bool test_wait_for_pid(const char *path, pid_t pid, int timeout_s)
{
	struct timespec tick = { 0, 2 * 1000 * 1000 };

	for (long i = 0; i < timeout_s * 500L; i++) {
		if (test_read_pid(path) == pid)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

bool test_wait_gone(const char *path, int timeout_s)
{
	struct timespec tick = { 0, 2 * 1000 * 1000 };

	for (long i = 0; i < timeout_s * 500L; i++) {
		if (access(path, F_OK) < 0)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

bool test_file_contains(const char *path, const char *needle)
{
	static char buf[65536];

	return test_read_file(path, buf, sizeof(buf)) >= 0 &&
	       strstr(buf, needle) != NULL;
}

void test_add(Suite *s, const char *name, const TTest *test, int timeout_s,
	      const struct test_fixture *fixture, const struct test_loop *loop)
{
	TCase *tc = tcase_create(name);

	if (fixture)
		tcase_add_checked_fixture(tc, fixture->setup,
					  fixture->teardown);
	if (loop)
		tcase_add_loop_test(tc, test, loop->start, loop->end);
	else
		tcase_add_test(tc, test);
	if (timeout_s > 0)
		tcase_set_timeout(tc, timeout_s);
	/* A case given a minute or more is a stress case: scripts/test's
	 * valgrind stage leaves them out (CK_EXCLUDE_TAGS=long). */
	if (timeout_s >= 60)
		tcase_set_tags(tc, "long");
	suite_add_tcase(s, tc);
}

bool test_strace_usable(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("strace", "strace", "-o", "/dev/null", "true",
		       (char *)NULL);
		_exit(127);
	}
	/* called before the suite runs: no Check assertion here */
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int test_strace_count(const char *trace, const char *path,
		      const char *const *env, const char *const *argv,
		      int timeout_s)
{
	char log[] = "/tmp/pidshim-strace-XXXXXX";
	char *line = NULL;
	size_t size = 0;
	int fd = mkstemp(log), status, count = 0;
	pid_t pid;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	close(fd);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[64] = { "strace", "-f", "-qq", "-e" };
		size_t n = 4;

		test_reset_signals();
		args[n++] = trace;
		if (path) {
			args[n++] = "-P";
			args[n++] = path;
		}
		args[n++] = "-o";
		args[n++] = log;
		for (size_t i = 0; argv[i] && n < 63; i++)
			args[n++] = argv[i];
		args[n] = NULL;
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execvp("strace", (char *const *)args);
		_exit(127);
	}
	status = test_wait(pid, timeout_s);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	/* "PID name(args) = result", and a call another thread interrupted
	 * is logged twice: "<unfinished ...>", then "<... name resumed>" */
	while (getline(&line, &size, f) > 0)
		if (!strstr(line, " resumed>") && !strstr(line, "+++") &&
		    !strstr(line, "---"))
			count++;
	free(line);
	fclose(f);
	unlink(log);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return count;
}

int test_run_suite(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

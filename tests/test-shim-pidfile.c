/* SPDX-License-Identifier: MIT */
/* The shim's PID file, on real programs under LD_PRELOAD: created before
 * main, one instance, removed at every end, kept across the owner's exec,
 * left alone by descendants, following a daemon; configuration and logs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-common.h"

static char *dir;
static char pidfile[4096];
static char pidfile_env[4200];
static char out[4096];

static void setup(void)
{
	dir = test_dir_make();
	snprintf(pidfile, sizeof(pidfile), "%s/app.pid", dir);
	snprintf(pidfile_env, sizeof(pidfile_env), "PIDSHIM_PIDFILE=%s",
		 pidfile);
	snprintf(out, sizeof(out), "%s/out", dir);
}

static void teardown(void)
{
	test_dir_remove(dir);
	dir = NULL;
}

static const char *const sleep30[] = { "sleep", "30", NULL };

static pid_t start_sleeper(void)
{
	const char *env[] = { pidfile_env, NULL };
	pid_t pid = test_spawn(env, sleep30, out, -1);

	ck_assert_msg(test_wait_for_pid(pidfile, pid, 10),
		      "the PID file never named sleep (%d)", pid);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	test_wait(pid, 10);
}

static bool still_running(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/* ---- the PID file ------------------------------------------------------- */

START_TEST(sleep_has_locked_pidfile_removed_at_exit)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "sleep", "1", NULL };
	pid_t pid = test_spawn(env, argv, out, -1);
	int status;

	ck_assert(test_wait_for_pid(pidfile, pid, 10));
	ck_assert(test_is_flocked(pidfile));
	status = test_wait(pid, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(template_names_program_and_uid)
{
	char path[4200], env_var[4300];
	const char *env[] = { env_var, NULL };
	pid_t pid;

	snprintf(env_var, sizeof(env_var), "PIDSHIM_PIDFILE=%s/%%n-%%u.pid",
		 dir);
	snprintf(path, sizeof(path), "%s/sleep-%u.pid", dir, getuid());
	pid = test_spawn(env, sleep30, out, -1);
	ck_assert(test_wait_for_pid(path, pid, 10));
	stop(pid);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(relative_pidfile_is_anchored_at_start)
{
	const char *env[] = { "PIDSHIM_PIDFILE=rel.pid", NULL };
	/* the program changes directory; the file must still be removed */
	const char *argv[] = { "sh", "-c", "cd /; sleep 0.3", NULL };
	char cwd[4096];
	int status;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	status = test_run(env, argv, out, 20);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(test_path(dir, "rel.pid"), F_OK), -1);
}
END_TEST

START_TEST(second_instance_exits_75_naming_holder)
{
	const char *env[] = { pidfile_env, NULL };
	const char *env9[] = { pidfile_env, "PIDSHIM_EXIT_CODE=9", NULL };
	const char *marker = test_path(dir, "ran");
	char cmd[4200], want[64];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	pid_t first = start_sleeper();
	int status;

	snprintf(cmd, sizeof(cmd), "touch %s", marker);
	status = test_run(env, argv, out, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 75,
		      "status %#x", status);
	snprintf(want, sizeof(want), "running as PID %d", first);
	ck_assert(test_file_contains(out, want));
	ck_assert(test_file_contains(out, pidfile));
	ck_assert(test_file_contains(out, "pidshim["));
	ck_assert_msg(access(marker, F_OK) < 0, "the refused program ran");

	status = test_run(env9, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 9);
	/* the refusals did not touch the holder's file */
	ck_assert_int_eq(test_read_pid(pidfile), first);
	stop(first);
}
END_TEST

START_TEST(on_conflict_wait_runs_after_holder)
{
	const char *env[] = { pidfile_env, "PIDSHIM_ON_CONFLICT=wait", NULL };
	pid_t first = start_sleeper();
	pid_t second = test_spawn(env, sleep30, out, -1);

	usleep(300 * 1000);
	ck_assert_msg(still_running(second), "the waiter did not wait");
	ck_assert_int_eq(test_read_pid(pidfile), first);
	stop(first);
	ck_assert_msg(test_wait_for_pid(pidfile, second, 10),
		      "the waiter did not take over");
	stop(second);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

/* The waiting instance (sleep) wakes on the file the owner had, kept for
 * it, rather than on a removed inode it would have to let go of and
 * create again: whether the owner ends by a signal (SIGTERM, the shim's
 * handler) or by exit (head reads its byte), and whether the waiter waits
 * forever or with a timeout. */
START_TEST(on_conflict_wait_is_handed_the_same_file)
{
	const char *modes[] = { "PIDSHIM_ON_CONFLICT=wait",
				"PIDSHIM_ON_CONFLICT=wait:20" };
	const char *head[] = { "head", "-c", "1", NULL };
	const char *owner_env[] = { pidfile_env, NULL };

	for (int round = 0; round < 4; round++) {
		const char *env[] = { pidfile_env, modes[round % 2], NULL };
		bool by_exit = round >= 2;
		struct stat had, got;
		pid_t first, second;
		int fds[2], keep;

		ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
		first = by_exit ? test_spawn(owner_env, head, out, fds[0])
				: start_sleeper();
		close(fds[0]);
		ck_assert(test_wait_for_pid(pidfile, first, 10));
		second = test_spawn(env, sleep30, out, -1);
		ck_assert_msg(test_wait_for_lock_waiter(pidfile, 10),
			      "the second instance never waited");
		/* held open, so that its inode number cannot come back */
		keep = open(pidfile, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(keep, 0);
		ck_assert_int_eq(fstat(keep, &had), 0);
		if (by_exit)
			ck_assert_int_eq(write(fds[1], "x", 1), 1);
		else
			kill(first, SIGTERM);
		test_wait(first, 10);
		close(fds[1]);
		ck_assert_msg(test_wait_for_pid(pidfile, second, 10),
			      "the waiter did not take over");
		ck_assert_int_eq(stat(pidfile, &got), 0);
		ck_assert_msg(got.st_ino == had.st_ino,
			      "round %d: the waiter made a new file", round);
		close(keep);
		stop(second);
		ck_assert_int_eq(access(pidfile, F_OK), -1);
	}
}
END_TEST

/* python3 running SCRIPT (no PID file of its own), once it has created
 * SAID to say it has done WHAT to the PID file. */
static pid_t start_python_until(const char *script, const char *said,
				const char *what)
{
	const char *env[] = { "PIDSHIM_PIDFILE=none", NULL };
	const char *py[] = { "/usr/bin/python3", "-c", script, NULL };
	pid_t pid = test_spawn(env, py, NULL, -1);

	for (int i = 0; i < 1000 && access(said, F_OK) < 0; i++)
		test_pause_ms(10);
	ck_assert_msg(access(said, F_OK) == 0, "python3 never %s", what);
	return pid;
}

/* A waiter that marked the file and dies before it takes it (python3
 * sets the mark a waiting instance sets, pidlock(3) step 6, and is
 * killed): the file kept for it is empty and unlocked, so it reads as
 * stale, and the next start proceeds. */
START_TEST(file_kept_for_a_dead_waiter_is_stale)
{
	const char *env[] = { pidfile_env, NULL };
	char script[9000], said[4200];
	pid_t first = start_sleeper(), marker, next;
	struct stat st;

	snprintf(said, sizeof(said), "%s/marked", dir);
	snprintf(script, sizeof(script),
		 "import fcntl, os, struct, time\n"
		 "fd = os.open('%s', os.O_RDWR)\n"
		 "mark = struct.pack('hh4xqqi4x', fcntl.F_RDLCK, 0, "
		 "2**63 - 3, 1, 0)\n"
		 "fcntl.fcntl(fd, getattr(fcntl, 'F_OFD_SETLK', 37), mark)\n"
		 "open('%s', 'w').close()\n"
		 "time.sleep(30)\n",
		 pidfile, said);
	marker = start_python_until(script, said, "marked it");
	stop(first);
	ck_assert_msg(stat(pidfile, &st) == 0,
		      "the file was removed under a waiter's mark");
	ck_assert_int_eq(st.st_size, 0);
	ck_assert(!test_is_flocked(pidfile));
	kill(marker, SIGKILL);
	test_wait(marker, 10);
	next = test_spawn(env, sleep30, out, -1);
	ck_assert_msg(test_wait_for_pid(pidfile, next, 10),
		      "the next start did not take the stale file over");
	stop(next);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

/* A stranger's POSIX lock over the whole file (lockf) covers the
 * hand-over's marks too: it looks like a waiter, and the end of the owner
 * must neither hang on it nor keep the file for nobody. */
START_TEST(whole_file_lockf_never_hangs_the_end)
{
	char script[9000], said[4200];
	pid_t first = start_sleeper(), stranger;

	snprintf(said, sizeof(said), "%s/locked", dir);
	snprintf(script, sizeof(script),
		 "import fcntl, os, time\n"
		 "fd = os.open('%s', os.O_RDWR)\n"
		 "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
		 "open('%s', 'w').close()\n"
		 "time.sleep(30)\n",
		 pidfile, said);
	stranger = start_python_until(script, said, "took lockf");
	/* test_wait fails the test when the owner does not end */
	stop(first);
	ck_assert_msg(access(pidfile, F_OK) == -1,
		      "the file was kept for a stranger's lockf");
	kill(stranger, SIGKILL);
	test_wait(stranger, 10);
}
END_TEST

START_TEST(on_conflict_wait_seconds_gives_up)
{
	const char *env[] = { pidfile_env, "PIDSHIM_ON_CONFLICT=wait:0.3",
			      NULL };
	const char *argv[] = { "true", NULL };
	pid_t first = start_sleeper();
	struct timespec start;
	int status;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	status = test_run(env, argv, out, 20);
	ms = test_ms_since(&start);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 75);
	ck_assert_msg(ms >= 250 && ms < 10000, "gave up after %ld ms", ms);
	stop(first);
}
END_TEST

/* 8 programs started at once, 50 times: exactly one runs each time. The
 * winner (cat) blocks on its input until all the others are done. */
START_TEST(concurrent_starts_exactly_one_runs)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "cat", NULL };

	for (int round = 0; round < 50; round++) {
		pid_t pids[8];
		int fds[2], ran = 0, refused = 0;

		/* close-on-exec: no program may hold the pipe's write end */
		ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
		for (int i = 0; i < 8; i++)
			pids[i] = test_spawn(env, argv, NULL, fds[0]);
		for (int done = 0; done < 7;) {
			for (int i = 0; i < 8; i++) {
				int status;

				if (pids[i] > 0 &&
				    waitpid(pids[i], &status, WNOHANG) ==
					pids[i]) {
					ck_assert_msg(WIFEXITED(status) &&
							  WEXITSTATUS(status) ==
							      75,
						      "round %d: status %#x",
						      round, status);
					refused++;
					done++;
					pids[i] = 0;
				}
			}
			usleep(1000);
		}
		close(fds[0]);
		close(fds[1]);
		for (int i = 0; i < 8; i++) {
			if (pids[i] > 0) {
				int status = test_wait(pids[i], 20);

				ck_assert(WIFEXITED(status) &&
					  WEXITSTATUS(status) == 0);
				ran++;
			}
		}
		ck_assert_msg(ran == 1 && refused == 7, "round %d: %d ran",
			      round, ran);
		ck_assert(test_wait_gone(pidfile, 10));
	}
}
END_TEST

/* ---- stale files ----------------------------------------------------------
 */

START_TEST(sigkill_then_new_start_takes_over)
{
	pid_t first = start_sleeper(), second;

	kill(first, SIGKILL);
	test_wait(first, 10);
	/* kill -9 leaves the file, but not the lock */
	ck_assert_int_eq(test_read_pid(pidfile), first);
	ck_assert(!test_is_flocked(pidfile));
	second = start_sleeper();
	ck_assert_int_ne(second, first);
	stop(second);
}
END_TEST

START_TEST(stale_file_naming_live_pid_is_taken_over)
{
	pid_t pid;

	test_write_file(pidfile, "1\n");
	pid = start_sleeper();
	ck_assert(test_is_flocked(pidfile));
	stop(pid);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

/* ---- descendants ----------------------------------------------------------
 */

static void run_child_helper(const char *mode, int want_status)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { test_helper("child-helper"), mode, pidfile,
			       NULL };
	int status = test_run(env, argv, out, 30);
	char log[4096] = "";

	test_read_file(out, log, sizeof(log));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == want_status,
		      "child-helper %s: status %#x: %s", mode, status, log);
	ck_assert_msg(access(pidfile, F_OK) < 0,
		      "child-helper %s: PID file left behind", mode);
}

START_TEST(children_leave_pidfile_alone)
{
	run_child_helper("fork", 0);
	run_child_helper("vfork", 0);
	run_child_helper("system", 0);
	run_child_helper("popen", 0);
	run_child_helper("spawn", 0);
	/* a fork while another thread is inside the shim's sigaction */
	run_child_helper("fork-signal", 0);
}
END_TEST

/* Daemons close every descriptor from 3 up, shells dup2 onto numbers of
 * their choosing: the PID file's lock must survive both, and the file
 * still goes at exit. */
START_TEST(closing_every_descriptor_keeps_the_lock)
{
	const char *env[] = { pidfile_env, NULL };
	const char *py[] = {
		"/usr/bin/python3", "-c",
		"import os, sys, fcntl\n"
		"os.closerange(3, 65536)\n"
		"fd = os.open(sys.argv[1], os.O_RDONLY)\n"
		"try:\n"
		"    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
		"    sys.exit('the PID file lost its lock')\n"
		"except BlockingIOError:\n"
		"    pass\n",
		pidfile, NULL
	};
	const char *bash[] = { "bash", "-c",
			       "exec 3>/dev/null 4>/dev/null; exec 3>&- 4>&-; "
			       "flock -n \"$0\" true && exit 9; exit 0",
			       pidfile, NULL };
	int status;

	run_child_helper("close-all", 0);
	run_child_helper("closefrom", 0);
	run_child_helper("close-range", 0);
	run_child_helper("dup2-all", 0);
	status = test_run(env, py, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "python3 closerange: status %#x", status);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
	status = test_run(env, bash, out, 30);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "bash exec 3>: status %#x", status);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(every_end_removes_pidfile)
{
	const char *env[] = { pidfile_env, NULL };
	const char *py[] = { "/usr/bin/python3", "-c", "import os; os._exit(5)",
			     NULL };
	int status;

	run_child_helper("_exit", 7);
	run_child_helper("_Exit", 7);
	run_child_helper("exit", 7);
	run_child_helper("return", 7);
	status = test_run(env, py, out, 30);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 5);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(orphaned_child_does_not_keep_lock)
{
	const char *env[] = { pidfile_env, NULL };
	const char *report = test_path(dir, "orphan");
	const char *argv[] = { test_helper("child-helper"), "orphan", pidfile,
			       report, NULL };
	pid_t orphan, next, owner;
	int status = test_run(env, argv, out, 30);

	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	orphan = test_read_pid(report);
	ck_assert_int_gt(orphan, 0);
	ck_assert_int_eq(kill(orphan, 0), 0);
	/* the owner is gone: its file with it, and a new instance starts
	 * at once although its forked child still runs */
	ck_assert_int_eq(access(pidfile, F_OK), -1);
	next = start_sleeper();
	stop(next);
	kill(orphan, SIGKILL);
	unlink(report);

	/* kill -9 leaves the file: the child must not hold its lock either,
	 * or no instance could start until the child ends */
	argv[1] = "orphan-wait";
	owner = test_spawn(env, argv, out, -1);
	ck_assert(test_wait_for_pid(pidfile, owner, 10));
	for (int i = 0; i < 5000 && !test_read_pid(report); i++)
		usleep(1000);
	orphan = test_read_pid(report);
	ck_assert_int_gt(orphan, 0);
	kill(owner, SIGKILL);
	test_wait(owner, 10);
	ck_assert_int_eq(test_read_pid(pidfile), owner);
	ck_assert_msg(!test_is_flocked(pidfile),
		      "the owner's forked child keeps its lock");
	next = start_sleeper();
	stop(next);
	kill(orphan, SIGKILL);
}
END_TEST

START_TEST(descendants_never_create_pidfile)
{
	const char *env[] = { pidfile_env, NULL };
	/* each sleep loads the shim too; as a descendant it must neither
	 * refuse to start nor touch the file */
	const char *argv[] = { "sh", "-c", "sleep 0.2; sleep 0.2; sleep 0.2",
			       NULL };
	pid_t sh = test_spawn(env, argv, out, -1);
	int status;

	ck_assert(test_wait_for_pid(pidfile, sh, 10));
	usleep(300 * 1000);
	ck_assert_int_eq(test_read_pid(pidfile), sh);
	status = test_wait(sh, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(nested_run_with_other_pidfile_is_an_owner)
{
	char inner[4200], cmd[4400];
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "sh", "-c", cmd, NULL };
	pid_t sh;

	snprintf(inner, sizeof(inner), "%s/inner.pid", dir);
	snprintf(cmd, sizeof(cmd), "PIDSHIM_PIDFILE=%s sleep 30", inner);
	sh = test_spawn(env, argv, out, -1);
	ck_assert(test_wait_for_pid(pidfile, sh, 10));
	for (int i = 0; i < 5000 && test_read_pid(inner) == 0; i++)
		usleep(1000);
	ck_assert_int_gt(test_read_pid(inner), 0);
	ck_assert_int_ne(test_read_pid(inner), sh);
	kill(test_read_pid(inner), SIGTERM);
	test_wait(sh, 20);
	ck_assert(test_wait_gone(inner, 10));
	ck_assert(test_wait_gone(pidfile, 10));
}
END_TEST

/* ---- exec ------------------------------------------------------------------
 */

static bool comm_is(pid_t pid, const char *name)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, name) == 0;
}

/* Whether PID catches SIGTERM: the shim's constructor has run in its
 * current image (sleep itself catches nothing). A signal sent between an
 * exec and that moment is out of the shim's reach (libpidshim(7),
 * BUGS), so the tests wait for it — sanitizer builds start slowly. */
static bool catches_sigterm(pid_t pid)
{
	char path[64], line[256];
	bool catches = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "SigCgt:", 7) == 0)
			catches = strtoull(line + 7, NULL, 16) &
				  (1ULL << (SIGTERM - 1));
	fclose(f);
	return catches;
}

static void wait_for_shim(pid_t pid)
{
	for (int i = 0; i < 10000 && !catches_sigterm(pid); i++)
		usleep(1000);
	ck_assert_msg(catches_sigterm(pid), "the shim never started in %d",
		      pid);
}

/* Wait until PID runs NAME (it exec'd) with the shim started in it. */
static void wait_for_comm(pid_t pid, const char *name)
{
	for (int i = 0; i < 10000 && !comm_is(pid, name); i++)
		usleep(1000);
	ck_assert_msg(comm_is(pid, name), "%d never exec'd %s", pid, name);
	wait_for_shim(pid);
}

START_TEST(exec_keeps_pidfile_and_lock)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "sh", "-c", "read x; exec sleep 30", NULL };
	const char *refused_env[] = { pidfile_env, NULL };
	const char *true_argv[] = { "true", NULL };
	struct stat before, after;
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = test_spawn(env, argv, out, fds[0]);
	close(fds[0]);
	ck_assert(test_wait_for_pid(pidfile, pid, 10));
	ck_assert_int_eq(stat(pidfile, &before), 0);
	ck_assert_int_eq(write(fds[1], "go\n", 3), 3);
	wait_for_comm(pid, "sleep");
	/* the same file, the same PID, still locked: no gap, no new file */
	ck_assert_int_eq(stat(pidfile, &after), 0);
	ck_assert(before.st_ino == after.st_ino);
	ck_assert_int_eq(test_read_pid(pidfile), pid);
	ck_assert(test_is_flocked(pidfile));
	status = test_run(refused_env, true_argv, NULL, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 75);
	close(fds[1]);
	stop(pid);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

/* ---- daemon follow ----------------------------------------------------------
 */

static void check_daemon_follow(const char *mode)
{
	const char *env[] = { pidfile_env, "PIDSHIM_DAEMON=follow", NULL };
	const char *report = test_path(dir, "daemon");
	const char *argv[] = { test_helper("daemon-helper"), mode, report,
			       NULL };
	int status = test_run(env, argv, out, 30);
	pid_t daemon_pid = 0;

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: launcher status %#x", mode, status);
	for (int i = 0; i < 10000 && !daemon_pid; i++) {
		daemon_pid = test_read_pid(report);
		usleep(1000);
	}
	ck_assert_msg(daemon_pid > 0, "%s: the daemon never reported", mode);
	ck_assert_msg(test_wait_for_pid(pidfile, daemon_pid, 10),
		      "%s: the PID file names %d, not the daemon %d", mode,
		      test_read_pid(pidfile), daemon_pid);
	ck_assert(test_is_flocked(pidfile));
	kill(daemon_pid, SIGTERM);
	ck_assert_msg(test_wait_gone(pidfile, 10),
		      "%s: the PID file outlived the daemon", mode);
	unlink(report);
}

START_TEST(daemon_follow_daemon3)
{
	check_daemon_follow("daemon");
}
END_TEST

START_TEST(daemon_follow_double_fork)
{
	check_daemon_follow("double-fork");
	/* the first parent reaps the intermediate child, then leaves: it
	 * has no live child to hand over to, and the daemon holds the lock */
	check_daemon_follow("reaped");
}
END_TEST

/* A PID file left behind must never look live: present means locked. */
static void assert_absent_or_held(const char *when)
{
	ck_assert_msg(access(pidfile, F_OK) < 0 || test_is_flocked(pidfile),
		      "%s: the PID file names %d but nobody holds its lock",
		      when, test_read_pid(pidfile));
}

/* sh -c SCRIPT under daemon follow, SCRIPT starting "sleep 30 &" and
 * saving its PID in DIR/child; returns that PID once sh has ended. */
static pid_t follow_sh_leaving_sleep(const char *rest)
{
	const char *env[] = { pidfile_env, "PIDSHIM_DAEMON=follow", NULL };
	char script[4200];
	const char *argv[] = { "sh", "-c", script, NULL };
	pid_t child;
	int status;

	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s/child%s", dir,
		 rest);
	status = test_run(env, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	child = test_read_pid(test_path(dir, "child"));
	ck_assert_int_gt(child, 0);
	return child;
}

START_TEST(follow_exec_child_is_no_heir)
{
	/* nginx's binary upgrade, reduced: the child has exec'd, so it
	 * holds no lock, and the file goes with the last process holding
	 * it — here sh */
	pid_t child = follow_sh_leaving_sleep("; sleep 0.3");

	assert_absent_or_held("after sh left an exec'd sleep behind");
	/* at once, or when the child, slow to reach its exec, drops its
	 * share there */
	ck_assert_msg(test_wait_gone(pidfile, 10),
		      "sh left the PID file naming %d", test_read_pid(pidfile));
	kill(child, SIGTERM);
	/* sh gone while its child is still on its way to exec: the child is
	 * the heir, and its new image takes the file over */
	child = follow_sh_leaving_sleep("");
	assert_absent_or_held("after sh left sleep behind");
	wait_for_comm(child, "sleep");
	kill(child, SIGTERM);
	ck_assert_msg(test_wait_gone(pidfile, 10),
		      "sleep ended and left the PID file");
}
END_TEST

/* daemon-helper MODE under daemon follow, once it has reported its PID
 * (it is the process started: these modes do not daemonize). */
static pid_t start_under_follow(const char *mode)
{
	const char *env[] = { pidfile_env, "PIDSHIM_DAEMON=follow", NULL };
	const char *report = test_path(dir, "report");
	const char *argv[] = { test_helper("daemon-helper"), mode, report,
			       NULL };
	pid_t pid = test_spawn(env, argv, out, -1), reported = 0;

	for (int i = 0; i < 10000 && !reported; i++) {
		reported = test_read_pid(report);
		usleep(1000);
	}
	ck_assert_msg(reported == pid, "%s: reported %d, started %d", mode,
		      reported, pid);
	return pid;
}

START_TEST(follow_last_worker_removes)
{
	/* lighttpd's shape: the master signals its group and returns; the
	 * workers end in any order, and the last one removes the file */
	pid_t pid = start_under_follow("workers");
	int status;

	ck_assert_int_eq(test_read_pid(pidfile), pid);
	kill(pid, SIGTERM);
	status = test_wait(pid, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_absent_or_held("the master gone, its workers ending");
	ck_assert_msg(test_wait_gone(pidfile, 10),
		      "the workers ended and left the PID file naming %d",
		      test_read_pid(pidfile));
}
END_TEST

START_TEST(follow_session_of_a_job_is_no_heir)
{
	/* cron's shape: a job in a session of its own, while the daemon
	 * runs on, never takes the file over */
	pid_t pid = start_under_follow("cron");

	ck_assert_msg(test_read_pid(pidfile) == pid,
		      "after its job, the PID file names %d, not cron (%d)",
		      test_read_pid(pidfile), pid);
	ck_assert(test_is_flocked(pidfile));
	stop(pid);
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(follow_owner_killed_while_a_child_holds)
{
	/* killed by a default signal while a forked child (which holds the
	 * lock) runs on: the file stays with that child until it ends */
	const char *env[] = { pidfile_env, "PIDSHIM_DAEMON=follow", NULL };
	const char *argv[] = { "sh", "-c", "(sleep 2; true) & exec sleep 30",
			       NULL };
	const char *second[] = { "true", NULL };
	pid_t pid = test_spawn(env, argv, out, -1);
	int status;

	ck_assert(test_wait_for_pid(pidfile, pid, 10));
	wait_for_comm(pid, "sleep");
	kill(pid, SIGTERM);
	status = test_wait(pid, 20);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	ck_assert_msg(access(pidfile, F_OK) == 0,
		      "the PID file went while the child holds its lock");
	ck_assert(test_is_flocked(pidfile));
	status = test_run(env, second, NULL, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 75,
		      "a second instance ran while the child holds the lock");
	ck_assert_msg(test_wait_gone(pidfile, 10),
		      "the child ended and left the PID file");
}
END_TEST

START_TEST(dropped_privileges_leave_the_file_stale)
{
	/* dnsmasq's shape: the file is root's, in root's directory; the
	 * program becomes nobody and cannot remove it when it ends */
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { test_helper("daemon-helper"), "drop-privileges",
			       NULL };
	struct stat st;
	int status;

	if (geteuid() != 0)
		return; /* needs root to drop privileges */
	status = test_run(env, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_msg(stat(pidfile, &st) < 0 || st.st_size == 0,
		      "the PID file names the ended program (%d)",
		      test_read_pid(pidfile));
	ck_assert(!test_is_flocked(pidfile));
	ck_assert_msg(test_file_contains(out, "cannot remove"),
		      "the log does not say why the file stayed");
}
END_TEST

/* ---- unsafe PID file paths --------------------------------------------------
 */

static void assert_refused_73(const char *why)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "true", NULL };
	int status = test_run(env, argv, out, 20);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 73,
		      "%s: status %#x", why, status);
	ck_assert(test_file_contains(out, pidfile));
}

START_TEST(unsafe_pidfile_paths_exit_73)
{
	const char *target = test_path(dir, "target");
	char buf[64];
	struct stat st;

	test_write_file(target, "precious\n");
	ck_assert_int_eq(symlink(target, pidfile), 0);
	assert_refused_73("symlink");
	ck_assert(test_file_contains(out, "symbolic link"));
	test_read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	unlink(pidfile);

	ck_assert_int_eq(link(target, pidfile), 0);
	assert_refused_73("hard link");
	test_read_file(target, buf, sizeof(buf));
	ck_assert_str_eq(buf, "precious\n");
	unlink(pidfile);

	ck_assert_int_eq(mkfifo(pidfile, 0600), 0);
	assert_refused_73("fifo");
	ck_assert_int_eq(lstat(pidfile, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	unlink(pidfile);

	ck_assert_int_eq(mkdir(pidfile, 0700), 0);
	assert_refused_73("directory");
	rmdir(pidfile);

	if (geteuid() == 0) {
		test_write_file(pidfile, "12345\n");
		ck_assert_int_eq(chown(pidfile, 65534, 65534), 0);
		assert_refused_73("foreign owner");
		ck_assert(test_file_contains(out, "another user"));
		test_read_file(pidfile, buf, sizeof(buf));
		ck_assert_str_eq(buf, "12345\n");
		unlink(pidfile);
	}

	/* a directory that does not exist: cannot create */
	snprintf(pidfile_env, sizeof(pidfile_env),
		 "PIDSHIM_PIDFILE=%s/missing/app.pid", dir);
	assert_refused_73("missing directory");
}
END_TEST

/* ---- configuration
 * ------------------------------------------------------------ */

START_TEST(bad_values_exit_78_before_main)
{
	static const char *const bad[][2] = {
		{ "PIDSHIM_PIDFILE=/x/%q", "PIDSHIM_PIDFILE" },
		{ "PIDSHIM_PIDFILE=/run/a-directory/", "PIDSHIM_PIDFILE" },
		{ "PIDSHIM_PIDFILE=relative/%q", "PIDSHIM_PIDFILE" },
		{ "PIDSHIM_ON_CONFLICT=sometimes", "PIDSHIM_ON_CONFLICT" },
		{ "PIDSHIM_ON_CONFLICT=wait:soon", "PIDSHIM_ON_CONFLICT" },
		{ "PIDSHIM_ON_CONFLICT=wait:3000000", "PIDSHIM_ON_CONFLICT" },
		{ "PIDSHIM_GUARD_WAIT=99999999", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_EXIT_CODE=0", "PIDSHIM_EXIT_CODE" },
		{ "PIDSHIM_EXIT_CODE=256", "PIDSHIM_EXIT_CODE" },
		{ "PIDSHIM_EXIT_CODE=abc", "PIDSHIM_EXIT_CODE" },
		{ "PIDSHIM_GUARD=relative/path", "PIDSHIM_GUARD" },
		{ "PIDSHIM_GUARD_WAIT=forever", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=-1", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=0x10", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=1e3", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=inf", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=nan", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=+5", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=5 ", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=.5", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=5.", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_GUARD_WAIT=", "PIDSHIM_GUARD_WAIT" },
		{ "PIDSHIM_ON_CONFLICT=wait:0x10", "PIDSHIM_ON_CONFLICT" },
		{ "PIDSHIM_ON_CONFLICT=wait:2e1", "PIDSHIM_ON_CONFLICT" },
		{ "PIDSHIM_EXIT_CODE=0x10", "PIDSHIM_EXIT_CODE" },
		{ "PIDSHIM_EXIT_CODE=+9", "PIDSHIM_EXIT_CODE" },
		{ "PIDSHIM_MODE=0x1a4", "PIDSHIM_MODE" },
		{ "PIDSHIM_GUARD_SCOPE=thread", "PIDSHIM_GUARD_SCOPE" },
		{ "PIDSHIM_GUARD_MODE=shared", "PIDSHIM_GUARD_MODE" },
		{ "PIDSHIM_LOCK_STYLE=lockfile", "PIDSHIM_LOCK_STYLE" },
		{ "PIDSHIM_LOCK_STYLE=DOTLOCK", "PIDSHIM_LOCK_STYLE" },
		{ "PIDSHIM_LOCK_DIR=var/lock", "PIDSHIM_LOCK_DIR" },
		{ "PIDSHIM_CHILDREN=some", "PIDSHIM_CHILDREN" },
		{ "PIDSHIM_DAEMON=on", "PIDSHIM_DAEMON" },
		{ "PIDSHIM_MODE=0999", "PIDSHIM_MODE" },
		{ "PIDSHIM_MODE=rw-r--r--", "PIDSHIM_MODE" },
		{ "PIDSHIM_LOG=loud", "PIDSHIM_LOG" },
		{ "PIDSHIM_LOG_FILE=", "PIDSHIM_LOG_FILE" },
	};
	const char *marker = test_path(dir, "ran");
	char cmd[4200];
	const char *argv[] = { "sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "touch %s", marker);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = { pidfile_env, bad[i][0], NULL };
		int status;

		unlink(out);
		status = test_run(env, argv, out, 20);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78,
			      "%s: status %#x", bad[i][0], status);
		ck_assert_msg(test_file_contains(out, bad[i][1]) &&
				  test_file_contains(out, "expected"),
			      "%s: the message does not name the variable "
			      "and what it takes",
			      bad[i][0]);
		ck_assert_msg(access(marker, F_OK) < 0, "%s: the program ran",
			      bad[i][0]);
		ck_assert_msg(access(pidfile, F_OK) < 0,
			      "%s: a PID file was made", bad[i][0]);
	}
}
END_TEST

START_TEST(good_values_are_accepted)
{
	const char *env[] = { pidfile_env,
			      "PIDSHIM_ON_CONFLICT=wait:1.5",
			      "PIDSHIM_EXIT_CODE=255",
			      "PIDSHIM_GUARD=/nonexistent/a:/nonexistent/b*",
			      "PIDSHIM_GUARD_WAIT=0.25",
			      "PIDSHIM_GUARD_SCOPE=process",
			      "PIDSHIM_GUARD_MODE=shared-read",
			      "PIDSHIM_LOCK_STYLE=uucp",
			      "PIDSHIM_LOCK_DIR=/tmp",
			      "PIDSHIM_CHILDREN=none",
			      "PIDSHIM_DAEMON=off",
			      "PIDSHIM_MODE=0600",
			      "PIDSHIM_LOG=warn",
			      NULL };
	const char *argv[] = { "sh", "-c", "exit 0", NULL };
	int status = test_run(env, argv, out, 20);
	char log[4096] = "";

	test_read_file(out, log, sizeof(log));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x: %s", status, log);
	ck_assert_str_eq(log, "");
}
END_TEST

START_TEST(mode_sets_pidfile_permissions)
{
	const char *env[] = { pidfile_env, "PIDSHIM_MODE=0600", NULL };
	pid_t pid = test_spawn(env, sleep30, out, -1);
	struct stat st;

	ck_assert(test_wait_for_pid(pidfile, pid, 10));
	ck_assert_int_eq(stat(pidfile, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	stop(pid);
}
END_TEST

START_TEST(unknown_variable_warns_with_nearest_name)
{
	const char *env[] = { pidfile_env, "PIDSHIM_PIDFLE=/tmp/x.pid",
			      "PIDSHIM_OWNR=1", "PIDSHIM_LOG=warn", NULL };
	const char *argv[] = { "true", NULL };
	int status = test_run(env, argv, out, 20);

	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(test_file_contains(out, "PIDSHIM_PIDFLE"));
	ck_assert(test_file_contains(out, "did you mean PIDSHIM_PIDFILE"));
	/* the variable the shim passes on is a known name too */
	ck_assert(test_file_contains(out, "did you mean PIDSHIM_OWNER"));
	/* and known names are not warned about */
	ck_assert(!test_file_contains(out, "variable PIDSHIM_LOG "));
	ck_assert(!test_file_contains(out, "variable PIDSHIM_PIDFILE "));
}
END_TEST

/* PIDSHIM_CLUSTER under the shim alone: no cluster lock, and said so
 * (libpidshim(7), ENVIRONMENT); with the token pidshim gives the program
 * it runs under one, nothing is said: both names are known. */
START_TEST(cluster_without_pidshim_warns)
{
	const char *alone[] = { pidfile_env,
				"PIDSHIM_CLUSTER=http://127.0.0.1:1/job",
				"PIDSHIM_LOG=warn", NULL };
	const char *under[] = { pidfile_env,
				"PIDSHIM_CLUSTER=http://127.0.0.1:1/job",
				"PIDSHIM_FENCING_TOKEN=7", "PIDSHIM_LOG=warn",
				NULL };
	const char *argv[] = { "true", NULL };
	int status = test_run(alone, argv, out, 20);

	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(test_file_contains(out, "the shim alone takes no cluster"));
	ck_assert(!test_file_contains(out, "unknown variable"));
	ck_assert_int_eq(truncate(out, 0), 0);
	status = test_run(under, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!test_file_contains(out, "cluster lock"));
	ck_assert(!test_file_contains(out, "unknown variable"));
}
END_TEST

/* How many times NEEDLE occurs in the file at PATH. */
static int occurrences(const char *path, const char *needle)
{
	static char text[1 << 16];
	int count = 0;

	ck_assert_int_ge(test_read_file(path, text, sizeof(text)), 0);
	for (const char *p = text; (p = strstr(p, needle)); p++)
		count++;
	return count;
}

/* Environments of a few variables, and of more than the shim's own array
 * for them holds (setenv's way then). */
static const int extra_variables[] = { 1, 700 };

/* The owner publishes PIDSHIM_OWNER: sh's child sees it with the rest of
 * the environment, and sh's exec'd image (the owner after exec) has it
 * once, not twice. */
START_TEST(owner_published_in_environment)
{
	static char names[700][32];
	static const char *env[704];
	const char *argv[] = { "sh", "-c", "env; echo --; exec env", NULL };
	char expected[8400];
	int n = 0, status;
	pid_t pid;

	env[n++] = pidfile_env;
	for (int i = 0; i < extra_variables[_i]; i++) {
		snprintf(names[i], sizeof(names[i]), "KEEP_%d=%d", i, i);
		env[n++] = names[i];
	}
	env[n] = NULL;
	pid = test_spawn(env, argv, out, -1);
	status = test_wait(pid, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(expected, sizeof(expected), "PIDSHIM_OWNER=%d:%zu:%s%s\n",
		 (int)pid, strlen(pidfile), pidfile, pidfile);
	ck_assert_int_eq(occurrences(out, expected), 2);
	ck_assert_int_eq(occurrences(out, "PIDSHIM_OWNER="), 2);
	ck_assert_int_eq(occurrences(out, "\nKEEP_0=0\n"), 2);
	snprintf(expected, sizeof(expected), "\nKEEP_%d=%d\n",
		 extra_variables[_i] - 1, extra_variables[_i] - 1);
	ck_assert_int_eq(occurrences(out, expected), 2);
	ck_assert_int_eq(occurrences(out, "LD_PRELOAD="), 2);
}
END_TEST

START_TEST(pidfile_none_makes_no_file)
{
	const char *env[] = { "PIDSHIM_PIDFILE=none", NULL };
	const char *argv[] = { "sh", "-c", "ls -A", NULL };
	char cwd[4096], log[4096] = "";
	int status;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	status = test_run(env, argv, out, 20);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_read_file(out, log, sizeof(log));
	ck_assert_str_eq(log, "out\n");
}
END_TEST

/* ---- logging
 * ------------------------------------------------------------------ */

START_TEST(log_never_writes_into_reused_fd2)
{
	const char *env[] = { pidfile_env, "PIDSHIM_LOG=debug", NULL };
	const char *data = test_path(dir, "data");
	const char *keep[] = { test_helper("log-helper"), "keep", data, NULL };
	const char *reuse[] = { test_helper("log-helper"), "reuse", data,
				NULL };
	int status;

	/* control: with fd 2 untouched the exit message reaches stderr */
	status = test_run(env, keep, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(test_file_contains(out, "removing at exit"));

	status = test_run(env, reuse, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(test_file_contains(data, "program data"));
	ck_assert_msg(!test_file_contains(data, "pidshim["),
		      "a message went into the program's own file");
	ck_assert_int_eq(access(pidfile, F_OK), -1);
}
END_TEST

START_TEST(log_file_and_quiet)
{
	char log_env[4200];
	const char *log = test_path(dir, "shim.log");
	const char *to_file[] = { pidfile_env, log_env, NULL };
	const char *quiet[] = { pidfile_env, "PIDSHIM_LOG=quiet", NULL };
	const char *argv[] = { "true", NULL };
	pid_t first = start_sleeper();
	int status;

	snprintf(log_env, sizeof(log_env), "PIDSHIM_LOG_FILE=%s", log);
	unlink(out);
	status = test_run(to_file, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 75);
	ck_assert(test_file_contains(log, "another instance"));
	ck_assert(!test_file_contains(out, "another instance"));

	unlink(out);
	status = test_run(quiet, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 75);
	ck_assert(!test_file_contains(out, "pidshim"));
	stop(first);
}
END_TEST

/* PIDSHIM_LOG_FILE is opened like our own files: a symlink, a FIFO, a
 * directory or another user's file there is refused (status 78, one line
 * naming the variable) and nothing is written through it. */
static void assert_log_file_refused(const char *log, const char *why)
{
	char log_env[4200];
	const char *env[] = { pidfile_env, log_env, NULL };
	const char *argv[] = { "true", NULL };
	int status;

	snprintf(log_env, sizeof(log_env), "PIDSHIM_LOG_FILE=%s", log);
	unlink(out);
	status = test_run(env, argv, out, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78,
		      "%s: status 0x%x", why, status);
	ck_assert_msg(test_file_contains(out, "PIDSHIM_LOG_FILE"),
		      "%s: the message does not name the variable", why);
	ck_assert_msg(access(pidfile, F_OK) < 0, "%s: a PID file was made",
		      why);
}

START_TEST(log_file_opened_safely)
{
	const char *secret = test_path(dir, "secret");
	const char *link = test_path(dir, "link.log");
	const char *fifo = test_path(dir, "fifo.log");
	const char *sub = test_path(dir, "sub.log");
	const char *foreign = test_path(dir, "foreign.log");
	char buf[64];

	test_write_file(secret, "secret\n");
	ck_assert_int_eq(symlink(secret, link), 0);
	assert_log_file_refused(link, "symlink");
	ck_assert_int_eq(test_read_file(secret, buf, sizeof(buf)), 7);

	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	assert_log_file_refused(fifo, "FIFO"); /* and it did not hang */

	ck_assert_int_eq(mkdir(sub, 0700), 0);
	assert_log_file_refused(sub, "directory");

	if (geteuid() == 0) {
		test_write_file(foreign, "");
		ck_assert_int_eq(chown(foreign, 65534, 65534), 0);
		assert_log_file_refused(foreign, "another user's file");
		ck_assert_int_eq(test_read_file(foreign, buf, sizeof(buf)), 0);
	}
}
END_TEST

/* ---- the PID file across exec: expanded once, by the owner ------------- */

START_TEST(exec_keeps_the_file_the_template_named_first)
{
	char env_var[4300];
	const char *env[] = { env_var, NULL };
	const char *argv[] = { "sh", "-c", "sleep 0.2; exec sleep 30", NULL };
	const char *sh_pid = test_path(dir, "sh.pid");
	char sleep_pid[4200];
	pid_t pid;

	snprintf(env_var, sizeof(env_var), "PIDSHIM_PIDFILE=%s/%%n.pid", dir);
	snprintf(sleep_pid, sizeof(sleep_pid), "%s/sleep.pid", dir);
	pid = test_spawn(env, argv, out, -1);
	ck_assert(test_wait_for_pid(sh_pid, pid, 10));
	wait_for_comm(pid, "sleep");
	/* the owner's file, adopted: no second file, no leaked lock */
	ck_assert_int_eq(access(sleep_pid, F_OK), -1);
	ck_assert_int_eq(test_read_pid(sh_pid), pid);
	ck_assert(test_is_flocked(sh_pid));
	stop(pid);
	ck_assert_int_eq(access(sh_pid, F_OK), -1);
	ck_assert_int_eq(access(sleep_pid, F_OK), -1);
}
END_TEST

START_TEST(exec_leaves_no_lock_to_the_programs_children)
{
	char env_var[4300];
	const char *env[] = { env_var, NULL };
	const char *argv[] = { "sh", "-c", "exec bash -c 'sleep 4 & exit 0'",
			       NULL };
	const char *again[] = { "true", NULL };
	int status;

	snprintf(env_var, sizeof(env_var), "PIDSHIM_PIDFILE=%s/%%n.pid", dir);
	status = test_run(env, argv, out, 20);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the background sleep still runs: it must hold nothing */
	ck_assert_int_eq(access(test_path(dir, "sh.pid"), F_OK), -1);
	status = test_run(env, again, out, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "a new instance was refused");
}
END_TEST

START_TEST(relative_template_survives_chdir_and_exec)
{
	const char *env[] = { "PIDSHIM_PIDFILE=rel-exec.pid", NULL };
	const char *argv[] = { "sh", "-c", "cd /; exec sleep 30", NULL };
	const char *path = test_path(dir, "rel-exec.pid");
	char cwd[4096];
	pid_t pid;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(dir), 0);
	pid = test_spawn(env, argv, out, -1);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert(test_wait_for_pid(path, pid, 10));
	wait_for_comm(pid, "sleep");
	ck_assert_int_eq(access("/rel-exec.pid", F_OK), -1);
	ck_assert_int_eq(test_read_pid(path), pid);
	ck_assert(test_is_flocked(path));
	stop(pid);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* %n names what was executed: a #! script, not its interpreter. */
START_TEST(two_scripts_get_two_pidfiles)
{
	char env_var[4300], a[4200], b[4200];
	const char *env[] = { env_var, NULL };
	const char *argv_a[] = { a, NULL }, *argv_b[] = { b, NULL };
	pid_t pa, pb;

	snprintf(env_var, sizeof(env_var), "PIDSHIM_PIDFILE=%s/x/%%n.pid", dir);
	ck_assert_int_eq(mkdir(test_path(dir, "x"), 0755), 0);
	snprintf(a, sizeof(a), "%s/alpha", dir);
	snprintf(b, sizeof(b), "%s/beta", dir);
	test_write_file(a, "#!/bin/sh\nsleep 30\n");
	test_write_file(b, "#!/bin/sh\nsleep 30\n");
	ck_assert_int_eq(chmod(a, 0755), 0);
	ck_assert_int_eq(chmod(b, 0755), 0);
	pa = test_spawn(env, argv_a, out, -1);
	pb = test_spawn(env, argv_b, NULL, -1);
	ck_assert(test_wait_for_pid(test_path(dir, "x/alpha.pid"), pa, 10));
	ck_assert(test_wait_for_pid(test_path(dir, "x/beta.pid"), pb, 10));
	ck_assert(still_running(pa) && still_running(pb));
	stop(pa);
	stop(pb);
	ck_assert_int_eq(access(test_path(dir, "x/alpha.pid"), F_OK), -1);
	ck_assert_int_eq(access(test_path(dir, "x/beta.pid"), F_OK), -1);
}
END_TEST

/* ---- the shim's descriptors at every descriptor limit ------------------- */

static void set_nofile(rlim_t soft)
{
	struct rlimit lim;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
	/* as high as the hard limit lets an unprivileged test go */
	if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < soft)
		soft = lim.rlim_max;
	lim.rlim_cur = soft;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
}

/* A program that closes 3 up to its limit, one by one, then sleeps. */
static void closing_at_limit_keeps_the_lock(rlim_t soft)
{
	const char *env[] = { pidfile_env, NULL };
	const char *argv[] = { "python3", "-c",
			       "import os, resource, time\n"
			       "for fd in range(3, resource.getrlimit("
			       "resource.RLIMIT_NOFILE)[0]):\n"
			       "    try: os.close(fd)\n"
			       "    except OSError: pass\n"
			       "open(os.environ['DONE'], 'w').close()\n"
			       "time.sleep(30)\n",
			       NULL };
	char done_env[4200];
	const char *env2[] = { pidfile_env, done_env, NULL };
	pid_t pid;

	(void)env;
	snprintf(done_env, sizeof(done_env), "DONE=%s/done", dir);
	set_nofile(soft);
	pid = test_spawn(env2, argv, out, -1);
	ck_assert(test_wait_for_pid(pidfile, pid, 20));
	for (int i = 0; i < 200 && access(test_path(dir, "done"), F_OK) < 0;
	     i++)
		usleep(100000);
	ck_assert_int_eq(access(test_path(dir, "done"), F_OK), 0);
	ck_assert_msg(test_is_flocked(pidfile),
		      "the PID file's lock was closed at limit %lu",
		      (unsigned long)soft);
	stop(pid);
}

START_TEST(closing_every_descriptor_at_limit_64_keeps_the_lock)
{
	closing_at_limit_keeps_the_lock(64);
}
END_TEST

START_TEST(closing_every_descriptor_at_limit_256_keeps_the_lock)
{
	closing_at_limit_keeps_the_lock(256);
}
END_TEST

/* At a container's 1,048,576 descriptors (or the hard limit, if lower)
 * ours sit inside the 64 slots every process has: the descriptor table
 * does not grow. */
START_TEST(private_descriptors_sit_below_a_bound)
{
	char fd_dir[64], link[4200], target[4200];
	struct dirent *entry;
	int found = -1;
	DIR *fds;
	pid_t pid;

	set_nofile(1048576);
	pid = start_sleeper();
	snprintf(fd_dir, sizeof(fd_dir), "/proc/%d/fd", pid);
	fds = opendir(fd_dir);
	ck_assert_ptr_nonnull(fds);
	while ((entry = readdir(fds))) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", fd_dir, entry->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, pidfile) == 0)
			found = atoi(entry->d_name);
	}
	closedir(fds);
	stop(pid);
	ck_assert_int_ge(found, 10);
	ck_assert_int_lt(found, 64);
}
END_TEST

/* ---- another user's file at the default path ---------------------------- */

/* The default path is in a directory others can write to in the /tmp case;
 * as root (/run) a file chowned to nobody stands in for it. */
START_TEST(foreign_file_at_default_path_says_whose_and_what_to_do)
{
	char prog[4200], path[4200];
	const char *cp_env[] = { "LD_PRELOAD=", NULL };
	const char *cp_argv[] = { "cp", "/bin/true", prog, NULL };
	const char *argv[] = { prog, NULL };
	int status;

	if (geteuid() != 0)
		return; /* only root can give a file away */
	snprintf(prog, sizeof(prog), "%s/pidshim-foreign-%d", dir, getpid());
	snprintf(path, sizeof(path), "/run/pidshim-foreign-%d.pid", getpid());
	ck_assert_int_eq(test_run(cp_env, cp_argv, NULL, 20), 0);
	test_write_file(path, "12345\n");
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	status = test_run(NULL, argv, out, 20);
	unlink(path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 73,
		      "status %#x", status);
	ck_assert(test_file_contains(out, path));
	ck_assert(test_file_contains(out, "uid 65534"));
	ck_assert(test_file_contains(out, "PIDSHIM_PIDFILE"));
	ck_assert(test_file_contains(out, "XDG_RUNTIME_DIR"));
}
END_TEST

/* ---- a raw clone() child: out of reach (libpidshim(7), BUGS) --------- */

/* clone(2) called directly runs no fork handlers: the child keeps a copy
 * of the PID file's descriptor, and flock locks belong to the open file
 * description the two share. The documented behaviour: after the owner is
 * killed with SIGKILL, a new instance is refused while that child lives,
 * and starts once it is gone (the file is then stale). */
START_TEST(raw_clone_child_keeps_the_lock_until_it_ends)
{
	char child_env[4200];
	const char *env[] = { pidfile_env, child_env, NULL };
	const char *argv[] = {
		"python3", "-c",
		"import ctypes, os, time\n"
		"libc = ctypes.CDLL(None, use_errno=True)\n"
		"pid = libc.syscall(56, 17, 0, 0, 0, 0)  # clone(SIGCHLD)\n"
		"if pid == 0:\n"
		"    time.sleep(3)\n"
		"    os._exit(0)\n"
		"with open(os.environ['CHILD'] + '.tmp', 'w') as f:\n"
		"    f.write(str(pid))\n"
		"os.rename(os.environ['CHILD'] + '.tmp', os.environ['CHILD'])\n"
		"time.sleep(30)\n",
		NULL
	};
	const char *true_argv[] = { "true", NULL };
	const char *child_path = test_path(dir, "child");
	char proc[64];
	pid_t pid, child;
	int status;

	snprintf(child_env, sizeof(child_env), "CHILD=%s", child_path);
	pid = test_spawn(env, argv, out, -1);
	ck_assert(test_wait_for_pid(pidfile, pid, 20));
	for (int i = 0; i < 200 && access(child_path, F_OK) < 0; i++)
		usleep(100000);
	child = test_read_pid(child_path);
	ck_assert_int_gt(child, 0);
	kill(pid, SIGKILL);
	test_wait(pid, 10);
	status = test_run((const char *[]){ pidfile_env, NULL }, true_argv,
			  NULL, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 75,
		      "refused while the clone child lives: status %#x",
		      status);
	/* until it is gone, or a zombie (which holds no descriptors) */
	snprintf(proc, sizeof(proc), "/proc/%d/stat", child);
	for (int i = 0; i < 300; i++) {
		char stat_line[512];

		if (test_read_file(proc, stat_line, sizeof(stat_line)) <= 0 ||
		    strstr(stat_line, ") Z "))
			break;
		usleep(100000);
	}
	status = test_run((const char *[]){ pidfile_env, NULL }, true_argv,
			  NULL, 20);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "starts once the clone child is gone: status %#x",
		      status);
}
END_TEST

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("shim-pidfile");

	test_add(s, "lifecycle", sleep_has_locked_pidfile_removed_at_exit, 30,
		 &fixture, NULL);
	test_add(s, "template", template_names_program_and_uid, 30, &fixture,
		 NULL);
	test_add(s, "relative_path", relative_pidfile_is_anchored_at_start, 30,
		 &fixture, NULL);
	test_add(s, "second_instance", second_instance_exits_75_naming_holder,
		 30, &fixture, NULL);
	test_add(s, "conflict_wait", on_conflict_wait_runs_after_holder, 30,
		 &fixture, NULL);
	test_add(s, "conflict_wait_same_file",
		 on_conflict_wait_is_handed_the_same_file, 120, &fixture, NULL);
	test_add(s, "whole_file_lockf", whole_file_lockf_never_hangs_the_end,
		 60, &fixture, NULL);
	test_add(s, "dead_waiter_stale", file_kept_for_a_dead_waiter_is_stale,
		 60, &fixture, NULL);
	test_add(s, "conflict_wait_seconds", on_conflict_wait_seconds_gives_up,
		 30, &fixture, NULL);
	test_add(s, "concurrent_starts", concurrent_starts_exactly_one_runs,
		 300, &fixture, NULL);
	test_add(s, "sigkill_takeover", sigkill_then_new_start_takes_over, 30,
		 &fixture, NULL);
	test_add(s, "stale_live_pid", stale_file_naming_live_pid_is_taken_over,
		 30, &fixture, NULL);
	test_add(s, "children", children_leave_pidfile_alone, 60, &fixture,
		 NULL);
	test_add(s, "every_end", every_end_removes_pidfile, 60, &fixture, NULL);
	test_add(s, "close_everything", closing_every_descriptor_keeps_the_lock,
		 60, &fixture, NULL);
	test_add(s, "orphan", orphaned_child_does_not_keep_lock, 60, &fixture,
		 NULL);
	test_add(s, "descendants", descendants_never_create_pidfile, 30,
		 &fixture, NULL);
	test_add(s, "nested", nested_run_with_other_pidfile_is_an_owner, 30,
		 &fixture, NULL);
	test_add(s, "exec", exec_keeps_pidfile_and_lock, 30, &fixture, NULL);
	test_add(s, "daemon_follow_daemon3", daemon_follow_daemon3, 60,
		 &fixture, NULL);
	test_add(s, "daemon_follow_double_fork", daemon_follow_double_fork, 60,
		 &fixture, NULL);
	test_add(s, "follow_exec_child", follow_exec_child_is_no_heir, 60,
		 &fixture, NULL);
	test_add(s, "follow_workers", follow_last_worker_removes, 60, &fixture,
		 NULL);
	test_add(s, "follow_setsid_job", follow_session_of_a_job_is_no_heir, 60,
		 &fixture, NULL);
	test_add(s, "follow_owner_killed",
		 follow_owner_killed_while_a_child_holds, 60, &fixture, NULL);
	test_add(s, "dropped_privileges",
		 dropped_privileges_leave_the_file_stale, 60, &fixture, NULL);
	test_add(s, "unsafe_paths", unsafe_pidfile_paths_exit_73, 60, &fixture,
		 NULL);
	test_add(s, "bad_values", bad_values_exit_78_before_main, 120, &fixture,
		 NULL);
	test_add(s, "good_values", good_values_are_accepted, 30, &fixture,
		 NULL);
	test_add(s, "mode", mode_sets_pidfile_permissions, 30, &fixture, NULL);
	test_add(s, "unknown_variable",
		 unknown_variable_warns_with_nearest_name, 30, &fixture, NULL);
	test_add(s, "cluster_without_pidshim_warns",
		 cluster_without_pidshim_warns, 30, &fixture, NULL);
	test_add(s, "pidfile_none", pidfile_none_makes_no_file, 30, &fixture,
		 NULL);
	test_add(s, "log_fd2", log_never_writes_into_reused_fd2, 30, &fixture,
		 NULL);
	test_add(s, "log_file_quiet", log_file_and_quiet, 30, &fixture, NULL);
	test_add(s, "log_file_opened_safely", log_file_opened_safely, 120,
		 &fixture, NULL);
	test_add(s, "exec_template_once",
		 exec_keeps_the_file_the_template_named_first, 30, &fixture,
		 NULL);
	test_add(s, "exec_no_leaked_lock",
		 exec_leaves_no_lock_to_the_programs_children, 30, &fixture,
		 NULL);
	test_add(s, "exec_relative_chdir",
		 relative_template_survives_chdir_and_exec, 30, &fixture, NULL);
	test_add(s, "template_script_name", two_scripts_get_two_pidfiles, 30,
		 &fixture, NULL);
	test_add(s, "private_fd_limit_64",
		 closing_every_descriptor_at_limit_64_keeps_the_lock, 60,
		 &fixture, NULL);
	test_add(s, "private_fd_limit_256",
		 closing_every_descriptor_at_limit_256_keeps_the_lock, 60,
		 &fixture, NULL);
	test_add(s, "owner_environment", owner_published_in_environment, 30,
		 &fixture, TEST_LOOP(2));
	test_add(s, "private_fd_bounded", private_descriptors_sit_below_a_bound,
		 30, &fixture, NULL);
	test_add(s, "pidfile_foreign_default",
		 foreign_file_at_default_path_says_whose_and_what_to_do, 30,
		 &fixture, NULL);
	test_add(s, "raw_clone_child",
		 raw_clone_child_keeps_the_lock_until_it_ends, 60, &fixture,
		 NULL);
	return test_run_suite(s);
}

/* SPDX-License-Identifier: MIT */
/*
 * The shim and signals, on real programs (sleep, sh, nohup, python3 and
 * tests/helpers/sig-helper.c) run under LD_PRELOAD, seen from outside: a
 * terminating signal removes the PID file and still ends the process by
 * that signal (with its core); handlers that end the program or let it
 * run on keep the file as long as it runs (libpidshim(7), BEHAVIOUR,
 * Signals). What the program sees of its own dispositions, flags, masks
 * and handlers is test-shim-signals-in-process.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-common.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char *dir;
static char pidfile[PATH_MAX];
static char out_path[PATH_MAX];
static pid_t child; /* the program under test, killed if a test fails */

/* The terminating signals whose default action dumps no core.
 * 0 and -1 stand for SIGRTMIN and SIGRTMAX, which are not constants. */
static const int plain_signals[] = {
	SIGTERM,   SIGINT,  SIGHUP, SIGPIPE, SIGALRM,	SIGUSR1, SIGUSR2,
	SIGVTALRM, SIGPROF, SIGIO,  SIGPWR,  SIGSTKFLT, 0,	 -1,
};
static const int core_signals[] = {
	SIGQUIT, SIGABRT, SIGSEGV, SIGBUS,  SIGFPE,
	SIGILL,	 SIGSYS,  SIGTRAP, SIGXCPU, SIGXFSZ,
};

/* valgrind keeps SIGRTMAX: a test process under it cannot send it. */
static int real_signo(int entry)
{
	if (entry == 0)
		return SIGRTMIN;
	if (entry == -1)
		return test_under_valgrind() ? SIGRTMAX - 1 : SIGRTMAX;
	return entry;
}

static void setup(void)
{
	sigset_t none;

	/* What the programs under test inherit: nothing blocked, none of
	 * the signals under test ignored (a run under nohup would otherwise
	 * make SIGHUP's case pass for the wrong reason). */
	test_reset_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(plain_signals); i++)
		if (signal(real_signo(plain_signals[i]), SIG_DFL) == SIG_ERR)
			ck_abort_msg("signal(%d): %s", plain_signals[i],
				     strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(core_signals); i++)
		signal(core_signals[i], SIG_DFL);

	dir = test_dir_make();
	snprintf(pidfile, sizeof(pidfile), "%s/app.pid", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.log", dir);
	child = 0;
}

static void teardown(void)
{
	int status;

	if (child > 0 && waitpid(child, &status, WNOHANG) == 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	child = 0;
	test_dir_remove(dir);
	dir = NULL;
}

/* ---- running programs --------------------------------------------------- */

/* The environment of every program under test: the PID file, and for a
 * sanitizer build, a runtime that leaves SIGSEGV, SIGBUS and SIGFPE alone
 * and does not turn off core dumps (the shim is what is under test). */
static const char *const *shim_env(const char *extra1, const char *extra2)
{
	static char pidfile_var[PATH_MAX + 32], asan_var[2048];
	static const char *env[5];
	const char *preload = getenv("PIDSHIM_TEST_PRELOAD");
	int n = 0;

	snprintf(pidfile_var, sizeof(pidfile_var), "PIDSHIM_PIDFILE=%s",
		 pidfile);
	env[n++] = pidfile_var;
	if (preload && *preload) {
		const char *asan = getenv("ASAN_OPTIONS");

		snprintf(asan_var, sizeof(asan_var),
			 "ASAN_OPTIONS=%s%shandle_segv=0:handle_sigbus=0:"
			 "handle_sigfpe=0:disable_coredump=0",
			 asan ? asan : "", asan && *asan ? ":" : "");
		env[n++] = asan_var;
	}
	if (extra1)
		env[n++] = extra1;
	if (extra2)
		env[n++] = extra2;
	env[n] = NULL;
	return env;
}

static pid_t spawn(const char *const *argv)
{
	child = test_spawn(shim_env(NULL, NULL), argv, out_path, -1);
	return child;
}

static int wait_child(pid_t pid)
{
	int status = test_wait(pid, 60);

	if (pid == child)
		child = 0;
	return status;
}

/* What the program wrote (stdout and stderr), for failure messages. */
static const char *output(void)
{
	static char buf[16384];

	if (test_read_file(out_path, buf, sizeof(buf)) < 0)
		return "(no output)";
	return buf;
}

static bool wait_for_text(const char *path, const char *needle, int timeout_s)
{
	for (long i = 0; i < timeout_s * 500L; i++) {
		if (test_file_contains(path, needle))
			return true;
		test_pause_ms(2);
	}
	return false;
}

static void expect_output(const char *needle)
{
	ck_assert_msg(wait_for_text(out_path, needle, 30),
		      "no \"%s\" from the program; its output:\n%s", needle,
		      output());
}

/*
 * PID is sleep(1), asleep in its main: past every constructor, so the shim
 * in it is set up (after an exec too: exec resets caught signals to
 * SIG_DFL, and the new image's shim takes them again only when its
 * constructor runs — a signal in between ends the process without cleanup,
 * out of any LD_PRELOAD object's reach). Where /proc/PID/syscall cannot be
 * read (ptrace restrictions), the shim catching SIGTERM is the sign.
 */
static bool is_asleep(pid_t pid)
{
	char path[64], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (test_read_file(path, buf, sizeof(buf)) <= 0 ||
	    strcmp(buf, "sleep\n") != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	n = test_read_file(path, buf, sizeof(buf));
	if (n < 0 && (errno == EACCES || errno == EPERM))
		return test_proc_mask_has(pid, "SigCgt", SIGTERM);
	return n > 0 && buf[0] >= '0' && buf[0] <= '9' &&
	       (atol(buf) == SYS_nanosleep || atol(buf) == SYS_clock_nanosleep);
}

static bool wait_until_asleep(pid_t pid, int timeout_s)
{
	for (long i = 0; i < timeout_s * 500L; i++) {
		if (is_asleep(pid))
			return true;
		test_pause_ms(2);
	}
	return false;
}

/* ---- assertions -----------------------------------------------------------
 */

static void assert_killed_by(int status, int signo)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == signo,
		      "expected death by signal %d (%s), got wait status %#x; "
		      "output:\n%s",
		      signo, strsignal(signo), status, output());
}

static void assert_exited(int status, int code)
{
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == code,
	    "expected exit status %d, got wait status %#x; output:\n%s", code,
	    status, output());
}

static void assert_pidfile_names(pid_t pid)
{
	ck_assert_msg(test_read_pid(pidfile) == pid,
		      "the PID file names %d, not %d; output:\n%s",
		      (int)test_read_pid(pidfile), (int)pid, output());
	ck_assert_msg(test_is_flocked(pidfile), "the PID file is not locked");
}

static void assert_pidfile_gone(void)
{
	ck_assert_msg(access(pidfile, F_OK) < 0 && errno == ENOENT,
		      "the PID file is still there (it names %d); output:\n%s",
		      (int)test_read_pid(pidfile), output());
}

static void assert_running(pid_t pid)
{
	int status = 0;
	pid_t r = waitpid(pid, &status, WNOHANG);

	if (r == pid)
		child = 0;
	ck_assert_msg(r == 0, "%d ended (wait status %#x); output:\n%s",
		      (int)pid, status, output());
}

static pid_t spawn_and_wait_for_pidfile(const char *const *argv)
{
	pid_t pid = spawn(argv);

	ck_assert_msg(test_wait_for_pid(pidfile, pid, 30),
		      "the PID file never named %d; output:\n%s", (int)pid,
		      output());
	return pid;
}

/* ---- 1. terminating signals at their default ------------------------------
 */

START_TEST(terminating_signal_removes_pidfile)
{
	int signo = real_signo(plain_signals[_i]);
	const char *argv[] = { "sleep", "30", NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);
	int status;

	/* The first moments are terminating_at_once's business. */
	ck_assert_msg(wait_until_asleep(pid, 30), "sleep never slept");
	assert_pidfile_names(pid);
	ck_assert_int_eq(kill(pid, signo), 0);
	status = wait_child(pid);
	assert_killed_by(status, signo);
	ck_assert_msg(!WCOREDUMP(status), "%s dumped core", strsignal(signo));
	assert_pidfile_gone();
}
END_TEST

/* Cores are dumped where the program runs only for a relative
 * core_pattern (a pipe hands them to a program, an absolute one puts them
 * elsewhere), and only if RLIMIT_CORE may be raised. */
static bool cores_expected(void)
{
	struct rlimit limit;
	char pattern[256];

	if (getrlimit(RLIMIT_CORE, &limit) < 0 ||
	    limit.rlim_max != RLIM_INFINITY)
		return false;
	if (test_read_file("/proc/sys/kernel/core_pattern", pattern,
			   sizeof(pattern)) <= 0)
		return false;
	return pattern[0] != '|' && pattern[0] != '/';
}

START_TEST(core_signal_dumps_core_and_removes_pidfile)
{
	int signo = core_signals[_i];
	bool want_core = cores_expected();
	/* sh execs sleep: the PID file stays, naming the same PID; cores
	 * land in the test directory. */
	const char *argv[] = {
		"sh",
		"-c",
		want_core ? "ulimit -c unlimited && cd \"$1\" && exec sleep 30"
			  : "ulimit -c 0; cd \"$1\" && exec sleep 30",
		"sh",
		dir,
		NULL
	};
	pid_t pid = spawn_and_wait_for_pidfile(argv);
	int status;

	ck_assert_msg(wait_until_asleep(pid, 30), "sh never exec'd sleep:\n%s",
		      output());
	assert_pidfile_names(pid);
	ck_assert_int_eq(kill(pid, signo), 0);
	status = wait_child(pid);
	assert_killed_by(status, signo);
	if (want_core)
		ck_assert_msg(WCOREDUMP(status),
			      "%s: no core dumped (wait status %#x)",
			      strsignal(signo), status);
	assert_pidfile_gone();
}
END_TEST

/*
 * A supervisor may read the PID file and signal at once: from the moment
 * the file names the process, a terminating signal must remove it. The
 * file is read in a tight loop to hit the first microseconds after it is
 * written.
 */
START_TEST(terminating_signal_as_soon_as_pidfile_names_process)
{
	for (int i = 0; i < 100; i++) {
		const char *argv[] = { "sleep", "30", NULL };
		struct timespec start, now;
		pid_t pid = spawn(argv);
		int status;

		clock_gettime(CLOCK_MONOTONIC, &start);
		while (test_read_pid(pidfile) != pid) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ck_assert_msg(now.tv_sec - start.tv_sec < 30,
				      "the PID file never named %d", (int)pid);
		}
		ck_assert_int_eq(kill(pid, SIGTERM), 0);
		status = wait_child(pid);
		assert_killed_by(status, SIGTERM);
		ck_assert_msg(access(pidfile, F_OK) < 0,
			      "round %d: SIGTERM sent as soon as the PID file "
			      "named %d left the file behind",
			      i, (int)pid);
	}
}
END_TEST

/* ---- 2. one-shot handlers: the second delivery ends the program -------- */

static int run_helper(const char *mode, const char *arg1, const char *arg2)
{
	const char *argv[] = {
		test_helper("sig-helper"), mode, pidfile, arg1, arg2, NULL
	};

	return wait_child(spawn(argv));
}

struct oneshot {
	const char *kind; /* sig-helper's one-shot installer */
	int signo;
};

static const struct oneshot oneshots[] = {
	{ "sigaction", SIGUSR2 },	  { "sigaction", SIGQUIT },
	{ "sigaction-siginfo", SIGTERM }, { "sysv_signal", SIGTERM },
	{ "sysv_signal", SIGINT },	  { "__sysv_signal", SIGHUP },
	{ "__sysv_signal", SIGALRM },
};

/* SA_RESETHAND / sysv_signal: the handler runs once, the program then
 * sees SIG_DFL, and the second delivery ends it by that signal — with the
 * PID file removed. */
START_TEST(oneshot_handler_then_default_removes_pidfile)
{
	char signo[16];
	int status;

	snprintf(signo, sizeof(signo), "%d", oneshots[_i].signo);
	status = run_helper("oneshot", oneshots[_i].kind, signo);
	assert_killed_by(status, oneshots[_i].signo);
	ck_assert_msg(test_file_contains(out_path, "first delivery handled"),
		      "the first delivery was not handled:\n%s", output());
	assert_pidfile_gone();
}
END_TEST

/* ---- 3. handlers that end the program --------------------------------- */

static const int exit_statuses[] = { 3, 0, 42 };

START_TEST(c_term_handler_exits_with_its_status)
{
	char status_arg[16];
	const char *argv[] = { test_helper("sig-helper"), "term-handler",
			       pidfile, status_arg, NULL };
	pid_t pid;

	snprintf(status_arg, sizeof(status_arg), "%d", exit_statuses[_i]);
	pid = spawn_and_wait_for_pidfile(argv);
	expect_output("ready\n");
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_exited(wait_child(pid), exit_statuses[_i]);
	ck_assert(test_file_contains(out_path, "handled\n"));
	assert_pidfile_gone();
}
END_TEST

static const char python_program[] =
    "import os, signal, sys, time\n"
    "pidfile = sys.argv[1]\n"
    "before = signal.getsignal(signal.SIGTERM)\n"
    "if before != signal.SIG_DFL:\n"
    "    print('getsignal(SIGTERM) at start:', before, flush=True)\n"
    "    sys.exit(10)\n"
    "def on_term(signo, frame):\n"
    "    try:\n"
    "        with open(pidfile) as f:\n"
    "            named = f.read()\n"
    "    except OSError as e:\n"
    "        print('PID file unreadable in the handler:', e, flush=True)\n"
    "        os._exit(12)\n"
    "    if named != '%d\\n' % os.getpid():\n"
    "        print('PID file says', repr(named), flush=True)\n"
    "        os._exit(13)\n"
    "    print('handled', flush=True)\n"
    "    sys.exit(3)\n"
    "previous = signal.signal(signal.SIGTERM, on_term)\n"
    "if previous != signal.SIG_DFL:\n"
    "    print('signal.signal returned', previous, flush=True)\n"
    "    sys.exit(11)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(0.05)\n";

START_TEST(python_handler_exits_with_its_status)
{
	char script[PATH_MAX];
	const char *argv[] = { "/usr/bin/python3", script, pidfile, NULL };
	pid_t pid;

	ck_assert_msg(access(argv[0], X_OK) == 0, "no %s: %s", argv[0],
		      strerror(errno));
	snprintf(script, sizeof(script), "%s/on_term.py", dir);
	test_write_file(script, python_program);
	pid = spawn_and_wait_for_pidfile(argv);
	expect_output("ready\n");
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_exited(wait_child(pid), 3);
	ck_assert(test_file_contains(out_path, "handled\n"));
	assert_pidfile_gone();
}
END_TEST

START_TEST(sh_trap_exits_with_its_status)
{
	const char *argv[] = { "sh", "-c",
			       "trap 'echo trapped; exit 4' TERM; echo ready; "
			       "while :; do sleep 0.1; done",
			       NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);

	expect_output("ready\n");
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_exited(wait_child(pid), 4);
	ck_assert_msg(test_file_contains(out_path, "trapped\n"),
		      "the trap did not run:\n%s", output());
	assert_pidfile_gone();
}
END_TEST

/* ---- 4. handlers that let the program run on ------------------------- */

START_TEST(c_handler_keeps_pidfile_while_running)
{
	const char *argv[] = { test_helper("sig-helper"), "survive", pidfile,
			       NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);
	char handled[32];

	expect_output("ready\n");
	for (int n = 1; n <= 3; n++) {
		ck_assert_int_eq(kill(pid, SIGTERM), 0);
		snprintf(handled, sizeof(handled), "handled %d\n", n);
		expect_output(handled);
		test_pause_ms(n == 1 ? 200 : 20);
		assert_running(pid);
		assert_pidfile_names(pid);
	}
	/* a signal still at its default ends it, and the file goes */
	ck_assert_int_eq(kill(pid, SIGUSR1), 0);
	assert_killed_by(wait_child(pid), SIGUSR1);
	assert_pidfile_gone();
}
END_TEST

/* SIG_DFL and SIG_IGN are handler values, whatever sa_flags says: with
 * SA_SIGINFO set they must still mean the default and the ignore. */
static pid_t start_siginfo_default(const char *shape)
{
	const char *argv[] = { test_helper("sig-helper"), "siginfo-default",
			       pidfile, shape, NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);

	expect_output("ready\n");
	return pid;
}

/* a SA_SIGINFO handler reset to SIG_DFL with its flags kept, and
 * SA_SIGINFO|SA_RESETHAND with SIG_DFL */
static const char *const siginfo_defaults[] = { "dfl-kept", "resethand-dfl" };

START_TEST(siginfo_dfl_cleans_up)
{
	pid_t pid = start_siginfo_default(siginfo_defaults[_i]);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_killed_by(wait_child(pid), SIGTERM);
	assert_pidfile_gone();
}
END_TEST

START_TEST(siginfo_resethand_ign_ignores)
{
	pid_t pid = start_siginfo_default("resethand-ign");

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	test_pause_ms(200);
	assert_running(pid);
	assert_pidfile_names(pid);
	ck_assert_int_eq(kill(pid, SIGUSR1), 0);
	assert_killed_by(wait_child(pid), SIGUSR1);
	assert_pidfile_gone();
}
END_TEST

START_TEST(sysv_handler_during_fork_does_not_hang)
{
	const char *argv[] = { test_helper("sig-helper"), "fork-sysv", pidfile,
			       "20000", NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);

	assert_exited(wait_child(pid), 0);
	assert_pidfile_gone();
}
END_TEST

START_TEST(sh_trap_keeps_pidfile_while_running)
{
	const char *argv[] = { "sh", "-c",
			       "trap 'echo caught' TERM; echo ready; "
			       "while :; do sleep 0.1; done",
			       NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);

	expect_output("ready\n");
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	expect_output("caught\n");
	test_pause_ms(200);
	assert_running(pid);
	assert_pidfile_names(pid);
	ck_assert_int_eq(kill(pid, SIGUSR2), 0);
	assert_killed_by(wait_child(pid), SIGUSR2);
	assert_pidfile_gone();
}
END_TEST

/* ---- 5. nohup: an ignore set before exec ------------------------------- */

START_TEST(nohup_ignore_survives_exec)
{
	const char *argv[] = { "nohup", "sleep", "30", NULL };
	pid_t pid = spawn_and_wait_for_pidfile(argv);

	ck_assert_msg(wait_until_asleep(pid, 30),
		      "nohup never exec'd sleep:\n%s", output());
	ck_assert_msg(test_proc_mask_has(pid, "SigIgn", SIGHUP),
		      "sleep does not ignore SIGHUP after nohup's exec");
	ck_assert_int_eq(kill(pid, SIGHUP), 0);
	test_pause_ms(200);
	assert_running(pid);
	assert_pidfile_names(pid);

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_killed_by(wait_child(pid), SIGTERM);
	assert_pidfile_gone();
}
END_TEST

/* An ignore set before exec on a real-time signal, and the signal next to
 * it left at its default: python3 ignores one and execs itself (the owner
 * after exec), which reports what its queries say of both and execs
 * sleep. */
static const char rt_exec_program[] =
    "import os, signal, sys\n"
    "ign, dfl = int(sys.argv[1]), int(sys.argv[2])\n"
    "if sys.argv[3] == 'first':\n"
    "    signal.signal(ign, signal.SIG_IGN)\n"
    "    os.execv(sys.executable, [sys.executable] + sys.argv[:3] + "
    "['second'])\n"
    "print('ignored', signal.getsignal(ign) == signal.SIG_IGN,\n"
    "      'default', signal.getsignal(dfl) == signal.SIG_DFL, flush=True)\n"
    "os.execvp('sleep', ['sleep', '30'])\n";

START_TEST(realtime_ignore_survives_exec)
{
	char script[PATH_MAX], ign[16], dfl[16];
	const char *argv[] = {
		"/usr/bin/python3", script, ign, dfl, "first", NULL
	};
	int ignored = SIGRTMIN + 2, left = SIGRTMIN + 3;
	pid_t pid;

	if (access(argv[0], X_OK) < 0)
		return; /* python3 is optional; the C cases cover the rest */
	snprintf(script, sizeof(script), "%s/rt.py", dir);
	test_write_file(script, rt_exec_program);
	snprintf(ign, sizeof(ign), "%d", ignored);
	snprintf(dfl, sizeof(dfl), "%d", left);
	pid = spawn_and_wait_for_pidfile(argv);
	ck_assert_msg(wait_until_asleep(pid, 30),
		      "python3 never exec'd sleep:\n%s", output());
	expect_output("ignored True default True\n");
	ck_assert_msg(test_proc_mask_has(pid, "SigIgn", ignored),
		      "SIGRTMIN+2 is no longer ignored after exec");
	ck_assert_msg(test_proc_mask_has(pid, "SigCgt", left),
		      "SIGRTMIN+3 at its default is not caught for cleanup");
	ck_assert_int_eq(kill(pid, ignored), 0);
	test_pause_ms(200);
	assert_running(pid);
	assert_pidfile_names(pid);

	ck_assert_int_eq(kill(pid, left), 0);
	assert_killed_by(wait_child(pid), left);
	assert_pidfile_gone();
}
END_TEST

/* ---- 6. a descendant with nothing to remove ------------------------------ */

/* The one child of PARENT, 0 until there is one. */
static pid_t only_child(pid_t parent)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent,
		 (int)parent);
	if (test_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return (pid_t)atol(buf);
}

/* sleep, run by sh (the owner), is a descendant: the PID file is not its.
 * Without guards a signal ending it has nothing to remove, and the shim
 * leaves its signals to the kernel; with a guard configured it takes them
 * (the guards' lock files go with a fatal signal). */
static const char *const descendant_guards[] = {
	NULL, "PIDSHIM_GUARD=/nonexistent/*"
};

START_TEST(descendant_catches_only_what_it_must)
{
	const char *argv[] = { "sh", "-c", "sleep 30; exit 3", NULL };
	bool guarded = descendant_guards[_i] != NULL;
	pid_t sh, pid = 0;

	child = sh = test_spawn(shim_env(descendant_guards[_i], NULL), argv,
				out_path, -1);
	ck_assert(test_wait_for_pid(pidfile, sh, 30));
	for (int i = 0; i < 15000 && !(pid = only_child(sh)); i++)
		test_pause_ms(2);
	ck_assert_msg(pid > 0, "sh started no sleep:\n%s", output());
	ck_assert_msg(wait_until_asleep(pid, 30), "sleep never slept");
	ck_assert_msg(test_proc_mask_has(pid, "SigCgt", SIGTERM) == guarded,
		      "the descendant %s SIGTERM",
		      guarded ? "does not catch" : "catches");
	ck_assert_msg(!test_proc_mask_has(pid, "SigCgt", SIGRTMIN) || guarded,
		      "the descendant catches SIGRTMIN");
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	assert_exited(wait_child(sh), 3);
	assert_pidfile_gone();
}
END_TEST

/* ---- 7. installers called before the shim's constructor ------------------ */

/* How the program ends: SIGTERM at its default, or SIGINT's second
 * delivery after libearly's one-shot handler ran. */
static const int early_kills[] = { SIGTERM, SIGINT };

START_TEST(installers_called_before_shim_constructor)
{
	char preload[8192], report[PATH_MAX], report_var[PATH_MAX + 16];
	char handled[32];
	static char contents[4096];
	const char *argv[] = { "sleep", "30", NULL };
	static const char *const expected[] = {
		"signal-set: SIG_DFL\n",
		"signal-restore: early_handler\n",
		"sigaction-query: SIG_DFL\n",
		"sigaction-set: SIG_DFL\n",
		"sigaction-restore: early_handler\n",
		"leave-usr1: SIG_DFL\n",
		"leave-usr2: SIG_DFL\n",
		"leave-int: SIG_DFL\n",
	};
	int signo = early_kills[_i];
	pid_t pid;

	snprintf(report, sizeof(report), "%s/early.txt", dir);
	snprintf(report_var, sizeof(report_var), "EARLY_REPORT=%s", report);
	/* The dynamic linker runs the constructors of preloaded objects
	 * last-to-first: libearly's comes before the shim's. */
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s:%s",
		 test_shim_preload(), test_helper("libearly.so"));
	child = pid =
	    test_spawn(shim_env(preload, report_var), argv, out_path, -1);
	ck_assert_msg(test_wait_for_pid(pidfile, pid, 30),
		      "the PID file never named %d; output:\n%s", (int)pid,
		      output());
	ck_assert_msg(wait_for_text(report, "end\n", 30),
		      "libearly wrote no report; output:\n%s", output());
	test_read_file(report, contents, sizeof(contents));
	ck_assert_msg(
	    strstr(contents, "pidfile-on-entry: absent\n"),
	    "libearly's constructor did not run before the shim's:\n%s",
	    contents);
	for (size_t i = 0; i < ARRAY_SIZE(expected); i++)
		ck_assert_msg(strstr(contents, expected[i]),
			      "libearly: no \"%.*s\" in its report:\n%s",
			      (int)strlen(expected[i]) - 1, expected[i],
			      contents);
	ck_assert_msg(wait_until_asleep(pid, 30), "sleep never slept");

	/* The shim took over from what libearly left: an ignore, a handler,
	 * a one-shot handler — all still doing what was asked. */
	ck_assert_msg(test_proc_mask_has(pid, "SigIgn", SIGUSR2),
		      "SIGUSR2 is no longer ignored");
	ck_assert_int_eq(kill(pid, SIGUSR2), 0);
	ck_assert_int_eq(kill(pid, SIGUSR1), 0);
	snprintf(handled, sizeof(handled), "handled %02d\n", SIGUSR1);
	ck_assert_msg(wait_for_text(report, handled, 30),
		      "libearly's SIGUSR1 handler did not run");
	ck_assert_int_eq(kill(pid, SIGINT), 0);
	snprintf(handled, sizeof(handled), "handled %02d\n", SIGINT);
	ck_assert_msg(wait_for_text(report, handled, 30),
		      "libearly's SIGINT handler did not run");
	test_pause_ms(200);
	assert_running(pid);
	assert_pidfile_names(pid);

	ck_assert_int_eq(kill(pid, signo), 0);
	assert_killed_by(wait_child(pid), signo);
	assert_pidfile_gone();
}
END_TEST

/* ---- the suite --------------------------------------------------------------
 */

static const struct test_fixture fixture = { setup, teardown };

int main(void)
{
	Suite *s = suite_create("shim-signals");

	test_add(s, "terminating_default", terminating_signal_removes_pidfile,
		 120, &fixture, TEST_LOOP(ARRAY_SIZE(plain_signals)));
	test_add(s, "terminating_core",
		 core_signal_dumps_core_and_removes_pidfile, 120, &fixture,
		 TEST_LOOP(ARRAY_SIZE(core_signals)));
	test_add(s, "terminating_at_once",
		 terminating_signal_as_soon_as_pidfile_names_process, 120,
		 &fixture, NULL);
	test_add(s, "oneshot", oneshot_handler_then_default_removes_pidfile,
		 120, &fixture, TEST_LOOP(ARRAY_SIZE(oneshots)));
	test_add(s, "handler_exits", c_term_handler_exits_with_its_status, 120,
		 &fixture, TEST_LOOP(ARRAY_SIZE(exit_statuses)));
	test_add(s, "handler_exits", python_handler_exits_with_its_status, 120,
		 &fixture, NULL);
	test_add(s, "handler_exits", sh_trap_exits_with_its_status, 120,
		 &fixture, NULL);
	test_add(s, "handler_runs_on", c_handler_keeps_pidfile_while_running,
		 120, &fixture, NULL);
	test_add(s, "handler_runs_on", sh_trap_keeps_pidfile_while_running, 120,
		 &fixture, NULL);
	test_add(s, "siginfo_default_and_ignore", siginfo_dfl_cleans_up, 120,
		 &fixture, TEST_LOOP(ARRAY_SIZE(siginfo_defaults)));
	test_add(s, "siginfo_default_and_ignore", siginfo_resethand_ign_ignores,
		 120, &fixture, NULL);
	test_add(s, "fork_with_sysv_handler",
		 sysv_handler_during_fork_does_not_hang, 120, &fixture, NULL);
	test_add(s, "nohup", nohup_ignore_survives_exec, 120, &fixture, NULL);
	test_add(s, "nohup", realtime_ignore_survives_exec, 120, &fixture,
		 NULL);
	test_add(s, "descendant", descendant_catches_only_what_it_must, 120,
		 &fixture, TEST_LOOP(ARRAY_SIZE(descendant_guards)));
	test_add(s, "before_constructor",
		 installers_called_before_shim_constructor, 120, &fixture,
		 TEST_LOOP(ARRAY_SIZE(early_kills)));
	return test_run_suite(s);
}

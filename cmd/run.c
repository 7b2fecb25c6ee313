/* SPDX-License-Identifier: MIT */
/*
 * pidshim run: COMMAND under the shim (pidshim(1)). The options are the
 * shim's variables (libpidshim(7)), checked here before anything runs;
 * the shim goes first in LD_PRELOAD by its absolute path, and COMMAND
 * replaces us, so its PID is ours and its status is its own. A program the
 * shim cannot enter is supervised instead (supervise.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"
#include "seconds.h"
#include "settings.h"
#include "supervise.h"
#include "target.h"

static const char usage[] =
    "Usage: pidshim run [OPTIONS] [--] COMMAND [ARG...]\n"
    "\n"
    "Run COMMAND under the shim: a PID file, single instance, cleanup on "
    "exit and\n"
    "on signals, guarded files. A program the shim cannot enter "
    "(set-user/group-ID,\n"
    "static, Go) is supervised: pidshim holds its PID file and waits for "
    "it.\n"
    "Exit: COMMAND's status (128+N when signal N ended it); 64 usage, 127 "
    "not\n"
    "found, 126 not executable; 75 (-E) another instance runs, 73 the PID "
    "file\n"
    "cannot be made, 78 a guard asked for a program the shim cannot "
    "enter.\n"
    "\n"
    "  -p, --pidfile TEMPLATE        the PID file (%p pid, %n program, %u "
    "uid,\n"
    "                                %h host, %% percent)\n"
    "      --no-pidfile              no PID file\n"
    "  -w, --wait[=SECONDS]          wait for a running instance to end "
    "(default:\n"
    "                                exit 75 at once)\n"
    "  -E, --conflict-exit-code CODE the status when another instance "
    "runs (1-255)\n"
    "  -g, --guard PATTERN           guard files matching PATTERN (an "
    "absolute\n"
    "                                fnmatch pattern; repeatable)\n"
    "      --guard-wait WAIT         a busy guard: block, fail or SECONDS\n"
    "      --guard-scope SCOPE       held while open, or for the process\n"
    "      --guard-mode MODE         exclusive, or shared-read\n"
    "      --lock-style STYLE        guard lock files: pidshim, dotlock or "
    "uucp\n"
    "      --lock-dir DIR            guard lock files go there\n"
    "      --children CHILDREN       tree: descendants keep the shim; none\n"
    "      --daemon-follow           the PID file follows a program that "
    "daemonizes\n"
    "      --mode OCTAL              mode of the files made (0644)\n"
    "      --log-file FILE           the shim's messages go there\n"
    "      --supervise               supervise even a program the shim "
    "could enter\n"
    "  -v, --verbose                 say which way COMMAND runs and why; "
    "the shim's\n"
    "                                debug messages\n"
    "  -q, --quiet                   no messages from the shim\n"
    "  -h, --help                    this help\n"
    "\n"
    "Options not given leave the PIDSHIM_* variables as the environment "
    "has them.\n"
    "With --cluster, pidshim also holds the lock NAME on etcd (waiting as "
    "-w says)\n"
    "and stays COMMAND's parent: it renews the lease, stops COMMAND "
    "(fencing) before\n"
    "the lease can run out when it cannot be renewed, and lets the lock go "
    "when\n"
    "COMMAND ends. 69: no etcd member answers; 77: the login is refused.\n";

enum {
	OPT_NO_PIDFILE = 256,
	OPT_GUARD_WAIT,
	OPT_GUARD_SCOPE,
	OPT_GUARD_MODE,
	OPT_LOCK_STYLE,
	OPT_LOCK_DIR,
	OPT_CHILDREN,
	OPT_DAEMON_FOLLOW,
	OPT_MODE,
	OPT_LOG_FILE,
	OPT_SUPERVISE,
};

/* The options that give a variable their value as it is. */
static const struct {
	int key; /* the short option's letter, or its OPT_ */
	const char *option;
	const char *variable;
} passed_as_is[] = {
	{ 'p', "--pidfile", "PIDSHIM_PIDFILE" },
	{ 'E', "--conflict-exit-code", "PIDSHIM_EXIT_CODE" },
	{ OPT_GUARD_WAIT, "--guard-wait", "PIDSHIM_GUARD_WAIT" },
	{ OPT_GUARD_SCOPE, "--guard-scope", "PIDSHIM_GUARD_SCOPE" },
	{ OPT_GUARD_MODE, "--guard-mode", "PIDSHIM_GUARD_MODE" },
	{ OPT_LOCK_STYLE, "--lock-style", "PIDSHIM_LOCK_STYLE" },
	{ OPT_LOCK_DIR, "--lock-dir", "PIDSHIM_LOCK_DIR" },
	{ OPT_CHILDREN, "--children", "PIDSHIM_CHILDREN" },
	{ OPT_MODE, "--mode", "PIDSHIM_MODE" },
	{ OPT_LOG_FILE, "--log-file", "PIDSHIM_LOG_FILE" },
};
#define PASSED_COUNT (sizeof(passed_as_is) / sizeof(passed_as_is[0]))

struct run_settings {
	const char *value[PASSED_COUNT];
	const char *pidfile_none; /* --no-pidfile */
	bool wait;		  /* -w: PIDSHIM_ON_CONFLICT=wait */
	const char *wait_seconds; /* -wSECONDS: wait:SECONDS */
	char *guards;		  /* -g, joined with ':' */
	bool daemon_follow, supervise, verbose, quiet;
	struct cluster_options cluster;
};

/* The option as typed: "-E", or "--conflict-exit-code" */
static void set_passed(struct run_settings *rs, int key, const char *typed,
		       const char *value)
{
	for (size_t i = 0; i < PASSED_COUNT; i++) {
		const struct setting *s;

		if (passed_as_is[i].key != key)
			continue;
		s = setting_find(passed_as_is[i].variable);
		if (!setting_valid(s, value))
			cmd_usage_error("run", "%s %s: expected %s",
					typed[1] == '-' || key > 255
					    ? passed_as_is[i].option
					    : (char[]){ '-', (char)key, '\0' },
					value, s->expected);
		rs->value[i] = value;
		return;
	}
}

static void add_guard(struct run_settings *rs, const char *pattern)
{
	size_t had = rs->guards ? strlen(rs->guards) + 1 : 0;
	char *joined;

	if (pattern[0] != '/' || strchr(pattern, ':'))
		cmd_usage_error("run",
				"--guard %s: expected an absolute path pattern "
				"(fnmatch) without ':', e.g. /dev/ttyUSB*",
				pattern);
	joined = realloc(rs->guards, had + strlen(pattern) + 1);
	if (!joined) {
		cmd_say("run", "out of memory");
		exit(CMD_EXIT_NOEXEC);
	}
	if (had)
		joined[had - 1] = ':';
	strcpy(joined + had, pattern);
	rs->guards = joined;
}

static void parse(struct run_settings *rs, int argc, char **argv)
{
	static const struct option options[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "no-pidfile", no_argument, NULL, OPT_NO_PIDFILE },
		{ "wait", optional_argument, NULL, 'w' },
		{ "conflict-exit-code", required_argument, NULL, 'E' },
		{ "guard", required_argument, NULL, 'g' },
		{ "guard-wait", required_argument, NULL, OPT_GUARD_WAIT },
		{ "guard-scope", required_argument, NULL, OPT_GUARD_SCOPE },
		{ "guard-mode", required_argument, NULL, OPT_GUARD_MODE },
		{ "lock-style", required_argument, NULL, OPT_LOCK_STYLE },
		{ "lock-dir", required_argument, NULL, OPT_LOCK_DIR },
		{ "children", required_argument, NULL, OPT_CHILDREN },
		{ "daemon-follow", no_argument, NULL, OPT_DAEMON_FOLLOW },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "supervise", no_argument, NULL, OPT_SUPERVISE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		CLUSTER_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	/* "+": COMMAND's own options are not ours */
	while ((c = getopt_long(argc, argv, "+:p:w::E:g:vqh", options, NULL)) !=
	       -1) {
		switch (c) {
		case OPT_NO_PIDFILE:
			rs->pidfile_none = "none";
			break;
		case 'w':
			/* named as typed: -w5 (and -w=5, whose SECONDS getopt
			 * reads as "=5") or --wait=5 */
			if (optarg)
				cmd_seconds_ms(
				    "run",
				    strncmp(argv[optind - 1], "--", 2) == 0
					? "--wait"
					: "-w",
				    optarg);
			rs->wait = true;
			rs->wait_seconds = optarg;
			break;
		case 'g':
			add_guard(rs, optarg);
			break;
		case OPT_DAEMON_FOLLOW:
			rs->daemon_follow = true;
			break;
		case OPT_SUPERVISE:
			rs->supervise = true;
			break;
		case 'v':
			rs->verbose = true;
			rs->quiet = false;
			break;
		case 'q':
			rs->quiet = true;
			rs->verbose = false;
			break;
		case 'h':
			fputs(usage, stdout);
			fputs(cluster_usage, stdout);
			exit(0);
		case ':':
		case '?':
			cmd_bad_option("run", argv, c);
		default:
			if (!cluster_option(&rs->cluster, c, optarg))
				set_passed(rs, c, argv[optind - 1], optarg);
		}
	}
	rs->cluster.verbose = rs->verbose;
	if (rs->pidfile_none && rs->value[0])
		cmd_usage_error("run", "--no-pidfile: not with --pidfile");
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc || !*argv[optind])
		cmd_usage_error("run", "missing COMMAND (see --help)");
}

static void set(const char *variable, const char *value)
{
	if (value && setenv(variable, value, 1) < 0) {
		cmd_say("run", "cannot set %s: %s", variable, strerror(errno));
		exit(CMD_EXIT_NOEXEC);
	}
}

/* The options, as the variables the shim reads; then every PIDSHIM_*
 * variable checked, those that came from the environment too, so that a
 * bad one is refused here as the shim would refuse it (78). */
static void export(const struct run_settings *rs)
{
	for (size_t i = 0; i < PASSED_COUNT; i++)
		set(passed_as_is[i].variable, rs->value[i]);
	set("PIDSHIM_PIDFILE", rs->pidfile_none);
	if (rs->wait) {
		char conflict[64] = "wait";

		/* checked already: what %.50s could cut are digits past
		 * the milliseconds, which mean nothing */
		if (rs->wait_seconds)
			snprintf(conflict, sizeof(conflict), "wait:%.50s",
				 rs->wait_seconds);
		set("PIDSHIM_ON_CONFLICT", conflict);
	}
	set("PIDSHIM_GUARD", rs->guards);
	set("PIDSHIM_DAEMON", rs->daemon_follow ? "follow" : NULL);
	set("PIDSHIM_LOG",
	    rs->verbose ? "debug" : (rs->quiet ? "quiet" : NULL));
	/* COMMAND starts a new owner: the PID file is its own */
	unsetenv(SHIM_OWNER_VAR);
	for (size_t i = 0; i < setting_count(); i++) {
		const struct setting *s = setting_find(setting_name(i));
		const char *value = getenv(s->variable);

		if (value && !setting_valid(s, value)) {
			cmd_say("run",
				"%s=%s (from the environment): expected %s",
				s->variable, value, s->expected);
			exit(CMD_EXIT_CONFIG);
		}
	}
}

static bool regular_file(const char *path, char *resolved)
{
	struct stat st;

	return realpath(path, resolved) && stat(resolved, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* The shim beside this command: in the build tree (build/cmd/pidshim,
 * build/shim/libpidshim.so), or installed, under the same root as we
 * are (a DESTDIR, a relocated prefix), else where it was installed. */
static bool find_shim(char resolved[PATH_MAX])
{
	static const char bindir[] = PIDSHIM_BINDIR;
	const size_t bindir_len = sizeof(bindir) - 1;
	char exe[PATH_MAX], candidate[2 * PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t dir_len;

	if (n <= 0)
		return regular_file(PIDSHIM_LIBDIR "/libpidshim.so", resolved);
	exe[n] = '\0';
	dir_len = (size_t)(strrchr(exe, '/') - exe);
	snprintf(candidate, sizeof(candidate), "%.*s/../shim/libpidshim.so",
		 (int)dir_len, exe);
	if (regular_file(candidate, resolved))
		return true;
	if (dir_len >= bindir_len &&
	    strncmp(exe + dir_len - bindir_len, bindir, bindir_len) == 0) {
		snprintf(candidate, sizeof(candidate),
			 "%.*s" PIDSHIM_LIBDIR "/libpidshim.so",
			 (int)(dir_len - bindir_len), exe);
		if (regular_file(candidate, resolved))
			return true;
	}
	return regular_file(PIDSHIM_LIBDIR "/libpidshim.so", resolved);
}

/* A sanitizer's runtime must be the first object loaded: it stays so. */
static bool is_sanitizer_runtime(const char *entry, size_t len)
{
	static const char *const names[] = { "libasan", "libtsan", "libubsan",
					     "liblsan", "libclang_rt." };
	const char *base = entry;

	for (size_t i = 0; i < len; i++)
		if (entry[i] == '/')
			base = entry + i + 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(base, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* LD_PRELOAD with SHIM first (after a sanitizer runtime), the entries it
 * had kept, SHIM itself once. */
static void preload(const char *shim)
{
	const char *had = getenv("LD_PRELOAD");
	size_t size = strlen(shim) + (had ? strlen(had) : 0) + 2;
	char *value = malloc(size);
	size_t len = 0;
	bool placed = false;

	if (!value) {
		cmd_say("run", "out of memory");
		exit(CMD_EXIT_NOEXEC);
	}
	value[0] = '\0';
	for (const char *e = had ? had : ""; *e;) {
		size_t n = strcspn(e, " :");

		if (n && !(n == strlen(shim) && strncmp(e, shim, n) == 0)) {
			if (!placed && !is_sanitizer_runtime(e, n)) {
				len += (size_t)sprintf(value + len, "%s%s",
						       len ? ":" : "", shim);
				placed = true;
			}
			len += (size_t)sprintf(value + len, "%s%.*s",
					       len ? ":" : "", (int)n, e);
		}
		e += n + (e[n] != '\0');
	}
	if (!placed)
		sprintf(value + len, "%s%s", len ? ":" : "", shim);
	set("LD_PRELOAD", value);
	free(value);
}

/* A supervised program cannot have guards: they live in the shim. */
static int refuse_guards(const struct run_settings *rs, const struct target *t)
{
	const char *named = rs->guards ? "--guard" : "PIDSHIM_GUARD";

	if (rs->supervise)
		cmd_say("run",
			"%s: not with --supervise: guards need the shim "
			"inside the program",
			named);
	else
		cmd_say("run",
			"%s: %s, so the shim cannot enter it, and guards "
			"need the shim inside the program",
			named, t->why);
	return CMD_EXIT_CONFIG;
}

/* The status for "held elsewhere": -E, checked already. */
static int conflict_code(void)
{
	const char *code = getenv("PIDSHIM_EXIT_CODE");

	return code && *code ? atoi(code) : CMD_EXIT_BUSY;
}

/* The wait -w asks for, as cluster_acquire takes it. */
static int cluster_wait_ms(const struct run_settings *rs)
{
	if (!rs->wait)
		return 0;
	return rs->wait_seconds
		   ? cmd_seconds_ms("run", "--wait", rs->wait_seconds)
		   : -1;
}

/* pidshim run --cluster for a program we supervise: `pidshim run
 * --supervise` is the child we hold the lock for (the variables carry
 * the rest), leading the group fencing stops. */
static int supervise_in_cluster(struct cluster *cluster,
				const struct run_settings *rs, char **command)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t count = 0, i = 0;
	char **argv;
	int status;

	while (command[count])
		count++;
	argv = calloc(count + 6, sizeof(*argv));
	if (n <= 0 || !argv) {
		cmd_say("run", "cannot find this command to supervise under "
			       "the cluster lock");
		free(argv);
		cluster_free(cluster);
		return CMD_EXIT_NOEXEC;
	}
	self[n] = '\0';
	argv[i++] = self;
	argv[i++] = "run";
	argv[i++] = "--supervise";
	if (rs->verbose || rs->quiet)
		argv[i++] = rs->verbose ? "-v" : "-q";
	argv[i++] = "--";
	memcpy(argv + i, command, count * sizeof(*argv));
	status = cluster_acquire(cluster, cluster_wait_ms(rs), conflict_code());
	if (status == 0)
		status = cluster_hold(cluster, self, argv);
	free(argv);
	cluster_free(cluster);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_settings rs = { 0 };
	struct cluster cluster;
	bool in_cluster;
	char shim[PATH_MAX];
	const char *log;
	struct target t;
	char **command;
	int err;

	parse(&rs, argc, argv);
	command = argv + optind;
	in_cluster = cluster_setup(&cluster, "run", &rs.cluster, true) == 0;
	if (in_cluster && (rs.daemon_follow ||
			   (getenv("PIDSHIM_DAEMON") &&
			    strcmp(getenv("PIDSHIM_DAEMON"), "follow") == 0)))
		cmd_usage_error(
		    "run",
		    "--daemon-follow (or PIDSHIM_DAEMON=follow): not with "
		    "--cluster (the job ends with its foreground "
		    "process, and what it left running is "
		    "stopped: run the daemon in the foreground)");
	/* the command's own pidshim run, if any, takes no cluster lock */
	unsetenv("PIDSHIM_CLUSTER");
	export(&rs);
	err = target_find("run", command[0], &t);
	if (err)
		return err;
	log = getenv("PIDSHIM_LOG");
	if (rs.supervise || !t.preloadable) {
		const char *guards = getenv("PIDSHIM_GUARD");

		if (guards && *guards)
			return refuse_guards(&rs, &t);
		if (rs.verbose)
			cmd_say("run", "supervising %s: %s", t.path,
				rs.supervise ? "--supervise" : t.why);
		if (in_cluster)
			return supervise_in_cluster(&cluster, &rs, command);
		return supervise(&t, command, rs.verbose,
				 log && strcmp(log, "quiet") == 0);
	}
	if (!find_shim(shim)) {
		cmd_say("run", "cannot find libpidshim.so (looked beside "
			       "this command and in " PIDSHIM_LIBDIR ")");
		return CMD_EXIT_NOEXEC;
	}
	/* the loader splits LD_PRELOAD at spaces and colons */
	if (strpbrk(shim, " :")) {
		cmd_say("run",
			"%s: the loader cannot preload a path with a "
			"space or ':' in it",
			shim);
		return CMD_EXIT_NOEXEC;
	}
	preload(shim);
	if (rs.verbose)
		cmd_say("run", "preloading %s into %s: %s", shim, t.path,
			t.why);
	if (in_cluster) {
		err = cluster_acquire(&cluster, cluster_wait_ms(&rs),
				      conflict_code());
		if (err == 0)
			err = cluster_hold(&cluster, t.path, command);
		cluster_free(&cluster);
		return err;
	}
	execv(t.path, command);
	err = errno;
	cmd_say("run", "%s: %s", t.path, strerror(err));
	return err == ENOENT ? CMD_EXIT_NOTFOUND : CMD_EXIT_NOEXEC;
}

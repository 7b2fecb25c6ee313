/* SPDX-License-Identifier: MIT */
/*
 * pylockfile's README example, in C: a single PID file for the process, a
 * critical section under a lock file as a scoped block, and a critical
 * function run under another lock as a wrapped call.
 *
 *   pylockfile-example [ROUNDS] [WORK_MS]
 *
 * Run several at once: each round one of them gets each resource and the
 * others report that it is busy. The PID file is pid_%p.pid in the current
 * directory (one per process, as in pylockfile).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pidlock.h>

static int work_ms = 200;

static void work(void)
{
	struct timespec ts = { work_ms / 1000, (work_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *some_critical_function(void *arg)
{
	(void)arg;
	work();
	printf("Process with PID=%d, in some critical function\n", getpid());
	return NULL;
}

int main(int argc, char **argv)
{
	struct pidlock_pidfile_options opts = {
		.flags = PIDLOCK_REMOVE_ON_SIGINT | PIDLOCK_REMOVE_ON_SIGTERM,
	};
	struct pidlock_pidfile *spf;
	struct pidlock_lock *code_lock, *function_lock;
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	int err;

	if (argc > 2)
		work_ms = atoi(argv[2]);
	err = pidlock_single_pidfile(&spf, "pid_%p.pid", &opts, NULL);
	if (err < 0) {
		fprintf(stderr, "pid file: %s\n", strerror(-err));
		return 1;
	}
	if (pidlock_lock_new(&code_lock, NULL, "critical_code", 0) < 0 ||
	    pidlock_lock_new(&function_lock, NULL, "critical_function", 0) < 0)
		return 1;

	for (int i = 0; i < rounds && pidlock_pidfile_is_held(spf); i++) {
		PIDLOCK_SCOPED(code_lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT,
			       &err)
		{
			printf("I, process with PID=%d, have caught this very "
			       "critical resource\n",
			       getpid());
			work();
		}
		if (err == -EAGAIN)
			printf("But I, process with PID=%d, can not catch this "
			       "very critical resource\n",
			       getpid());

		err = pidlock_lock_call(function_lock, PIDLOCK_EXCLUSIVE,
					PIDLOCK_NOWAIT, some_critical_function,
					NULL, NULL);
		if (err == -EAGAIN)
			printf("Process with PID=%d, awaiting access to some "
			       "critical function\n",
			       getpid());
		fflush(stdout);
	}

	pidlock_lock_free(code_lock);
	pidlock_lock_free(function_lock);
	pidlock_single_pidfile_close();
	return 0;
}

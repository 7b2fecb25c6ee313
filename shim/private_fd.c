/* SPDX-License-Identifier: MIT */
/*
 * The shim's own descriptors (the PID file's lock, guard locks, the log
 * file) live in the program's descriptor table, where the program may
 * close them — daemons close every descriptor from 3 up, shells dup2 onto
 * numbers they choose — and with them the locks. So they are moved high,
 * a close of one reports success without closing it, a range close steps
 * around them, and a dup2 onto one moves ours out of the way first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#include "guard.h"
#include "shim.h"

/* the PID file, the log, every guard, and room */
#define PRIVATE_MAX (GUARD_MAX + 8)

/* All zeros until the constructor sets .base: no page of it is written
 * before the shim has a descriptor of its own to record. */
static struct {
	pthread_mutex_t lock;
	/* Where ours are moved to (they may sit lower: a low limit, or a
	 * limit lowered by the program); 0 until private_fd_init. */
	_Atomic int base;
	/* How many slots are in use: close()'s fast test when none is. */
	_Atomic int used;
	/* Slots ever used: the walks stop there, so close() looks at a few
	 * entries, not at the whole table sized for every guard; a slot at
	 * or above it is free whatever it holds. */
	_Atomic int top;
	struct {
		_Atomic int fd; /* -1: free slot (below .top) */
		int *owner;	/* where the shim keeps the number */
	} slot[PRIVATE_MAX];
} priv = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Where ours are placed: above the numbers programs open first and the
 * ones shells pick for themselves (10 and up), and inside the 64 slots
 * the kernel keeps in every process, so that the shim never grows a
 * process's descriptor table — a table costs 8 bytes a slot, is copied by
 * every fork, and would be megabytes three quarters up the 1,048,576
 * descriptors containers give. A number a program insists on (bash's 255,
 * a dup2 onto ours) is made room for wherever ours sit. */
#define PRIVATE_BASE_MAX 48

static int choose_base(void)
{
	struct rlimit lim;
	long base = PRIVATE_BASE_MAX;

	/* Below a small limit, three quarters up it; if even that cannot be
	 * had, ours stay where they are: they are recognised by number
	 * wherever they sit (private_fd_is), not by their height. */
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 &&
	    lim.rlim_cur != RLIM_INFINITY &&
	    lim.rlim_cur / 4 * 3 < (rlim_t)base)
		base = (long)(lim.rlim_cur / 4 * 3);
	if (base < 3)
		base = 3;
	return (int)base;
}

void private_fd_init(void)
{
	atomic_store(&priv.base, choose_base());
}

/* A free number at or above the base, for a copy of FD. */
static int move_high(int fd)
{
	int base = atomic_load(&priv.base);
	int high = base > 0
		       ? libc(fcntl)(fd, F_DUPFD_CLOEXEC, (void *)(long)base)
		       : -1;

	/* No room up there (a low limit): keep the number we have. */
	return high >= 0 ? high : fd;
}

void private_fd_adopt(int *fdp)
{
	int fd = *fdp, high;

	if (fd < 0)
		return;
	high = fd >= atomic_load(&priv.base) ? fd : move_high(fd);
	pthread_mutex_lock(&priv.lock);
	for (int i = 0, top = atomic_load(&priv.top); i < PRIVATE_MAX; i++) {
		if (i >= top || atomic_load(&priv.slot[i].fd) < 0) {
			priv.slot[i].owner = fdp;
			/* top first: a reader that sees the number sees it
			 * inside the walk */
			if (top <= i)
				atomic_store(&priv.top, i + 1);
			atomic_store(&priv.slot[i].fd, high);
			atomic_fetch_add(&priv.used, 1);
			break;
		}
	}
	pthread_mutex_unlock(&priv.lock);
	if (high != fd) {
		*fdp = high;
		libc(close)(fd);
	}
}

void private_fd_forget(const int *fdp)
{
	pthread_mutex_lock(&priv.lock);
	for (int i = 0, top = atomic_load(&priv.top); i < top; i++) {
		if (priv.slot[i].owner == fdp &&
		    atomic_load(&priv.slot[i].fd) >= 0) {
			atomic_store(&priv.slot[i].fd, -1);
			priv.slot[i].owner = NULL;
			atomic_fetch_sub(&priv.used, 1);
		}
	}
	pthread_mutex_unlock(&priv.lock);
}

bool private_fd_is(int fd)
{
	/* by number, whatever the number: one left low by a small limit
	 * must be protected as well as one placed high */
	if (fd < 0 ||
	    atomic_load_explicit(&priv.used, memory_order_relaxed) == 0)
		return false;
	for (int i = 0, top = atomic_load(&priv.top); i < top; i++)
		if (atomic_load(&priv.slot[i].fd) == fd)
			return true;
	return false;
}

bool private_fd_make_room(int fd, int from)
{
	bool moved = false;

	/* only when the dup2 will replace it: not onto itself, not from a
	 * descriptor that is not open, and not in a vfork child */
	if (!private_fd_is(fd) || fd == from ||
	    libc(fcntl)(from, F_GETFD, NULL) < 0 || !shim_in_own_process())
		return false;
	pthread_mutex_lock(&priv.lock);
	for (int i = 0, top = atomic_load(&priv.top); i < top; i++) {
		if (atomic_load(&priv.slot[i].fd) == fd) {
			int high = move_high(fd);

			if (high == fd)
				break;
			/* the program's dup2 replaces the old number */
			*priv.slot[i].owner = high;
			atomic_store(&priv.slot[i].fd, high);
			moved = true;
		}
	}
	pthread_mutex_unlock(&priv.lock);
	return moved;
}

int private_fd_lowest_at_or_above(int from)
{
	int lowest = -1;

	for (int i = 0, top = atomic_load(&priv.top); i < top; i++) {
		int fd = atomic_load(&priv.slot[i].fd);

		if (fd >= from && (lowest < 0 || fd < lowest))
			lowest = fd;
	}
	return lowest;
}

/* Held across fork (lifecycle.c), so that no child starts with the table
 * half changed by a thread that does not exist there. */
void private_fd_before_fork(void)
{
	pthread_mutex_lock(&priv.lock);
}

void private_fd_after_fork_in_parent(void)
{
	pthread_mutex_unlock(&priv.lock);
}

void private_fd_after_fork_in_child(void)
{
	pthread_mutex_init(&priv.lock, NULL);
}

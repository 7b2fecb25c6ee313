/* SPDX-License-Identifier: MIT */
/*
 * This process as the shim sees it: which process its memory belongs to
 * (a vfork child shares its parent's) and its role.
 */
#include <unistd.h>

#include "shim.h"

static struct {
	pid_t pid; /* the process this memory is the shim's state of */
	enum shim_role role;
} self;

void process_start(enum shim_role role)
{
	self.pid = getpid();
	self.role = role;
}

void process_set_role(enum shim_role role)
{
	self.role = role;
}

pid_t process_pid(void)
{
	return self.pid;
}

enum shim_role process_role(void)
{
	return self.role;
}

bool shim_in_own_process(void)
{
	/* A vfork child runs in its parent's memory without our atfork
	 * handlers: it must not touch the parent's tables. */
	return getpid() == self.pid;
}

void process_after_fork_in_child(void)
{
	self.pid = getpid();
	if (self.role == SHIM_ROLE_OWNER)
		self.role = SHIM_ROLE_DESCENDANT;
}

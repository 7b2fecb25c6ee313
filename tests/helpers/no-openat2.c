/* SPDX-License-Identifier: MIT */
/*
 * Runs a program on a system without openat2, as on Linux before 5.6 or
 * under a seccomp filter that refuses system calls it does not know:
 *
 *   no-openat2 ERRNO PROGRAM [ARG...]
 *
 * installs a seccomp filter making every openat2 fail with ERRNO (ENOSYS
 * or EPERM), inherited by PROGRAM across exec. Status 77 when seccomp
 * filters cannot be installed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef __NR_openat2
#define __NR_openat2 437 /* the same on every architecture */
#endif

int main(int argc, char **argv)
{
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: no-openat2 ENOSYS|EPERM PROGRAM...\n");
		return 64;
	}
	err = strcmp(argv[1], "EPERM") == 0 ? EPERM : ENOSYS;
#ifdef THIS_ARCH
	{
		struct sock_filter code[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K,
				 SECCOMP_RET_ERRNO | (unsigned)err),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {
			.len = sizeof(code) / sizeof(code[0]),
			.filter = code,
		};

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
			perror("no-openat2: seccomp");
			return 77;
		}
	}
	/* the filter works, or the test would prove nothing */
	{
		struct open_how how = { .flags = O_PATH };

		if (syscall(__NR_openat2, AT_FDCWD, "/", &how, sizeof(how)) >=
			0 ||
		    errno != err) {
			fprintf(stderr, "no-openat2: openat2 still works\n");
			return 1;
		}
	}
#else
	fprintf(stderr, "no-openat2: no seccomp filter for this "
			"architecture\n");
	return 77;
#endif
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}

/* SPDX-License-Identifier: MIT */
/*
 * Reuses fd 2 the way daemons do, then exits (the shim logs at exit when
 * PIDSHIM_LOG=debug).
 *   log-helper keep FILE    leave fd 2 alone
 *   log-helper reuse FILE   close fd 2 and open FILE (it becomes fd 2)
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "reuse") == 0) {
		close(2);
		if (open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644) != 2)
			return 3;
		if (write(2, "program data\n", 13) != 13)
			return 4;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Build-only check: the public header is plain C99 (plus the GNU cleanup
 * attribute that GCC and clang accept under -pedantic). */
#include <pidlock.h>

int main(void)
{
	int err = 0;

	if (0) {
		struct pidlock_lock *lock = 0;

		PIDLOCK_SCOPED(lock, PIDLOCK_EXCLUSIVE, PIDLOCK_NOWAIT, &err)
		{
			err = 1;
		}
	}
	return err;
}

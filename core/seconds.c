/* SPDX-License-Identifier: MIT */
/* Seconds as users write them (seconds.h). */
#include <ctype.h>
#include <limits.h>

#include "seconds.h"

/* No sign, blank, hex, exponent, inf or nan: strtod would take all of
 * those. */
int seconds_parse_ms(const char *s)
{
	long long ms = 0;
	int scale = 1000;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		ms = ms * 10 + (*s - '0') * 1000;
		/* milliseconds in an int: up to about 24 days */
		if (ms > INT_MAX)
			return -1;
	}
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return -1;
		for (int place = 1; isdigit((unsigned char)*s); s++, place++) {
			scale /= 10;
			if (place <= 3)
				ms += (*s - '0') * scale;
			else if (place == 4 && *s >= '5')
				/* the first digit past milliseconds rounds */
				ms++;
		}
	}
	if (*s || ms > INT_MAX)
		return -1;
	return (int)ms;
}

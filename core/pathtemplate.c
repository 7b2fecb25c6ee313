/* SPDX-License-Identifier: MIT */
/* PID file path templates: %p pid, %n program name, %u uid, %h hostname. */
#include "pidlock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "pathtemplate.h"

/* What was executed: for a script started through its #! line that is
 * the script (AT_EXECFN), where argv[0]'s name would be the interpreter
 * and two scripts would share one PID file. */
static const char *program_name(void)
{
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	const char *slash;

	if (!execfn || !*execfn)
		return program_invocation_short_name;
	slash = strrchr(execfn, '/');
	return slash && slash[1] ? slash + 1 : execfn;
}

static int append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= size)
		return -ENAMETOOLONG;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

PIDLOCK_EXPORT int pidlock_path_expand(const char *path_template, char *buf,
				       size_t size)
{
	return path_expand_as(path_template, program_name(), buf, size);
}

int path_expand_as(const char *path_template, const char *name, char *buf,
		   size_t size)
{
	size_t len = 0;

	if (!path_template || !buf || size == 0 || !*path_template)
		return -EINVAL;
	buf[0] = '\0';
	for (const char *t = path_template; *t; t++) {
		char field[HOST_NAME_MAX + 1];
		int err;

		if (*t != '%') {
			field[0] = *t;
			field[1] = '\0';
		} else {
			switch (*++t) {
			case 'p':
				snprintf(field, sizeof(field), "%d", getpid());
				break;
			case 'u':
				snprintf(field, sizeof(field), "%u", getuid());
				break;
			case 'n':
				/* whole: a name is not bounded as a field */
				err = append(buf, size, &len, name);
				if (err < 0)
					return err;
				continue;
			case 'h':
				if (gethostname(field, sizeof(field)) < 0)
					return -errno;
				field[sizeof(field) - 1] = '\0';
				break;
			case '%':
				field[0] = '%';
				field[1] = '\0';
				break;
			default:
				return -EINVAL;
			}
		}
		err = append(buf, size, &len, field);
		if (err < 0)
			return err;
	}
	return (int)len;
}

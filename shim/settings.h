/* SPDX-License-Identifier: MIT */
/*
 * The shim's variables and the values each accepts (libpidshim(7),
 * ENVIRONMENT): the one list, shared by the shim, which reads
 * them from its environment, and by `pidshim run`, which writes them from
 * its options and must refuse a bad value before anything runs.
 */
#ifndef PIDSHIM_SETTINGS_H
#define PIDSHIM_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

/* The variable the shim passes on to its descendants (config.c), never
 * set by hand. */
#define SHIM_OWNER_VAR "PIDSHIM_OWNER"

struct setting {
	const char *variable;	  /* PIDSHIM_GUARD_SCOPE */
	const char *expected;	  /* what a message says it accepts */
	const char *const *words; /* its words, NULL-ended; NULL: free form */
	bool (*valid)(const char *value); /* free form: is VALUE accepted? */
};

/* The setting for VARIABLE (a PIDSHIM_* name); NULL for an unknown one. */
__attribute__((visibility("hidden"))) const struct setting *
setting_find(const char *variable);

/* Whether VALUE is accepted for S. */
__attribute__((visibility("hidden"))) bool
setting_valid(const struct setting *s, const char *value);

/* VALUE's index in S's words, or -1. */
__attribute__((visibility("hidden"))) int setting_word(const struct setting *s,
						       const char *value);

/* The variables, for the nearest-name hint: COUNT of them. */
__attribute__((visibility("hidden"))) const char *setting_name(size_t i);
__attribute__((visibility("hidden"))) size_t setting_count(void);

/* PIDSHIM_PIDFILE's VALUE, neither empty nor "none", expanded into BUF
 * (SIZE bytes, PATH_MAX for every value accepted): false when it is not
 * accepted. The shim expands it straight into its configuration. */
__attribute__((visibility("hidden"))) bool
setting_pidfile_expand(const char *value, char *buf, size_t size);

/* The default PID file template: /run/%n.pid for root, else
 * $XDG_RUNTIME_DIR/%n.pid, else /tmp/%n-%u.pid. False when it does not
 * fit in SIZE. */
__attribute__((visibility("hidden"))) bool setting_default_pidfile(char *buf,
								   size_t size);

#endif

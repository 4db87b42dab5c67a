/*
 * dotenv: the role passwords written into the project's .env when git
 * ignores it, so `docker compose up` finds them where the user keeps the
 * stack's other secrets.  Through the envfile grammar (stack/envfile):
 * a password already there is replaced in place, a new one is added at the
 * end below a marker comment; no existing line moves and no other byte
 * changes, so a re-run changes nothing.  Written atomically, private (0600,
 * or the owner's own bits plus read and write).
 */
#ifndef DSNFLIP_DOTENV_H
#define DSNFLIP_DOTENV_H

#include <stddef.h>

#include "util/diag.h"

/* Set keys[i]=values[i] in the .env at path; *changed: whether it changed.  0 or -1 with d. */
int dotenv_set_passwords(const char *path, const char *const *keys, const char *const *values,
			 size_t n, int *changed, struct diag *d);

#endif

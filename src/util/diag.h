/*
 * diag: the error a failed operation reports, and where.
 *
 * Library code never prints or exits: it fills a struct diag and returns -1
 * (after git's error()).  Only the command layer prints the message and
 * chooses the exit code.  Input errors name their place as file:line:col so
 * an engineer can jump to it; the first error wins, because later ones are
 * usually consequences of it.
 */
#ifndef DSNFLIP_DIAG_H
#define DSNFLIP_DIAG_H

#include "util/buf.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,  /* an operation failed (DB error, deploy rolled back) */
	EXIT_INPUT = 2,   /* usage or input error: nothing written */
	EXIT_BUDGET = 3,  /* plan: budget exceeded or blocking warning */
};

struct diag {
	struct buf msg;
	int code; /* suggested exit code: EXIT_INPUT unless set otherwise */
	int set;
};
#define DIAG_INIT { BUF_INIT, EXIT_INPUT, 0 }

/* Record "file:line:col: message"; returns -1.  line/col are 1-based; 0 omits. */
int diag_at(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/*
 * "file:line:col: KEY: message" for a message about the variable KEY (an
 * env-file entry): the name is shown escaped but not masked.  Masking would
 * read "DB_PASSWORD: required variable X is missing a value" as a password
 * assignment and hide the message's first word; a name is never a secret.
 * The message is masked as always.
 */
int diag_at_key(struct diag *d, const char *file, int line, int col, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Record a message with no place; returns -1. */
int diag_err(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, marking the failure as an operational one (exit 1). */
int diag_fail(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Add to d's message (set already; its place and code stay), masked and
 * escaped as the message is.  Returns -1; does nothing when d is not set. */
int diag_append(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Move from's message and code into d as they are (already placed, masked and
 * escaped: no second prefix); from is released.  Returns -1. */
int diag_take(struct diag *d, struct diag *from);
void diag_release(struct diag *d);

#endif

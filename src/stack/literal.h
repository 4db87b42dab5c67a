/*
 * literal: read and write a value's literal text in the file it is in.
 *
 * A value's origin (compose.h) is a byte span in a YAML file (a plain,
 * 'single', "double" or one-line block scalar; for a list-form
 * environment item the part after "KEY=") or in an env file (unquoted,
 * 'single' or "double", quotes included in the span).  This module decodes
 * that span into the text compose interpolates (its "compose-level" text,
 * where references stay references and `$$` stays `$$`), keeping for each
 * decoded byte the source bytes it came from, and encodes text back in a
 * given style.  It refuses what it cannot decode safely: a value over
 * several lines, a block scalar of more than one line or with an
 * indentation indicator, an escape it does not know.  Errors name
 * file:line:col and the label; they never quote the value.
 */
#ifndef DSNFLIP_LITERAL_H
#define DSNFLIP_LITERAL_H

#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"
#include "stack/compose.h"

struct literal_unit {
	size_t s0, s1; /* source bytes */
	size_t d0, d1; /* decoded bytes */
};

struct literal {
	int yaml;
	int style;            /* YAML: YS_*; env: 0, '\'' or '"' */
	size_t body0, body1;  /* between the quotes, or the one line of a block scalar */
	struct buf text;      /* decoded (YAML: the scalar; env: before interpolation) */
	struct literal_unit *u;
	size_t nu, alloc;
};

/* Decode [start, end) of f (yaml: a YAML scalar's node span; else an env-file value). */
int literal_decode(const struct srcfile *f, int yaml, size_t start, size_t end, int line,
		   int col, const char *label, struct literal *L, struct diag *d);
void literal_release(struct literal *L);
/* Encode decoded text for the style (YS_* for YAML; 0, '\'' or '"' for env); -1 when it cannot hold it. */
int literal_encode(int yaml, int style, const char *s, size_t n, struct buf *out);
/* The length of "KEY=" in a decoded list-form item, or -1. */
long literal_list_prefix(const struct literal *L);
/* The compose-level text of a decoded literal, appended to out. */
int literal_compose_text(const struct literal *L, int list_form, const struct srcfile *f, int line,
			 int col, struct buf *out, struct diag *d);
/*
 * Read the compose-level text of the literal at [start, end) of f into out.
 * label names the value in messages (NULL: "this value").  0, or -1 with d.
 */
int literal_read(const struct srcfile *f, int yaml, int list_form, size_t start, size_t end,
		 int line, int col, const char *label, struct buf *out, struct diag *d);

#endif

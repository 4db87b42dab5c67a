/*
 * template: fill a text template from templates/ with named values.
 *
 * Syntax: {{name}} is replaced by the value of name; {{#name}}...{{/name}}
 * repeats its body once per row of the list `name` (fields of the row are
 * {{field}} inside); {{^name}}...{{/name}} is kept when name is empty/absent.
 * No expressions, no escaping: callers pass values already escaped for the
 * target (SQL through libpq's quoting, Markdown through md escaping).
 * An unknown {{name}} is an error naming the template's line.
 */
#ifndef DSNFLIP_TEMPLATE_H
#define DSNFLIP_TEMPLATE_H

#include <stddef.h>
#include "util/buf.h"
#include "util/diag.h"

struct tvars; /* a set of values: strings and lists of rows (each a tvars) */

struct tvars *tvars_new(void);
void tvars_free(struct tvars *v);
void tvars_set(struct tvars *v, const char *name, const char *value);
void tvars_setf(struct tvars *v, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append a row to list `name` and return it (owned by v). */
struct tvars *tvars_add_row(struct tvars *v, const char *name);

/* Find a template: $DSNFLIP_TEMPLATES, the source tree, then DSNFLIP_DATADIR/templates. */
char *template_dir(char *const *env);
int template_render_file(const char *path, const struct tvars *v, struct buf *out, struct diag *d);
int template_render(const char *display, const char *text, const struct tvars *v, struct buf *out,
		    struct diag *d);

#endif

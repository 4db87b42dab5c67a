/*
 * report: the plan for people (text, markdown) and for tools (JSON).
 */
#ifndef DSNFLIP_REPORT_H
#define DSNFLIP_REPORT_H

#include <stdio.h>

#include "util/buf.h"
#include "plan/plan.h"

enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_MARKDOWN };

struct report_opts {
	int color;   /* ANSI colour (a terminal, and NO_COLOR unset) */
	int verbose; /* every evidence line, not the first few */
};

/* Parse "text" | "json" | "markdown"; -1 otherwise. */
int report_format_parse(const char *s, enum report_format *out);

void report_json(const struct plan *plan, struct buf *out);
/* report_json's text written to to as it is made (never all held at once). */
void report_json_write(const struct plan *plan, FILE *to);
void report_text(const struct plan *plan, const struct report_opts *o, struct buf *out);
void report_markdown(const struct plan *plan, struct buf *out);

#endif

/*
 * lint_out: a lint report (plan/lint.h) in each `dsnflip lint --format`:
 * text for people, JSON for tools (keys are only added), SARIF 2.1.0 for
 * code-scanning UIs, GitHub workflow commands for pull-request annotations.
 */
#ifndef DSNFLIP_LINT_OUT_H
#define DSNFLIP_LINT_OUT_H

#include "plan/lint.h"
#include "util/buf.h"

/* base: the --base REV, or NULL. */
void lint_write_text(const struct lint_report *r, const char *base, struct buf *out);
void lint_write_json(const struct lint_report *r, const char *base, struct buf *out);
/* SARIF 2.1.0: one run, every rule with its help, results with physical
 * locations relative to the repository root (uriBaseId %SRCROOT%). */
void lint_write_sarif(const struct lint_report *r, struct buf *out);
/* GitHub Actions workflow commands (::error file=F,line=L,col=C,title=T::MSG). */
void lint_write_github(const struct lint_report *r, struct buf *out);
/* GitHub's escaping: the message (% CR LF), and a property (also : and ,). */
void lint_github_escape(const char *s, int property, struct buf *out);

#endif

/*
 * lint: what `dsnflip lint` reports about a stack, from its plan.
 *
 * The checks guard a repository that is off the superuser (or is moving
 * off it) against the change that puts a service back on it.  They read the
 * plan built offline exactly as `plan` builds it (the caller loads the stack
 * with INTERP_SECRETS_OPTIONAL, so a flipped stack whose role passwords are
 * not set loads), and report findings, each with a rule, a severity, the
 * file:line:col where the value's literal text lives and a one-line fix.
 *
 * Rules (ids are a contract, like command names):
 *   superuser-connection   error    a service connects as a superuser (postgres,
 *                                   the server image's POSTGRES_USER, no user at
 *                                   all, or a name under superusers: in dsnflip.yml)
 *   superuser-unknown      error    offline, whether the user is a superuser cannot
 *                                   be known (the server or its superusers are not
 *                                   recognised)
 *   literal-password       error    a connection's password (or the server's
 *                                   POSTGRES_PASSWORD) is written as a literal in
 *                                   a file git tracks
 *   server-password        error    an application service is given the
 *                                   server's POSTGRES_PASSWORD
 *   over-budget            error    the planned connection limits exceed what
 *                                   the server has
 *   held-unsettled         warning  a held service (class unknown) has no
 *                                   class: in dsnflip.yml to settle it
 *
 * A rule is switched off for the whole stack by lint.disable in dsnflip.yml,
 * and for one finding by a comment on its line (or alone on the line above):
 * "# dsnflip-lint: disable=RULE[,RULE...]" ("disable" alone: every rule).
 *
 * Findings are compared across revisions (lint_subtract, for --base) by
 * rule, service and variable, never by position: a change that moves a
 * line does not make an old finding new.
 */
#ifndef DSNFLIP_LINT_H
#define DSNFLIP_LINT_H

#include <stddef.h>

#include "plan/plan.h"
#include "stack/config.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/diag.h"

enum lint_severity { LINT_NOTE, LINT_WARNING, LINT_ERROR };

struct lint_rule {
	const char *id;
	enum lint_severity severity;
	const char *title;  /* one line: what is wrong */
	const char *help;   /* why it matters and how to fix it (SARIF help text) */
};

/* Every rule, in a fixed order (SARIF's ruleIndex is the index here). */
const struct lint_rule *lint_rules(size_t *n);
const struct lint_rule *lint_rule(const char *id);
const char *lint_severity_name(enum lint_severity s);
/* "error", "warning", "note" -> *out; -1 for anything else. */
int lint_severity_parse(const char *s, enum lint_severity *out);

struct lint_finding {
	const struct lint_rule *rule;
	const char *service;   /* "" when the finding is about the whole stack */
	const char *variable;  /* the environment variable, "" when none */
	const char *file;      /* relative to the repository root (opts.path_prefix +
	                          the project-relative name); "" when none */
	int line, col;         /* 1-based; 0 when there is no file */
	const char *message;
	const char *fix;
	const struct srcfile *src; /* the file, for disables and de-duplication; NULL when none */
	struct strvec also;    /* literal-password: the other services reading the same
	                          literal (owned); empty otherwise */
};

struct lint_report {
	struct arena arena;
	struct lint_finding *v;
	size_t nr, alloc;
	size_t suppressed;     /* findings a disable switched off */
	/* Services --profile left out, never linted, and their profiles
	 * (comma-separated), in the stack's order. */
	struct strvec not_linted, not_linted_profiles;
};
#define LINT_REPORT_INIT { ARENA_INIT, NULL, 0, 0, 0, STRVEC_INIT, STRVEC_INIT }

/* 1 when git tracks the file (the literal in it is committed), 0 when not. */
typedef int (*lint_tracked_fn)(void *ctx, const struct srcfile *f);

struct lint_opts {
	lint_tracked_fn tracked; /* NULL: every file counts as tracked */
	void *tracked_ctx;
	const char *path_prefix; /* the project dir relative to the repository root, "" or NULL */
};

/*
 * Lint the plan (built from plan->project and cfg).  Returns 0 with out
 * filled (sorted by file, line, column, rule), or -1 with d set when
 * dsnflip.yml names a rule that does not exist (file:line:col, exit 2).
 */
int lint_run(const struct plan *plan, const struct config *cfg, const struct lint_opts *opts,
	     struct lint_report *out, struct diag *d);
void lint_report_release(struct lint_report *r);

/* Drop from r every finding whose rule and variable base also has, for every
 * service the finding stands for (service and also). */
void lint_subtract(struct lint_report *r, const struct lint_report *base);
/* How many findings are at or above sev. */
size_t lint_count_at_least(const struct lint_report *r, enum lint_severity sev);

#endif

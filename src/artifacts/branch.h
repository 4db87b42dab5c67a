/*
 * branch: everything `dsnflip branch` produces, and the order it is done in.
 *
 * From a loaded session: the rewrite (rewrite.c, checked by re-loading the
 * edited stack), the role SQL per database (rolesql.c), the runbook
 * (templates/runbook.md.tmpl), the plan as JSON, and the commit message;
 * then, only when every check has passed, the writes: the secrets file
 * (outside the repository), one commit on the branch (gitops.c), and the
 * passwords in .env when git ignores it.  Every refusal happens before the
 * first write, so a refused run leaves nothing behind.
 *
 * Where the artifacts go: beside the stack, in the project directory inside
 * the repository (<dir>/sql/dsnflip/<database>.sql,
 * <dir>/docs/dsnflip-runbook.md, <dir>/dsnflip.plan.json), because the
 * runbook's commands run there.  The artifacts hold no timestamps, host
 * names or passwords, so the same stack always gives the same tree.
 *
 * A rewritten file must be committed at the base exactly as it is in the
 * work tree (dsnflip rewrites what was reviewed, and never a version it did
 * not check); so must every other file the stack reads, or the branch would
 * hold a different stack from the one verified.  Otherwise: refused.  A
 * rewritten file git does not track (typically .env) is left out of the
 * commit, untouched; the runbook and the committed plan say how to change it.
 */
#ifndef DSNFLIP_BRANCH_H
#define DSNFLIP_BRANCH_H

#include "util/buf.h"
#include "plan/plan.h"
#include "stack/config.h"
#include "util/diag.h"
#include "artifacts/rewrite.h"

#define BRANCH_DEFAULT_NAME "dsnflip/off-superuser"

/* The loaded stack the branch is made from (owned by the caller). */
struct branch_stack {
	const struct compose_project *project;
	const struct config *config;
	const struct plan *plan;
};

struct branch_opts {
	const char *name;                    /* NULL: BRANCH_DEFAULT_NAME */
	const char *base;                    /* NULL: HEAD */
	int force;
	const struct compose_opts *compose;  /* how the stack was loaded */
	char *const *environ;
};

/* One edited line of a file left out of the commit. */
struct branch_line {
	int line;
	char *keys;     /* "DATABASE_URL" */
	char *services; /* "cron, worker" */
	char *text;     /* the whole line as it must become (a reference, never a password) */
};

struct branch_left_out {
	char *file;     /* relative to the project directory */
	char *why;      /* "git ignores it", "it is not committed" */
	struct branch_line *lines;
	size_t nlines;
};

struct branch_result {
	char *branch;
	char commit[41], tree[41];
	char *base_name, *base_id;
	int replaced;                  /* an existing branch was overwritten (--force) */
	struct strvec files;           /* in the commit, relative to the work tree */
	struct strvec what;            /* per file: what it is */
	struct branch_left_out *left_out;
	size_t nleft_out;
	struct strvec notes;
	char *secrets_path;
	int new_passwords;
	int env_written;               /* .env gained or updated password lines */
	int env_ignored;               /* git ignores .env here */
};

/*
 * Run `dsnflip branch` for a loaded session.  Returns 0 with out filled, or
 * -1 with d set: d->code is EXIT_INPUT for every refusal (nothing written)
 * and EXIT_FAILED when a write failed.  Release out with
 * branch_result_release() either way.
 */
int branch_run(const struct branch_stack *s, const struct branch_opts *o, struct branch_result *out,
	       struct diag *d);
void branch_result_release(struct branch_result *r);

#endif

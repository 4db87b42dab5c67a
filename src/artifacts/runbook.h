/*
 * runbook: the documents `branch` commits beside the rewrite: the runbook
 * (templates/runbook.md.tmpl: the roles, the budget, each service's change
 * and how to check it, the server steps, what to edit by hand in files git
 * does not track, the way back) and the commit message.  Plain text from
 * the plan and the rewrite; nothing here writes a file.
 */
#ifndef DSNFLIP_RUNBOOK_H
#define DSNFLIP_RUNBOOK_H

#include "artifacts/branch.h"

/* Where the artifacts go, relative to the project directory. */
#define BRANCH_SQL_DIR "sql/dsnflip"
#define BRANCH_RUNBOOK_PATH "docs/dsnflip-runbook.md"
/* The databases one plan may touch (more is an error, never a silent cut). */

/* The runbook's and commit message's text. */
struct branch_doc {
	const struct branch_stack *s;
	const struct rewrite *rw;
	const char *sql_dir;          /* "sql/dsnflip" relative to the project dir */
	const struct branch_left_out *left_out;
	size_t nleft_out;
	const struct strvec *changed; /* rewritten files in the commit, relative to the project dir */
	int env_ignored;
	const char *secrets_shown;    /* the secrets file as documents show it (secrets_shown_path) */
};
int branch_runbook(const struct branch_doc *doc, const char *templates_dir, struct buf *out,
		   struct diag *d);
void branch_message(const struct branch_doc *doc, struct buf *out);

/* The services the plan flips. */
size_t branch_count_flips(const struct plan *plan);
/* A database name as a file name: [A-Za-z0-9_.-], others '_' (malloc'd). */
char *branch_sql_name(const char *db);

#endif

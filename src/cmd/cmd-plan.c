/*
 * cmd-plan: `dsnflip plan` — read the stack (and the server) and print the
 * plan.  Writes nothing.  Exit 3 when the budget is exceeded or a warning
 * blocks the plan (the plan is still printed, so the reason is visible).
 */
#include "session.h"
#include "artifacts/gitops.h"
#include "util/path.h"

#include <stdio.h>
#include <stdlib.h>

/*
 * Say which connections live in a file git does not track (an ignored .env,
 * say): `dsnflip branch` cannot commit the change there, so the operator
 * must make it by hand (the runbook gives the line).  Outside a repository,
 * or with no commit yet, there is nothing to say.
 */
static void note_untracked_origins(struct session *s)
{
	struct plan *plan = s->plan;
	struct gitrepo *repo = NULL;
	struct diag ignore = DIAG_INIT;
	struct strvec checked = STRVEC_INIT; /* each origin file is looked up once */

	/* Opening a repository costs libgit2's start-up (~10 ms): only when some
	 * flipped connection lives in an env file, the usual untracked place. */
	int any = 0;
	for (size_t i = 0; i < plan->nservices && !any; i++)
		for (size_t k = 0; k < plan->services[i].nconns && !any; k++) {
			const struct plan_conn *c = &plan->services[i].conns[k];
			any = plan->services[i].action != ACTION_SKIP &&
			      ((c->entry && c->entry->origin.kind == ORIGIN_ENVFILE) ||
			       (c->user_entry && c->user_entry->origin.kind == ORIGIN_ENVFILE) ||
			       (c->password_entry && c->password_entry->origin.kind == ORIGIN_ENVFILE));
		}
	if (!any || gitrepo_open(s->project->dir, &repo, &ignore) ||
	    gitrepo_set_base(repo, NULL, &ignore))
		goto out;
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (ps->action == ACTION_SKIP)
			continue;
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *c = &ps->conns[k];
			const struct env_entry *entries[] = { c->entry, c->user_entry, c->password_entry };
			for (size_t e = 0; e < 3; e++) {
				const struct env_entry *en = entries[e];
				if (!en || (c->form == CONN_SPLIT && e == 0))
					continue;
				/* Where branch edits: a whole DSN at its definition; a user or
				 * password reached through ${VAR} at the reference (rewrite.c). */
				const struct origin *o = &en->origin;
				if (o->via && (e > 0 || c->form == CONN_SPLIT))
					o = o->via;
				const struct srcfile *f = o->pos.file;
				int in_base, ignored;
				if (!f || o->kind == ORIGIN_PROCESS || strvec_contains(&checked, f->display))
					continue;
				strvec_push(&checked, f->display);
				struct arena a = ARENA_INIT;
				char *rel = gitrepo_relpath(repo, path_absolute(&a, f->path));
				int r = rel ? gitrepo_in_base(repo, rel, &in_base, &ignored, &ignore) : -1;
				if (!r && !in_base)
					plan_warn(plan, 0, "%s (%s of %s) is not in git (%s): `dsnflip branch` "
						  "cannot commit the change there; the runbook gives the line "
						  "to change by hand", f->display, en->key, ps->name,
						  ignored ? "git ignores it" : "not committed");
				free(rel);
				arena_release(&a);
			}
		}
	}
out:
	strvec_clear(&checked);
	gitrepo_free(repo);
	diag_release(&ignore);
}

int cmd_plan(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct buf out = BUF_INIT;
	int code;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_ASSUME, &d) ||
	    (cli->args.nr && diag_err(&d, "'plan' takes no arguments (got '%s')", cli->args.v[0])) ||
	    session_open(cli, &s, &d))
		return cli_fail(&d);
	note_untracked_origins(&s);
	struct report_opts ro = { .color = cli->color, .verbose = cli->verbose };
	switch (s.format) {
	case FORMAT_JSON:
		report_json(s.plan, &out);
		break;
	case FORMAT_MARKDOWN:
		report_markdown(s.plan, &out);
		break;
	default:
		report_text(s.plan, &ro, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	code = s.plan->blocking || !s.plan->budget.ok ? EXIT_BUDGET : EXIT_OK;
	buf_release(&out);
	session_close(&s);
	return code;
}

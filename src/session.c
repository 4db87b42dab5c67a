/*
 * session: what every command starts from — the stack, its config and the
 * plan, loaded from the global options in one place so that `plan`,
 * `branch`, `roles` and `deploy` can never disagree about the stack.
 */
#include "cli.h"
#include "server/discover.h"
#include "util/path.h"
#include "server/pgconn.h"

#include <stdio.h>
#include <string.h>

int cli_check_options(const struct cli *cli, unsigned allowed, struct diag *d)
{
	static const char *const names[] = { "--format", "--assume", "--name", "--base", "--force",
					     "--window", "--resume", "--all", "--compose-cmd",
					     "--lock-timeout" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((cli->seen & (1u << i)) && !(allowed & (1u << i)))
			return diag_err(d, "'%s' does not take %s", cli->command, names[i]);
	return 0;
}

/*
 * Read the live server and rebuild the plan with its facts.  With --db a
 * failure is an error (exit 1, the server's message and SQLSTATE); without
 * it the admin connection is derived from the stack when the stack allows
 * (pgconn.c), and a failure there leaves the plan offline with a warning
 * saying why.  No --db and nothing to derive from: offline, as before.
 */
static int go_live(const struct cli *cli, struct session *s, const struct plan_opts *po,
		   struct diag *d)
{
	struct pgconn pc = { 0 };
	struct strvec dbs = STRVEC_INIT;
	struct diag why = DIAG_INIT;
	struct live_facts *live = NULL;
	struct plan *plan = NULL;
	int explicit = cli->db != NULL, rc = -1;

	if (cli->offline || (!explicit && !pgconn_can_derive(s->plan, NULL)))
		return 0;
	if (pgconn_open(&pc, cli->db, explicit ? NULL : s->plan, &why))
		goto failed;
	discover_plan_databases(s->plan, &dbs);
	if (discover(&pc, (const char *const *)dbs.v, dbs.nr, &live, &why))
		goto failed;
	if (cli->verbose)
		fprintf(stderr, "discover: %zu objects in %ld ms, %d queries\n", live->objects,
			live->elapsed_ms, live->queries);
	if (plan_build(s->project, s->config, live, po, &plan, d))
		goto cleanup;
	if (pc.derived)
		plan_warn(plan, 0, "admin connection %s (--db overrides it)", pc.derived);
	for (size_t i = 0; i < live->ndbs; i++)
		if (live->dbs[i].missing)
			plan_warn(plan, 1, "database %s does not exist on the server (%s)", live->dbs[i].name,
				  pc.shown);
	plan_free(s->plan);
	s->plan = plan;
	s->live = live;
	live = NULL;
	rc = 0;
	goto cleanup;
failed:
	if (explicit) {
		if (why.code == EXIT_INPUT)
			diag_err(d, "%s", why.msg.buf);
		else
			diag_fail(d, "%s", why.msg.buf);
	} else {
		/* Derived: stay offline, and say so. */
		plan_warn(s->plan, 0, "the plan is offline: the live server could not be read: %s",
			  why.msg.buf);
		rc = 0;
	}
cleanup:
	live_facts_free(live);
	pgconn_close(&pc);
	strvec_clear(&dbs);
	diag_release(&why);
	return rc;
}

void cli_compose_opts(const struct cli *cli, struct compose_opts *co)
{
	co->dir = cli->dir;
	co->files = (const char *const *)cli->files.v;
	co->nfiles = cli->files.nr;
	co->project_name = cli->project;
	co->env_files = (const char *const *)cli->env_files.v;
	co->nenv_files = cli->env_files.nr;
	co->profiles = (const char *const *)cli->profiles.v;
	co->nprofiles = cli->profiles.nr;
	co->environ = cli->environ;
	co->config_path = cli->config;
}

int session_open(const struct cli *cli, struct session *s, struct diag *d)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { 0 };

	memset(s, 0, sizeof(*s));
	s->format = FORMAT_TEXT;
	if (cli->format && report_format_parse(cli->format, &s->format))
		return diag_err(d, "--format must be text, json or markdown, not '%s'", cli->format);
	cli_compose_opts(cli, &co);
	if (compose_load(&co, &s->project, d))
		return -1;

	if (cli->config) {
		if (!path_exists(cli->config)) {
			diag_err(d, "--config %s: no such file", cli->config);
			goto fail;
		}
		if (config_load(cli->config, cli->config, &s->config, d))
			goto fail;
	} else {
		struct arena tmp = ARENA_INIT;
		char *def = path_join(&tmp, s->project->dir, "dsnflip.yml");
		int r = 0;
		if (path_exists(def))
			r = config_load(def, "dsnflip.yml", &s->config, d);
		else
			s->config = config_empty();
		arena_release(&tmp);
		if (r)
			goto fail;
	}
	po.assume = (const char *const *)cli->assume.v;
	po.nassume = cli->assume.nr;
	if (plan_build(s->project, s->config, NULL, &po, &s->plan, d))
		goto fail;
	if (go_live(cli, s, &po, d))
		goto fail;
	return 0;
fail:
	session_close(s);
	return -1;
}

void session_close(struct session *s)
{
	plan_free(s->plan);
	live_facts_free(s->live);
	config_free(s->config);
	compose_free(s->project);
	memset(s, 0, sizeof(*s));
}

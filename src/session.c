/*
 * session: what every command starts from — the stack, its config and the
 * plan, loaded from the global options in one place so that `plan`,
 * `branch`, `roles` and `deploy` can never disagree about the stack.
 */
#include "session.h"
#include "server/discover.h"
#include "util/path.h"
#include "artifacts/gitops.h"
#include "server/pgconn.h"
#include "plan/admin.h"
#include "running/deploy.h"
#include "running/image.h"
#include "util/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Which of the stack's servers the admin connection reaches: --server, the
 * server a derived connection was derived for, or the one --db's host and
 * port point at (plan/admin).  Unknown on a stack with several servers is
 * left NULL: plan_build then decides nothing live and blocks, asking for
 * --server.  A --server the plan does not have is an input error.
 */
static int live_server(const struct cli *cli, const struct plan *plan, const struct pgconn *pc,
		       const struct admin_conninfo *dv, const char **out, struct diag *d)
{
	const char *sv = NULL;
	if (cli->server) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < plan->nservers && !sv; i++) {
			if (plan->servers[i] && !strcmp(plan->servers[i], cli->server))
				sv = plan->servers[i];
			buf_addf(&list, "%s%s", i ? ", " : "", plan_server_label(plan->servers[i]));
		}
		if (!sv && plan->nservers) {
			diag_err(d, "--server %s: the plan's roles are on %s", cli->server, list.buf);
			buf_release(&list);
			return -1;
		}
		buf_release(&list);
		sv = cli->server;
	} else if (dv->server) {
		sv = dv->server;
	} else if (pc->conn) {
		sv = admin_server_for(plan, PQhost(pc->conn), pgconn_port(pc));
	}
	*out = sv;
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
	struct admin_conninfo dv = { 0 };
	struct strvec dbs = STRVEC_INIT;
	struct diag why = DIAG_INIT;
	struct live_facts *live = NULL;
	struct plan *plan = NULL;
	int explicit = cli->db != NULL, rc = -1;

	if (cli->offline || (!explicit && !admin_derive(s->plan, &dv)))
		return 0;
	if (pgconn_open(&pc, cli->db, &dv, &why))
		goto failed;
	const char *server = NULL;
	if (live_server(cli, s->plan, &pc, &dv, &server, d))
		goto cleanup;
	if (s->plan->nservers > 1 && server) {
		/* Only this server's databases: the others' are not here. */
		for (size_t i = 0; i < s->plan->nroles; i++)
			for (size_t k = 0; plan_role_on(s->plan, &s->plan->roles[i], server) &&
					   k < s->plan->roles[i].ndatabases; k++)
				if (!strvec_contains(&dbs, s->plan->roles[i].databases[k]))
					strvec_push(&dbs, s->plan->roles[i].databases[k]);
	} else {
		discover_plan_databases(s->plan, &dbs);
	}
	if (discover(&pc, (const char *const *)dbs.v, dbs.nr, &live, &why))
		goto failed;
	live->server = server ? arena_strdup(&live->arena, server) : NULL;
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
	admin_conninfo_release(&dv);
	live_facts_free(live);
	pgconn_close(&pc);
	strvec_clear(&dbs);
	diag_release(&why);
	return rc;
}

/*
 * Whether git tracks a file, for the plan's flips (plan_tracked_fn).  The
 * repository is opened on the first question only (libgit2's start-up
 * costs ~10 ms, and most stacks never ask); outside a repository, or with
 * no commit yet, every answer is "unknown".
 */
struct git_tracker {
	const char *dir;
	struct gitrepo *repo;
	int state; /* 0 not tried, 1 open, -1 no repository */
};

static int git_tracked(void *ctx, const struct srcfile *f, const char **why)
{
	struct git_tracker *t = ctx;
	struct diag ignore = DIAG_INIT;
	if (!t->state) {
		t->state = !gitrepo_open(t->dir, &t->repo, &ignore) &&
			   !gitrepo_set_base(t->repo, NULL, &ignore) ? 1 : -1;
		diag_release(&ignore);
	}
	if (t->state < 0)
		return -1;
	struct arena a = ARENA_INIT;
	int in_base = 0, ignored = 0;
	char *rel = gitrepo_relpath(t->repo, path_absolute(&a, f->path));
	int r = rel ? gitrepo_in_base(t->repo, rel, &in_base, &ignored, &ignore) : -1;
	free(rel);
	arena_release(&a);
	diag_release(&ignore);
	if (r)
		return -1;
	if (in_base)
		return 1;
	*why = ignored ? "git ignores it" : "not committed";
	return 0;
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
	return session_open_with(cli, NULL, s, d);
}

/*
 * finish killed between setting the superuser's new password and keeping
 * it: the password is the one only superuser.env.new holds, so a failed
 * connection says where it is.
 */
static void pending_password_hint(const char *project, char *const *env, struct diag *why)
{
	char *dir = state_dir(project, env);
	char *pending = xstrfmt("%s/superuser.env.new", dir);
	free(dir);
	if (path_exists(pending))
		diag_append(why, " (an interrupted `dsnflip finish` left %s: the superuser's password "
			    "may now be the one in it)", pending);
	free(pending);
}

int session_open_with(const struct cli *cli, const struct session_opts *so, struct session *s,
		      struct diag *d)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { 0 };
	struct image_engine *images = NULL;
	static const struct session_opts defaults = { 0 };

	if (!so)
		so = &defaults;
	memset(s, 0, sizeof(*s));
	s->format = FORMAT_TEXT;
	if (!so->own_format && cli->format && report_format_parse(cli->format, &s->format))
		return diag_err(d, "--format must be text, json or markdown, not '%s'", cli->format);
	cli_compose_opts(cli, &co);
	co.interp_flags = so->interp_flags;
	co.all_profiles = so->all_profiles;
	if (so->dir)
		co.dir = so->dir;
	if (compose_load(&co, &s->project, d))
		return -1;

	if (cli->config) {
		const char *cfg = so->config ? so->config : cli->config;
		if (!path_exists(cfg)) {
			diag_err(d, "--config %s: no such file", cli->config);
			goto fail;
		}
		if (config_load(cfg, cli->config, &s->config, d))
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
	struct git_tracker tracker = { s->project->dir, NULL, 0 };
	po.tracked = git_tracked;
	po.tracked_ctx = &tracker;
	/* Images are read only where they live: not offline, not with --no-engine.
	 * The engine's temporary containers go when the plans are built. */
	if (!cli->offline && !cli->no_engine && !so->offline) {
		images = image_engine_new(cli->environ);
		struct strvec refs = STRVEC_INIT;
		for (size_t i = 0; i < s->project->nservices; i++)
			if (s->project->services[i].enabled)
				imagescan_candidates(s->project, &s->project->services[i], &refs);
		for (size_t i = 0; i < refs.nr; i++)
			image_engine_expect(images, refs.v[i]);
		strvec_clear(&refs);
		po.images = image_engine_source(images);
	}
	if (plan_build(s->project, s->config, NULL, &po, &s->plan, d) ||
	    (!so->offline && go_live(cli, s, &po, d))) {
		if (d->set)
			pending_password_hint(s->project->name, cli->environ, d);
		gitrepo_free(tracker.repo);
		goto fail;
	}
	gitrepo_free(tracker.repo);
	image_engine_free(images);
	return 0;
fail:
	image_engine_free(images);
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

int session_admin(const struct cli *cli, const struct session *s, enum admin_need need,
		  struct pgconn *pc, struct diag *d)
{
	memset(pc, 0, sizeof(*pc));
	if (cli->offline) {
		if (need == ADMIN_OPTIONAL)
			return 0;
		return diag_err(d, "'%s' needs the server, and --offline says never to connect: "
				"drop --offline (or give --db)", cli->command);
	}
	struct admin_conninfo dv = { 0 };
	if (!cli->db)
		admin_derive(s->plan, &dv);
	int r = pgconn_open(pc, cli->db, &dv, d);
	admin_conninfo_release(&dv);
	if (r)
		return need == ADMIN_OPTIONAL ? 0 : -1;
	return 1;
}

int session_deploy_open(const struct cli *cli, struct session *s, struct deploy_opts *o,
			struct deploy_ctx *dc, int flags, int need, struct diag *d)
{
	memset(dc, 0, sizeof(*dc));
	memset(o, 0, sizeof(*o));
	/* What these commands print goes through deploy_print, which has text and
	 * json only: markdown was accepted and printed as text.  Refused before
	 * anything is opened (so --offline reaches it too). */
	enum report_format fmt;
	if (cli->format && (report_format_parse(cli->format, &fmt) || fmt == FORMAT_MARKDOWN))
		return diag_err(d, "--format must be text or json for '%s', not '%s'", cli->command,
				cli->format);
	o->command = cli->command;
	o->args = cli->args;
	o->all = cli->all;
	o->resume = cli->resume;
	o->quiet = cli->quiet;
	o->verbose = cli->verbose;
	o->color = cli->color;
	o->window = cli->window;
	o->compose_cmd = cli->compose_cmd;
	o->driver = cli->driver;
	o->env_files = (const char *const *)cli->env_files.v;
	o->nenv_files = cli->env_files.nr;
	o->profiles = (const char *const *)cli->profiles.v;
	o->nprofiles = cli->profiles.nr;
	o->environ = cli->environ;
	/* --offline with a command that needs the server: refused before anything is opened. */
	if (cli->offline && need == ADMIN_REQUIRED) {
		struct pgconn none;
		return session_admin(cli, NULL, ADMIN_REQUIRED, &none, d);
	}
	if (session_open(cli, s, d))
		return -1;
	struct deploy_stack st = { s->project, s->config, s->plan, s->format };
	if (deploy_open(dc, o, &st, flags, d))
		goto fail;
	if (need >= 0) {
		struct diag why = DIAG_INIT;
		int r = session_admin(cli, s, (enum admin_need)need, &dc->pc, &why);
		if (why.set)
			pending_password_hint(s->project->name, cli->environ, &why);
		if (r < 0) {
			diag_release(d);
			*d = why;
			goto fail;
		}
		dc->have_pg = r == 1;
		if (!r && why.set)
			fprintf(stderr, "dsnflip: the server is not reachable, %s shows docker only: %s\n",
				cli->command, why.msg.buf);
		else if (!r && !cli->quiet)
			fprintf(stderr, "dsnflip: --offline: %s shows docker only\n", cli->command);
		diag_release(&why);
	}
	return 0;
fail:
	session_deploy_close(s, dc);
	return -1;
}

void session_deploy_close(struct session *s, struct deploy_ctx *dc)
{
	deploy_close(dc);
	session_close(s);
}

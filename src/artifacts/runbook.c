/*
 * runbook: the runbook's and the commit message's text (see runbook.h).
 */
#include "artifacts/runbook.h"
#include "util/num.h"
#include "artifacts/rolesql.h"
#include "artifacts/secrets.h"
#include "artifacts/sqlquote.h"
#include "artifacts/template.h"
#include "plan/plan_json.h"
#include "util/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- small text helpers --- */

/* Markdown table cell: no '|' or line break may end the cell early. */
static void md_add(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			buf_addstr(b, "\\|");
		else if (*s == '\n' || *s == '\r')
			buf_addch(b, ' ');
		else
			buf_addch(b, *s);
	}
}

static void set_md(struct tvars *v, const char *name, const char *s)
{
	struct buf b = BUF_INIT;
	md_add(&b, s);
	tvars_set(v, name, b.buf);
	buf_release(&b);
}

/* A word for a shell command line, single-quoted unless plainly safe. */
static void sh_add(struct buf *b, const char *s)
{
	int plain = *s != '\0';
	for (const char *c = s; *c && plain; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			strchr("_-.,/:=@%+", *c);
	if (plain) {
		buf_addstr(b, s);
		return;
	}
	buf_addch(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_addstr(b, "'\\''");
		else
			buf_addch(b, *s);
	buf_addch(b, '\'');
}

/* A shell word in double quotes when that needs no escaping, else as sh_add. */
static void sh_add_dq(struct buf *b, const char *s)
{
	if (strpbrk(s, "\"$`\\!")) {
		sh_add(b, s);
		return;
	}
	buf_addf(b, "\"%s\"", s);
}

/* A SQL string literal (role names and databases in the runbook's queries). */
/* An SQL literal; the names quoted here already passed the role SQL's own check. */
static void sql_lit(struct buf *b, const char *s)
{
	struct diag ignore = DIAG_INIT;
	sql_quote_literal(s, b, &ignore);
	diag_release(&ignore);
}

/* The file name for a database's SQL: only [A-Za-z0-9_.-], never hidden. */
char *branch_sql_name(const char *db)
{
	struct buf b = BUF_INIT;
	for (const char *c = db; *c; c++) {
		int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			 *c == '_' || *c == '-' || (*c == '.' && c != db);
		buf_addch(&b, ok ? *c : '_');
	}
	if (!b.len)
		buf_addch(&b, '_');
	return buf_detach(&b, NULL);
}

/* --- facts the documents need --- */

/* Where the runbook reaches a database's server from. */
struct server_ref {
	const char *service; /* a compose service, or NULL */
	const char *host;
	int port;
	const char *admin;
	char hostbuf[256];   /* host of a "host:port" server name */
};

/* server: the role's server (plan_role.server) when the plan has several, else NULL. */
static void server_for(const struct plan *plan, const char *server, const char *db, struct server_ref *out)
{
	memset(out, 0, sizeof(*out));
	out->admin = "postgres";
	out->port = 5432;
	if (server && plan->nservers > 1) {
		const struct service *svc = compose_service(plan->project, server);
		if (!svc) {
			/* a host the DSNs name, "host" or "host:port" */
			const char *colon = strrchr(server, ':');
			int port;
			if (colon && (size_t)(colon - server) < sizeof(out->hostbuf) &&
			    num_parse_int(colon + 1, 1, 65535, &port) == NUM_OK) {
				memcpy(out->hostbuf, server, (size_t)(colon - server));
				out->hostbuf[colon - server] = '\0';
				out->host = out->hostbuf;
				out->port = port;
			} else {
				out->host = server;
			}
			return;
		}
		out->host = server;
	}
	for (size_t i = 0; i < plan->nservices && !out->host; i++)
		for (size_t k = 0; k < plan->services[i].nconns && !out->host; k++) {
			const struct plan_conn *pc = &plan->services[i].conns[k];
			if (pc->database && !strcmp(pc->database, db) && pc->host && *pc->host) {
				out->host = pc->host;
				out->port = pc->port > 0 ? pc->port : 5432;
			}
		}
	if (!out->host)
		out->host = "localhost";
	const struct service *svc = compose_service(plan->project, out->host);
	if (svc) {
		const struct env_entry *u = service_env(svc, "POSTGRES_USER");
		out->service = svc->name;
		if (u && u->value && *u->value)
			out->admin = u->value;
	}
}

/* psql as the superuser in db, with extra arguments (already shell words). */
static void psql_admin(struct buf *b, const struct server_ref *sv, const char *db, int tty,
		       const char *args)
{
	if (sv->service) {
		buf_addstr(b, tty ? "docker compose exec " : "docker compose exec -T ");
		sh_add(b, sv->service);
		buf_addstr(b, " psql -U ");
		sh_add(b, sv->admin);
		buf_addstr(b, " -d ");
		sh_add(b, db);
	} else {
		struct buf conn = BUF_INIT;
		buf_addf(&conn, "host=%s port=%d dbname=%s user=%s", sv->host, sv->port, db, sv->admin);
		buf_addstr(b, "psql ");
		sh_add(b, conn.buf);
		buf_release(&conn);
	}
	buf_addf(b, " %s", args);
}

static const char *first_db(const struct plan_role *r)
{
	return r->ndatabases ? r->databases[0] : "postgres";
}

/*
 * The other services whose rewritten values share a literal with svc's,
 * as "a, b" (empty when none): one edit moves them all.
 */
static void sharing(const struct rewrite *rw, const char *svc, struct buf *out)
{
	for (size_t i = 0; i < rw->ntargets; i++) {
		const struct rewrite_target *t = &rw->targets[i];
		if (strcmp(t->service, svc))
			continue;
		for (size_t k = 0; k < rw->ntargets; k++) {
			const struct rewrite_target *o = &rw->targets[k];
			if (!strcmp(o->service, svc) || o->start != t->start ||
			    strcmp(o->file->path, t->file->path))
				continue;
			int seen = 0;
			for (size_t j = 0; j < k && !seen; j++)
				seen = !strcmp(rw->targets[j].service, o->service) &&
				       rw->targets[j].start == o->start &&
				       !strcmp(rw->targets[j].file->path, o->file->path);
			char *needle = xstrfmt(", %s,", o->service), *hay = xstrfmt(", %s,", out->buf);
			if (!seen && !strstr(hay, needle))
				buf_addf(out, "%s%s", out->len ? ", " : "", o->service);
			free(needle);
			free(hay);
		}
	}
}

size_t branch_count_flips(const struct plan *plan)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->nservices; i++)
		n += plan->services[i].action == ACTION_FLIP;
	return n;
}

static int left_out_file(const struct branch_doc *doc, const struct srcfile *f)
{
	for (size_t i = 0; i < doc->nleft_out; i++)
		if (!strcmp(doc->left_out[i].file, f->display))
			return 1;
	return 0;
}

/* --- the runbook --- */

static void add_roles(struct tvars *v, const struct plan *plan)
{
	struct buf list = BUF_INIT;
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		struct tvars *row = tvars_add_row(v, "roles");
		struct buf dbs = BUF_INIT, svcs = BUF_INIT, set = BUF_INIT;
		for (size_t k = 0; k < r->ndatabases; k++)
			buf_addf(&dbs, "%s%s", k ? ", " : "", r->databases[k]);
		if (plan->nservers > 1)
			buf_addf(&dbs, " (on server %s)", plan_server_label(r->server));
		for (size_t k = 0; k < r->nservices; k++)
			buf_addf(&svcs, "%s%s", k ? ", " : "", r->services[k]);
		if (r->held)
			buf_addstr(&svcs, " (held: prepared only)");
		for (size_t k = 0; k < r->nsettings; k++)
			buf_addf(&set, "%s%s=%s", k ? ", " : "", r->settings[k].key, r->settings[k].value);
		set_md(row, "name", r->name);
		set_md(row, "kind", role_kind_name(r->kind));
		set_md(row, "databases", dbs.buf);
		tvars_setf(row, "limit", "%d", r->connection_limit);
		set_md(row, "services", svcs.buf);
		set_md(row, "settings", set.len ? set.buf : "-");
		buf_release(&dbs);
		buf_release(&svcs);
		buf_release(&set);
		if (list.len)
			buf_addstr(&list, ", ");
		sql_lit(&list, r->name);
	}
	tvars_set(v, "role_list", list.len ? list.buf : "''");
	buf_release(&list);
	/* Each server answers for its own sessions: the check runs on each. */
	struct buf where = BUF_INIT;
	if (plan->nservers > 1) {
		buf_addstr(&where, ", on each server the roles are on (each answers for its own "
			   "sessions only):");
		for (size_t j = 0; j < plan->nservers; j++) {
			buf_addf(&where, "%s %s (", j ? ";" : "", plan_server_label(plan->servers[j]));
			int first = 1;
			for (size_t i = 0; i < plan->nroles; i++)
				if ((plan->roles[i].server && plan->servers[j] &&
				     !strcmp(plan->roles[i].server, plan->servers[j])) ||
				    (!plan->roles[i].server && !plan->servers[j])) {
					buf_addf(&where, "%s%s", first ? "" : ", ", plan->roles[i].name);
					first = 0;
				}
			buf_addch(&where, ')');
		}
	}
	set_md(v, "servers_check", where.len ? where.buf : "");
	buf_release(&where);
}

static void add_budget(struct tvars *v, const struct plan *plan)
{
	const struct plan_server *sv = &plan->server;
	const struct plan_budget *b = &plan->budget;
	tvars_setf(v, "budget_line", "Planned: **%d** connections of **%d** available (max_connections "
		   "%d, minus %d reserved, minus %d headroom for administrators; %s figures): %s.",
		   b->planned, b->available, sv->max_connections, sv->superuser_reserved + sv->reserved,
		   sv->headroom, !strcmp(sv->source, "live") ? "the live server's" :
		   !strcmp(sv->source, "config") ? "dsnflip.yml's" : "PostgreSQL's default",
		   b->ok ? "within the budget" : "**over the budget**");
	if (plan->nservers > 1) {
		/* Each server has its own max_connections: one line each. */
		struct buf line = BUF_INIT;
		for (size_t i = 0; i < plan->nbudgets; i++) {
			const struct plan_budget *o = &plan->budgets[i];
			buf_addf(&line, "%sServer %s: planned **%d** connections of **%d** available (%s figures): %s.",
				 i ? " " : "", plan_server_label(o->server), o->planned, o->available,
				 o->source && !strcmp(o->source, "live") ? "the live server's" :
				 o->source && !strcmp(o->source, "config") ? "dsnflip.yml's" : "PostgreSQL's default",
				 o->ok ? "within the budget" : "**over the budget**");
		}
		set_md(v, "budget_line", line.buf);
		buf_release(&line);
		for (size_t i = 0; i < plan->nbudgets; i++)
			for (size_t k = 0; k < plan->budgets[i].nrows; k++) {
				const struct budget_row *br = &plan->budgets[i].rows[k];
				struct tvars *row = tvars_add_row(v, "budget");
				char *who = xstrfmt("%s (server %s)", br->role, plan_server_label(plan->budgets[i].server));
				set_md(row, "role", who);
				free(who);
				if (br->limit < 0)
					tvars_set(row, "limit", "unlimited");
				else
					tvars_setf(row, "limit", "%d", br->limit);
				set_md(row, "source", !strcmp(br->source, "plan") ? "this plan" : "existing role");
			}
		return;
	}
	for (size_t i = 0; i < b->nrows; i++) {
		struct tvars *row = tvars_add_row(v, "budget");
		set_md(row, "role", b->rows[i].role);
		if (b->rows[i].limit < 0)
			tvars_set(row, "limit", "unlimited");
		else
			tvars_setf(row, "limit", "%d", b->rows[i].limit);
		set_md(row, "source", !strcmp(b->rows[i].source, "plan") ? "this plan" : "existing role");
	}
}

static void add_services(struct tvars *v, const struct plan *plan, const struct rewrite *rw,
			 const struct branch_doc *doc)
{
	size_t n = 0;
	for (size_t i = 0; i < plan->norder; i++) {
		const struct plan_service *ps = plan_service(plan, plan->order[i]);
		if (!ps || ps->action != ACTION_FLIP)
			continue;
		const struct plan_role *r = plan_role(plan, ps->role);
		struct tvars *row = tvars_add_row(v, "flipped"), *step = tvars_add_row(v, "steps");
		struct buf where = BUF_INIT, edits = BUF_INIT, check = BUF_INIT;
		n++;
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *pc = &ps->conns[k];
			char *at = xstrfmt("%s:%d", pc->defined_file, pc->defined_line);
			if (pc->superuser && !strstr(where.buf, at))
				buf_addf(&where, "%s%s", where.len ? ", " : "", at);
			free(at);
		}
		tvars_setf(row, "n", "%zu", n);
		set_md(row, "service", ps->name);
		set_md(row, "class", class_name(ps->cls));
		set_md(row, "role", ps->role);
		set_md(row, "where", where.buf);
		tvars_setf(step, "n", "%zu", n);
		tvars_set(step, "service", ps->name);
		tvars_set(step, "role", ps->role);
		for (size_t t = 0; t < rw->ntargets; t++) {
			const struct rewrite_target *tg = &rw->targets[t];
			if (strcmp(tg->service, ps->name))
				continue;
			buf_addf(&edits, "%s`%s` at `%s:%d`%s", edits.len ? ", " : "", tg->key,
				 tg->file->display, tg->line,
				 left_out_file(doc, tg->file) ? " (by hand: not in this commit)" : "");
		}
		tvars_set(step, "edits", edits.len ? edits.buf : "nothing (see above)");
		struct buf others = BUF_INIT;
		sharing(rw, ps->name, &others);
		if (others.len)
			tvars_set(tvars_add_row(step, "shared_with"), "others", others.buf);
		buf_release(&others);
		const char *db = r ? first_db(r) : "postgres";
		struct server_ref sv;
		struct buf q = BUF_INIT, sql = BUF_INIT;
		server_for(plan, r ? r->server : NULL, db, &sv);
		buf_addstr(&sql, "SELECT usename, count(*) FROM pg_stat_activity WHERE datname = ");
		sql_lit(&sql, db);
		buf_addstr(&sql, " AND backend_type = 'client backend' GROUP BY 1 ORDER BY 1");
		buf_addstr(&q, "-c ");
		sh_add_dq(&q, sql.buf);
		buf_addf(&check, "On the server, `%s` should now have sessions (at most %d in all), and "
			 "%s none as the superuser:\n\n```sh\n", ps->role, r ? r->connection_limit : 0,
			 ps->name);
		psql_admin(&check, &sv, db, 0, q.buf);
		buf_addstr(&check, "\n```");
		tvars_set(step, "check", check.buf);
		buf_release(&q);
		buf_release(&sql);
		buf_release(&where);
		buf_release(&edits);
		buf_release(&check);
	}
	tvars_setf(v, "nflip", "%zu", n);
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (ps->action != ACTION_HOLD)
			continue;
		struct tvars *row = tvars_add_row(v, "held");
		tvars_set(row, "service", ps->name);
		tvars_set(row, "class", class_name(ps->cls));
		tvars_set(row, "reason", ps->reason ? ps->reason : "its class is not settled");
		tvars_set(row, "role", ps->role ? ps->role : "-");
	}
	/* One paragraph per literal that several services share. */
	for (size_t i = 0; i < rw->ntargets; i++) {
		const struct rewrite_target *t = &rw->targets[i];
		struct buf names = BUF_INIT;
		size_t nn = 0;
		int first = 1;
		for (size_t k = 0; k < rw->ntargets && first; k++)
			if (k < i && rw->targets[k].start == t->start &&
			    !strcmp(rw->targets[k].file->path, t->file->path))
				first = 0;
		if (!first)
			continue;
		for (size_t k = i; k < rw->ntargets; k++) {
			const struct rewrite_target *o = &rw->targets[k];
			if (o->start != t->start || strcmp(o->file->path, t->file->path))
				continue;
			char *b = xstrfmt("**%s**", o->service);
			if (!strstr(names.buf, b)) {
				buf_addf(&names, "%s%s", nn ? ", " : "", b);
				nn++;
			}
			free(b);
		}
		if (nn > 1) {
			struct buf text = BUF_INIT;
			char *last = strrchr(names.buf, ',');
			if (last) { /* "a, b, c" -> "a, b and c" */
				char *tail = xstrdup(last + 1);
				buf_setlen(&names, (size_t)(last - names.buf));
				buf_addf(&names, " and%s", tail);
				free(tail);
			}
			buf_addf(&text, "%s read `%s` from one literal at `%s:%d` (an anchor, an `extends` "
				 "base or a shared env_file), which can name only one user: the one edit moves "
				 "them all to `%s`.", names.buf, t->key, t->file->display, t->line, t->role);
			tvars_set(tvars_add_row(v, "shared"), "text", text.buf);
			buf_release(&text);
		}
		buf_release(&names);
	}
}

static void add_server_steps(struct tvars *v, const struct plan *plan)
{
	/* Per server and database: a stack with two servers has SQL for each. */
	size_t nsv = plan->nservers ? plan->nservers : 1;
	for (size_t j = 0; j < nsv; j++) {
		const char *server = plan->nservers ? plan->servers[j] : NULL;
		struct plan view;
		struct strvec dbv = STRVEC_INIT;
		plan_view_server(plan, server, &view);
		rolesql_databases(&view, &dbv);
		for (size_t i = 0; i < dbv.nr; i++) {
			struct server_ref sv;
			struct buf cmd = BUF_INIT, args = BUF_INIT;
			char *file = rolesql_file(plan->nservers > 1 ? plan_server_label(server) : NULL, dbv.v[i]);
			server_for(plan, server, dbv.v[i], &sv);
			buf_addstr(&args, "-v ON_ERROR_STOP=1 -f ");
			if (sv.service)
				buf_addstr(&args, "- < ");
			buf_addstr(&args, file);
			psql_admin(&cmd, &sv, dbv.v[i], 0, args.buf);
			struct tvars *row = tvars_add_row(v, "databases");
			tvars_set(row, "command", cmd.buf);
			buf_release(&cmd);
			buf_release(&args);
			free(file);
		}
		strvec_clear(&dbv);
		plan_view_release(&view);
	}
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		struct server_ref sv;
		struct buf cmd = BUF_INIT, args = BUF_INIT, meta = BUF_INIT;
		char *var = secrets_var_name(r->name);
		const char *db = first_db(r);
		server_for(plan, r->server, db, &sv);
		buf_addf(&meta, "\\password %s", r->name);
		buf_addstr(&args, "-c ");
		sh_add(&args, meta.buf);
		buf_addf(&cmd, "# paste the value of %s\n", var);
		psql_admin(&cmd, &sv, db, 1, args.buf);
		tvars_set(tvars_add_row(v, "passwords"), "command", cmd.buf);
		buf_reset(&cmd);
		buf_addf(&cmd, "PGPASSWORD=\"$%s\" ", var);
		if (sv.service) {
			buf_addstr(&cmd, "docker compose exec -T -e PGPASSWORD ");
			sh_add(&cmd, sv.service);
			buf_addstr(&cmd, " psql -h 127.0.0.1 -U ");
			sh_add(&cmd, r->name);
			buf_addstr(&cmd, " -d ");
			sh_add(&cmd, db);
		} else {
			struct buf conn = BUF_INIT;
			buf_addf(&conn, "host=%s port=%d dbname=%s user=%s", sv.host, sv.port, db, r->name);
			buf_addstr(&cmd, "psql ");
			sh_add(&cmd, conn.buf);
			buf_release(&conn);
		}
		buf_addstr(&cmd, " -c 'SELECT current_user'");
		tvars_set(tvars_add_row(v, "logins"), "command", cmd.buf);
		buf_release(&cmd);
		buf_release(&args);
		buf_release(&meta);
		free(var);
	}
}

int branch_runbook(const struct branch_doc *doc, const char *templates_dir, struct buf *out,
		   struct diag *d)
{
	const struct plan *plan = doc->s->plan;
	struct tvars *v = tvars_new();
	char *path = xstrfmt("%s/runbook.md.tmpl", templates_dir);
	int r;

	tvars_set(v, "project", plan->project_name);
	tvars_set(v, "plan_path", PLAN_JSON_FILE);
	{
		/* "~/..." stays unquoted so the shell expands it; the rest is one word. */
		const char *shown = doc->secrets_shown ? doc->secrets_shown : "~/.local/state/dsnflip/secrets.env";
		struct buf sh = BUF_INIT;
		set_md(v, "secrets_path", shown);
		if (!strncmp(shown, "~/", 2)) {
			buf_addstr(&sh, "~/");
			sh_add(&sh, shown + 2);
		} else {
			sh_add(&sh, shown);
		}
		tvars_set(v, "secrets_shell", sh.buf);
		buf_release(&sh);
	}
	add_services(v, plan, doc->rw, doc);
	add_roles(v, plan);
	add_budget(v, plan);
	for (size_t i = 0; i < plan->warnings.nr; i++)
		set_md(tvars_add_row(v, "warnings"), "text", plan->warnings.v[i]);

	struct buf changed = BUF_INIT;
	for (size_t i = 0; doc->changed && i < doc->changed->nr; i++) {
		struct tvars *row = tvars_add_row(v, "files");
		tvars_set(row, "path", doc->changed->v[i]);
		tvars_set(row, "what", "the connections' users and passwords (see the steps)");
		buf_addf(&changed, "%s", changed.len ? " " : "");
		sh_add(&changed, doc->changed->v[i]);
	}
	for (size_t j = 0; j < (plan->nservers ? plan->nservers : 1); j++) {
		const char *server = plan->nservers ? plan->servers[j] : NULL;
		struct plan view;
		struct strvec dbv = STRVEC_INIT;
		plan_view_server(plan, server, &view);
		rolesql_databases(&view, &dbv);
		for (size_t i = 0; i < dbv.nr; i++) {
			struct tvars *row = tvars_add_row(v, "files");
			char *file = rolesql_file(plan->nservers > 1 ? plan_server_label(server) : NULL, dbv.v[i]);
			tvars_set(row, "path", file);
			if (plan->nservers > 1)
				tvars_setf(row, "what", "the role SQL for database %s on server %s (step 1)", dbv.v[i],
					   plan_server_label(server));
			else
				tvars_setf(row, "what", "the role SQL for database %s (step 1)", dbv.v[i]);
			free(file);
		}
		strvec_clear(&dbv);
		plan_view_release(&view);
	}
	struct tvars *row = tvars_add_row(v, "files");
	tvars_set(row, "path", BRANCH_RUNBOOK_PATH);
	tvars_set(row, "what", "this runbook");
	row = tvars_add_row(v, "files");
	tvars_set(row, "path", PLAN_JSON_FILE);
	tvars_set(row, "what", "the plan this runbook follows, as JSON");
	tvars_set(v, "changed_files", changed.len ? changed.buf : ".");
	buf_release(&changed);

	for (size_t i = 0; i < doc->nleft_out; i++) {
		const struct branch_left_out *lo = &doc->left_out[i];
		struct tvars *u = tvars_add_row(v, "untracked");
		tvars_set(u, "file", lo->file);
		tvars_set(u, "why", lo->why);
		for (size_t k = 0; k < lo->nlines; k++) {
			struct tvars *ln = tvars_add_row(u, "lines");
			tvars_setf(ln, "line", "%d", lo->lines[k].line);
			tvars_set(ln, "key", lo->lines[k].keys);
			tvars_set(ln, "services", lo->lines[k].services);
			tvars_set(ln, "text", lo->lines[k].text);
		}
		if (doc->env_ignored && !strcmp(path_basename(lo->file), ".env"))
			tvars_set(u, "order_note", "compose reads `.env` from the top and a reference "
				  "sees only the lines above it, so move each edited line below the "
				  "dsnflip password block at the end of `.env` (or set the password "
				  "variables in the environment).");
	}
	tvars_set(v, "untracked_rollback", doc->nleft_out ? "Put back the copies you kept of the "
		  "files that are not in this commit, too." : "");
	for (size_t i = 0; i < doc->rw->notes.nr; i++)
		tvars_set(tvars_add_row(v, "notes"), "text", doc->rw->notes.v[i]);
	tvars_set(v, "env_note", doc->env_ignored
		  ? "Git ignores `.env` in this project, so `dsnflip branch` also added them at the end "
		    "of `.env` on the machine where it ran (no existing line moved)."
		  : "Git does not ignore `.env` in this project, so dsnflip did not write them there: "
		    "keep them out of every file git tracks.");
	add_server_steps(v, plan);
	r = template_render_file(path, v, out, d);
	free(path);
	tvars_free(v);
	return r;
}

/* --- the commit message --- */

void branch_message(const struct branch_doc *doc, struct buf *out)
{
	const struct plan *plan = doc->s->plan;
	size_t nflip = branch_count_flips(plan), nroles = 0, w[3] = { 7, 5, 6 };
	for (size_t i = 0; i < plan->nroles; i++)
		nroles += !plan->roles[i].held;
	buf_addf(out, "dsnflip: move %zu service%s off the superuser (%zu role%s)\n\n", nflip,
		 nflip == 1 ? "" : "s", nroles, nroles == 1 ? "" : "s");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		size_t a = strlen(ps->name), b = strlen(class_name(ps->cls)), c = strlen(action_name(ps->action));
		w[0] = a > w[0] ? a : w[0];
		w[1] = b > w[1] ? b : w[1];
		w[2] = c > w[2] ? c : w[2];
	}
	buf_addf(out, "%-*s  %-*s  %-*s  role\n", (int)w[0], "service", (int)w[1], "class", (int)w[2],
		 "action");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		const char *role = ps->action == ACTION_FLIP ? ps->role
				 : ps->action == ACTION_HOLD ? "(stays on the superuser)" : "-";
		buf_addf(out, "%-*s  %-*s  %-*s  %s\n", (int)w[0], ps->name, (int)w[1], class_name(ps->cls),
			 (int)w[2], action_name(ps->action), role ? role : "-");
	}
	buf_addstr(out, "\norder: ");
	for (size_t i = 0; i < plan->norder; i++)
		buf_addf(out, "%s%s", i ? ", " : "", plan->order[i]);
	buf_addf(out, "\nbudget: %d of %d connections (%s)\n", plan->budget.planned,
		 plan->budget.available, plan->server.source);
	for (size_t i = 0; i < doc->nleft_out; i++)
		buf_addf(out, "not in this commit: %s (%s); see %s\n", doc->left_out[i].file,
			 doc->left_out[i].why, BRANCH_RUNBOOK_PATH);
	buf_addf(out, "\nSteps: %s. Role passwords are not in git.\n", BRANCH_RUNBOOK_PATH);
}


/*
 * branch: the artifacts of `dsnflip branch` and the order of its writes
 * (see branch.h).
 */
#include "artifacts/branch.h"
#include "artifacts/gitops.h"
#include "artifacts/mirror.h"
#include "util/fs.h"
#include "util/path.h"
#include "stack/envfile.h"
#include "plan/plan_json.h"
#include "plan/report.h"
#include "artifacts/rolesql.h"
#include "artifacts/secrets.h"
#include "artifacts/template.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQL_DIR "sql/dsnflip"
#define RUNBOOK_PATH "docs/dsnflip-runbook.md"
#define PLAN_PATH PLAN_JSON_FILE
#define MAX_DATABASES 256
#define DOTENV_MARK "# dsnflip: role passwords; git ignores this file, keep it that way"

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
static void sql_lit(struct buf *b, const char *s)
{
	buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_addch(b, '\'');
		buf_addch(b, *s);
	}
	buf_addch(b, '\'');
}

/* The file name for a database's SQL: only [A-Za-z0-9_.-], never hidden. */
static char *sql_name(const char *db)
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
};

static void server_for(const struct plan *plan, const char *db, struct server_ref *out)
{
	memset(out, 0, sizeof(*out));
	out->admin = "postgres";
	out->port = 5432;
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

static size_t count_flips(const struct plan *plan)
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
		server_for(plan, db, &sv);
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
	const char *dbs[MAX_DATABASES];
	size_t n = rolesql_databases(plan, dbs, MAX_DATABASES);
	for (size_t i = 0; i < n && i < MAX_DATABASES; i++) {
		struct server_ref sv;
		struct buf cmd = BUF_INIT, args = BUF_INIT;
		char *file = sql_name(dbs[i]);
		server_for(plan, dbs[i], &sv);
		buf_addstr(&args, "-v ON_ERROR_STOP=1 -f ");
		if (sv.service)
			buf_addstr(&args, "- < ");
		buf_addf(&args, "%s/%s.sql", SQL_DIR, file);
		psql_admin(&cmd, &sv, dbs[i], 0, args.buf);
		tvars_set(tvars_add_row(v, "databases"), "command", cmd.buf);
		buf_release(&cmd);
		buf_release(&args);
		free(file);
	}
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		struct server_ref sv;
		struct buf cmd = BUF_INIT, args = BUF_INIT, meta = BUF_INIT;
		char *var = secrets_var_name(r->name);
		const char *db = first_db(r);
		server_for(plan, db, &sv);
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
	tvars_set(v, "plan_path", PLAN_PATH);
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
	const char *dbs[MAX_DATABASES];
	size_t ndb = rolesql_databases(plan, dbs, MAX_DATABASES);
	for (size_t i = 0; i < ndb && i < MAX_DATABASES; i++) {
		struct tvars *row = tvars_add_row(v, "files");
		char *file = sql_name(dbs[i]);
		tvars_setf(row, "path", "%s/%s.sql", SQL_DIR, file);
		tvars_setf(row, "what", "the role SQL for database %s (step 1)", dbs[i]);
		free(file);
	}
	struct tvars *row = tvars_add_row(v, "files");
	tvars_set(row, "path", RUNBOOK_PATH);
	tvars_set(row, "what", "this runbook");
	row = tvars_add_row(v, "files");
	tvars_set(row, "path", PLAN_PATH);
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
	size_t nflip = count_flips(plan), nroles = 0, w[3] = { 7, 5, 6 };
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
			 doc->left_out[i].why, RUNBOOK_PATH);
	buf_addf(out, "\nSteps: %s. Role passwords are not in git.\n", RUNBOOK_PATH);
}

/* --- .env --- */

/*
 * Set the role passwords (keys/values) in the .env at path through the
 * envfile grammar: a password already there is replaced in place, a new
 * one is added at the end, below DOTENV_MARK; no existing line moves, so
 * every file:line the plan records stays true and a re-run changes
 * nothing.  Written atomically; *changed says whether the file changed.
 * The passwords pass only through memory wiped afterwards.  The file is
 * private (0600, or the owner's own bits plus read and write).
 */
static int write_dotenv(const char *path, const char *const *keys, const char *const *values,
			size_t n, int *changed, struct diag *d)
{
	struct buf neu = BUF_INIT;
	struct stat st = { 0 };
	mode_t mode = 0600;
	size_t len = 0;
	char *old = NULL;
	int ret = -1;

	*changed = 0;
	if (!stat(path, &st)) {
		old = read_file(path, &len);
		if (!old) {
			diag_fail(d, "cannot read %s: %s", path, strerror(errno));
			goto cleanup;
		}
		/* The file now holds passwords: group and others lose their bits. */
		mode = (st.st_mode & S_IRWXU) | S_IRUSR | S_IWUSR;
	} else if (errno != ENOENT) {
		diag_fail(d, "cannot read %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (envfile_set(path, old ? old : "", len, keys, values, n, DOTENV_MARK, &neu, d)) {
		d->code = EXIT_FAILED;
		goto cleanup;
	}
	if (old && neu.len == len && !memcmp(neu.buf, old, len)) {
		/* Already holds these passwords: still make it private. */
		if ((st.st_mode & (S_IRWXG | S_IRWXO)) && chmod(path, mode)) {
			diag_fail(d, "cannot make %s private (chmod %o): %s", path, (unsigned)mode,
				  strerror(errno));
			goto cleanup;
		}
		ret = 0;
		goto cleanup;
	}
	if (fs_write_atomic(path, neu.buf, neu.len, mode, d))
		goto cleanup;
	*changed = 1;
	ret = 0;
cleanup:
	if (old) {
		explicit_bzero(old, len);
		free(old);
	}
	explicit_bzero(neu.buf, neu.len);
	buf_release(&neu);
	return ret;
}

/* --- the run --- */

static void add_file(struct strvec *paths, struct strvec *what, struct buf *datas, size_t *lens,
		     size_t *n, const char *path, const char *w, const char *data, size_t len)
{
	strvec_push(paths, path);
	strvec_push(what, w);
	buf_init(&datas[*n]);
	buf_add(&datas[*n], data, len);
	lens[*n] = len;
	(*n)++;
}

/* The project directory relative to the work tree: "" or "dir/" */
static char *project_prefix(struct gitrepo *repo, const char *dir)
{
	char *probe = xstrfmt("%s/x", dir), *rel = gitrepo_relpath(repo, probe);
	free(probe);
	if (!rel)
		return NULL;
	rel[strlen(rel) - 1] = '\0';
	return rel;
}

/* A work-tree path (rel) as seen from the project directory (prefix "" or "dir/"). */
static char *from_project(const char *prefix, const char *rel)
{
	size_t n = strlen(prefix);
	if (!strncmp(rel, prefix, n))
		return xstrdup(rel + n);
	struct buf b = BUF_INIT;
	for (const char *c = prefix; *c; c++)
		if (*c == '/')
			buf_addstr(&b, "../");
	buf_addstr(&b, rel);
	return buf_detach(&b, NULL);
}

/* The edited lines of a file left out of the commit. */
static void left_out_lines(struct branch_left_out *lo, const struct rewrite *rw,
			   const struct rewrite_file *rf)
{
	for (size_t i = 0; i < rw->ntargets; i++) {
		const struct rewrite_target *t = &rw->targets[i];
		if (strcmp(t->file->path, rf->src->path))
			continue;
		struct branch_line *bl = NULL;
		for (size_t k = 0; k < lo->nlines; k++)
			if (lo->lines[k].line == t->line)
				bl = &lo->lines[k];
		if (!bl) {
			lo->lines = xrealloc(lo->lines, (lo->nlines + 1) * sizeof(*lo->lines));
			bl = &lo->lines[lo->nlines++];
			memset(bl, 0, sizeof(*bl));
			bl->line = t->line;
			/* The line as it is after the edit (edits never add or remove lines). */
			const char *p = rf->data, *end = rf->data + rf->len;
			for (int l = 1; l < t->line && p < end; l++) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				p = nl ? nl + 1 : end;
			}
			const char *e = memchr(p, '\n', (size_t)(end - p));
			size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
			while (n && p[n - 1] == '\r')
				n--;
			bl->text = xstrndup(p, n);
			bl->keys = xstrdup(t->key);
			bl->services = xstrdup(t->service);
			continue;
		}
		if (!strstr(bl->keys, t->key)) {
			char *k = xstrfmt("%s, %s", bl->keys, t->key);
			free(bl->keys);
			bl->keys = k;
		}
		if (!strstr(bl->services, t->service)) {
			char *s = xstrfmt("%s, %s", bl->services, t->service);
			free(bl->services);
			bl->services = s;
		}
	}
}

static char *committed_plan_text(const struct plan *plan, const struct branch_left_out *lo, size_t nlo)
{
	json_t *root = plan_to_json(plan), *w = json_object_get(root, "warnings");
	for (size_t i = 0; w && i < nlo; i++)
		for (size_t k = 0; k < lo[i].nlines; k++) {
			char *msg = xstrfmt("%s:%d: %s for %s is in %s, which git does not track (%s): "
					    "this branch does not change it; edit it by hand as %s says",
					    lo[i].file, lo[i].lines[k].line, lo[i].lines[k].keys,
					    lo[i].lines[k].services, lo[i].file, lo[i].why, RUNBOOK_PATH);
			json_array_append_new(w, json_string(msg));
			free(msg);
		}
	struct buf t = BUF_INIT;
	plan_json_text(root, &t);
	json_decref(root);
	return buf_detach(&t, NULL);
}

int branch_run(const struct branch_stack *s, const struct branch_opts *o, struct branch_result *out,
	       struct diag *d)
{
	const struct plan *plan = s->plan;
	const struct compose_project *p = s->project;
	struct gitrepo *repo = NULL;
	struct rewrite rw = REWRITE_INIT;
	struct secrets *sec = NULL;
	struct strvec paths = STRVEC_INIT, changed = STRVEC_INIT, seen = STRVEC_INIT,
		      envvars = STRVEC_INIT;
	struct buf *datas = NULL, text = BUF_INIT, runbook = BUF_INIT, msg = BUF_INIT;
	size_t *lens = NULL, nfiles = 0, cap;
	struct arena a = ARENA_INIT;
	char *prefix = NULL, *tdir = NULL, *dotenv_rel = NULL;
	int exists = 0, ret = -1;

	memset(out, 0, sizeof(*out));
	out->branch = xstrdup(o->name ? o->name : BRANCH_DEFAULT_NAME);

	/* Refusals first: nothing below writes until every check has passed. */
	if (gitrepo_open(p->dir, &repo, d) || gitrepo_set_base(repo, o->base, d) ||
	    gitrepo_check_branch(repo, out->branch, o->force, &exists, d) ||
	    gitrepo_check_identity(repo, d))
		goto cleanup;
	out->replaced = exists;
	out->base_name = xstrdup(gitrepo_base_name(repo));
	out->base_id = xstrdup(gitrepo_base_id(repo));
	if (!count_flips(plan)) {
		diag_err(d, "nothing to flip: no service both connects as a superuser and has a settled "
			 "class (see 'dsnflip plan')");
		goto cleanup;
	}
	/* A flip that cannot be made says why in its own words (the plan blocks on it too). */
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++) {
			const struct plan_flip *fl = plan->services[i].conns[k].flip;
			if (plan->services[i].action == ACTION_FLIP && fl && fl->blocked) {
				diag_err(d, "%s", fl->blocked);
				goto cleanup;
			}
		}
	if (plan->blocking) {
		diag_err(d, "the plan has a blocking warning: run 'dsnflip plan', resolve it, then re-run");
		goto cleanup;
	}
	if (!plan->budget.ok) {
		diag_err(d, "the plan needs %d connections but only %d are available: raise "
			 "max_connections or lower the limits in dsnflip.yml first ('dsnflip plan')",
			 plan->budget.planned, plan->budget.available);
		goto cleanup;
	}
	if (rewrite_compute(plan, &rw, d) || rewrite_verify(&rw, p, o->compose, d))
		goto cleanup;
	prefix = project_prefix(repo, p->dir);
	if (!prefix) {
		diag_err(d, "the project directory is outside the repository at %s", gitrepo_workdir(repo));
		goto cleanup;
	}

	cap = rw.nfiles + MAX_DATABASES + 2;
	datas = xcalloc(cap, sizeof(*datas));
	lens = xcalloc(cap, sizeof(*lens));

	/* The rewritten files: committed if tracked and unchanged from the base. */
	for (size_t i = 0; i < rw.nfiles; i++) {
		const struct rewrite_file *rf = &rw.files[i];
		const char *abs = path_absolute(&a, rf->src->path);
		char *rel = gitrepo_relpath(repo, abs);
		struct gitpath gp;
		if (!rel) {
			diag_err(d, "%s is outside the repository at %s: dsnflip can commit only files "
				 "inside it", rf->src->display, gitrepo_workdir(repo));
			goto cleanup;
		}
		strvec_push(&seen, abs);
		int r = gitrepo_path(repo, rel, rf->src->data, rf->src->len, &gp, d);
		if (!r && gp.symlink)
			r = diag_err(d, "%s is a symbolic link in git: dsnflip does not rewrite through "
				     "links; rewrite the file it points to", rf->src->display);
		else if (!r && gp.in_base && !gp.same)
			r = diag_err(d, "%s differs from %s (uncommitted changes?): dsnflip commits only "
				     "what it checked; commit or stash the changes, or pick --base",
				     rf->src->display, out->base_name);
		else if (!r && !gp.in_base && gp.in_index)
			r = diag_err(d, "%s is staged but not committed: commit it first",
				     rf->src->display);
		if (r) {
			free(rel);
			goto cleanup;
		}
		if (gp.in_base) {
			char *shown = from_project(prefix, rel);
			add_file(&paths, &out->what, datas, lens, &nfiles, rel, "rewritten connections",
				 rf->data, rf->len);
			strvec_push(&changed, shown);
			free(shown);
		} else {
			out->left_out = xrealloc(out->left_out, (out->nleft_out + 1) * sizeof(*out->left_out));
			struct branch_left_out *lo = &out->left_out[out->nleft_out++];
			memset(lo, 0, sizeof(*lo));
			lo->file = xstrdup(rf->src->display);
			lo->why = xstrdup(gp.ignored ? "git ignores it" : "it is not committed");
			left_out_lines(lo, &rw, rf);
		}
		free(rel);
	}
	/* Every other file the stack reads must be at the base as it is here. */
	for (size_t i = 0; i < p->nsources; i++) {
		const struct srcfile *f = p->sources[i];
		const char *abs = path_absolute(&a, f->path);
		struct gitpath gp;
		if (strvec_contains(&seen, abs))
			continue;
		strvec_push(&seen, abs);
		char *rel = gitrepo_relpath(repo, abs);
		if (!rel)
			continue;
		int r = gitrepo_path(repo, rel, f->data, f->len, &gp, d);
		free(rel);
		if (!r && gp.in_base && !gp.same)
			r = diag_err(d, "%s differs from %s (uncommitted changes?): the branch would hold a "
				     "different stack from the one dsnflip checked; commit or stash the "
				     "changes, or pick --base", f->display, out->base_name);
		if (r)
			goto cleanup;
	}

	/* The passwords: outside the repository, never in git. */
	out->secrets_path = secrets_path(p->name, o->environ);
	{
		char *rel = NULL, *dir = path_dirname(&a, out->secrets_path);
		const char *wd = gitrepo_workdir(repo);
		size_t n = strlen(wd);
		while (dir && !path_is_dir(dir) && strcmp(dir, "/"))
			dir = path_dirname(&a, dir);
		rel = dir ? gitrepo_relpath(repo, path_join(&a, dir, "x")) : NULL;
		if (rel || (!strncmp(out->secrets_path, wd, n) && out->secrets_path[n] == '/')) {
			free(rel);
			diag_err(d, "the secrets file %s would be inside the repository: set XDG_STATE_HOME "
				 "to a directory outside it", out->secrets_path);
			goto cleanup;
		}
	}
	if (secrets_load(out->secrets_path, &sec, d))
		goto cleanup;
	for (size_t i = 0; i < plan->nroles; i++) {
		int created = 0;
		if (secrets_ensure(sec, plan->roles[i].name, &created, d))
			goto cleanup;
		out->new_passwords += created;
	}

	/* .env: only when git ignores it (and does not track it). */
	{
		struct gitpath gp = { 0 };
		const char *env_abs = path_join(&a, p->dir, ".env");
		dotenv_rel = gitrepo_relpath(repo, env_abs);
		if (dotenv_rel && gitrepo_path(repo, dotenv_rel, "", 0, &gp, d))
			goto cleanup;
		struct stat st;
		/* Never through a symlink: the file written must be the one git ignores. */
		out->env_ignored = dotenv_rel && gp.ignored && !gp.in_base && !gp.in_index &&
				   (lstat(env_abs, &st) || S_ISREG(st.st_mode));
	}

	/* The artifacts. */
	tdir = template_dir(o->environ);
	const char *dbs[MAX_DATABASES];
	size_t ndb = rolesql_databases(plan, dbs, MAX_DATABASES);
	if (ndb > MAX_DATABASES) {
		diag_err(d, "the plan touches %zu databases; dsnflip handles at most %d", ndb, MAX_DATABASES);
		goto cleanup;
	}
	for (size_t i = 0; i < ndb; i++) {
		char *file = sql_name(dbs[i]), *rel = xstrfmt("%s%s/%s.sql", prefix, SQL_DIR, file);
		free(file);
		buf_reset(&text);
		if (strvec_contains(&paths, rel)) {
			diag_err(d, "databases %s and another both map to %s: rename one", dbs[i], rel);
			free(rel);
			goto cleanup;
		}
		if (rolesql_render(plan, s->config, dbs[i], tdir, &text, d)) {
			free(rel);
			goto cleanup;
		}
		char *what = xstrfmt("role SQL for database %s", dbs[i]);
		add_file(&paths, &out->what, datas, lens, &nfiles, rel, what, text.buf, text.len);
		free(what);
		free(rel);
	}
	struct branch_doc doc = { s, &rw, SQL_DIR, out->left_out, out->nleft_out, &changed,
				  out->env_ignored };
	if (branch_runbook(&doc, tdir, &runbook, d))
		goto cleanup;
	char *rel = xstrfmt("%s%s", prefix, RUNBOOK_PATH);
	add_file(&paths, &out->what, datas, lens, &nfiles, rel, "the runbook", runbook.buf, runbook.len);
	free(rel);
	char *json = committed_plan_text(plan, out->left_out, out->nleft_out);
	rel = xstrfmt("%s%s", prefix, PLAN_PATH);
	add_file(&paths, &out->what, datas, lens, &nfiles, rel, "the plan", json, strlen(json));
	free(rel);
	free(json);
	branch_message(&doc, &msg);
	for (size_t i = 0; i < rw.notes.nr; i++)
		strvec_push(&out->notes, rw.notes.v[i]);

	/* The writes: the secrets file, the commit, then .env. */
	if (secrets_save(sec, d))
		goto cleanup;
	struct gitfile *gf = xcalloc(nfiles, sizeof(*gf));
	for (size_t i = 0; i < nfiles; i++) {
		gf[i].path = paths.v[i];
		gf[i].data = datas[i].buf;
		gf[i].len = lens[i];
	}
	int r = gitrepo_commit(repo, out->branch, o->force, gf, nfiles, msg.buf, out->commit, out->tree, d);
	free(gf);
	if (r)
		goto cleanup;
	for (size_t i = 0; i < nfiles; i++)
		strvec_push(&out->files, paths.v[i]);
	if (out->env_ignored && rw.roles.nr) {
		const char **vals = xcalloc(rw.roles.nr, sizeof(*vals));
		size_t nv = 0;
		for (size_t i = 0; i < rw.roles.nr; i++) {
			const char *pw = secrets_get(sec, rw.roles.v[i]);
			if (!pw)
				continue;
			char *var = secrets_var_name(rw.roles.v[i]);
			strvec_push(&envvars, var);
			free(var);
			vals[nv++] = pw;
		}
		int w = write_dotenv(path_join(&a, p->dir, ".env"), (const char *const *)envvars.v, vals, nv,
				     &out->env_written, d);
		free(vals);
		if (w)
			goto cleanup;
	}
	ret = 0;
cleanup:
	for (size_t i = 0; i < envvars.nr; i++)
		explicit_bzero(envvars.v[i], strlen(envvars.v[i]));
	strvec_clear(&envvars);
	for (size_t i = 0; datas && i < nfiles; i++)
		buf_release(&datas[i]);
	free(datas);
	free(lens);
	buf_release(&text);
	buf_release(&runbook);
	buf_release(&msg);
	strvec_clear(&paths);
	strvec_clear(&changed);
	strvec_clear(&seen);
	secrets_free(sec);
	rewrite_release(&rw);
	gitrepo_free(repo);
	arena_release(&a);
	free(prefix);
	free(tdir);
	free(dotenv_rel);
	return ret;
}

void branch_result_release(struct branch_result *r)
{
	free(r->branch);
	free(r->base_name);
	free(r->base_id);
	strvec_clear(&r->files);
	strvec_clear(&r->what);
	for (size_t i = 0; i < r->nleft_out; i++) {
		for (size_t k = 0; k < r->left_out[i].nlines; k++) {
			free(r->left_out[i].lines[k].keys);
			free(r->left_out[i].lines[k].services);
			free(r->left_out[i].lines[k].text);
		}
		free(r->left_out[i].lines);
		free(r->left_out[i].file);
		free(r->left_out[i].why);
	}
	free(r->left_out);
	strvec_clear(&r->notes);
	free(r->secrets_path);
	memset(r, 0, sizeof(*r));
}

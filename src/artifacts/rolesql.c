/*
 * rolesql: sql/dsnflip/<database>.sql from the plan and templates/ (see
 * rolesql.h).
 *
 * Every decision that depends on the server's state is made by the SQL
 * when it runs (which schemas are the application's, who owns what, whether
 * TimescaleDB is there and which version); this file only decides what the
 * plan says — which roles, their kind, limits and settings, the keep list —
 * and quotes every one of those names and values on the way in.
 */
#include "artifacts/rolesql.h"
#include "stack/config.h"
#include "plan/plan.h"
#include "artifacts/sqlquote.h"
#include "artifacts/template.h"
#include "util/strmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 63 /* NAMEDATALEN - 1: PostgreSQL truncates longer names */

size_t rolesql_databases(const struct plan *plan, struct strvec *out)
{
	struct strmap seen = STRMAP_INIT;
	for (size_t i = 0; i < plan->nroles; i++)
		for (size_t k = 0; k < plan->roles[i].ndatabases; k++) {
			const char *db = plan->roles[i].databases[k];
			if (strmap_get(&seen, db))
				continue;
			strmap_put(&seen, db, (void *)db);
			strvec_push(out, db);
		}
	strmap_clear(&seen);
	return out->nr;
}

char *rolesql_file(const char *server, const char *database)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, BRANCH_SQL_DIR_PREFIX);
	if (server) {
		/* the server's name as a directory: [A-Za-z0-9_.-] only, never hidden */
		for (const char *c = server; *c; c++) {
			int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
				 *c == '_' || *c == '-' || (*c == '.' && c != server);
			buf_addch(&b, ok ? *c : '_');
		}
		buf_addch(&b, '/');
	}
	for (const char *c = database; *c; c++) {
		int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			 *c == '_' || *c == '-' || (*c == '.' && c != database);
		buf_addch(&b, ok ? *c : '_');
	}
	if (!*database)
		buf_addch(&b, '_');
	buf_addstr(&b, ".sql");
	return buf_detach(&b, NULL);
}

static int role_in_db(const struct plan_role *r, const char *db)
{
	for (size_t k = 0; k < r->ndatabases; k++)
		if (!strcmp(r->databases[k], db))
			return 1;
	return 0;
}

/* Text for an SQL comment or a message: control characters become '?'. */
static char *comment_text(const char *s)
{
	struct buf b = BUF_INIT;
	for (; *s; s++)
		buf_addch(&b, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	return buf_detach(&b, NULL);
}

/* A name dsnflip is about to put into the SQL: checked, then quoted. */
static int check_name(const char *what, const char *s, struct diag *d)
{
	char *shown = comment_text(s);
	int r = 0;
	if (!*s)
		r = diag_err(d, "%s is empty", what);
	else if (!sql_valid_utf8(s))
		r = diag_err(d, "%s '%s' is not valid UTF-8", what, shown);
	else if (strlen(s) > NAME_MAX_BYTES)
		r = diag_err(d, "%s '%s' is longer than %d bytes (PostgreSQL would truncate it)", what,
			     shown, NAME_MAX_BYTES);
	else if (strstr(s, "$dsnflip"))
		r = diag_err(d, "%s '%s' contains '$dsnflip', the dollar-quote tag of the generated SQL",
			     what, shown);
	free(shown);
	return r;
}

static int set_ident(const struct sql_quoter *q, struct tvars *v, const char *var, const char *s,
		     struct diag *d)
{
	struct buf b = BUF_INIT;
	if (q->ident(q->ctx, s, &b, d)) {
		buf_release(&b);
		return -1;
	}
	tvars_set(v, var, b.buf);
	buf_release(&b);
	return 0;
}

static int set_lit(const struct sql_quoter *q, struct tvars *v, const char *var, const char *s,
		   struct diag *d)
{
	struct buf b = BUF_INIT;
	if (q->literal(q->ctx, s, &b, d)) {
		buf_release(&b);
		return -1;
	}
	tvars_set(v, var, b.buf);
	buf_release(&b);
	return 0;
}

static void set_text(struct tvars *v, const char *var, const char *s)
{
	char *t = comment_text(s);
	tvars_set(v, var, t);
	free(t);
}

/* A role name (ident, literal, comment text) into v under prefix_ident etc. */
static int set_role_name(const struct sql_quoter *q, struct tvars *v, const char *prefix,
			 const char *name, struct diag *d)
{
	char var[64];
	if (check_name("role name", name, d))
		return -1;
	snprintf(var, sizeof(var), "%s_ident", prefix);
	if (set_ident(q, v, var, name, d))
		return -1;
	snprintf(var, sizeof(var), "%s_lit", prefix);
	if (set_lit(q, v, var, name, d))
		return -1;
	snprintf(var, sizeof(var), "%s_text", prefix);
	set_text(v, var, name);
	return 0;
}

/* A GUC name as ALTER ROLE ... SET takes it: lowercase words joined by dots. */
static int valid_setting_key(const char *k)
{
	if (!*k || *k == '.')
		return 0;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      (*p == '.' && p[1] && p[1] != '.')))
			return 0;
	return !(*k >= '0' && *k <= '9');
}

/* keep: [schema.object] as a VALUES list (or an empty relation). */
static int keep_values(const struct sql_quoter *q, const struct config *cfg, struct buf *out,
		       struct buf *text, struct diag *d)
{
	size_t n = cfg ? cfg->nkeep : 0;
	if (!n) {
		buf_addstr(out, "SELECT NULL::name, NULL::name WHERE false");
		return 0;
	}
	buf_addstr(out, "VALUES ");
	for (size_t i = 0; i < n; i++) {
		const char *e = cfg->keep[i], *dot = strchr(e, '.');
		if (!dot || dot == e || !dot[1])
			return diag_err(d, "keep entry '%s' is not schema.object", e);
		char *schema = xstrndup(e, (size_t)(dot - e));
		int r = check_name("keep entry schema", schema, d) ||
			check_name("keep entry object", dot + 1, d);
		if (!r) {
			buf_addstr(out, i ? ", (" : "(");
			r = q->literal(q->ctx, schema, out, d);
			buf_addstr(out, "::name, ");
			r = r || q->literal(q->ctx, dot + 1, out, d);
			buf_addstr(out, "::name)");
		}
		free(schema);
		if (r)
			return -1;
		if (text->len)
			buf_addstr(text, ", ");
		char *t = comment_text(e);
		buf_addstr(text, t);
		free(t);
	}
	return 0;
}

static char *render(const char *dir, const char *name, const struct tvars *v, struct diag *d)
{
	char *path = xstrfmt("%s/%s", dir, name);
	struct buf out = BUF_INIT;
	int r = template_render_file(path, v, &out, d);
	free(path);
	if (r) {
		buf_release(&out);
		return NULL;
	}
	/* Parts are embedded in others: no trailing newline of their own. */
	while (out.len && out.buf[out.len - 1] == '\n')
		buf_setlen(&out, out.len - 1);
	return buf_detach(&out, NULL);
}

/* Indent every line of s by prefix (for a query embedded in a DO block). */
static char *indent(const char *s, const char *prefix)
{
	struct buf b = BUF_INIT;
	const char *p = s;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			buf_addstr(&b, prefix);
		buf_add(&b, p, n);
		if (!nl)
			break;
		buf_addch(&b, '\n');
		p = nl + 1;
	}
	return buf_detach(&b, NULL);
}

static char *role_comment(const struct plan_role *r)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%s: %s", r->name, role_kind_name(r->kind));
	if (r->nservices) {
		buf_addstr(&b, " for ");
		for (size_t i = 0; i < r->nservices; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", r->services[i]);
	}
	buf_addf(&b, ", connection limit %d", r->connection_limit);
	if (r->held)
		buf_addstr(&b, " (prepared: its services stay on the superuser until settled)");
	char *raw = buf_detach(&b, NULL), *t = comment_text(raw);
	free(raw);
	return t;
}

/* Shell-quote s for the usage line in the header comment. */
static char *shell_text(const char *s)
{
	struct buf b = BUF_INIT;
	int plain = 1;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.' || *p == '/'))
			plain = 0;
	if (plain) {
		buf_addstr(&b, s);
	} else {
		buf_addch(&b, '\'');
		for (const char *p = s; *p; p++)
			if (*p == '\'')
				buf_addstr(&b, "'\\''");
			else
				buf_addch(&b, *p);
		buf_addch(&b, '\'');
	}
	char *raw = buf_detach(&b, NULL), *t = comment_text(raw);
	free(raw);
	return t;
}

void rolesql_parts_release(struct rolesql_parts *p)
{
	free(p->database);
	free(p->owner);
	free(p->roles_grants);
	free(p->objects_plain);
	free(p->objects_tsdb);
	free(p->jobs_do);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

int rolesql_build(const struct plan *plan, const struct config *cfg, const char *database,
		  const char *templates_dir, const struct rolesql_opts *o,
		  struct rolesql_parts *out, struct diag *d)
{
	struct rolesql_opts opts = { 0 };
	struct tvars *v = tvars_new();
	struct buf keep = BUF_INIT, keep_text = BUF_INIT;
	const struct plan_role *owner = NULL;
	struct rolesql_parts p = { 0 };
	char *app = NULL, *reown = NULL;
	int ret = -1;

	if (o)
		opts = *o;
	if (opts.lock_timeout_ms <= 0)
		opts.lock_timeout_ms = ROLESQL_LOCK_TIMEOUT_MS;
	if (opts.lock_attempts <= 0)
		opts.lock_attempts = ROLESQL_LOCK_ATTEMPTS;
	if (opts.backoff_ms <= 0)
		opts.backoff_ms = ROLESQL_BACKOFF_MS;
	const struct sql_quoter *q = opts.quote ? opts.quote : sql_offline_quoter();

	if (check_name("database name", database, d))
		goto cleanup;
	size_t nroles = 0;
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		if (!role_in_db(r, database))
			continue;
		nroles++;
		if (r->kind == ROLE_OWNER) {
			if (owner) {
				diag_err(d, "database '%s' has two owner roles in the plan ('%s' and '%s'); "
					 "migrators of one database share one owner role", database,
					 owner->name, r->name);
				goto cleanup;
			}
			owner = r;
		}
	}
	if (!nroles) {
		char *t = comment_text(database);
		/* Name the databases there are, each once. */
		struct strvec dbs = STRVEC_INIT;
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < plan->nroles; i++)
			for (size_t k = 0; k < plan->roles[i].ndatabases; k++)
				if (!strvec_contains(&dbs, plan->roles[i].databases[k]))
					strvec_push(&dbs, plan->roles[i].databases[k]);
		for (size_t i = 0; i < dbs.nr; i++)
			buf_addf(&list, "%s'%s'", i ? ", " : "", dbs.v[i]);
		diag_err(d, "no planned role connects to database '%s' (the plan's databases: %s)",
			 t, dbs.nr ? list.buf : "none");
		strvec_clear(&dbs);
		buf_release(&list);
		free(t);
		goto cleanup;
	}

	/* Values shared by every template. */
	if (set_ident(q, v, "database_ident", database, d) || set_lit(q, v, "database_lit", database, d))
		goto cleanup;
	set_text(v, "database_text", database);
	/* A stack with several servers: this file is for one of them, and says which. */
	const char *server = NULL;
	for (size_t i = 0; i < plan->nroles; i++)
		if (role_in_db(&plan->roles[i], database)) {
			if (server && !plan_same_server(server, plan->roles[i].server)) {
				diag_err(d, "database '%s': its roles are on several servers (%s, %s): the role "
					 "SQL is rendered per server", database, plan_server_label(server),
					 plan_server_label(plan->roles[i].server));
				goto cleanup;
			}
			server = plan->roles[i].server;
		}
	{
		char *t = shell_text(database);
		tvars_set(v, "database_shell", t);
		free(t);
		char *rel = plan->nservers > 1 ? rolesql_file(plan_server_label(server), database) : NULL;
		if (rel)
			rel[strlen(rel) - 4] = '\0'; /* the template adds ".sql" */
		t = shell_text(rel ? rel + strlen(BRANCH_SQL_DIR_PREFIX) : database);
		tvars_set(v, "file_text", t);
		free(t);
		free(rel);
	}
	tvars_set(v, "server", plan->nservers > 1 ? "1" : "");
	set_text(v, "server_text", plan_server_label(server));
	set_text(v, "project_text", plan->project_name ? plan->project_name : "(unnamed)");
	if (owner) {
		if (set_role_name(q, v, "owner", owner->name, d))
			goto cleanup;
		tvars_set(v, "owner", "1");
	} else {
		tvars_set(v, "owner_lit", "NULL::text");
		tvars_set(v, "owner_ident", "NULL");
		tvars_set(v, "owner_text", "(none)");
		tvars_set(v, "owner", "");
	}
	if (set_lit(q, v, "marker_lit", ROLESQL_MARKER, d))
		goto cleanup;
	tvars_setf(v, "lock_timeout_lit", "'%dms'", opts.lock_timeout_ms);
	tvars_setf(v, "lock_timeout_text", "%dms", opts.lock_timeout_ms);
	tvars_setf(v, "lock_attempts", "%d", opts.lock_attempts);
	tvars_setf(v, "lock_backoff_seconds", "%d.%03d", opts.backoff_ms / 1000, opts.backoff_ms % 1000);
	if (keep_values(q, cfg, &keep, &keep_text, d))
		goto cleanup;
	tvars_set(v, "keep_values", keep.buf);
	tvars_set(v, "keep_text", keep_text.buf);

	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		if (!role_in_db(r, database))
			continue;
		struct tvars *row = tvars_add_row(v, "roles");
		if (set_role_name(q, row, "name", r->name, d))
			goto cleanup;
		tvars_set(row, "kind", role_kind_name(r->kind));
		tvars_setf(row, "limit", "%d", r->connection_limit < -1 ? -1 : r->connection_limit);
		tvars_set(row, "is_owner", r->kind == ROLE_OWNER ? "1" : "");
		char *c = role_comment(r);
		tvars_set(row, "role_comment", c);
		free(c);
		const struct config_role *cr = cfg ? config_role(cfg, r->name) : NULL;
		tvars_set(row, "adopt", cr && cr->adopt ? "true" : "false");
		struct buf names = BUF_INIT;
		buf_addstr(&names, "ARRAY[");
		for (size_t k = 0; k < r->nsettings; k++) {
			if (k)
				buf_addstr(&names, ", ");
			if (q->literal(q->ctx, r->settings[k].key, &names, d)) {
				buf_release(&names);
				goto cleanup;
			}
		}
		buf_addstr(&names, "]::text[]");
		tvars_set(row, "setting_names", names.buf);
		buf_release(&names);
		for (size_t k = 0; k < r->nsettings; k++) {
			const struct role_setting *s = &r->settings[k];
			if (!valid_setting_key(s->key)) {
				char *t = comment_text(s->key);
				diag_err(d, "role '%s': '%s' is not a setting name", r->name, t);
				free(t);
				goto cleanup;
			}
			struct tvars *sr = tvars_add_row(row, "settings");
			tvars_set(sr, "key", s->key);
			if (set_lit(q, sr, "value_lit", s->value, d))
				goto cleanup;
		}
		/* Per-kind lists for the grants (rows carry the name only). */
		const char *list = r->kind == ROLE_READER ? "readers" : r->kind == ROLE_WRITER ? "writers" : NULL;
		if (list && set_role_name(q, tvars_add_row(v, list), "name", r->name, d))
			goto cleanup;
		if (r->kind != ROLE_READER && set_role_name(q, tvars_add_row(v, "dml_roles"), "name", r->name, d))
			goto cleanup;
	}

	if (!(app = render(templates_dir, "roles-app-schemas.sql.tmpl", v, d)))
		goto cleanup;
	tvars_set(v, "app_schemas", app);
	if (!(p.roles_grants = render(templates_dir, "roles-grants.sql.tmpl", v, d)))
		goto cleanup;
	tvars_set(v, "tsdb", "");
	if (!(p.objects_plain = render(templates_dir, "roles-objects.sql.tmpl", v, d)))
		goto cleanup;
	tvars_set(v, "tsdb", "1");
	if (!(p.objects_tsdb = render(templates_dir, "roles-objects.sql.tmpl", v, d)))
		goto cleanup;
	if (owner) {
		char *a = indent(p.objects_plain, "\t\t\t\t"), *b = indent(p.objects_tsdb, "\t\t\t\t");
		tvars_set(v, "objects_plain", a);
		tvars_set(v, "objects_tsdb", b);
		free(a);
		free(b);
		if (!(reown = render(templates_dir, "roles-reown.sql.tmpl", v, d)) ||
		    !(p.jobs_do = render(templates_dir, "roles-jobs.sql.tmpl", v, d)))
			goto cleanup;
		tvars_set(v, "reown_do", reown);
		tvars_set(v, "jobs_do", p.jobs_do);
	} else {
		tvars_set(v, "reown_do", "");
		tvars_set(v, "jobs_do", "");
	}
	tvars_set(v, "roles_grants", p.roles_grants);
	{
		char *path = xstrfmt("%s/roles.sql.tmpl", templates_dir);
		struct buf file = BUF_INIT;
		int r = template_render_file(path, v, &file, d);
		free(path);
		if (r) {
			buf_release(&file);
			goto cleanup;
		}
		p.file = buf_detach(&file, NULL);
	}
	p.database = xstrdup(database);
	p.owner = owner ? xstrdup(owner->name) : NULL;
	*out = p;
	memset(&p, 0, sizeof(p));
	ret = 0;
cleanup:
	rolesql_parts_release(&p);
	free(app);
	free(reown);
	buf_release(&keep);
	buf_release(&keep_text);
	tvars_free(v);
	return ret;
}

int rolesql_render(const struct plan *plan, const struct config *cfg, const char *database,
		   const char *templates_dir, struct buf *out, struct diag *d)
{
	struct rolesql_parts p;
	if (rolesql_build(plan, cfg, database, templates_dir, NULL, &p, d))
		return -1;
	buf_addstr(out, p.file);
	rolesql_parts_release(&p);
	return 0;
}

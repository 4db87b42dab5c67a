/*
 * plan_json: the plan as JSON — the one place JSON enters or leaves a plan.
 *
 * The shape is a contract (PRODUCT.md §4): keys may be added, never
 * renamed.  Added keys are listed in README.md ("JSON additions").
 */
#include "plan/report.h"

#include <jansson.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *evidence_json(const struct plan_service *ps)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ps->nevidence; i++) {
		const struct evidence_item *e = &ps->evidence[i];
		json_t *o = json_pack("{s:s, s:i, s:s}", "file", e->file ? e->file : "", "line", e->line,
				      "text", e->text);
		if (e->kind)
			json_object_set_new(o, "kind", json_string(e->kind));
		json_array_append_new(a, o);
	}
	return a;
}

static const char *form_name(enum conn_form f)
{
	static const char *const n[] = { "uri", "jdbc", "keyvalue", "split", "argument", "unknown" };
	return n[f];
}

static json_t *conns_json(const struct plan_service *ps)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ps->nconns; i++) {
		const struct plan_conn *c = &ps->conns[i];
		json_t *o = json_object();
		json_object_set_new(o, "variable", json_string(c->variable));
		json_object_set_new(o, "host", str_or_null(c->host));
		json_object_set_new(o, "port", json_integer(c->port));
		json_object_set_new(o, "database", str_or_null(c->database));
		json_object_set_new(o, "user", str_or_null(c->user));
		json_object_set_new(o, "superuser", json_boolean(c->superuser));
		json_object_set_new(o, "superuser_by", json_string(c->superuser_by ? c->superuser_by : "name"));
		json_object_set_new(o, "server", str_or_null(c->server));
		json_object_set_new(o, "role", str_or_null(c->role));
		json_object_set_new(o, "defined_at", json_pack("{s:s, s:i}", "file",
							       c->defined_file ? c->defined_file : "",
							       "line", c->defined_line));
		json_object_set_new(o, "form", json_string(form_name(c->form)));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *plan_to_json(const struct plan *plan)
{
	const struct compose_project *p = plan->project;
	json_t *root = json_object();

	json_object_set_new(root, "project", json_string(plan->project_name));
	json_object_set_new(root, "files", strings(p->files, p->nfiles));
	json_object_set_new(root, "server",
			    json_pack("{s:i, s:i, s:i, s:s}", "max_connections", plan->server.max_connections,
				      "reserved", plan->server.superuser_reserved + plan->server.reserved,
				      "headroom", plan->server.headroom, "source", plan->server.source));

	json_t *server = json_object_get(root, "server");
	if (plan->server.version)
		json_object_set_new(server, "version", json_string(plan->server.version));
	if (!strcmp(plan->server.source, "live"))
		json_object_set_new(server, "timescaledb", str_or_null(plan->server.timescaledb));
	if (plan->server.derived)
		json_object_set_new(server, "derived", json_string(plan->server.derived));

	/* The PostgreSQL servers of the stack and how each was recognised. */
	json_t *dbs = json_array();
	for (size_t i = 0; i < plan->ndb_servers; i++) {
		const struct plan_dbserver *d = &plan->db_servers[i];
		json_array_append_new(dbs, json_pack("{s:s, s:s, s:o, s:b}", "name", d->name, "recognised_by",
						     d->why, "superusers", strings(d->superusers, d->nsuperusers),
						     "superusers_known", d->superusers_known));
	}
	json_object_set_new(root, "db_servers", dbs);

	json_t *svcs = json_array();
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(ps->name));
		json_object_set_new(o, "class", json_string(class_name(ps->cls)));
		json_object_set_new(o, "action", json_string(action_name(ps->action)));
		json_object_set_new(o, "reason", json_string(ps->reason ? ps->reason : ""));
		json_object_set_new(o, "evidence", evidence_json(ps));
		json_object_set_new(o, "connections", conns_json(ps));
		json_object_set_new(o, "role", str_or_null(ps->action == ACTION_SKIP ? NULL : ps->role));
		json_array_append_new(svcs, o);
	}
	json_object_set_new(root, "services", svcs);

	json_t *roles = json_array();
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		json_t *settings = json_object();
		for (size_t k = 0; k < r->nsettings; k++)
			json_object_set_new(settings, r->settings[k].key, json_string(r->settings[k].value));
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(r->name));
		json_object_set_new(o, "kind", json_string(role_kind_name(r->kind)));
		json_object_set_new(o, "databases", strings(r->databases, r->ndatabases));
		json_object_set_new(o, "connection_limit", json_integer(r->connection_limit));
		json_object_set_new(o, "services", strings(r->services, r->nservices));
		json_object_set_new(o, "settings", settings);
		json_object_set_new(o, "shared_origin", json_boolean(r->shared_origin));
		json_object_set_new(o, "held", json_boolean(r->held));
		json_array_append_new(roles, o);
	}
	json_object_set_new(root, "roles", roles);

	json_t *rows = json_array();
	for (size_t i = 0; i < plan->budget.nrows; i++) {
		const struct budget_row *b = &plan->budget.rows[i];
		json_array_append_new(rows, json_pack("{s:s, s:i, s:s}", "role", b->role, "limit", b->limit,
						      "source", b->source));
	}
	json_object_set_new(root, "budget",
			    json_pack("{s:i, s:i, s:b, s:o}", "available", plan->budget.available,
				      "planned", plan->budget.planned, "ok", plan->budget.ok, "rows", rows));
	json_object_set_new(root, "order", strings(plan->order, plan->norder));
	json_object_set_new(root, "warnings",
			    strings((const char *const *)plan->warnings.v, plan->warnings.nr));
	json_object_set_new(root, "blocking", json_boolean(plan->blocking));
	/* Live only: offline nobody knows who owns what, and absent says so. */
	if (strcmp(plan->server.source, "live"))
		return root;
	json_t *kept = json_array();
	for (size_t i = 0; i < plan->nkept; i++) {
		const struct plan_kept *k = &plan->kept[i];
		json_array_append_new(kept, json_pack("{s:s, s:s, s:s, s:s}", "object", k->object, "owner",
						      k->owner, "database", k->database, "kind", k->kind));
	}
	json_object_set_new(root, "kept", kept);
	return root;
}

void report_json(const struct plan *plan, struct buf *out)
{
	json_t *j = plan_to_json(plan);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	buf_addstr(out, s);
	buf_addch(out, '\n');
	free(s);
	json_decref(j);
}

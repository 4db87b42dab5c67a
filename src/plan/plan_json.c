/*
 * plan_json: the plan as JSON — the one place JSON enters or leaves a plan.
 *
 * The shape is a contract (PRODUCT.md §4): keys may be added, never
 * renamed.  Added keys are listed in README.md ("JSON additions").
 */
#include "plan/plan_json.h"
#include "plan/report.h"
#include "util/path.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void plan_json_text(const json_t *root, struct buf *out)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	buf_addstr(out, s ? s : "{}");
	buf_addch(out, '\n');
	free(s);
}

void report_json(const struct plan *plan, struct buf *out)
{
	json_t *j = plan_to_json(plan);
	plan_json_text(j, out);
	json_decref(j);
}

/* --- reading --- */

/* The string at key of o, or NULL when absent or null; -1 for another type. */
static int get_str(struct plan_record *r, const json_t *o, const char *key, const char **out,
		   const char *label, const char *where, struct diag *d)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return diag_err(d, "%s: %s.%s must be a string", label, where, key);
	*out = arena_strdup(&r->arena, json_string_value(v));
	return 0;
}

int plan_from_json(const char *text, size_t len, const char *label, struct plan_record *out,
		   struct diag *d)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!root)
		return diag_at(d, label, err.line, err.column, "not a plan: %s", err.text);
	if (!json_is_object(root)) {
		diag_err(d, "%s: not a plan: the top level is not an object", label);
		goto done;
	}
	if (get_str(out, root, "project", &out->project, label, "plan", d))
		goto done;
	const json_t *svcs = json_object_get(root, "services");
	if (svcs && !json_is_array(svcs)) {
		diag_err(d, "%s: services must be an array", label);
		goto done;
	}
	out->nservices = json_array_size(svcs);
	out->services = arena_alloc(&out->arena, (out->nservices ? out->nservices : 1) *
					     sizeof(*out->services));
	for (size_t i = 0; i < out->nservices; i++) {
		const json_t *v = json_array_get(svcs, i);
		struct plan_record_service *rs = &out->services[i];
		memset(rs, 0, sizeof(*rs));
		if (!json_is_object(v)) {
			diag_err(d, "%s: services[%zu] must be an object", label, i);
			goto done;
		}
		if (get_str(out, v, "name", &rs->name, label, "services[]", d) ||
		    get_str(out, v, "action", &rs->action, label, "services[]", d) ||
		    get_str(out, v, "role", &rs->role, label, "services[]", d))
			goto done;
		const json_t *conns = json_object_get(v, "connections");
		if (conns && !json_is_array(conns)) {
			diag_err(d, "%s: services[%zu].connections must be an array", label, i);
			goto done;
		}
		rs->nconns = json_array_size(conns);
		rs->conns = arena_alloc(&out->arena, (rs->nconns ? rs->nconns : 1) * sizeof(*rs->conns));
		for (size_t k = 0; k < rs->nconns; k++) {
			const json_t *c = json_array_get(conns, k);
			struct plan_record_conn *rc = &rs->conns[k];
			memset(rc, 0, sizeof(*rc));
			if (!json_is_object(c)) {
				diag_err(d, "%s: services[%zu].connections[%zu] must be an object", label, i, k);
				goto done;
			}
			if (get_str(out, c, "variable", &rc->variable, label, "connections[]", d) ||
			    get_str(out, c, "user", &rc->user, label, "connections[]", d) ||
			    get_str(out, c, "role", &rc->role, label, "connections[]", d))
				goto done;
		}
		if (!rs->name) {
			diag_err(d, "%s: services[%zu] has no name", label, i);
			goto done;
		}
	}
	ret = 0;
done:
	json_decref(root);
	if (ret)
		plan_record_release(out);
	return ret;
}

int plan_record_load(const char *dir, struct plan_record *out, struct diag *d)
{
	struct arena tmp = ARENA_INIT;
	const char *path = path_join(&tmp, dir, PLAN_JSON_FILE);
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if (access(path, F_OK)) {
		arena_release(&tmp);
		return 0;
	}
	char *text = read_file(path, &len);
	if (!text)
		ret = diag_err(d, "%s: cannot read: %s", path, strerror(errno));
	else
		ret = plan_from_json(text, len, path, out, d) ? -1 : 1;
	free(text);
	arena_release(&tmp);
	return ret;
}

void plan_record_release(struct plan_record *r)
{
	arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

const struct plan_record_service *plan_record_service(const struct plan_record *r, const char *name)
{
	for (size_t i = 0; i < r->nservices; i++)
		if (!strcmp(r->services[i].name, name))
			return &r->services[i];
	return NULL;
}

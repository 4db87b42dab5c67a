/*
 * plan_json: the plan as JSON — the one place JSON enters or leaves a plan.
 *
 * The shape is a contract (PRODUCT.md §4): keys may be added, never
 * renamed.  Added keys are listed in README.md ("JSON additions").
 *
 * The plan is written as a stream, straight into the output buffer: at
 * 10,000 services building a jansson tree only to dump it cost as much as
 * loading the stack.  The bytes are those json_dumps(JSON_INDENT(2) |
 * JSON_PRESERVE_ORDER) gives for the tree the plan describes, including
 * jansson's rules for what it cannot hold: a string that is NULL or not
 * valid UTF-8 leaves out its key (or array item), and leaves out the whole
 * object it was packed into where that object is made in one piece
 * (evidence items, defined_at, server, budget rows, kept objects).
 * plan_to_json() reads that text back, so the tree and the text agree.
 */
#include "plan/plan_json.h"
#include "plan/report.h"
#include "plan/updateorder.h"
#include "util/path.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The length of the valid UTF-8 sequence at u (u[0] >= 0x80), or 0: jansson's
 * rule for a string it accepts (no surrogate halves, no overlong forms,
 * nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *u)
{
	size_t n;
	unsigned v;
	if (*u >= 0xC2 && *u <= 0xDF)
		n = 2, v = *u & 0x1F;
	else if (*u >= 0xE0 && *u <= 0xEF)
		n = 3, v = *u & 0x0F;
	else if (*u >= 0xF0 && *u <= 0xF4)
		n = 4, v = *u & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (u[i] < 0x80 || u[i] > 0xBF)
			return 0; /* also stops at the NUL */
		v = (v << 6) | (u[i] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
	    (n == 4 && v < 0x10000))
		return 0;
	return n;
}

/* A string jansson would take as a value or key. */
static int ok(const char *s)
{
	if (!s)
		return 0;
	for (const unsigned char *u = (const unsigned char *)s; *u;) {
		size_t n = *u < 0x80 ? 1 : utf8_seq(u);
		if (!n)
			return 0;
		u += n;
	}
	return 1;
}

#define JW_MAXDEPTH 8

/*
 * The writer: where it writes and, per open container, whether it has a
 * child yet.  A string jansson would not take is found while it is being
 * written: what was written for its key (or its whole object, where jansson
 * packs the object in one piece) is then taken back (jw_mark/jw_undo).
 */
struct jw {
	struct buf *b;
	int depth;
	int has[JW_MAXDEPTH];
	int bad;              /* a strict string since the last jw_mark was not valid */
	FILE *sink;           /* report_json_write: b is written here as it fills */
};

/*
 * Between two elements of an array (no jw_mark outstanding: the text
 * before is final), pass what is written on to the sink once it is
 * JW_FLUSH bytes: a plan of 10,000 services is 14 MB of text, and growing
 * one buffer to hold it all touched (and copied) twice that.
 */
#define JW_FLUSH ((size_t)64 * 1024)
static void jw_flush(struct jw *w)
{
	if (w->sink && w->b->len >= JW_FLUSH) {
		fwrite(w->b->buf, 1, w->b->len, w->sink);
		buf_reset(w->b);
	}
}

struct jw_mark {
	size_t len;
	int has;
};

static struct jw_mark jw_mark(struct jw *w)
{
	w->bad = 0;
	return (struct jw_mark){ w->b->len, w->depth ? w->has[w->depth - 1] : 0 };
}

static void jw_undo(struct jw *w, struct jw_mark m)
{
	buf_setlen(w->b, m.len);
	if (w->depth)
		w->has[w->depth - 1] = m.has;
}

/* buf_add without the calls: this writer adds a few bytes at a time. */
static inline void jw_put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->alloc)
		buf_grow(b, n);
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static inline void jw_ch(struct buf *b, char c)
{
	jw_put(b, &c, 1);
}

static void jw_newline(struct jw *w, int depth)
{
	static const char nl_spaces[] = "\n                                ";
	size_t n = (size_t)depth * 2;
	jw_put(w->b, nl_spaces, n < 32 ? n + 1 : 33);
	for (n = n < 32 ? 0 : n - 32; n > 0; n -= n < 32 ? n : 32)
		jw_put(w->b, nl_spaces + 1, n < 32 ? n : 32);
}

/* Before a child of the open container: the separator and indentation. */
static void jw_next(struct jw *w)
{
	if (w->depth == 0)
		return;
	if (w->has[w->depth - 1])
		jw_ch(w->b, ',');
	w->has[w->depth - 1] = 1;
	jw_newline(w, w->depth);
}

static void jw_open(struct jw *w, char c)
{
	jw_ch(w->b, c);
	w->has[w->depth++] = 0;
}

static void jw_close(struct jw *w, char c)
{
	if (w->has[--w->depth])
		jw_newline(w, w->depth);
	jw_ch(w->b, c);
}

/* Write s as a JSON string; -1 (part written) when jansson would not take it. */
static int jw_string(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!s)
		return -1;
	const unsigned char *u = (const unsigned char *)s, *run = u;
	jw_ch(w->b, '"');
	for (;;) {
		unsigned char c = *u;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			u++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq(u);
			if (!n)
				return -1;
			u += n;
			continue;
		}
		jw_put(w->b, run, (size_t)(u - run));
		if (!c)
			break;
		char esc[6] = { '\\', 0 };
		size_t n = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		jw_put(w->b, esc, n);
		run = ++u;
	}
	jw_ch(w->b, '"');
	return 0;
}

/* A key; -1 (part written) when jansson would not take it. */
static int jw_key(struct jw *w, const char *k)
{
	jw_next(w);
	if (jw_string(w, k))
		return -1;
	jw_put(w->b, ": ", 2);
	return 0;
}

static void jw_int(struct jw *w, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	jw_put(w->b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void jw_bool(struct jw *w, int v)
{
	if (v)
		jw_put(w->b, "true", 4);
	else
		jw_put(w->b, "false", 5);
}

/* "key": "s", left out when s is not a string jansson takes. */
static void jw_kstr(struct jw *w, const char *k, const char *s)
{
	if (!s)
		return;
	struct jw_mark m = jw_mark(w);
	if (jw_key(w, k) || jw_string(w, s))
		jw_undo(w, m);
}

/* "key": "s" inside an object jansson packs in one piece: an invalid s
 * marks the object bad (the caller takes all of it back). */
static void jw_kstr_strict(struct jw *w, const char *k, const char *s)
{
	if (jw_key(w, k) || jw_string(w, s))
		w->bad = 1;
}

/* "key": "s" or null; left out when s is not NULL and not valid. */
static void jw_kstr_or_null(struct jw *w, const char *k, const char *s)
{
	if (!s) {
		jw_key(w, k);
		jw_put(w->b, "null", 4);
	} else {
		jw_kstr(w, k, s);
	}
}

static void jw_kint(struct jw *w, const char *k, long long v)
{
	jw_key(w, k);
	jw_int(w, v);
}

static void jw_kbool(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	jw_bool(w, v);
}

/* "key": [strings], the invalid ones left out. */
static void jw_kstrings(struct jw *w, const char *k, const char *const *v, size_t n)
{
	jw_key(w, k);
	jw_open(w, '[');
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		struct jw_mark m = jw_mark(w);
		jw_next(w);
		if (jw_string(w, v[i]))
			jw_undo(w, m);
		jw_flush(w);
	}
	jw_close(w, ']');
}

static void evidence_json(struct jw *w, const struct plan_service *ps)
{
	jw_key(w, "evidence");
	jw_open(w, '[');
	for (size_t i = 0; i < ps->nevidence; i++) {
		const struct evidence_item *e = &ps->evidence[i];
		struct jw_mark m = jw_mark(w);
		jw_next(w);
		jw_open(w, '{');
		jw_kstr_strict(w, "file", e->file ? e->file : "");
		jw_kint(w, "line", e->line);
		jw_kstr_strict(w, "text", e->text);
		int bad = w->bad;
		if (e->kind && !bad)
			jw_kstr(w, "kind", e->kind);
		jw_close(w, '}');
		if (bad)
			jw_undo(w, m);
	}
	jw_close(w, ']');
}

static const char *form_name(enum conn_form f)
{
	static const char *const n[] = { "uri", "jdbc", "keyvalue", "split", "argument", "unknown" };
	return n[f];
}

static void conns_json(struct jw *w, const struct plan_service *ps)
{
	jw_key(w, "connections");
	jw_open(w, '[');
	for (size_t i = 0; i < ps->nconns; i++) {
		const struct plan_conn *c = &ps->conns[i];
		jw_next(w);
		jw_open(w, '{');
		jw_kstr(w, "variable", c->variable);
		jw_kstr_or_null(w, "host", c->host);
		jw_kint(w, "port", c->port);
		jw_kstr_or_null(w, "database", c->database);
		jw_kstr_or_null(w, "user", c->user);
		jw_kbool(w, "superuser", c->superuser);
		jw_kstr(w, "superuser_by", c->superuser_by ? c->superuser_by : "name");
		jw_kstr_or_null(w, "server", c->server);
		jw_kstr_or_null(w, "role", c->role);
		const char *file = c->defined_file ? c->defined_file : "";
		if (ok(file)) {
			jw_key(w, "defined_at");
			jw_open(w, '{');
			jw_kstr(w, "file", file);
			jw_kint(w, "line", c->defined_line);
			jw_close(w, '}');
		}
		jw_kstr(w, "form", form_name(c->form));
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

/* Settings as an object: a repeated key keeps its first place and takes the
 * last value given for it (as setting a key of a JSON object does). */
static void settings_json(struct jw *w, const struct plan_role *r)
{
	jw_key(w, "settings");
	jw_open(w, '{');
	for (size_t k = 0; k < r->nsettings; k++) {
		const struct role_setting *st = &r->settings[k];
		if (!ok(st->key) || !ok(st->value))
			continue;
		int seen = 0;
		for (size_t j = 0; j < k && !seen; j++)
			seen = ok(r->settings[j].key) && ok(r->settings[j].value) &&
			       !strcmp(r->settings[j].key, st->key);
		if (seen)
			continue;
		const char *value = st->value;
		for (size_t j = k + 1; j < r->nsettings; j++)
			if (r->settings[j].key && !strcmp(r->settings[j].key, st->key) &&
			    ok(r->settings[j].value))
				value = r->settings[j].value;
		jw_kstr(w, st->key, value);
	}
	jw_close(w, '}');
}

/* One budget object; with_facts: also the figures it was computed from. */
static void budget_json(struct jw *w, const struct plan_budget *b, int with_facts)
{
	jw_open(w, '{');
	jw_kint(w, "available", b->available);
	jw_kint(w, "planned", b->planned);
	jw_kbool(w, "ok", b->ok);
	jw_key(w, "rows");
	jw_open(w, '[');
	for (size_t i = 0; i < b->nrows; i++) {
		const struct budget_row *r = &b->rows[i];
		if (!ok(r->role) || !ok(r->source))
			continue;
		jw_next(w);
		jw_open(w, '{');
		jw_kstr(w, "role", r->role);
		jw_kint(w, "limit", r->limit);
		jw_kstr(w, "source", r->source);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_kstr_or_null(w, "server", b->server);
	if (with_facts) {
		jw_kint(w, "max_connections", b->max_connections);
		jw_kstr(w, "source", b->source ? b->source : "offline");
	}
	jw_close(w, '}');
}

static void write_plan(const struct plan *plan, struct buf *out, FILE *sink)
{
	const struct compose_project *p = plan->project;
	struct jw w = { .b = out, .sink = sink };

	jw_open(&w, '{');
	jw_kstr(&w, "project", plan->project_name);
	jw_kstrings(&w, "files", (const char *const *)p->files, p->nfiles);
	if (ok(plan->server.source)) {
		jw_key(&w, "server");
		jw_open(&w, '{');
		jw_kint(&w, "max_connections", plan->server.max_connections);
		jw_kint(&w, "reserved", plan->server.superuser_reserved + plan->server.reserved);
		jw_kint(&w, "headroom", plan->server.headroom);
		jw_kstr(&w, "source", plan->server.source);
		if (plan->server.version)
			jw_kstr(&w, "version", plan->server.version);
		if (!strcmp(plan->server.source, "live"))
			jw_kstr_or_null(&w, "timescaledb", plan->server.timescaledb);
		if (plan->server.derived)
			jw_kstr(&w, "derived", plan->server.derived);
		jw_close(&w, '}');
	}

	/* The PostgreSQL servers of the stack and how each was recognised. */
	jw_key(&w, "db_servers");
	jw_open(&w, '[');
	for (size_t i = 0; i < plan->ndb_servers; i++) {
		const struct plan_dbserver *d = &plan->db_servers[i];
		if (!ok(d->name) || !ok(d->why))
			continue;
		jw_next(&w);
		jw_open(&w, '{');
		jw_kstr(&w, "name", d->name);
		jw_kstr(&w, "recognised_by", d->why);
		jw_kstrings(&w, "superusers", d->superusers, d->nsuperusers);
		jw_kbool(&w, "superusers_known", d->superusers_known);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');

	jw_key(&w, "services");
	jw_open(&w, '[');
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		jw_next(&w);
		jw_open(&w, '{');
		jw_kstr(&w, "name", ps->name);
		jw_kstr(&w, "class", class_name(ps->cls));
		jw_kstr(&w, "action", action_name(ps->action));
		jw_kstr(&w, "reason", ps->reason ? ps->reason : "");
		evidence_json(&w, ps);
		conns_json(&w, ps);
		jw_kstr_or_null(&w, "role", ps->action == ACTION_SKIP ? NULL : ps->role);
		/* How `deploy` has Swarm replace its tasks when the stack runs on a swarm. */
		if (ps->action == ACTION_FLIP && ps->role) {
			struct buf why = BUF_INIT;
			enum swarm_order ord = swarm_update_order(plan, ps, &why);
			jw_key(&w, "swarm_update");
			jw_open(&w, '{');
			jw_kstr(&w, "order", swarm_order_name(ord));
			jw_kstr(&w, "why", why.buf);
			jw_close(&w, '}');
			buf_release(&why);
		}
		jw_close(&w, '}');
		jw_flush(&w);
	}
	jw_close(&w, ']');

	jw_key(&w, "roles");
	jw_open(&w, '[');
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		jw_next(&w);
		jw_open(&w, '{');
		jw_kstr(&w, "name", r->name);
		jw_kstr(&w, "kind", role_kind_name(r->kind));
		jw_kstrings(&w, "databases", r->databases, r->ndatabases);
		jw_kint(&w, "connection_limit", r->connection_limit);
		jw_kstrings(&w, "services", r->services, r->nservices);
		settings_json(&w, r);
		jw_kbool(&w, "shared_origin", r->shared_origin);
		jw_kbool(&w, "held", r->held);
		/* The server the role is created on (null: the DSNs name no host). */
		jw_kstr_or_null(&w, "server", r->server);
		jw_close(&w, '}');
		jw_flush(&w);
	}
	jw_close(&w, ']');

	jw_key(&w, "budget");
	budget_json(&w, &plan->budget, 0);
	/* Every server's budget (budget above is the primary server's). */
	jw_key(&w, "budgets");
	jw_open(&w, '[');
	for (size_t i = 0; i < plan->nbudgets; i++) {
		jw_next(&w);
		budget_json(&w, &plan->budgets[i], 1);
	}
	jw_close(&w, ']');
	jw_kstrings(&w, "order", plan->order, plan->norder);
	jw_kstrings(&w, "warnings", (const char *const *)plan->warnings.v, plan->warnings.nr);
	jw_kbool(&w, "blocking", plan->blocking);
	/* Live only: offline nobody knows who owns what, and absent says so. */
	if (!strcmp(plan->server.source, "live")) {
		jw_key(&w, "kept");
		jw_open(&w, '[');
		for (size_t i = 0; i < plan->nkept; i++) {
			const struct plan_kept *k = &plan->kept[i];
			if (!ok(k->object) || !ok(k->owner) || !ok(k->database) || !ok(k->kind))
				continue;
			jw_next(&w);
			jw_open(&w, '{');
			jw_kstr(&w, "object", k->object);
			jw_kstr(&w, "owner", k->owner);
			jw_kstr(&w, "database", k->database);
			jw_kstr(&w, "kind", k->kind);
			jw_close(&w, '}');
		}
		jw_close(&w, ']');
	}
	jw_close(&w, '}');
}

json_t *plan_to_json(const struct plan *plan)
{
	struct buf text = BUF_INIT;
	write_plan(plan, &text, NULL);
	json_t *root = json_loadb(text.buf, text.len, 0, NULL);
	buf_release(&text);
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
	write_plan(plan, out, NULL);
	buf_addch(out, '\n');
}

void report_json_write(const struct plan *plan, FILE *to)
{
	struct buf b = BUF_INIT;
	write_plan(plan, &b, to);
	buf_addch(&b, '\n');
	fwrite(b.buf, 1, b.len, to);
	buf_release(&b);
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

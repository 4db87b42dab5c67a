/*
 * flip: each flipped connection's switch, worked out once (see flip.h).
 */
#include "plan/flip.h"
#include "detect/dsn.h"
#include "stack/literal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char *flip_password_var(const char *role)
{
	struct buf b = BUF_INIT;
	for (const char *p = role; *p; p++)
		buf_addch(&b, isalnum((unsigned char)*p) ? toupper((unsigned char)*p) : '_');
	buf_addstr(&b, "_PASSWORD");
	return buf_detach(&b, NULL);
}

char *flip_password_ref(const char *role, const char *why)
{
	char *v = flip_password_var(role);
	char *ref = why ? xstrfmt("${%s:?%s must be set (%s)}", v, v, why)
			: xstrfmt("${%s:?%s must be set}", v, v);
	free(v);
	return ref;
}

void flip_text_render(const struct flip_text *t, const char *ref, struct buf *out)
{
	for (size_t i = 0; i < t->nparts; i++) {
		if (i)
			buf_addstr(out, ref);
		buf_addstr(out, t->parts[i]);
	}
}

/* Split s at each ref that is a reference (not after an escaping '$'). */
static struct flip_text split_text(struct arena *a, const char *s, const char *ref)
{
	struct flip_text t = { NULL, 0 };
	size_t n = strlen(ref), cap = 2;
	const char *from = s;

	t.parts = arena_alloc(a, cap * sizeof(*t.parts));
	for (const char *p = s; (p = strstr(p, ref));) {
		size_t dollars = 0;
		while (p - dollars > s && p[-1 - (long)dollars] == '$')
			dollars++;
		if (dollars % 2) {
			p++;
			continue;
		}
		if (t.nparts + 2 > cap) {
			const char **v = arena_alloc(a, cap * 2 * sizeof(*v));
			memcpy(v, t.parts, t.nparts * sizeof(*v));
			t.parts = v;
			cap *= 2;
		}
		t.parts[t.nparts++] = arena_strndup(a, from, (size_t)(p - from));
		p += n;
		from = p;
	}
	t.parts[t.nparts++] = arena_strdup(a, from);
	return t;
}

/* A copy of old's n elements in a + one more slot (arena memory is never freed one by one). */
static void *grow(struct arena *a, const void *old, size_t n, size_t size)
{
	void *v = arena_alloc(a, (n + 1) * size);
	if (n)
		memcpy(v, old, n * size);
	return v;
}

struct fctx {
	struct plan *plan;
	const struct plan_opts *opts;
	struct plan_service *ps;
	struct plan_conn *pc;
	struct plan_flip *fl;
	const char *ref;          /* the branch's reference, where texts are split */
	struct strvec *said;      /* files already named as untracked */
};

static void block(struct fctx *c, const struct diag *why)
{
	if (!c->fl->blocked)
		c->fl->blocked = arena_strdup(&c->plan->arena, why->msg.buf);
}

static void position(const struct origin *o, const char **file, int *line, int *col)
{
	*file = o->pos.file ? o->pos.file->display : "(environment)";
	*line = o->pos.line;
	*col = o->pos.col;
}

/*
 * Is raw one whole "${NAME:-DEFAULT}" / "${NAME-DEFAULT}"?  Then 1 with
 * the offsets of DEFAULT and NAME's length.
 */
static int whole_default(const char *raw, size_t *d0, size_t *d1, size_t *namelen)
{
	size_t n = strlen(raw), i = 2, depth = 1;
	if (n < 5 || raw[0] != '$' || raw[1] != '{' || raw[n - 1] != '}')
		return 0;
	if (!(isalpha((unsigned char)raw[i]) || raw[i] == '_'))
		return 0;
	while (isalnum((unsigned char)raw[i]) || raw[i] == '_')
		i++;
	*namelen = i - 2;
	if (raw[i] == ':' && raw[i + 1] == '-')
		i += 2;
	else if (raw[i] == '-')
		i++;
	else
		return 0;
	*d0 = i;
	for (size_t k = i; k < n; k++) {
		if (raw[k] == '$' && raw[k + 1] == '$') {
			k++;
			continue;
		}
		if (raw[k] == '$' && raw[k + 1] == '{') {
			depth++;
			k++;
		} else if (raw[k] == '}' && --depth == 0) {
			if (k != n - 1)
				return 0;
			*d1 = k;
			return 1;
		}
	}
	return 0;
}

/* The DSN text after the flip, into val; 0, or -1 with d. */
static int flip_dsn(struct fctx *c, const char *raw, const char *label, int user, int password,
		    const struct srcfile *f, int line, int col, int *in_default, struct buf *val,
		    struct diag *d)
{
	const char *role = c->fl->role, *text = raw;
	struct buf inner = BUF_INIT;
	size_t d0, d1, nl;
	int ret = -1;

	*in_default = 0;
	if (whole_default(raw, &d0, &d1, &nl)) {
		char *name = xstrndup(raw + 2, nl);
		const struct project_var *v = compose_var(c->plan->project, name);
		int colon = raw[2 + nl] == ':';
		if (v && (!colon || (v->value && *v->value))) {
			diag_at(d, f->display, line, col, "%s is ${%s:-...} and %s is set, so the default "
				"written here is not what the service gets; dsnflip cannot edit where %s "
				"comes from: define it in .env or remove it, then re-run", label, name, name,
				name);
			free(name);
			goto out;
		}
		free(name);
		buf_add(&inner, raw + d0, d1 - d0);
		text = inner.buf;
		*in_default = 1;
	}
	struct diag sub = DIAG_INIT;
	struct dsn check = DSN_INIT;
	struct buf nv = BUF_INIT;
	int ok = !dsn_rewrite(text, user ? role : NULL, password ? c->ref : NULL, &nv, &sub) &&
		 !dsn_parse(nv.buf, &check, &sub);
	if (ok)
		ok = (!user || (check.user && !strcmp(check.user, role))) &&
		     (!password || (check.password && !strcmp(check.password, c->ref)));
	dsn_release(&check);
	if (!ok) {
		diag_at(d, f->display, line, col, "%s cannot be rewritten in place: its user and "
			"password are not separable from the references it is built from%s%s",
			label, sub.set ? ": " : "", sub.set ? sub.msg.buf : "");
		diag_release(&sub);
		buf_release(&nv);
		goto out;
	}
	diag_release(&sub);
	if (*in_default) {
		buf_add(val, raw, d0);
		buf_addstr(val, nv.buf);
		buf_addch(val, '}');
	} else {
		buf_addstr(val, nv.buf);
	}
	buf_release(&nv);
	ret = 0;
out:
	buf_release(&inner);
	return ret;
}

static void add_setting(struct fctx *c, const char *key, const char *value)
{
	struct plan_flip *fl = c->fl;
	for (size_t i = 0; i < fl->nsettings; i++)
		if (!strcmp(fl->settings[i].key, key))
			return;
	struct flip_setting *v = grow(&c->plan->arena, fl->settings, fl->nsettings, sizeof(*v));
	v[fl->nsettings].key = key;
	v[fl->nsettings].value = split_text(&c->plan->arena, value, c->ref);
	fl->settings = v;
	fl->nsettings++;
}

/* What deploy's override sets for e: from the value the service gets now. */
static void setting_for(struct fctx *c, const struct env_entry *e, enum flip_kind kind, int user,
			int password)
{
	if (kind == FLIP_USER) {
		add_setting(c, e->key, c->fl->role);
		return;
	}
	if (kind == FLIP_PASSWORD) {
		add_setting(c, e->key, c->ref);
		return;
	}
	/* The value as compose must read it again: every '$' it holds is literal. */
	struct buf esc = BUF_INIT, nv = BUF_INIT;
	struct diag sub = DIAG_INIT;
	for (const char *p = e->value; *p; p++) {
		if (*p == '$')
			buf_addch(&esc, '$');
		buf_addch(&esc, *p);
	}
	if (!dsn_rewrite(esc.buf, user ? c->fl->role : NULL, password ? c->ref : NULL, &nv, &sub))
		add_setting(c, e->key, nv.buf);
	diag_release(&sub);
	buf_release(&esc);
	buf_release(&nv);
}

static void note_untracked(struct fctx *c, const struct srcfile *f, const char *key)
{
	const char *why = NULL;
	if (!c->opts || !c->opts->tracked || c->fl->untracked)
		return;
	if (c->opts->tracked(c->opts->tracked_ctx, f, &why) != 0)
		return;
	c->fl->untracked = why;
	c->fl->untracked_file = f->display;
	if (strvec_contains(c->said, f->display))
		return;
	strvec_push(c->said, f->display);
	plan_warn(c->plan, 0, "%s (%s of %s) is not in git (%s): `dsnflip branch` cannot commit the "
		  "change there; the runbook gives the line to change by hand", f->display, key,
		  c->ps->name, why);
}

static void add_site(struct fctx *c, const struct env_entry *e, enum flip_kind kind, int user,
		     int password)
{
	struct arena *a = &c->plan->arena;
	const struct origin *o = &e->origin, *site = o;
	const char *label = arena_strfmt(a, "services.%s.%s", c->ps->name, e->key);
	struct diag d = DIAG_INIT;
	struct buf raw = BUF_INIT, val = BUF_INIT;
	int in_default = 0;

	setting_for(c, e, kind, user, password);
	/* A user or password reached through ${VAR}: replace the reference, never VAR. */
	if (kind == FLIP_USER || kind == FLIP_PASSWORD) {
		if (o->via)
			site = o->via;
	}
	if (site->kind == ORIGIN_PROCESS) {
		if (o->via) {
			const char *file;
			int line, col;
			position(o->via, &file, &line, &col);
			diag_at(&d, file, line, col, "%s is ${%s} from the process environment: there is "
				"no file to rewrite; define %s in .env or write the value here, then re-run",
				label, o->var ? o->var : "?", o->var ? o->var : "it");
		} else {
			diag_err(&d, "%s comes from the process environment: there is no file to rewrite; "
				 "write it in the compose file or .env, then re-run", label);
		}
		block(c, &d);
		goto out;
	}
	const struct srcfile *f = site->pos.file;
	int yaml = site->kind == ORIGIN_YAML, line = site->pos.line, col = site->pos.col;
	if (literal_read(f, yaml, site->list_form, site->pos.start, site->pos.end, line, col, label,
			 &raw, &d)) {
		block(c, &d);
		goto out;
	}
	if (kind == FLIP_USER)
		buf_addstr(&val, c->fl->role);
	else if (kind == FLIP_PASSWORD)
		buf_addstr(&val, c->ref);
	else if (flip_dsn(c, raw.buf, label, user, password, f, line, col, &in_default, &val, &d)) {
		block(c, &d);
		goto out;
	}
	struct plan_flip *fl = c->fl;
	struct flip_site *v = grow(a, fl->sites, fl->nsites, sizeof(*v));
	struct flip_site *s = &v[fl->nsites];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->key = e->key;
	s->file = f;
	s->line = line;
	s->col = col;
	s->start = site->pos.start;
	s->end = site->pos.end;
	s->yaml = yaml;
	s->list_form = site->list_form;
	s->reference = site != o;
	s->in_default = in_default;
	s->user = user;
	s->password = password;
	s->text = split_text(a, val.buf, c->ref);
	s->label = label;
	fl->sites = v;
	fl->nsites++;
	if (site->kind == ORIGIN_ENVFILE)
		note_untracked(c, f, e->key);
out:
	diag_release(&d);
	buf_release(&raw);
	buf_release(&val);
}

static void missing_setting(struct fctx *c, const char *what)
{
	const struct origin *o = &c->pc->entry->origin;
	const char *file;
	int line, col;
	struct diag d = DIAG_INIT;
	if (o->via)
		o = o->via;
	position(o, &file, &line, &col);
	diag_at(&d, file, line, col, "services.%s: the connection set by %s has no %s variable "
		"(such as DB_%s) for dsnflip to rewrite; it edits values and never adds "
		"variables: add one, then re-run", c->ps->name, c->pc->variable, what,
		!strcmp(what, "user") ? "USER" : "PASSWORD");
	block(c, &d);
	diag_release(&d);
}

static enum flip_kind dsn_kind(enum conn_form f)
{
	return f == CONN_JDBC ? FLIP_JDBC : f == CONN_KV ? FLIP_KV : FLIP_URI;
}

static void flip_conn(struct fctx *c)
{
	const struct plan_conn *pc = c->pc;
	if (pc->form == CONN_SPLIT) {
		if (!pc->user_entry) {
			missing_setting(c, "user");
			return;
		}
		if (!pc->password_entry) {
			missing_setting(c, "password");
			return;
		}
		add_site(c, pc->user_entry, FLIP_USER, 1, 0);
		add_site(c, pc->password_entry, FLIP_PASSWORD, 0, 1);
		return;
	}
	if (!pc->entry)
		return;
	add_site(c, pc->entry, dsn_kind(pc->form), 1, pc->dsn_password || !pc->password_entry);
	if (pc->user_entry)
		add_site(c, pc->user_entry, FLIP_USER, 1, 0);
	if (pc->password_entry)
		add_site(c, pc->password_entry, FLIP_PASSWORD, 0, 1);
}

static int same_text(const struct flip_text *a, const struct flip_text *b)
{
	if (a->nparts != b->nparts)
		return 0;
	for (size_t i = 0; i < a->nparts; i++)
		if (strcmp(a->parts[i], b->parts[i]))
			return 0;
	return 1;
}

/* The flipped site at f's [start, ...) of another service's variable, or NULL. */
static const struct flip_site *flipped_site(const struct plan *plan, const char *svc,
					    const char *key, const struct flip_site *at)
{
	const struct plan_service *ps = plan_service(plan, svc);
	for (size_t k = 0; ps && k < ps->nconns; k++) {
		const struct plan_flip *fl = ps->conns[k].flip;
		for (size_t i = 0; fl && i < fl->nsites; i++)
			if (!strcmp(fl->sites[i].key, key) && fl->sites[i].file == at->file &&
			    fl->sites[i].start == at->start)
				return &fl->sites[i];
	}
	return NULL;
}

/*
 * Every environment entry of the project by the literal it comes from (its
 * span: file path, start, end), sorted so that one span's entries are
 * adjacent and found by binary search.  A sorted array, not a map keyed by
 * formatted text: formatting and hashing a path per entry was a tenth of
 * `plan`.  Within a span the entries run latest first (seq descending),
 * the order the checks below have always seen them in.
 */
struct share {
	const struct service *sv;
	const struct env_entry *en;
	const char *path;
	size_t start, end, seq;
};

struct shares {
	struct share *v;
	size_t nr, alloc;
};

static int span_cmp(const char *path, size_t start, size_t end, const struct share *b)
{
	if (start != b->start)
		return start < b->start ? -1 : 1;
	if (end != b->end)
		return end < b->end ? -1 : 1;
	return path == b->path ? 0 : strcmp(path, b->path);
}

static int share_cmp(const void *pa, const void *pb)
{
	const struct share *a = pa, *b = pb;
	int c = span_cmp(a->path, a->start, a->end, b);
	if (c)
		return c;
	return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static void index_literals(struct plan *plan, struct shares *by_span)
{
	const struct compose_project *p = plan->project;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *sv = &p->services[i];
		for (size_t e = 0; e < sv->nenv; e++) {
			const struct origin *os[2] = { &sv->env[e].origin, sv->env[e].origin.via };
			for (int w = 0; w < 2; w++) {
				const struct origin *o = os[w];
				if (!o || o->kind == ORIGIN_PROCESS || !o->pos.file)
					continue;
				ALLOC_GROW(by_span->v, by_span->nr + 1, by_span->alloc);
				by_span->v[by_span->nr] = (struct share){ sv, &sv->env[e], o->pos.file->path,
									  o->pos.start, o->pos.end, by_span->nr };
				by_span->nr++;
			}
		}
	}
	if (by_span->nr)
		qsort(by_span->v, by_span->nr, sizeof(*by_span->v), share_cmp);
}

/* The first entry of the span, or NULL. */
static const struct share *span_first(const struct shares *by_span, const char *path, size_t start,
				      size_t end)
{
	size_t lo = 0, hi = by_span->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (span_cmp(path, start, end, &by_span->v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < by_span->nr && !span_cmp(path, start, end, &by_span->v[lo]) ? &by_span->v[lo] : NULL;
}

/*
 * A site's literal may also be the value of another service's variable (an
 * anchor, an extends base, a shared env_file, a ${VAR} several use).  That
 * one must flip the same way, or editing the literal changes it too.
 */
static void check_shared(struct plan *plan, const struct shares *by_span, struct plan_service *ps,
			 struct plan_flip *fl)
{
	struct strvec with = STRVEC_INIT;
	const struct share *end = by_span->v + by_span->nr;
	for (size_t i = 0; i < fl->nsites && !fl->blocked; i++) {
		const struct flip_site *s = &fl->sites[i];
		for (const struct share *sh = span_first(by_span, s->file->path, s->start, s->end);
		     sh && sh < end && !fl->blocked && !span_cmp(s->file->path, s->start, s->end, sh); sh++) {
			const struct service *sv = sh->sv;
			const struct env_entry *en = sh->en;
			if (!strcmp(sv->name, ps->name) && !strcmp(en->key, s->key))
				continue;
			const struct flip_site *o = flipped_site(plan, sv->name, en->key, s);
			struct diag d = DIAG_INIT;
			if (o && same_text(&o->text, &s->text)) {
				if (strcmp(sv->name, ps->name) && !strvec_contains(&with, sv->name))
					strvec_push(&with, sv->name);
				continue;
			}
			if (o)
				diag_at(&d, s->file->display, s->line, s->col, "this literal is shared by "
					"%s and services.%s.%s, which would need different text "
					"(different roles): give them one role in dsnflip.yml, or split "
					"the literal", s->label, sv->name, en->key);
			else
				diag_at(&d, s->file->display, s->line, s->col, "%s: this literal is also "
					"services.%s.%s, which does not flip with it (%s): editing it "
					"would switch that one too; give %s its own value, then re-run",
					s->label, sv->name, en->key,
					!sv->enabled ? "its profile is not active"
					: !plan_service(plan, sv->name) ? "it is not a client"
					: plan_service(plan, sv->name)->action == ACTION_HOLD ? "it is held"
					: "it stays as it is", sv->name);
			fl->blocked = arena_strdup(&plan->arena, d.msg.buf);
			diag_release(&d);
		}
	}
	if (with.nr) {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < with.nr; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", with.v[i]);
		fl->shared_with = arena_strdup(&plan->arena, b.buf);
		buf_release(&b);
	}
	strvec_clear(&with);
}

void flip_plan(struct plan *plan, const struct plan_opts *opts)
{
	struct strvec said = STRVEC_INIT;
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		if (ps->action != ACTION_FLIP)
			continue;
		for (size_t k = 0; k < ps->nconns; k++) {
			struct plan_conn *pc = &ps->conns[k];
			const char *role = pc->role ? pc->role : ps->role;
			if (!pc->superuser || !role)
				continue;
			struct plan_flip *fl = arena_alloc(&plan->arena, sizeof(*fl));
			memset(fl, 0, sizeof(*fl));
			fl->role = role;
			char *var = flip_password_var(role), *ref = flip_password_ref(role, NULL);
			fl->password_var = arena_strdup(&plan->arena, var);
			pc->flip = fl;
			struct fctx c = { plan, opts, ps, pc, fl, ref, &said };
			flip_conn(&c);
			free(var);
			free(ref);
		}
	}
	struct shares by_span = { 0 };
	index_literals(plan, &by_span);
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		for (size_t k = 0; k < ps->nconns; k++) {
			struct plan_flip *fl = ps->conns[k].flip;
			if (!fl)
				continue;
			check_shared(plan, &by_span, ps, fl);
			if (fl->blocked)
				plan_warn(plan, 1, "%s", fl->blocked);
		}
	}
	free(by_span.v);
	strvec_clear(&said);
}

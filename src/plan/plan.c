/*
 * plan: roles, connection limits, the budget and the order (PRODUCT.md §4).
 *
 * detect.c has already said what each service is; this file turns that into
 * decisions an operator can check line by line:
 *  - migrators of one database share its owner role, writers and readers
 *    get one role each, and services whose DSNs are one literal (an anchor,
 *    an extends base, a shared env_file) share one role, since one literal
 *    can name only one user;
 *  - a role's CONNECTION LIMIT is the sum over its services of pool size x
 *    replicas + 2, raised to the peak the live server has seen;
 *  - the budget compares those limits (and existing roles') with what the
 *    server really has;
 *  - the order puts the least risky cutovers first.
 */
#include "plan/plan.h"
#include "detect/detect.h"
#include "plan/flip.h"
#include "stack/config.h"
#include "util/num.h"
#include "util/strmap.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_LIMIT 10
#define DEFAULT_MAX_CONNECTIONS 100
#define DEFAULT_SU_RESERVED 3
#define DEFAULT_HEADROOM 2



/* --- names --- */

/* Lowercase, [a-z0-9_] only, not starting with a digit; trimmed to fit 63 bytes. */
static char *ident(struct arena *a, const char *s, size_t maxlen)
{
	struct buf b = BUF_INIT;
	for (; *s && b.len < maxlen; s++) {
		int ch = tolower((unsigned char)*s);
		if (isalnum(ch))
			buf_addch(&b, ch);
		else if (b.len && b.buf[b.len - 1] != '_')
			buf_addch(&b, '_');
	}
	while (b.len && b.buf[b.len - 1] == '_')
		buf_setlen(&b, b.len - 1);
	if (!b.len || isdigit((unsigned char)b.buf[0])) {
		struct buf c = BUF_INIT;
		buf_addf(&c, "s_%s", b.buf);
		buf_release(&b);
		b = c;
	}
	char *r = arena_strndup(a, b.buf, b.len > maxlen ? maxlen : b.len);
	buf_release(&b);
	return r;
}

static char *strip_suffix(struct arena *a, const char *s, const char *const *suffixes)
{
	size_t n = strlen(s);
	for (; *suffixes; suffixes++) {
		size_t k = strlen(*suffixes);
		if (n > k && !strcmp(s + n - k, *suffixes))
			return arena_strndup(a, s, n - k);
	}
	return arena_strdup(a, s);
}

/* PostgreSQL reserves role names starting with pg_: move such names aside. */
static char *unreserved(struct arena *a, char *name)
{
	return str_starts(name, "pg_") ? arena_strfmt(a, "app_%s", name) : name;
}

/*
 * Names that say nothing about the application (a service called "app" or
 * "api", a database called "postgres"): a role named after them (app_app,
 * postgres_owner) would be ambiguous across projects, so the project name
 * stands in.
 */
static int generic_name(const char *s)
{
	static const char *const names[] = {
		"app", "api", "server", "backend", "service", "main", "application", "default",
		"postgres", "postgresql", "db", "database", "data", "template1", NULL
	};
	for (const char *const *n = names; *n; n++)
		if (!strcmp(s, *n))
			return 1;
	return 0;
}

static char *owner_role_name(struct arena *a, const char *db, const char *project)
{
	static const char *const sfx[] = { "_database", "_db", NULL };
	char *base = strip_suffix(a, ident(a, db, 53), sfx);
	if (generic_name(base) && project && *project && !generic_name(ident(a, project, 53)))
		base = strip_suffix(a, ident(a, project, 53), sfx);
	return unreserved(a, arena_strfmt(a, "%s_owner", base));
}

/* ngeneric: how many services of the plan have a generic name (one takes
 * <project>_app, several take <project>_<service>_app). */
static char *app_role_name(struct arena *a, const char *service, int strip, const char *project,
			   int ngeneric)
{
	static const char *const sfx[] = { "_api", "_service", "_svc", "_server", NULL };
	char *base = ident(a, service, 55);
	if (strip)
		base = strip_suffix(a, base, sfx);
	if (generic_name(base) && project && *project && !generic_name(ident(a, project, 40)))
		base = ngeneric > 1 ? ident(a, arena_strfmt(a, "%s_%s", project, base), 55)
				    : ident(a, project, 55);
	return unreserved(a, arena_strfmt(a, "%s_app", base));
}

/* --- role assembly --- */

static void role_add_db(struct plan *plan, struct plan_role *r, const char *db)
{
	for (size_t i = 0; i < r->ndatabases; i++)
		if (!strcmp(r->databases[i], db))
			return;
	r->databases = arena_grow(&plan->arena, r->databases, r->ndatabases, r->ndatabases + 1,
				  sizeof(*r->databases));
	r->databases[r->ndatabases++] = arena_strdup(&plan->arena, db);
}

static void role_add_service(struct plan *plan, struct plan_role *r, const char *svc)
{
	for (size_t i = 0; i < r->nservices; i++)
		if (!strcmp(r->services[i], svc))
			return;
	r->services = arena_grow(&plan->arena, r->services, r->nservices, r->nservices + 1,
				 sizeof(*r->services));
	r->services[r->nservices++] = svc;
}

/*
 * The server a connection reaches, as roles are keyed: the stack's server
 * service, else the host it names (with its port when not 5432), NULL when
 * it names none.
 */
static const char *conn_server(struct plan *plan, const struct plan_conn *c)
{
	if (c->server)
		return c->server;
	if (!c->host || !*c->host)
		return NULL;
	if (c->port > 0 && c->port != 5432)
		return arena_strfmt(&plan->arena, "%s:%d", c->host, c->port);
	return c->host;
}

/* The role named name on server (created with kind when new); map: "server\1name" -> index + 1. */
static struct plan_role *role_on(struct plan *plan, struct strmap *map, const char *name,
				 const char *server, enum role_kind kind)
{
	const char *key = arena_strfmt(&plan->arena, "%s\1%s", server ? server : "", name);
	size_t i = (size_t)(uintptr_t)strmap_get(map, key);
	if (i)
		return &plan->roles[i - 1];
	ALLOC_GROW(plan->roles, plan->nroles + 1, plan->roles_alloc);
	struct plan_role *r = &plan->roles[plan->nroles++];
	memset(r, 0, sizeof(*r));
	r->name = arena_strdup(&plan->arena, name);
	r->kind = kind;
	r->server = server ? arena_strdup(&plan->arena, server) : NULL;
	strmap_put(map, key, (void *)(uintptr_t)plan->nroles);
	return r;
}

/*
 * Role names are unique across servers (one <ROLE>_PASSWORD each, one name
 * in the runbook): a name planned on several servers keeps it on the first
 * and takes the server's name on the others (api_app on vectordb becomes
 * api_vectordb_app).  Also records the plan's servers, in order.
 */
static void name_roles_per_server(struct plan *plan)
{
	struct strmap first = STRMAP_INIT, taken = STRMAP_INIT;
	for (size_t i = 0; i < plan->nroles; i++)
		strmap_put(&taken, plan->roles[i].name, (void *)1);
	for (size_t i = 0; i < plan->nroles; i++) {
		struct plan_role *r = &plan->roles[i];
		int seen = 0;
		for (size_t k = 0; k < plan->nservers; k++)
			seen |= plan_same_server(plan->servers[k], r->server);
		if (!seen) {
			plan->servers = arena_grow(&plan->arena, plan->servers, plan->nservers,
						   plan->nservers + 1, sizeof(*plan->servers));
			plan->servers[plan->nservers++] = r->server;
		}
		struct plan_role *f = strmap_get(&first, r->name);
		if (!f) {
			strmap_put(&first, r->name, r);
			continue;
		}
		static const char *const sfx[] = { "_owner", "_app", NULL };
		const char *base = r->name, *suffix = "";
		for (const char *const *x = sfx; *x; x++)
			if (str_ends(r->name, *x) && strlen(r->name) > strlen(*x)) {
				base = arena_strndup(&plan->arena, r->name, strlen(r->name) - strlen(*x));
				suffix = *x;
				break;
			}
		char *sv = ident(&plan->arena, r->server ? r->server : "nohost", 20);
		char *name = ident(&plan->arena, arena_strfmt(&plan->arena, "%s_%s%s", base, sv, suffix), 63);
		for (int n = 2; strmap_get(&taken, name) && n < 1000; n++)
			name = ident(&plan->arena, arena_strfmt(&plan->arena, "%s_%s%d%s", base, sv, n, suffix), 63);
		strmap_put(&taken, name, (void *)1);
		r->name = name;
	}
	strmap_clear(&first);
	strmap_clear(&taken);
}

/* The identity of a connection's literal: same file and span => one literal. */
static int same_literal(const struct plan_conn *a, const struct plan_conn *b)
{
	const struct env_entry *ea = a->user_entry ? a->user_entry : a->entry;
	const struct env_entry *eb = b->user_entry ? b->user_entry : b->entry;
	if (!ea || !eb || ea->origin.kind == ORIGIN_PROCESS || eb->origin.kind == ORIGIN_PROCESS)
		return 0;
	/* An env_file read for two services is two srcfiles: compare by path. */
	return ea->origin.pos.file && eb->origin.pos.file &&
	       !strcmp(ea->origin.pos.file->display, eb->origin.pos.file->display) &&
	       ea->origin.pos.start == eb->origin.pos.start && ea->origin.pos.end == eb->origin.pos.end;
}

static const char *first_database(const struct plan_service *ps)
{
	for (size_t i = 0; i < ps->nconns; i++)
		if (ps->conns[i].superuser && ps->conns[i].database)
			return ps->conns[i].database;
	return ps->nconns && ps->conns[0].database ? ps->conns[0].database : "postgres";
}

/* Record, on both services, that one literal names their user. */
static void note_shared(struct plan *plan, struct plan_service *a, struct plan_service *b)
{
	for (size_t x = 0; x < a->nconns; x++)
		for (size_t y = 0; y < b->nconns; y++) {
			const struct plan_conn *ca = &a->conns[x], *cb = &b->conns[y];
			if (!same_literal(ca, cb))
				continue;
			plan_add_evidence(plan, a, ca->defined_file, ca->defined_line,
					  arena_strfmt(&plan->arena, "%s is one literal shared with %s: "
						       "one user for both", ca->variable, b->name), "shared");
			plan_add_evidence(plan, b, cb->defined_file, cb->defined_line,
					  arena_strfmt(&plan->arena, "%s is one literal shared with %s: "
						       "one user for both", cb->variable, a->name), "shared");
			a->shared_literal = b->shared_literal = 1;
			return;
		}
}

/* "file\1start\1end" of the literal naming a connection's user, or NULL. */
static const char *literal_key(struct plan *plan, const struct plan_conn *c)
{
	const struct env_entry *e = c->user_entry ? c->user_entry : c->entry;
	if (!e || e->origin.kind == ORIGIN_PROCESS || !e->origin.pos.file)
		return NULL;
	return arena_strfmt(&plan->arena, "%s\1%zu\1%zu", e->origin.pos.file->display,
			    e->origin.pos.start, e->origin.pos.end);
}

/* a (earlier in file order) and b share a literal: one role for both. */
static void share_literal(struct plan *plan, struct plan_service *a, struct plan_service *b)
{
	note_shared(plan, a, b);
	if (!strcmp(a->role, b->role))
		return;
	if (a->action != b->action) {
		/* Still one literal, so still one user: one role for both, and the
		 * flip waits until the held one is settled. */
		const char *held = a->action == ACTION_HOLD ? a->name : b->name;
		plan_warn(plan, 1, "%s and %s share one connection literal but %s is held: split the "
			  "literal, or settle %s's class, before either is flipped", a->name, b->name,
			  held, held);
	}
	/* The more privileged need wins: an owner can do what a writer does. */
	struct plan_service *keep = a;
	if (b->cls == CLASS_MIGRATOR && a->cls != CLASS_MIGRATOR)
		keep = b;
	if (a->cls != b->cls)
		plan_warn(plan, 0, "%s (%s) and %s (%s) share one connection literal, so both connect "
			  "as %s", a->name, class_name(a->cls), b->name, class_name(b->cls), keep->role);
	if (keep == b)
		a->role = b->role;
	else
		b->role = a->role;
}

static enum role_kind kind_for(enum svc_class c)
{
	return c == CLASS_MIGRATOR ? ROLE_OWNER : c == CLASS_READER ? ROLE_READER : ROLE_WRITER;
}

/*
 * A pool hint from the environment: 1 when e holds a pool size (in *n), 0
 * when it is absent or empty.  A value that is not a whole number from 1 to
 * POOL_HINT_MAX is a warning naming it, blocking unless dsnflip.yml sets the
 * role's limit (then the hint does not matter): atoi would read "12abc" as
 * 12 and "1e3" as 1, and a wrapped number would plan a role that can never
 * log in.
 */
static int env_pool_value(struct plan *plan, struct plan_service *ps, const struct env_entry *e,
			  int min, int *n, int role_limit_set)
{
	if (!e || !e->value || !*e->value)
		return 0;
	if (num_parse_int(e->value, min, POOL_HINT_MAX, n) == NUM_OK)
		return 1;
	struct buf where = BUF_INIT;
	origin_describe(&e->origin, &where);
	plan_warn(plan, !role_limit_set, "%s: %s: %s=\"%s\" is not a pool size (a whole number from "
		  "%d to %d): set connection_limit in dsnflip.yml", where.buf, ps->name, e->key,
		  e->value, min, POOL_HINT_MAX);
	buf_release(&where);
	return 0;
}

/* Pool hints in a service's environment: (hint, where). */
static int pool_from_env(struct plan *plan, struct plan_service *ps, int role_limit_set)
{
	static const char *const keys[] = {
		"DB_POOL_SIZE", "DB_POOL_MAX", "DATABASE_POOL_SIZE", "DATABASE_POOL_MAX", "POOL_SIZE",
		"POOL_MAX", "PG_POOL_SIZE", "PG_POOL_MAX", "PGPOOL_MAX", "DB_MAX_CONNECTIONS",
		"DATABASE_MAX_CONNECTIONS", "DB_CONNECTION_LIMIT", "MAX_DB_CONNECTIONS",
		"SQLALCHEMY_POOL_SIZE", "DB_POOL", "DATABASE_POOL", "DB_MAXCONN", NULL
	};
	static const char *const overflow[] = {
		"SQLALCHEMY_MAX_OVERFLOW", "DB_MAX_OVERFLOW", "POOL_MAX_OVERFLOW", "DATABASE_MAX_OVERFLOW",
		"MAX_OVERFLOW", NULL
	};
	const struct service *s = ps->svc;
	for (const char *const *k = keys; *k; k++) {
		const struct env_entry *e = service_env(s, *k);
		int n, m;
		if (!env_pool_value(plan, ps, e, 1, &n, role_limit_set))
			continue;
		ps->pool_source = arena_strfmt(&plan->arena, "%s=%d", *k, n);
		for (const char *const *o = overflow; *o; o++) {
			const struct env_entry *oe = service_env(s, *o);
			/* SQLAlchemy's max_overflow=-1 means no bound at all: the
			 * budget cannot hold such a pool, so say it instead of
			 * planning pool_size alone. */
			if (oe && oe->value && !strcmp(oe->value, "-1")) {
				struct buf where = BUF_INIT;
				origin_describe(&oe->origin, &where);
				plan_warn(plan, !role_limit_set, "%s: %s: %s=-1 lets the pool grow without limit: "
					  "the budget cannot bound it; set connection_limit in dsnflip.yml",
					  where.buf, ps->name, *o);
				buf_release(&where);
				break;
			}
			if (!env_pool_value(plan, ps, oe, 0, &m, role_limit_set))
				continue;
			if (m > 0) {
				ps->pool_source = arena_strfmt(&plan->arena, "%s=%d + %s=%d", *k, n, *o, m);
				n += m; /* both at most POOL_HINT_MAX: no overflow */
			}
			break;
		}
		return n;
	}
	for (size_t i = 0; i < ps->nconns; i++)
		if (ps->conns[i].pool_hint > 0) {
			ps->pool_source = arena_strfmt(&plan->arena, "pool size %d in %s", ps->conns[i].pool_hint,
						       ps->conns[i].variable);
			return ps->conns[i].pool_hint;
		}
	return 0;
}

/* nohint: the services that got the default limit (one warning names them all). */
static int service_limit(struct plan *plan, struct plan_service *ps, int role_limit_set,
			 struct strvec *nohint)
{
	int replicas = ps->svc->replicas > 0 ? ps->svc->replicas : 1;
	int limit;
	if (ps->limit_override > 0)
		return ps->limit_override;
	ps->pool = pool_from_env(plan, ps, role_limit_set);
	if (ps->pool > 0) {
		if (num_mul_int(ps->pool, replicas, &limit) || num_add_int(limit, 2, &limit)) {
			plan_warn(plan, 1, "%s: a pool of %d times %d replicas overflows a connection "
				  "limit: set connection_limit in dsnflip.yml", ps->name, ps->pool, replicas);
			limit = INT_MAX;
		}
	} else {
		limit = DEFAULT_LIMIT;
		ps->pool_source = "default";
		if (!role_limit_set)
			strvec_push(nohint, ps->name);
	}
	if (ps->observed_peak > limit) {
		plan_warn(plan, 0, "%s: the server has seen %d sessions from it, above the planned %d; "
			  "limit raised", ps->name, ps->observed_peak, limit);
		limit = ps->observed_peak;
	}
	return limit;
}

static void add_setting(struct plan *plan, struct plan_role *r, const char *k, const char *v)
{
	for (size_t i = 0; i < r->nsettings; i++)
		if (!strcmp(r->settings[i].key, k)) {
			r->settings[i].value = arena_strdup(&plan->arena, v);
			return;
		}
	r->settings = arena_grow(&plan->arena, r->settings, r->nsettings, r->nsettings + 1,
				 sizeof(*r->settings));
	r->settings[r->nsettings].key = arena_strdup(&plan->arena, k);
	r->settings[r->nsettings].value = arena_strdup(&plan->arena, v);
	r->nsettings++;
}

/*
 * Defaults (README "Role settings"): every role ends idle transactions after
 * 5 minutes and idle sessions after an hour, so forgotten pools give their
 * slots back; readers also get a 60 s statement timeout.  Owners get no
 * statement timeout: migrations may legitimately run long.
 */
static void role_settings(struct plan *plan, const struct config *cfg, struct plan_role *r)
{
	add_setting(plan, r, "idle_in_transaction_session_timeout", "5min");
	add_setting(plan, r, "idle_session_timeout", "1h");
	if (r->kind == ROLE_READER)
		add_setting(plan, r, "statement_timeout", "60s");
	for (size_t i = 0; cfg && i < cfg->nsettings; i++)
		add_setting(plan, r, cfg->settings[i].key, cfg->settings[i].value);
	for (size_t i = 0; cfg && r->kind == ROLE_READER && i < cfg->nreader_settings; i++)
		add_setting(plan, r, cfg->reader_settings[i].key, cfg->reader_settings[i].value);
	const struct config_role *cr = cfg ? config_role(cfg, r->name) : NULL;
	for (size_t i = 0; cr && i < cr->nsettings; i++)
		add_setting(plan, r, cr->settings[i].key, cr->settings[i].value);
}

static void assign_roles(struct plan *plan, const struct config *cfg)
{
	/* Pass 1: the role each flipped or held service would get on its own. */
	int ngeneric = 0;
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		static const char *const sfx[] = { "_api", "_service", "_svc", "_server", NULL };
		if (ps->action != ACTION_SKIP && ps->cls != CLASS_MIGRATOR &&
		    generic_name(strip_suffix(&plan->arena, ident(&plan->arena, ps->name, 55), sfx)))
			ngeneric++;
	}
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		const struct config_service *cs = cfg ? config_service(cfg, ps->name) : NULL;
		if (ps->action == ACTION_SKIP)
			continue;
		if (cs && cs->role)
			ps->role_override = cs->role;
		if (cs && cs->connection_limit > 0)
			ps->limit_override = cs->connection_limit;
		if (cs && cs->order > 0)
			ps->order_hint = cs->order;
		if (ps->role_override)
			ps->role = ps->role_override;
		else if (ps->cls == CLASS_MIGRATOR)
			ps->role = owner_role_name(&plan->arena, first_database(ps), plan->project_name);
		else
			ps->role = app_role_name(&plan->arena, ps->name, 1, plan->project_name, ngeneric);
	}
	/* Pass 2: a literal shared by several services names one user.  Each
	 * literal (file and byte span) maps to the first service using it, so
	 * this stays linear on big stacks. */
	struct strmap literals = STRMAP_INIT;
	for (size_t j = 0; j < plan->nservices; j++) {
		struct plan_service *b = &plan->services[j];
		if (b->action == ACTION_SKIP)
			continue;
		for (size_t y = 0; y < b->nconns; y++) {
			const char *key = literal_key(plan, &b->conns[y]);
			if (!key || !b->conns[y].superuser)
				continue;
			struct plan_service *a = strmap_get(&literals, key);
			if (!a) {
				strmap_put(&literals, key, b);
				continue;
			}
			if (a == b)
				continue;
			share_literal(plan, a, b);
		}
	}
	strmap_clear(&literals);
	/* Pass 3: build the roles in file order, one per (name, server): a
	 * service connecting to two servers needs a role on each, and what one
	 * server's role may do says nothing about the other's. */
	struct strmap onserver = STRMAP_INIT;
	struct strvec nohint = STRVEC_INIT;
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		if (ps->action == ACTION_SKIP)
			continue;
		enum role_kind kind = kind_for(ps->cls);
		struct strvec servers = STRVEC_INIT;
		int has_null = 0, any = 0;
		for (size_t k = 0; k < ps->nconns; k++) {
			if (!ps->conns[k].superuser)
				continue;
			const char *sv = conn_server(plan, &ps->conns[k]);
			any = 1;
			if (!sv)
				has_null = 1;
			else if (!strvec_contains(&servers, sv))
				strvec_push(&servers, sv);
		}
		/* No superuser connection (held for an unknown one): its first connection's server. */
		if (!any && ps->nconns && conn_server(plan, &ps->conns[0]))
			strvec_push(&servers, conn_server(plan, &ps->conns[0]));
		else if (!any)
			has_null = 1;
		const struct config_role *crl = cfg ? config_role(cfg, ps->role) : NULL;
		int limit = service_limit(plan, ps, crl && crl->connection_limit > 0, &nohint);
		size_t nsv = servers.nr + (size_t)has_null;
		for (size_t x = 0; x < nsv; x++) {
			const char *sv = x < servers.nr ? servers.v[x] : NULL;
			struct plan_role *r = role_on(plan, &onserver, ps->role, sv, kind);
			if (r->kind != kind) {
				/* Shared literal across classes: the role takes the stronger kind. */
				if (kind == ROLE_OWNER || (kind == ROLE_WRITER && r->kind == ROLE_READER))
					r->kind = kind;
			}
			if (ps->shared_literal)
				r->shared_origin = 1;
			role_add_service(plan, r, ps->name);
			for (size_t k = 0; k < ps->nconns; k++)
				if (ps->conns[k].superuser && plan_same_server(conn_server(plan, &ps->conns[k]), sv))
					role_add_db(plan, r, ps->conns[k].database ? ps->conns[k].database : "postgres");
			if (num_add_int(r->connection_limit, limit, &r->connection_limit)) {
				plan_warn(plan, 1, "role %s: the sum of its services' limits overflows a "
					  "connection limit: set connection_limit in dsnflip.yml", r->name);
				r->connection_limit = INT_MAX;
			}
			r->limit_source = r->nservices > 1 ? "sum of its services" : ps->pool_source;
		}
		strvec_clear(&servers);
	}
	if (nohint.nr) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < nohint.nr && i < 20; i++)
			buf_addf(&list, "%s%s", i ? ", " : "", nohint.v[i]);
		if (nohint.nr > 20)
			buf_addf(&list, " and %zu more", nohint.nr - 20);
		plan_warn(plan, 0, "%s: no pool size hint found; connection limit %d assumed%s "
			  "(set connection_limit in dsnflip.yml)", list.buf, DEFAULT_LIMIT,
			  nohint.nr > 1 ? " for each" : "");
		buf_release(&list);
	}
	strvec_clear(&nohint);
	name_roles_per_server(plan);
	/* Each connection (and the service, by its first) to the role on its server. */
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		const char *first = NULL;
		if (ps->action == ACTION_SKIP)
			continue;
		for (size_t k = 0; k < ps->nconns; k++) {
			if (!ps->conns[k].superuser)
				continue;
			struct plan_role *r = role_on(plan, &onserver, ps->role, conn_server(plan, &ps->conns[k]),
						      kind_for(ps->cls));
			ps->conns[k].role = r->name;
			if (!first)
				first = r->name;
		}
		if (!first)
			first = role_on(plan, &onserver, ps->role,
					ps->nconns ? conn_server(plan, &ps->conns[0]) : NULL, kind_for(ps->cls))->name;
		ps->role = first;
	}
	strmap_clear(&onserver);
	strmap_clear(&plan->role_index);
	for (size_t i = 0; i < plan->nroles; i++)
		strmap_put(&plan->role_index, plan->roles[i].name, (void *)(uintptr_t)(i + 1));
	/* Held-only roles are prepared but not used yet. */
	for (size_t i = 0; i < plan->nroles; i++) {
		struct plan_role *r = &plan->roles[i];
		/* "shared" describes a role several services use, not one whose
		 * literal was merely seen elsewhere. */
		if (r->nservices < 2)
			r->shared_origin = 0;
		int any_flip = 0;
		for (size_t k = 0; k < r->nservices; k++)
			any_flip |= plan_service(plan, r->services[k])->action == ACTION_FLIP;
		r->held = !any_flip;
		const struct config_role *cr = cfg ? config_role(cfg, r->name) : NULL;
		if (cr && cr->connection_limit > 0) {
			r->connection_limit = cr->connection_limit;
			r->limit_source = "config";
		}
		role_settings(plan, cfg, r);
		if (strlen(r->name) > 63)
			plan_warn(plan, 1, "role name %s is longer than 63 bytes", r->name);
		if (!strcmp(r->name, "postgres") || str_starts(r->name, "pg_"))
			plan_warn(plan, 1, "role name %s is reserved: choose another in dsnflip.yml", r->name);
	}
	/* Two services may normalise to one name: different roles must differ. */
	struct strmap names = STRMAP_INIT;
	for (size_t j = 0; j < plan->nservices; j++) {
		struct plan_service *b = &plan->services[j], *a;
		if (!b->role || b->cls == CLASS_MIGRATOR || b->action == ACTION_SKIP)
			continue;
		if (!(a = strmap_get(&names, b->role))) {
			strmap_put(&names, b->role, b);
			continue;
		}
		if (!b->shared_literal && !b->role_override)
			plan_warn(plan, 1, "%s and %s both map to role %s: set role for one of them in "
				  "dsnflip.yml", a->name, b->name, a->role);
	}
	strmap_clear(&names);
}

/*
 * Live: a planned role the server already has.  dsnflip never alters a
 * role that is a superuser, has CREATEROLE, REPLICATION or BYPASSRLS, is
 * predefined or is the admin login, and alters an existing role it did not
 * create only when dsnflip.yml adopts it: `roles apply` would refuse, so
 * the plan blocks now, naming the role.
 */
static void guard_live_roles(struct plan *plan, const struct config *cfg, const struct live_facts *live)
{
	for (size_t i = 0; live && i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		const struct live_role *lr = NULL;
		for (size_t k = 0; k < live->nroles && !lr; k++)
			if (!strcmp(live->roles[k].name, r->name))
				lr = &live->roles[k];
		if (!lr)
			continue;
		const struct config_role *cr = cfg ? config_role(cfg, r->name) : NULL;
		if (live->admin_user && !strcmp(live->admin_user, r->name))
			plan_warn(plan, 1, "role %s is the admin login dsnflip connects as: dsnflip never "
				  "alters it; map its services to another role in dsnflip.yml", r->name);
		else if (lr->protected_by)
			plan_warn(plan, 1, "role %s exists on the server with %s: dsnflip never alters such "
				  "a role; map its services to another role in dsnflip.yml", r->name,
				  lr->protected_by);
		else if (!lr->managed && !(cr && cr->adopt))
			plan_warn(plan, 1, "role %s already exists on the server and dsnflip did not create "
				  "it: roles apply leaves it alone unless dsnflip.yml adopts it "
				  "(roles: {%s: {adopt: true}})", r->name, r->name);
	}
}

/* --- budget --- */

/* planned += n, saturating: a sum past INT_MAX is over any budget, and says so. */
static void budget_add(struct plan *plan, int *planned, int n)
{
	if (num_add_int(*planned, n, planned)) {
		plan_warn(plan, 1, "the planned connections overflow a whole number: the budget "
			  "cannot hold them");
		*planned = INT_MAX;
	}
}

/* One server's budget: live facts when live (the server --db reaches), else offline figures. */
static void budget_for(struct plan *plan, const struct config *cfg, const struct live_facts *live,
		       const char *server, struct plan_server *sv, struct plan_budget *b)
{
	memset(sv, 0, sizeof(*sv));
	memset(b, 0, sizeof(*b));
	b->server = server;
	sv->max_connections = DEFAULT_MAX_CONNECTIONS;
	sv->superuser_reserved = DEFAULT_SU_RESERVED;
	sv->reserved = 0;
	sv->headroom = cfg && cfg->headroom >= 0 ? cfg->headroom : DEFAULT_HEADROOM;
	sv->source = "offline";
	if (live) {
		sv->max_connections = live->max_connections;
		sv->superuser_reserved = live->superuser_reserved;
		sv->reserved = live->reserved;
		sv->version = live->version;
		sv->timescaledb = live->timescaledb;
		sv->derived = live->derived;
		sv->source = "live";
	} else if (cfg && cfg->max_connections > 0) {
		sv->max_connections = cfg->max_connections;
		if (cfg->superuser_reserved >= 0)
			sv->superuser_reserved = cfg->superuser_reserved;
		if (cfg->reserved >= 0)
			sv->reserved = cfg->reserved;
		sv->source = "config";
	}
	b->max_connections = sv->max_connections;
	b->source = sv->source;
	b->available = sv->max_connections - sv->superuser_reserved - sv->reserved - sv->headroom;
	b->planned = 0;
	b->rows = arena_alloc(&plan->arena, (plan->nroles + (live ? live->nroles : 0) + 1) * sizeof(*b->rows));
	for (size_t i = 0; i < plan->nroles; i++) {
		if (!plan_role_on(plan, &plan->roles[i], server))
			continue;
		b->rows[b->nrows].role = plan->roles[i].name;
		b->rows[b->nrows].limit = plan->roles[i].connection_limit;
		b->rows[b->nrows].source = "plan";
		b->nrows++;
		budget_add(plan, &b->planned, plan->roles[i].connection_limit);
	}
	for (size_t i = 0; live && i < live->nroles; i++) {
		const struct live_role *lr = &live->roles[i];
		if (lr->superuser || !lr->can_login || plan_role(plan, lr->name))
			continue;
		b->rows[b->nrows].role = lr->name;
		b->rows[b->nrows].limit = lr->connection_limit;
		b->rows[b->nrows].source = "existing";
		b->nrows++;
		if (lr->connection_limit < 0)
			plan_warn(plan, 0, "existing role %s has no connection limit: the budget cannot "
				  "bound it (ALTER ROLE %s CONNECTION LIMIT n)", lr->name, lr->name);
		else
			budget_add(plan, &b->planned, lr->connection_limit);
	}
	if (live) {
		b->superuser_sessions = live->superuser_sessions;
		if (live->superuser_sessions)
			plan_warn(plan, 0, "%d sessions run as a superuser now", live->superuser_sessions);
	}
	b->ok = b->planned <= b->available;
	if (!b->ok && plan->nservers > 1)
		plan_warn(plan, 1, "connection budget exceeded on server %s: %d planned > %d available",
			  plan_server_label(server), b->planned, b->available);
	else if (!b->ok)
		plan_warn(plan, 1, "connection budget exceeded: %d planned > %d available", b->planned,
			  b->available);
}

/*
 * A budget per server.  The live facts describe the server --db reaches
 * (plan->live_server; the only one when the plan has one); every other
 * server is planned on offline figures, and the plan says so.  budget (and
 * server) is the primary one's: the live server's, else the first's.
 */
static void budget(struct plan *plan, const struct config *cfg, const struct live_facts *live)
{
	size_t n = plan->nservers ? plan->nservers : 1, primary = 0;
	int live_at = -1;
	for (size_t i = 0; live && i < n && live_at < 0; i++)
		if (n == 1 || (plan->live_server && plan_same_server(plan->servers[i], plan->live_server)))
			live_at = (int)i;
	plan->budgets = arena_alloc(&plan->arena, n * sizeof(*plan->budgets));
	plan->nbudgets = n;
	for (size_t i = 0; i < n; i++) {
		const char *server = plan->nservers ? plan->servers[i] : NULL;
		int is_live = live_at == (int)i;
		struct plan_server sv;
		budget_for(plan, cfg, is_live ? live : NULL, server, &sv, &plan->budgets[i]);
		if (is_live || (live_at < 0 && i == 0)) {
			primary = i;
			plan->server = sv;
		}
		if (live && !is_live)
			plan_warn(plan, 0, "server %s is not the one the admin connection reaches: its roles "
				  "and budget are planned offline (%s max_connections=%d)", plan_server_label(server),
				  !strcmp(sv.source, "config") ? "dsnflip.yml's" : "PostgreSQL's default",
				  sv.max_connections);
	}
	if (!live && !strcmp(plan->server.source, "offline"))
		plan_warn(plan, 0, "no live server (--db): assuming PostgreSQL's defaults "
			  "max_connections=%d, superuser_reserved_connections=%d",
			  DEFAULT_MAX_CONNECTIONS, DEFAULT_SU_RESERVED);
	plan->budget = plan->budgets[primary];
}

/* --- order --- */

static int class_rank(enum svc_class c)
{
	return c == CLASS_READER ? 0 : c == CLASS_WRITER ? 1 : 2;
}

static int order_cmp(const void *x, const void *y)
{
	const struct plan_service *a = *(const struct plan_service *const *)x;
	const struct plan_service *b = *(const struct plan_service *const *)y;
	if (class_rank(a->cls) != class_rank(b->cls))
		return class_rank(a->cls) - class_rank(b->cls);
	if (a->svc->publishes_ports != b->svc->publishes_ports)
		return a->svc->publishes_ports - b->svc->publishes_ports;
	return a->svc->order < b->svc->order ? -1 : a->svc->order > b->svc->order;
}

static void order(struct plan *plan)
{
	size_t n = 0;
	const struct plan_service **v = xcalloc(plan->nservices + 1, sizeof(*v));
	for (size_t i = 0; i < plan->nservices; i++)
		if (plan->services[i].action == ACTION_FLIP)
			v[n++] = &plan->services[i];
	qsort(v, n, sizeof(*v), order_cmp);
	/* Explicit positions from the config take their slot; the rest fill in. */
	const struct plan_service **out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		int h = v[i]->order_hint;
		if (h > 0 && (size_t)h <= n && !out[h - 1])
			out[h - 1] = v[i];
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int h = v[i]->order_hint;
		if (h > 0 && (size_t)h <= n && out[h - 1] == v[i])
			continue;
		while (k < n && out[k])
			k++;
		out[k] = v[i];
	}
	plan->order = arena_alloc(&plan->arena, (n + 1) * sizeof(*plan->order));
	for (size_t i = 0; i < n; i++)
		plan->order[i] = out[i]->name;
	plan->norder = n;
	free(v);
	free(out);
}

/* --- live facts --- */

/* Does another service than ps connect as user (to db, when db is given)? */
static int user_shared(const struct plan *plan, const struct plan_service *ps, const char *user,
		       const char *db)
{
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *o = &plan->services[i];
		if (o == ps)
			continue;
		for (size_t k = 0; k < o->nconns; k++)
			if (o->conns[k].user && !strcmp(o->conns[k].user, user) &&
			    (!db || (o->conns[k].database && !strcmp(o->conns[k].database, db))))
				return 1;
	}
	return 0;
}

/*
 * The sessions the server has seen from this service (0 = unknown).  The
 * server only knows users, so a count is the service's only when no other
 * service connects as that user (or, failing that, as that user to that
 * database): four services sharing `postgres` must not each be charged
 * everyone's sessions.
 */
static int observed_peak(struct plan *plan, const struct plan_service *ps, const struct live_facts *live)
{
	int peak = 0;
	for (size_t k = 0; k < ps->nconns; k++) {
		const struct plan_conn *c = &ps->conns[k];
		int seen = 0, dup = 0;
		if (!c->user)
			continue;
		for (size_t j = 0; j < k; j++)
			dup |= ps->conns[j].user && !strcmp(ps->conns[j].user, c->user) &&
			       (!ps->conns[j].database || !c->database || !strcmp(ps->conns[j].database, c->database));
		if (dup)
			continue;
		if (!user_shared(plan, ps, c->user, NULL)) {
			for (size_t r = 0; r < live->nroles; r++)
				if (!strcmp(live->roles[r].name, c->user))
					seen = live->roles[r].peak;
		} else if (c->database && live->nsessions && !user_shared(plan, ps, c->user, c->database)) {
			for (size_t s = 0; s < live->nsessions; s++)
				if (live->sessions[s].user && live->sessions[s].database &&
				    !strcmp(live->sessions[s].user, c->user) &&
				    !strcmp(live->sessions[s].database, c->database))
					seen += live->sessions[s].count;
		}
		peak += seen;
	}
	return peak;
}

/* Objects that stay with their owner: not a superuser and not a role of this plan. */
static void kept_objects(struct plan *plan, const struct live_facts *live)
{
	size_t n = 0;
	for (size_t i = 0; live && i < live->ndbs; i++)
		n += live->dbs[i].nkept;
	if (!n)
		return;
	plan->kept = arena_alloc(&plan->arena, n * sizeof(*plan->kept));
	struct buf list = BUF_INIT;
	for (size_t i = 0; i < live->ndbs; i++) {
		const struct live_db *db = &live->dbs[i];
		for (size_t k = 0; k < db->nkept; k++) {
			const struct live_object *o = &db->kept[k];
			if (plan_role(plan, o->owner))
				continue; /* already moved to its planned role */
			struct plan_kept *pk = &plan->kept[plan->nkept++];
			pk->database = arena_strdup(&plan->arena, db->name);
			pk->kind = arena_strdup(&plan->arena, o->kind);
			pk->object = arena_strdup(&plan->arena, o->name);
			pk->owner = arena_strdup(&plan->arena, o->owner);
			if (plan->nkept <= 10)
				buf_addf(&list, "%s%s %s (%s)", plan->nkept > 1 ? ", " : "", pk->kind, pk->object,
					 pk->owner);
		}
	}
	if (plan->nkept > 10)
		buf_addf(&list, " and %zu more", plan->nkept - 10);
	if (plan->nkept)
		plan_warn(plan, 0, "%zu object%s stay%s with %s owner (not a superuser): %s", plan->nkept,
			  plan->nkept == 1 ? "" : "s", plan->nkept == 1 ? "s" : "",
			  plan->nkept == 1 ? "its" : "their", list.buf);
	buf_release(&list);
}

int plan_build(const struct compose_project *p, const struct config *cfg,
	       const struct live_facts *live, const struct plan_opts *opts,
	       struct plan **out, struct diag *d)
{
	struct plan *plan = xcalloc(1, sizeof(*plan));
	plan->project = p;
	plan->project_name = p->name;
	for (size_t i = 0; i < p->warnings.nr; i++)
		strvec_push(&plan->warnings, p->warnings.v[i]);
	if (detect_services(plan, cfg, opts, d)) {
		plan_free(plan);
		return -1;
	}
	for (size_t i = 0; i < plan->nservices; i++)
		strmap_put(&plan->service_index, plan->services[i].name, (void *)(uintptr_t)(i + 1));
	/* Live facts: who is really a superuser, and how many sessions each has.
	 * A user the server does not have cannot be a superuser of it -- of
	 * that server only: a connection to another server keeps what was
	 * decided offline. */
	int live_ambiguous = 0, live_scoped = 0;
	if (live) {
		struct strvec keys = STRVEC_INIT;
		int null_key = 0;
		plan->live_server = live->server ? arena_strdup(&plan->arena, live->server) : NULL;
		for (size_t i = 0; i < plan->nservices; i++)
			for (size_t k = 0; k < plan->services[i].nconns; k++) {
				const char *key = conn_server(plan, &plan->services[i].conns[k]);
				if (!key)
					null_key = 1;
				else if (!strvec_contains(&keys, key))
					strvec_push(&keys, key);
			}
		if (!plan->live_server && keys.nr + (size_t)null_key > 1) {
			struct buf list = BUF_INIT;
			for (size_t i = 0; i < keys.nr; i++)
				buf_addf(&list, "%s%s", i ? ", " : "", keys.v[i]);
			if (null_key)
				buf_addf(&list, "%s(no host)", keys.nr ? ", " : "");
			plan_warn(plan, 1, "the stack's connections reach several servers (%s) and dsnflip cannot "
				  "tell which one the admin connection reaches: name it with --server NAME",
				  list.buf);
			buf_release(&list);
			live_ambiguous = 1;
		}
		live_scoped = plan->live_server && keys.nr + (size_t)null_key > 1;
		strvec_clear(&keys);
	}
	for (size_t i = 0; live && i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		for (size_t k = 0; k < ps->nconns; k++) {
			struct plan_conn *pc = &ps->conns[k];
			if (!pc->user || pc->form == CONN_UNKNOWN || live_ambiguous ||
			    (live_scoped && !plan_same_server(conn_server(plan, pc), plan->live_server)))
				continue;
			pc->superuser = 0;
			pc->superuser_by = "live";
			for (size_t r = 0; r < live->nroles; r++)
				if (!strcmp(live->roles[r].name, pc->user))
					pc->superuser = live->roles[r].superuser;
		}
		detect_decide_action(plan, ps);
		ps->observed_peak = observed_peak(plan, ps, live);
	}
	detect_warn_unknown(plan);
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct env_entry *e = ps->conns[k].entry;
			if (ps->action != ACTION_SKIP && e && e->origin.kind == ORIGIN_PROCESS && !e->origin.via)
				plan_warn(plan, 0, "%s: %s comes from the process environment; dsnflip "
					  "branch cannot rewrite it", ps->name, e->key);
		}
		if (ps->action == ACTION_HOLD)
			plan_warn(plan, 0, "%s is held on the superuser: %s; settle it with `class:` in "
				  "dsnflip.yml or --assume %s=CLASS", ps->name, ps->reason, ps->name);
	}
	assign_roles(plan, cfg);
	guard_live_roles(plan, cfg, live);
	kept_objects(plan, live);
	budget(plan, cfg, live);
	order(plan);
	flip_plan(plan, opts);
	*out = plan;
	return 0;
}

void plan_view_server(const struct plan *plan, const char *server, struct plan *view)
{
	*view = *plan;
	view->roles = xcalloc(plan->nroles + 1, sizeof(*view->roles));
	view->nroles = view->roles_alloc = 0;
	view->role_index = (struct strmap)STRMAP_INIT;
	for (size_t i = 0; i < plan->nroles; i++)
		if (plan_role_on(plan, &plan->roles[i], server)) {
			view->roles[view->nroles++] = plan->roles[i];
			strmap_put(&view->role_index, plan->roles[i].name, (void *)(uintptr_t)view->nroles);
		}
	view->roles_alloc = plan->nroles + 1;
	for (size_t i = 0; i < plan->nbudgets; i++)
		if (plan_same_server(plan->budgets[i].server, server))
			view->budget = plan->budgets[i];
}

void plan_view_release(struct plan *view)
{
	free(view->roles);
	strmap_clear(&view->role_index);
	memset(view, 0, sizeof(*view));
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->nservices; i++) {
		free(plan->services[i].conns);
		free(plan->services[i].evidence);
	}
	free(plan->services);
	free(plan->roles);
	free(plan->db_servers);
	strmap_clear(&plan->service_index);
	strmap_clear(&plan->role_index);
	strmap_clear(&plan->warning_index);
	strvec_clear(&plan->warnings);
	arena_release(&plan->arena);
	free(plan);
}

/*
 * detect: which services connect to PostgreSQL, as whom, and what they do.
 *
 * For every enabled service this finds its connections (DSNs in any form,
 * or split PGUSER/DB_USER-style settings), decides whether they use a superuser, and
 * classifies the service from what can be seen of its start-up: the compose
 * command/entrypoint, the Dockerfile of its build context (or of the service
 * that builds its image), and the repository scripts those run.  Every
 * decision records its evidence as file:line and the matched text, because
 * an operator must be able to check why dsnflip thinks a service migrates.
 */
#include "plan/plan.h"
#include "stack/config.h"
#include "stack/dockerfile.h"
#include "detect/dsn.h"
#include "detect/evidence.h"
#include "util/mask.h"
#include "util/num.h"
#include "util/path.h"
#include "util/strmap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Images (or base images) that are a PostgreSQL server, not a client. */
static const char *const server_images[] = {
	"postgres", "postgresql", "timescaledb", "timescale/timescaledb", "postgis",
	"bitnami/postgresql", "supabase/postgres", "citusdata/citus", "pgvector", NULL
};

void plan_add_evidence(struct plan *plan, struct plan_service *ps, const char *file, int line,
		       const char *text, const char *kind)
{
	ALLOC_GROW(ps->evidence, ps->nevidence + 1, ps->evidence_alloc);
	struct evidence_item *e = &ps->evidence[ps->nevidence++];
	e->file = file ? arena_strdup(&plan->arena, file) : NULL;
	e->line = line;
	struct buf masked = BUF_INIT;
	mask_secrets(text ? text : "", &masked);
	e->text = arena_strndup(&plan->arena, masked.buf, masked.len);
	buf_release(&masked);
	e->kind = kind;
}

void plan_warn(struct plan *plan, int blocking, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!strvec_contains(&plan->warnings, b.buf))
		strvec_push(&plan->warnings, b.buf);
	if (blocking)
		plan->blocking = 1;
	buf_release(&b);
}

/* The image name without registry host, tag or digest, lowercased. */
static void image_base(const char *image, struct buf *out)
{
	const char *s = image, *slash = strchr(s, '/');
	/* A first component with '.' or ':' (or "localhost") is a registry. */
	if (slash) {
		size_t n = (size_t)(slash - s);
		if (memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !strncmp(s, "localhost", 9)))
			s = slash + 1;
	}
	if (!strncmp(s, "library/", 8))
		s += 8;
	size_t len = strcspn(s, "@");
	const char *colon = memchr(s, ':', len);
	if (colon && !memchr(colon, '/', len - (size_t)(colon - s)))
		len = (size_t)(colon - s);
	for (size_t i = 0; i < len; i++)
		buf_addch(out, tolower((unsigned char)s[i]));
}

static int is_server_image(const char *image)
{
	struct buf b = BUF_INIT;
	int hit = 0;
	if (!image)
		return 0;
	image_base(image, &b);
	for (const char *const *s = server_images; *s && !hit; s++)
		hit = !strcmp(b.buf, *s) || str_ends(b.buf, *s) ||
		      (str_starts(b.buf, *s) && b.buf[strlen(*s)] == '-');
	/* e.g. "postgis/postgis", "timescale/timescaledb-ha" */
	if (!hit)
		hit = strstr(b.buf, "timescaledb") || strstr(b.buf, "postgis") ||
		      !strcmp(path_basename(b.buf), "postgres");
	buf_release(&b);
	return hit;
}

/* --- connections --- */

struct detect_ctx {
	struct plan *plan;
	const struct compose_project *p;
	const struct config *cfg;
	struct diag *d;
	struct patterns *patterns;
	struct strvec superusers;
	int *is_server;
	struct strmap builders; /* image -> service building it (image_builder) */
	int builders_indexed;
};

static const char *origin_file(const struct env_entry *e)
{
	const struct origin *o = &e->origin;
	if (o->kind == ORIGIN_PROCESS)
		return o->via && o->via->pos.file ? o->via->pos.file->display : "(environment)";
	return o->pos.file ? o->pos.file->display : "?";
}

static int origin_line(const struct env_entry *e)
{
	const struct origin *o = &e->origin;
	if (o->kind == ORIGIN_PROCESS)
		return o->via ? o->via->pos.line : 0;
	return o->pos.line;
}

/* "file:line:col: services.SVC.environment.KEY: WHY" at the value's origin; returns -1. */
static int input_error_at(struct detect_ctx *c, const struct env_entry *e, const char *svc,
			  const char *why)
{
	const struct origin *o = &e->origin;
	const struct ypos *pos = o->kind == ORIGIN_PROCESS && o->via ? &o->via->pos : &o->pos;
	return diag_at(c->d, pos->file ? pos->file->display : "(environment)", pos->line, pos->col,
		       "services.%s.environment.%s: %s", svc, e->key, why);
}

/* A port as libpq takes it: empty (the default) or 1..65535. */
static int is_port(const char *v)
{
	int n;
	return !*v || num_parse_int(v, 1, 65535, &n) == NUM_OK;
}

static int is_superuser(struct detect_ctx *c, const char *user)
{
	return !user || !*user || strvec_contains(&c->superusers, user);
}

static struct plan_conn *add_conn(struct plan *plan, struct plan_service *ps)
{
	ALLOC_GROW(ps->conns, ps->nconns + 1, ps->conns_alloc);
	struct plan_conn *pc = &ps->conns[ps->nconns++];
	memset(pc, 0, sizeof(*pc));
	(void)plan;
	return pc;
}

static const char *a_dup(struct plan *plan, const char *s)
{
	return s ? arena_strdup(&plan->arena, s) : NULL;
}

static int truthy_readonly(const char *opts)
{
	/* "-c default_transaction_read_only=on" in any spelling libpq accepts. */
	const char *s = opts ? strstr(opts, "default_transaction_read_only") : NULL;
	if (!s)
		return 0;
	s += strlen("default_transaction_read_only");
	while (*s == ' ' || *s == '=')
		s++;
	return !strncasecmp(s, "on", 2) || !strncasecmp(s, "true", 4) || *s == '1' ||
	       !strncasecmp(s, "yes", 3);
}

/* A DSN-valued variable: parse it and record the connection. */
static int add_dsn_conn(struct detect_ctx *c, struct plan_service *ps, const struct env_entry *e)
{
	struct dsn dsn = DSN_INIT;
	struct diag sub = DIAG_INIT;
	const struct service *s = ps->svc;

	if (dsn_parse(e->value, &dsn, &sub)) {
		struct buf why = BUF_INIT;
		buf_addf(&why, "does not parse as a PostgreSQL connection string: %s", sub.msg.buf);
		input_error_at(c, e, s->name, why.buf);
		buf_release(&why);
		diag_release(&sub);
		return -1;
	}
	struct plan_conn *pc = add_conn(c->plan, ps);
	pc->variable = e->key;
	pc->form = dsn.form == DSN_URI ? CONN_URI : dsn.form == DSN_JDBC ? CONN_JDBC : CONN_KV;
	pc->entry = e;
	pc->host = a_dup(c->plan, dsn.nhosts ? dsn.hosts[0].host : NULL);
	pc->port = dsn.nhosts && dsn.hosts[0].port > 0 ? dsn.hosts[0].port : 5432;
	pc->user = a_dup(c->plan, dsn.user && *dsn.user ? dsn.user : NULL);
	pc->database = a_dup(c->plan, dsn.dbname);
	pc->defined_file = origin_file(e);
	pc->defined_line = origin_line(e);
	const char *hint = dsn_param(&dsn, "pool_max_conns");
	if (!hint)
		hint = dsn_param(&dsn, "connection_limit");
	if (!hint)
		hint = dsn_param(&dsn, "pool_size");
	if (!hint)
		hint = dsn_param(&dsn, "maxPoolSize");
	if (hint && *hint &&
	    num_parse_int(hint, 1, POOL_HINT_MAX, &pc->pool_hint) != NUM_OK)
		plan_warn(c->plan, 1, "%s:%d: %s: the pool size \"%s\" in %s is not a whole number "
			  "from 1 to %d: set connection_limit in dsnflip.yml", pc->defined_file,
			  pc->defined_line, s->name, hint, e->key, POOL_HINT_MAX);
	pc->read_only = truthy_readonly(dsn_param(&dsn, "options")) ||
			(dsn_param(&dsn, "default_transaction_read_only") &&
			 truthy_readonly("default_transaction_read_only=on") &&
			 strcasecmp(dsn_param(&dsn, "default_transaction_read_only"), "off")) ||
			(dsn_param(&dsn, "readOnly") && !strcasecmp(dsn_param(&dsn, "readOnly"), "true"));
	/* libpq reads PGOPTIONS too: "-c default_transaction_read_only=on" there counts. */
	const struct env_entry *pgo = service_env(s, "PGOPTIONS");
	if (pgo && pgo->value && truthy_readonly(pgo->value)) {
		pc->read_only = 1;
		pc->read_only_via = pgo;
	}
	/* libpq fills what the DSN leaves out from PG* variables. */
	const struct env_entry *u = service_env(s, "PGUSER");
	if (!pc->user && u && u->value && *u->value) {
		pc->user = a_dup(c->plan, u->value);
		pc->user_entry = u;
	}
	if (!dsn.password) {
		const struct env_entry *pw = service_env(s, "PGPASSWORD");
		if (pw && pw->value)
			pc->password_entry = pw;
	}
	if (!pc->database) {
		const struct env_entry *db = service_env(s, "PGDATABASE");
		pc->database = db && db->value && *db->value ? a_dup(c->plan, db->value) : pc->user;
	}
	if (!pc->host) {
		const struct env_entry *h = service_env(s, "PGHOST");
		pc->host = h && h->value ? a_dup(c->plan, h->value) : NULL;
	}
	pc->superuser = is_superuser(c, pc->user);
	if (!pc->user)
		plan_add_evidence(c->plan, ps, pc->defined_file, pc->defined_line,
				  arena_strfmt(&c->plan->arena, "%s has no user: libpq's default applies, "
					       "treated as the superuser", e->key), "dsn");
	dsn_release(&dsn);
	return 0;
}

/* Split settings: a prefix whose USER/HOST/NAME/... variables form a connection. */
struct split_keys {
	const char *user, *password, *host, *port, *db;
};

static const char *const split_prefixes[] = {
	"DB", "DATABASE", "POSTGRES", "POSTGRESQL", "PG", "PSQL", "SQL", NULL
};

static const struct env_entry *env_any(const struct service *s, const char *prefix,
				       const char *const *suffixes)
{
	char key[128];
	for (; *suffixes; suffixes++) {
		snprintf(key, sizeof(key), "%s%s", prefix, *suffixes);
		const struct env_entry *e = service_env(s, key);
		if (e && e->value)
			return e;
	}
	return NULL;
}

static int add_split_conn(struct detect_ctx *c, struct plan_service *ps, const char *prefix,
			  int pg_style)
{
	static const char *const u_pg[] = { "USER", NULL }, *const p_pg[] = { "PASSWORD", NULL },
		*const h_pg[] = { "HOST", "HOSTADDR", NULL }, *const o_pg[] = { "PORT", NULL },
		*const d_pg[] = { "DATABASE", NULL };
	static const char *const u_s[] = { "_USER", "_USERNAME", NULL },
		*const p_s[] = { "_PASSWORD", "_PASS", NULL }, *const h_s[] = { "_HOST", "_HOSTNAME", NULL },
		*const o_s[] = { "_PORT", NULL }, *const d_s[] = { "_NAME", "_DATABASE", "_DB", "_DBNAME", NULL };
	const struct service *s = ps->svc;
	const struct env_entry *u = env_any(s, prefix, pg_style ? u_pg : u_s);
	const struct env_entry *pw = env_any(s, prefix, pg_style ? p_pg : p_s);
	const struct env_entry *h = env_any(s, prefix, pg_style ? h_pg : h_s);
	const struct env_entry *po = env_any(s, prefix, pg_style ? o_pg : o_s);
	const struct env_entry *db = env_any(s, prefix, pg_style ? d_pg : d_s);

	if (!pg_style && (!h || (!u && !db)))
		return 0;
	if (pg_style && !u && !h && !db)
		return 0;
	/* Not PostgreSQL unless the prefix, the port or the host says so. */
	if (!pg_style) {
		int pgish = 0;
		for (const char *const *k = split_prefixes; *k && !pgish; k++)
			pgish = !strcmp(prefix, *k);
		if (!pgish && po && !strcmp(po->value, "5432"))
			pgish = 1;
		for (size_t i = 0; !pgish && i < c->p->nservices; i++)
			pgish = c->is_server[i] && !strcmp(c->p->services[i].name, h->value);
		if (!pgish)
			return 0;
	}
	if (po && !is_port(po->value))
		return input_error_at(c, po, s->name,
				      "not a port: expected a number from 1 to 65535");
	struct plan_conn *pc = add_conn(c->plan, ps);
	const struct env_entry *anchor = u ? u : h ? h : db;
	pc->variable = anchor->key;
	pc->form = CONN_SPLIT;
	pc->user_entry = u;
	pc->password_entry = pw;
	pc->entry = anchor;
	pc->host = h ? a_dup(c->plan, h->value) : NULL;
	pc->port = 5432;
	if (po && *po->value)
		num_parse_int(po->value, 1, 65535, &pc->port); /* is_port() checked it */
	pc->user = u && *u->value ? a_dup(c->plan, u->value) : NULL;
	pc->database = db && *db->value ? a_dup(c->plan, db->value) : pc->user;
	pc->defined_file = origin_file(anchor);
	pc->defined_line = origin_line(anchor);
	pc->superuser = is_superuser(c, pc->user);
	return 0;
}

static int is_split_key(const char *key)
{
	return str_ends(key, "_USER") || str_ends(key, "_USERNAME") || str_ends(key, "_HOST") ||
	       str_ends(key, "_PASSWORD") || str_ends(key, "_PASS") || str_ends(key, "_NAME") ||
	       str_ends(key, "_DATABASE") || str_ends(key, "_DB") || str_ends(key, "_PORT") ||
	       str_ends(key, "_HOSTNAME") || str_ends(key, "_DBNAME");
}

static int find_connections(struct detect_ctx *c, struct plan_service *ps)
{
	const struct service *s = ps->svc;
	struct strvec prefixes = STRVEC_INIT;
	int ret = 0, has_dsn = 0;

	for (size_t i = 0; i < s->nenv; i++) {
		const struct env_entry *e = &s->env[i];
		if (e->value && dsn_is_candidate(e->value)) {
			if (add_dsn_conn(c, ps, e)) {
				ret = -1;
				goto out;
			}
			has_dsn = 1;
		}
	}
	/* PG* variables alone are a connection when no DSN uses them. */
	if (!has_dsn && add_split_conn(c, ps, "PG", 1)) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < s->nenv; i++) {
		const char *key = s->env[i].key, *us;
		if (!is_split_key(key) || !(us = strrchr(key, '_')) || us == key)
			continue;
		/* DB_HOST -> "DB"; TRACKSOLID_DB_HOST -> "TRACKSOLID_DB". */
		char *prefix = xstrndup(key, (size_t)(us - key));
		if (!strvec_contains(&prefixes, prefix) && strcmp(prefix, "POSTGRES") != 0) {
			strvec_push(&prefixes, prefix);
			if (add_split_conn(c, ps, prefix, 0))
				ret = -1;
		}
		free(prefix);
		if (ret)
			goto out;
	}
	/* POSTGRES_* on a client is a connection only with a host. */
	if (service_env(s, "POSTGRES_HOST") && add_split_conn(c, ps, "POSTGRES", 0))
		ret = -1;
out:
	strvec_clear(&prefixes);
	return ret;
}

/* --- start-up evidence --- */

/* The Dockerfile that describes a service's image: its own, or the builder's. */
static const struct service *image_builder(struct detect_ctx *c, const struct service *s)
{
	if (s->build_context)
		return s;
	if (!s->image)
		return NULL;
	if (!c->builders_indexed) {
		/* image -> the first service that builds it, in file order */
		for (size_t i = 0; i < c->p->nservices; i++) {
			const struct service *o = &c->p->services[i];
			if (o->build_context && o->image && !strmap_get(&c->builders, o->image))
				strmap_put(&c->builders, o->image, (void *)o);
		}
		c->builders_indexed = 1;
	}
	return strmap_get(&c->builders, s->image);
}

struct startup {
	struct dockerfile df;
	int have_df;
	const struct service *builder;
	const char *context;   /* build context, relative to the project dir */
	int unresolved;        /* a script path that does not resolve into the repo */
	const char *unresolved_what;
	int visible;
	const char *app;       /* what runs, for a writer's evidence */
	const char *app_file;
	int app_line;
};

static int load_dockerfile(struct detect_ctx *c, struct startup *st, struct plan_service *ps)
{
	const struct service *b = image_builder(c, ps->svc);
	if (!b || !b->dockerfile)
		return 0;
	char *abs = path_join(&c->plan->arena, c->p->dir, b->dockerfile);
	struct srcfile *f;
	struct diag sub = DIAG_INIT;
	if (!path_exists(abs)) {
		plan_warn(c->plan, 0, "%s: Dockerfile %s not found", ps->name, b->dockerfile);
		return 0;
	}
	if (srcfile_read(&c->plan->arena, abs, b->dockerfile, 1u << 20, &f, &sub) ||
	    dockerfile_parse(b->dockerfile, f->data, f->len, &st->df, &sub)) {
		return diag_take(c->d, &sub); /* it names the Dockerfile already */
	}
	st->have_df = 1;
	st->builder = b;
	st->context = b->build_context;
	if (b != ps->svc)
		plan_add_evidence(c->plan, ps, b->image_pos.file ? b->image_pos.file->display : NULL,
				  b->image_pos.line,
				  arena_strfmt(&c->plan->arena, "image %s is built by %s from %s", ps->svc->image,
					       b->name, b->build_context), "image");
	return 0;
}

/* A bind mount that puts a repository file at container path cpath. */
static const char *mount_source(struct detect_ctx *c, const struct service *s, const char *cpath)
{
	const struct ynode *vols = ymap_get(s->node, "volumes");
	for (size_t i = 0; vols && vols->kind == YN_SEQ && i < vols->n; i++) {
		const struct ynode *v = vols->items[i];
		const char *src = NULL, *dst = NULL;
		char *tmp = NULL;
		if (v->kind == YN_SCALAR) {
			const char *colon = strchr(v->str, ':');
			if (!colon || (v->str[0] != '.' && v->str[0] != '/'))
				continue;
			tmp = xstrndup(v->str, (size_t)(colon - v->str));
			src = tmp;
			const char *end = strchr(colon + 1, ':');
			dst = arena_strndup(&c->plan->arena, colon + 1, end ? (size_t)(end - colon - 1) : strlen(colon + 1));
		} else if (v->kind == YN_MAP) {
			const struct ynode *ty = ymap_get(v, "type"), *so = ymap_get(v, "source"), *ta = ymap_get(v, "target");
			if (!ty || strcmp(ty->str, "bind") || !so || !ta)
				continue;
			src = so->str;
			dst = ta->str;
		}
		const char *res = NULL;
		size_t dl = dst ? strlen(dst) : 0;
		if (dst && !strcmp(dst, cpath))
			res = path_join(&c->plan->arena, c->p->dir, src);
		else if (dst && !strncmp(cpath, dst, dl) && cpath[dl] == '/')
			res = path_join(&c->plan->arena, path_join(&c->plan->arena, c->p->dir, src), cpath + dl + 1);
		free(tmp);
		if (res)
			return res;
	}
	return NULL;
}

/* Map a script path as the container sees it to a file in the repository. */
static const char *resolve_script(struct detect_ctx *c, struct startup *st,
				  const struct service *s, const char *path)
{
	struct arena *a = &c->plan->arena;
	const char *wd = st->have_df && st->df.workdir ? st->df.workdir : "/";
	const struct ynode *wdn = ymap_get(s->node, "working_dir");
	if (wdn && wdn->kind == YN_SCALAR)
		wd = wdn->str;
	const char *cpath = path_join(a, wd, path);
	const char *m = mount_source(c, s, cpath);
	if (m && path_exists(m) && compose_path_allowed(c->p, m))
		return m;
	if (st->have_df) {
		char *rel = dockerfile_map_path(&st->df, cpath);
		if (rel) {
			const char *abs = path_join(a, path_join(a, c->p->dir, st->context), rel);
			free(rel);
			if (path_exists(abs) && !path_is_dir(abs) && compose_path_allowed(c->p, abs))
				return abs;
		}
	}
	return NULL;
}

static void add_matches(struct detect_ctx *c, struct plan_service *ps, struct evidence_list *l,
			size_t from, const char *kind)
{
	for (size_t i = from; i < l->nr; i++)
		plan_add_evidence(c->plan, ps, l->v[i].file, l->v[i].line, l->v[i].text, kind);
}

static void scan_script(struct detect_ctx *c, struct startup *st, struct plan_service *ps,
			const char *abs, int level, struct evidence_list *found);

/* Look at one argv (or shell string): match patterns and follow scripts. */
static void scan_argv(struct detect_ctx *c, struct startup *st, struct plan_service *ps,
		      const char *const *argv, size_t argc, const char *shell, const char *file,
		      int line, const char *kind, struct evidence_list *found)
{
	size_t before = found->nr;
	struct strvec words = STRVEC_INIT;

	if (shell) {
		evidence_match_shell(c->patterns, shell, file, line, found);
		evidence_calls_shell(shell, &words);
	} else {
		evidence_match_command(c->patterns, argv, argc, file, line, found);
		evidence_calls_command(argv, argc, &words);
	}
	add_matches(c, ps, found, before, kind);
	for (size_t i = 0; i < words.nr; i++) {
		const char *w = words.v[i];
		const char *abs = resolve_script(c, st, ps->svc, w);
		if (abs) {
			/* Say how the container path was traced into the repository. */
			plan_add_evidence(c->plan, ps, file, line,
					  arena_strfmt(&c->plan->arena, "runs %s -> %s", w,
						       path_relative(&c->plan->arena, c->p->dir, abs)),
					  kind);
			scan_script(c, st, ps, abs, 0, found);
		} else if (str_ends(w, ".sh") || w[0] == '/' || str_starts(w, "./")) {
			st->unresolved = 1;
			st->unresolved_what = arena_strfmt(&c->plan->arena, "%s (%s:%d)", w, file, line);
		}
	}
	strvec_clear(&words);
}

static void scan_script(struct detect_ctx *c, struct startup *st, struct plan_service *ps,
			const char *abs, int level, struct evidence_list *found)
{
	struct srcfile *f;
	struct diag sub = DIAG_INIT;
	struct strvec called = STRVEC_INIT;
	const char *display = path_relative(&c->plan->arena, c->p->dir, abs);
	size_t before = found->nr;

	if (srcfile_read(&c->plan->arena, abs, display, 1u << 20, &f, &sub)) {
		plan_warn(c->plan, 0, "%s: cannot read %s: %s", ps->name, display, sub.msg.buf);
		diag_release(&sub);
		return;
	}
	evidence_scan_script(c->patterns, display, f->data, f->len, found, &called);
	add_matches(c, ps, found, before, "script");
	if (found->nr == before)
		plan_add_evidence(c->plan, ps, display, 1, "start-up script read: no migration command",
				  "script");
	/* Follow one level of scripts that this one runs. */
	for (size_t i = 0; level < 1 && i < called.nr; i++) {
		const char *next = resolve_script(c, st, ps->svc, called.v[i]);
		if (!next) {
			/* Relative to the script's own directory in the repo. */
			char *cand = path_join(&c->plan->arena, path_dirname(&c->plan->arena, abs), called.v[i]);
			next = path_exists(cand) && compose_path_allowed(c->p, cand) ? cand : NULL;
		}
		if (next)
			scan_script(c, st, ps, next, level + 1, found);
	}
	strvec_clear(&called);
}

/* Node -> argv (list) or shell string (string); returns 1 if present. */
static int node_argv(const struct ynode *n, struct strvec *argv, const char **shell)
{
	if (!n)
		return 0;
	if (n->kind == YN_SCALAR) {
		*shell = n->str;
		return 1;
	}
	for (size_t i = 0; n->kind == YN_SEQ && i < n->n; i++)
		strvec_push(argv, n->items[i]->kind == YN_SCALAR ? n->items[i]->str : "");
	return 1;
}

/* Gather start-up evidence and, unless `settled` (by --assume), decide the class. */
static int classify(struct detect_ctx *c, struct plan_service *ps, int settled)
{
	struct plan *plan = c->plan;
	const struct service *s = ps->svc;
	struct startup st = { 0 };
	struct evidence_list found = { 0 };
	struct strvec full = STRVEC_INIT;
	size_t ev_before = ps->nevidence;
	int ret = 0;

	if (load_dockerfile(c, &st, ps))
		return -1;
	const char *file = s->name_pos.file ? s->name_pos.file->display : "?";

	/* Compose entrypoint and command. */
	struct strvec ep = STRVEC_INIT, cmd = STRVEC_INIT;
	const char *ep_sh = NULL, *cmd_sh = NULL;
	int has_ep = node_argv(s->entrypoint, &ep, &ep_sh);
	int has_cmd = node_argv(s->command, &cmd, &cmd_sh);
	if (has_ep)
		scan_argv(c, &st, ps, (const char *const *)ep.v, ep.nr, ep_sh,
			  s->entrypoint->pos.file ? s->entrypoint->pos.file->display : file,
			  s->entrypoint->pos.line, "entrypoint", &found);
	if (has_cmd)
		scan_argv(c, &st, ps, (const char *const *)cmd.v, cmd.nr, cmd_sh,
			  s->command->pos.file ? s->command->pos.file->display : file,
			  s->command->pos.line, "command", &found);
	/* The image's own start-up, for what compose does not override. */
	if (st.have_df) {
		const char *df = st.builder->dockerfile;
		if (!has_ep && st.df.entrypoint.nr)
			scan_argv(c, &st, ps, (const char *const *)st.df.entrypoint.v,
				  st.df.entrypoint_shell ? 0 : st.df.entrypoint.nr,
				  st.df.entrypoint_shell ? st.df.entrypoint.v[0] : NULL, df,
				  st.df.entrypoint_line, "dockerfile", &found);
		if (!has_cmd && !has_ep && st.df.cmd.nr)
			scan_argv(c, &st, ps, (const char *const *)st.df.cmd.v,
				  st.df.cmd_shell ? 0 : st.df.cmd.nr, st.df.cmd_shell ? st.df.cmd.v[0] : NULL,
				  df, st.df.cmd_line, "dockerfile", &found);
	}
	st.visible = has_ep || has_cmd || st.have_df;

	/* The effective argv, for "runs an application". */
	const struct strvec *eff_ep = has_ep ? &ep : (st.have_df ? &st.df.entrypoint : NULL);
	const struct strvec *eff_cmd = has_cmd ? &cmd : (!has_ep && st.have_df ? &st.df.cmd : NULL);
	if (has_ep && ep_sh)
		strvec_push(&full, ep_sh);
	else if (eff_ep)
		for (size_t i = 0; i < eff_ep->nr; i++)
			strvec_push(&full, eff_ep->v[i]);
	if (has_cmd && cmd_sh)
		strvec_push(&full, cmd_sh);
	else if (eff_cmd)
		for (size_t i = 0; i < eff_cmd->nr; i++)
			strvec_push(&full, eff_cmd->v[i]);

	int migrates = found.nr > 0;
	int read_only = 0;
	const char *ro_var = NULL;
	for (size_t i = 0; i < ps->nconns; i++)
		if (ps->conns[i].read_only) {
			read_only = 1;
			ro_var = ps->conns[i].read_only_via ? ps->conns[i].read_only_via->key
							    : ps->conns[i].variable;
		}

	const struct config_service *cs = c->cfg ? config_service(c->cfg, s->name) : NULL;
	if (settled) {
		/* --assume decided it; the evidence above is still shown */
	} else if (cs && cs->cls) {
		class_parse(cs->cls, &ps->cls);
		ps->reason = arena_strfmt(&plan->arena, "class %s set in %s", cs->cls, c->cfg->path);
		plan_add_evidence(plan, ps, c->cfg->path, cs->cls_pos.line,
				  arena_strfmt(&plan->arena, "class: %s", cs->cls), "config");
	} else if (migrates) {
		ps->cls = CLASS_MIGRATOR;
		ps->reason = arena_strfmt(&plan->arena, "runs migrations (%s at %s:%d)", found.v[0].pattern,
					  found.v[0].file, found.v[0].line);
		if (read_only)
			plan_warn(plan, 0, "%s runs migrations but %s asks for read-only transactions",
				  s->name, ro_var);
	} else if (read_only) {
		ps->cls = CLASS_READER;
		ps->reason = arena_strfmt(&plan->arena, "reads only (default_transaction_read_only in %s)", ro_var);
		for (size_t i = 0; i < ps->nconns; i++) {
			const struct env_entry *via = ps->conns[i].read_only_via;
			if (!ps->conns[i].read_only)
				continue;
			if (via)
				plan_add_evidence(plan, ps, origin_file(via), origin_line(via),
						  arena_strfmt(&plan->arena, "%s: default_transaction_read_only=on",
							       via->key), "env");
			else
				plan_add_evidence(plan, ps, ps->conns[i].defined_file, ps->conns[i].defined_line,
						  arena_strfmt(&plan->arena, "%s: default_transaction_read_only=on",
							       ps->conns[i].variable), "dsn");
		}
	} else if (st.unresolved) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "start-up script %s does not resolve into the "
					  "repository", st.unresolved_what);
	} else if (!st.visible) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "image %s has no build context in the repository "
					  "and no command of its own", s->image ? s->image : "(none)");
		if (s->image)
			plan_add_evidence(plan, ps, s->image_pos.file ? s->image_pos.file->display : file,
					  s->image_pos.line, arena_strfmt(&plan->arena, "image: %s", s->image), "image");
	} else {
		char *what = NULL;
		int app = full.nr && evidence_runs_app((const char *const *)full.v, full.nr, &what);
		ps->cls = CLASS_WRITER;
		ps->reason = app ? arena_strfmt(&plan->arena, "runs an application (%s) with no migration "
						"evidence", what)
				 : arena_strdup(&plan->arena, "start-up visible, no migration evidence");
		free(what);
	}
	/* Say what start-up was looked at when nothing else was recorded. */
	if (ps->nevidence == ev_before && full.nr) {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < full.nr; i++)
			buf_addf(&b, "%s%s", i ? " " : "", full.v[i]);
		const struct ynode *at = has_cmd ? s->command : has_ep ? s->entrypoint : NULL;
		if (at)
			plan_add_evidence(plan, ps, at->pos.file->display, at->pos.line, b.buf,
					  has_cmd ? "command" : "entrypoint");
		else if (st.have_df)
			plan_add_evidence(plan, ps, st.builder->dockerfile,
					  st.df.cmd_line ? st.df.cmd_line : st.df.entrypoint_line, b.buf, "dockerfile");
		buf_release(&b);
	}
	strvec_clear(&ep);
	strvec_clear(&cmd);
	strvec_clear(&full);
	evidence_list_release(&found);
	if (st.have_df)
		dockerfile_release(&st.df);
	return ret;
}

static void decide_action(struct detect_ctx *c, struct plan_service *ps)
{
	int su = 0;
	const char *who = NULL;
	for (size_t i = 0; i < ps->nconns; i++) {
		if (ps->conns[i].superuser)
			su = 1;
		else
			who = ps->conns[i].user;
	}
	if (!su) {
		ps->action = ACTION_SKIP;
		ps->reason = arena_strfmt(&c->plan->arena, "connects as '%s', not a superuser", who ? who : "?");
		return;
	}
	ps->action = ps->cls == CLASS_UNCONFIRMED ? ACTION_HOLD : ACTION_FLIP;
}

static int apply_assume(struct detect_ctx *c, const struct plan_opts *opts, struct plan_service *ps)
{
	for (size_t i = 0; opts && i < opts->nassume; i++) {
		const char *a = opts->assume[i], *eq = strchr(a, '=');
		if (!eq || strncmp(a, ps->name, (size_t)(eq - a)) || ps->name[eq - a])
			continue;
		if (class_parse(eq + 1, &ps->cls) || ps->cls == CLASS_UNCONFIRMED)
			return diag_err(c->d, "--assume %s: the class must be migrator, writer or reader", a);
		ps->reason = arena_strfmt(&c->plan->arena, "class %s assumed on the command line", eq + 1);
		plan_add_evidence(c->plan, ps, "--assume", 0, a, "assume");
		return 1;
	}
	return 0;
}

int detect_services(struct plan *plan, const struct config *cfg, const struct plan_opts *opts,
		    struct diag *d)
{
	const struct compose_project *p = plan->project;
	struct detect_ctx c = { .plan = plan, .p = p, .cfg = cfg, .d = d };
	int ret = -1;

	c.patterns = patterns_default();
	for (size_t i = 0; cfg && i < cfg->nmigration_patterns; i++)
		if (patterns_add(c.patterns, cfg->migration_patterns[i], d))
			goto cleanup;
	c.is_server = xcalloc(p->nservices ? p->nservices : 1, sizeof(int));
	strvec_push(&c.superusers, "postgres");

	/* Servers by image (or the base image of their build). */
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		c.is_server[i] = is_server_image(s->image);
		if (c.is_server[i]) {
			/* The official images make POSTGRES_USER a superuser. */
			const struct env_entry *u = service_env(s, "POSTGRES_USER");
			if (u && u->value && *u->value && !strvec_contains(&c.superusers, u->value))
				strvec_push(&c.superusers, u->value);
		}
	}
	/* Validate every --assume before anything else: the syntax, the
	 * service, the class, and no service assumed to be two things. */
	for (size_t i = 0; opts && i < opts->nassume; i++) {
		const char *a = opts->assume[i], *eq = strchr(a, '=');
		enum svc_class cls;
		if (!eq || eq == a) {
			diag_err(d, "--assume '%s': expected SERVICE=CLASS", a);
			goto cleanup;
		}
		char *name = xstrndup(a, (size_t)(eq - a));
		int known = compose_service(p, name) != NULL;
		if (!known)
			diag_err(d, "--assume '%s': no service '%s' in the stack", a, name);
		else if (class_parse(eq + 1, &cls) || cls == CLASS_UNCONFIRMED)
			diag_err(d, "--assume '%s': the class must be migrator, writer or reader", a);
		for (size_t j = 0; known && !d->set && j < i; j++) {
			const char *b = opts->assume[j];
			if (!strncmp(b, a, (size_t)(eq - a) + 1) && strcmp(b, a))
				diag_err(d, "--assume '%s' contradicts --assume '%s'", a, b);
		}
		free(name);
		if (d->set)
			goto cleanup;
	}
	for (size_t i = 0; cfg && i < cfg->nservices; i++)
		if (!compose_service(p, cfg->services[i].name)) {
			diag_at(d, cfg->path, cfg->services[i].pos.line, cfg->services[i].pos.col,
				"services.%s: no such service in the stack", cfg->services[i].name);
			goto cleanup;
		}

	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		if (!s->enabled || c.is_server[i])
			continue;
		ALLOC_GROW(plan->services, plan->nservices + 1, plan->services_alloc);
		struct plan_service *ps = &plan->services[plan->nservices];
		memset(ps, 0, sizeof(*ps));
		ps->svc = s;
		ps->name = s->name;
		if (find_connections(&c, ps)) {
			/* not counted in nservices yet: plan_free would miss these */
			free(ps->conns);
			free(ps->evidence);
			goto cleanup;
		}
		if (!ps->nconns) {
			free(ps->conns);
			free(ps->evidence);
			continue;
		}
		plan->nservices++;
	}
	/* A service that DSNs point at is a server too (e.g. a custom image). */
	{
		/* host -> the first service connecting to it (a set, kept linear for big stacks) */
		struct strmap hosts = STRMAP_INIT;
		for (size_t j = 0; j < plan->nservices; j++)
			for (size_t k = 0; k < plan->services[j].nconns; k++)
				if (plan->services[j].conns[k].host &&
				    !strmap_get(&hosts, plan->services[j].conns[k].host))
					strmap_put(&hosts, plan->services[j].conns[k].host, &plan->services[j]);
		for (size_t i = 0; i < plan->nservices; i++) {
			struct plan_service *ps = &plan->services[i], *client = strmap_get(&hosts, ps->name);
			if (client && client != ps)
				ps->cls = (enum svc_class)-1;
		}
		strmap_clear(&hosts);
	}
	size_t kept = 0;
	for (size_t i = 0; i < plan->nservices; i++) {
		if ((int)plan->services[i].cls == -1) {
			plan_warn(plan, 0, "%s is treated as a database server: other services connect to it",
				  plan->services[i].name);
			free(plan->services[i].conns);
			free(plan->services[i].evidence);
			continue;
		}
		plan->services[kept++] = plan->services[i];
	}
	plan->nservices = kept;

	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		int settled = apply_assume(&c, opts, ps);
		if (settled < 0 || classify(&c, ps, settled))
			goto cleanup;
		decide_action(&c, ps);
	}
	ret = 0;
cleanup:
	patterns_free(c.patterns);
	strmap_clear(&c.builders);
	free(c.is_server);
	strvec_clear(&c.superusers);
	return ret;
}

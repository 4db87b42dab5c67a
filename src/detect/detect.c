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
#include "detect/detect.h"
#include "stack/mounts.h"
#include "stack/service.h"
#include "stack/config.h"
#include "stack/dockerfile.h"
#include "detect/appsource.h"
#include "detect/dsn.h"
#include "detect/evidence.h"
#include "detect/imagescan.h"
#include "detect/servers.h"
#include "util/mask.h"
#include "util/num.h"
#include "util/path.h"
#include "util/strmap.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* --- connections --- */

struct detect_ctx {
	struct plan *plan;
	const struct compose_project *p;
	const struct config *cfg;
	struct diag *d;
	struct patterns *patterns;
	struct pg_servers servers;
	struct strmap builders; /* image -> service building it (image_builder) */
	const struct image_source *images; /* read images when the repository cannot say */
	int builders_indexed;
	/* Files and directories many services share (a build context, its
	 * Dockerfile, an entrypoint script) are read once: read_once, and
	 * migrations_dir's answer per context. */
	struct strmap files;    /* "max\npath\ndisplay" -> struct srcfile * */
	struct strmap mdirs;    /* context path -> migrations_dir's answer, or c (none) */
};

/*
 * srcfile_read through c->files: the same file asked again (with the same
 * limit and display name) is the srcfile read the first time.  Failures
 * are not kept: the next read reports them again.
 */
static int read_once(struct detect_ctx *c, const char *abs, const char *display, size_t max,
		     struct srcfile **out, struct diag *d)
{
	const char *key = arena_strfmt(&c->plan->arena, "%zu\n%s\n%s", max, abs, display);
	*out = strmap_get(&c->files, key);
	if (*out)
		return 0;
	if (srcfile_read(&c->plan->arena, abs, display, max, out, d))
		return -1;
	strmap_put(&c->files, key, *out);
	return 0;
}

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

/*
 * A connection pooler in front of a server (PgBouncer, Pgpool-II, Odyssey,
 * PgCat, Supavisor): a DSN to the pooler reaches the server the pooler's
 * own settings name, with the same user.  Returns that server, or NULL.
 */
static const struct pg_server *pooler_server(struct detect_ctx *c, const char *host)
{
	static const char *const poolers[] = { "pgbouncer", "pgpool", "odyssey", "pgcat", "supavisor",
					       "pgdog", NULL };
	const struct service *pool = host && *host ? compose_service(c->p, host) : NULL;
	int is_pool = 0;
	for (const char *const *x = poolers; pool && pool->image && *x && !is_pool; x++)
		is_pool = strcasestr(pool->image, *x) != NULL;
	for (const char *const *x = poolers; pool && !is_pool && *x; x++)
		is_pool = strcasestr(pool->name, *x) != NULL;
	if (!is_pool)
		return NULL;
	for (size_t i = 0; i < pool->nenv; i++) {
		const char *v = pool->env[i].value;
		if (!v || !*v)
			continue;
		/* "postgres", "postgres:5432", or a DSN "...@postgres:5432/db" */
		const char *at = strstr(v, "://") ? strrchr(v, '@') : NULL;
		const char *h = at ? at + 1 : v;
		char *name = xstrndup(h, strcspn(h, ":/?,"));
		const struct pg_server *sv = servers_for_host(&c->servers, c->p, name);
		free(name);
		if (sv)
			return sv;
	}
	return NULL;
}

/*
 * Decide whether a connection runs as a superuser, and say how (see
 * plan.h): by name (postgres, or no user: libpq's default), by the server
 * its host names (its image family's superusers), or unknown.  A host-less
 * connection (split settings whose host is the app's default) is taken to
 * reach the stack's only server.  Offline, "not a superuser" is only said
 * when the server and every superuser of it are known.
 */
static void decide_superuser(struct detect_ctx *c, struct plan_conn *pc)
{
	const struct pg_server *sv = servers_for_host(&c->servers, c->p, pc->host);
	if (!sv)
		sv = pooler_server(c, pc->host);
	if (!sv && (!pc->host || !*pc->host) && c->servers.nr == 1)
		sv = &c->servers.v[0];
	pc->server = sv ? sv->svc->name : NULL;
	if (pc->form == CONN_UNKNOWN) {
		/* Only a user read from it is known (NULL here is not libpq's default). */
		int postgres = pc->user && !strcmp(pc->user, "postgres");
		pc->superuser = postgres;
		pc->superuser_by = postgres ? "name" : "unknown";
		return;
	}
	if (!pc->user || !*pc->user || !strcmp(pc->user, "postgres")) {
		pc->superuser = 1;
		pc->superuser_by = "name";
		return;
	}
	/* The operator's word: superusers: in dsnflip.yml. */
	for (size_t i = 0; c->cfg && i < c->cfg->nsuperusers; i++)
		if (!strcmp(c->cfg->superusers[i], pc->user)) {
			pc->superuser = 1;
			pc->superuser_by = "config";
			return;
		}
	if (strchr(pc->user, '$')) {
		pc->superuser = 0;
		pc->superuser_by = "unknown";
		return;
	}
	if (sv) {
		pc->superuser = strvec_contains(&sv->superusers, pc->user);
		pc->superuser_by = pc->superuser || sv->superusers_known ? "server_env" : "unknown";
		return;
	}
	/* Not a server of this stack: a superuser elsewhere is one here too, for all we know. */
	pc->superuser = servers_any_superuser(&c->servers, pc->user);
	pc->superuser_by = pc->superuser ? "server_env" : "unknown";
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

static const struct env_entry *env_any(const struct service *s, const char *prefix,
				       const char *const *suffixes);
static int ends_ci(const char *s, const char *sfx);

/* A pool size read from e (a DSN parameter, an options query): strictly, or a blocking warning. */
static void pool_hint(struct detect_ctx *c, struct plan_conn *pc, const char *service,
		      const char *value, const struct env_entry *e)
{
	if (num_parse_int(value, 1, POOL_HINT_MAX, &pc->pool_hint) != NUM_OK)
		plan_warn(c->plan, 1, "%s:%d: %s: the pool size \"%s\" in %s is not a whole number "
			  "from 1 to %d: set connection_limit in dsnflip.yml", origin_file(e),
			  origin_line(e), service, value, e->key, POOL_HINT_MAX);
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
	if (!hint)
		hint = dsn_param(&dsn, "pool"); /* ActiveRecord's DATABASE_URL?pool=N */
	if (hint && *hint)
		pool_hint(c, pc, s->name, hint, e);
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
	/* A URL without a user often has it beside it: SONAR_JDBC_URL with
	 * SONAR_JDBC_USERNAME, SPRING_DATASOURCE_URL with _USERNAME/_PASSWORD. */
	if (!pc->user) {
		static const char *const url_sfx[] = { "_URL", "_URI", "_DSN", "_CONNECTION_STRING", NULL };
		static const char *const u_sfx[] = { "_USERNAME", "_USER", NULL },
			*const p_sfx[] = { "_PASSWORD", "_PASS", "_PWD", NULL };
		for (const char *const *x = url_sfx; *x && !pc->user; x++) {
			if (!ends_ci(e->key, *x))
				continue;
			char *prefix = xstrndup(e->key, strlen(e->key) - strlen(*x));
			const struct env_entry *su = env_any(s, prefix, u_sfx), *sp = env_any(s, prefix, p_sfx);
			if (su && *su->value) {
				pc->user = a_dup(c->plan, su->value);
				pc->user_entry = su;
				if (!dsn.password && sp)
					pc->password_entry = sp;
			}
			free(prefix);
		}
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
	pc->dsn_password = dsn.password != NULL;
	if (dsn.password && *dsn.password)
		pc->password = a_dup(c->plan, dsn.password);
	else if (pc->password_entry && *pc->password_entry->value)
		pc->password = a_dup(c->plan, pc->password_entry->value);
	if (!pc->database) {
		const struct env_entry *db = service_env(s, "PGDATABASE");
		pc->database = db && db->value && *db->value ? a_dup(c->plan, db->value) : pc->user;
	}
	if (!pc->host) {
		const struct env_entry *h = service_env(s, "PGHOST");
		pc->host = h && h->value ? a_dup(c->plan, h->value) : NULL;
	}
	if (!pc->user)
		plan_add_evidence(c->plan, ps, pc->defined_file, pc->defined_line,
				  arena_strfmt(&c->plan->arena, "%s has no user: libpq's default applies, "
					       "treated as the superuser", e->key), "dsn");
	dsn_release(&dsn);
	return 0;
}

/*
 * Split settings: a prefix whose USER/HOST/NAME/... variables form a
 * connection.  Keys match case-insensitively and the separator may be
 * doubled, so nested-config spellings (LISTMONK_db__user,
 * AUTHENTIK_POSTGRESQL__USER) group like DB_USER does.
 */
static const struct env_entry *env_ci(const struct service *s, const char *key)
{
	for (size_t i = s->nenv; i-- > 0;)
		if (!strcasecmp(s->env[i].key, key) && s->env[i].value)
			return &s->env[i];
	return NULL;
}

static const struct env_entry *env_any(const struct service *s, const char *prefix,
				       const char *const *suffixes)
{
	size_t np = strlen(prefix);
	/* One pass over the environment instead of one per suffix (this runs
	 * for every candidate prefix of every service): the entry for the first
	 * suffix that has one, and of those the last (as env_ci).  No key is
	 * built, so a prefix of any length is looked up whole. */
	size_t best = SIZE_MAX;
	const struct env_entry *found = NULL;
	int first = tolower((unsigned char)prefix[0]);
	for (size_t i = s->nenv; i-- > 0;) {
		const struct env_entry *e = &s->env[i];
		if (!e->value || (np && tolower((unsigned char)e->key[0]) != first) ||
		    strncasecmp(e->key, prefix, np))
			continue;
		for (size_t j = 0; j < best && suffixes[j]; j++)
			if (!strcasecmp(e->key + np, suffixes[j])) {
				best = j;
				found = e;
				break;
			}
	}
	return found;
}

/* The last word of a prefix ("AUTHENTIK_POSTGRESQL_" -> "POSTGRESQL"), whole: a
 * cut word could lose the "POSTGRES" it ends in. */
static const char *last_word(struct arena *a, const char *prefix)
{
	size_t len = strlen(prefix);
	while (len && prefix[len - 1] == '_')
		len--;
	size_t st = len;
	while (st && prefix[st - 1] != '_')
		st--;
	return arena_strndup(a, prefix + st, len - st);
}

/* A prefix whose words name PostgreSQL, or a database in general. */
static int pg_word(const char *w)
{
	return strcasestr(w, "postgres") || !strcasecmp(w, "PG") || !strcasecmp(w, "PSQL") ||
	       !strcasecmp(w, "PGSQL");
}

static int db_word(const char *w)
{
	return pg_word(w) || !strcasecmp(w, "DB") || !strcasecmp(w, "DATABASE") || !strcasecmp(w, "SQL") ||
	       !strcasecmp(w, "RDS");
}

/* Another engine named in the prefix (MYSQL_DB, MONGO_DB, REDIS_DB ...). */
static int other_engine(const char *s)
{
	static const char *const words[] = {
		"mysql", "maria", "mongo", "redis", "clickhouse", "elastic", "influx", "mssql", "oracle",
		"couch", "neo4j", "cassandra", "sqlite", "valkey", "memcache", "keydb", "dragonfly",
		"rabbit", "amqp", "kafka", "nats", "minio", "s3", "ldap", "smtp", "mail", "cache",
		"opensearch", "meili", "typesense", "qdrant", "milvus", "weaviate", "chroma", "etcd",
		"zookeeper", "consul", "vault", "dynamo", "firestore", "surreal", "arango", "scylla",
		"questdb", "cockroach", "tidb", "sqlserver", NULL
	};
	/* strcasestr for each word, but one walk of s: at each place, only the
	 * words starting with that letter are compared (this runs for every
	 * candidate prefix of every service). */
	for (const char *p = s; *p; p++) {
		int c = tolower((unsigned char)*p);
		for (const char *const *w = words; *w; w++)
			if ((*w)[0] == c && !strncasecmp(p, *w, strlen(*w)))
				return 1;
	}
	return 0;
}

/* What PREFIX_TYPE / _ENGINE / _DIALECT / ... says: 1 PostgreSQL, -1 another engine, 0 nothing. */
static int engine_hint(const struct service *s, const char *prefix)
{
	static const char *const sfx[] = { "_TYPE", "_ENGINE", "_DIALECT", "_CLIENT", "_DRIVER",
					   "_CONNECTION", "_VENDOR", "_KIND", "_ADAPTER", "_PROVIDER", NULL };
	const struct env_entry *e = env_any(s, prefix, sfx);
	if (!e) {
		/* DB_CONNECTION=pgsql sits beside DB_HOST in Laravel; DATABASE_TYPE in others. */
		static const char *const bare[] = { "DB_CONNECTION", "DB_TYPE", "DATABASE_TYPE", "DB_ENGINE",
						    "DB_DIALECT", "DB_DRIVER", "DATABASE_ENGINE", "DB_VENDOR", NULL };
		for (const char *const *k = bare; *k && !e; k++)
			e = env_ci(s, *k);
	}
	if (!e || !*e->value)
		return 0;
	if (strcasestr(e->value, "postgres") || strcasestr(e->value, "pgsql") || !strcasecmp(e->value, "pg") ||
	    strcasestr(e->value, "psycopg") || strcasestr(e->value, "postgis") || strcasestr(e->value, "timescale"))
		return 1;
	return other_engine(e->value) ? -1 : 0;
}

/* Does host name a service of the stack that is not a server? */
static int host_is_other_service(struct detect_ctx *c, const char *host)
{
	if (!host || !*host || servers_for_host(&c->servers, c->p, host))
		return 0;
	for (size_t i = 0; i < c->p->nservices; i++)
		if (!strcmp(c->p->services[i].name, host))
			return 1;
	return 0;
}

/*
 * Split settings whose image appends PREFIX_OPTIONS to the URL it builds
 * (zammad: POSTGRESQL_OPTIONS=?pool=50): the pool in that query string.
 */
static void split_pool_hint(struct detect_ctx *c, struct plan_service *ps, struct plan_conn *pc,
			    const char *prefix)
{
	char key[128];
	if ((size_t)snprintf(key, sizeof(key), "%s_OPTIONS", prefix) >= sizeof(key))
		return;
	const struct env_entry *o = service_env(ps->svc, key);
	if (!o || !o->value || o->value[0] != '?')
		return;
	for (const char *p = o->value + 1; *p;) {
		size_t n = strcspn(p, "&");
		if (n > 5 && !strncmp(p, "pool=", 5)) {
			char *v = xstrndup(p + 5, n - 5);
			pool_hint(c, pc, ps->name, v, o);
			free(v);
			return;
		}
		p += n + (p[n] == '&');
	}
}

static int add_split_conn(struct detect_ctx *c, struct plan_service *ps, const char *prefix,
			  int pg_style)
{
	static const char *const u_pg[] = { "USER", NULL }, *const p_pg[] = { "PASSWORD", NULL },
		*const h_pg[] = { "HOST", "HOSTADDR", NULL }, *const o_pg[] = { "PORT", NULL },
		*const d_pg[] = { "DATABASE", NULL };
	static const char *const u_s[] = { "_USER", "_USERNAME", "__USER", "__USERNAME", NULL },
		*const p_s[] = { "_PASSWORD", "_PASS", "_PASSWD", "_PWD", "__PASSWORD", "__PASS", NULL },
		*const h_s[] = { "_HOST", "_HOSTNAME", "__HOST", "__HOSTNAME", NULL },
		*const o_s[] = { "_PORT", "__PORT", NULL },
		*const d_s[] = { "_NAME", "_DATABASE", "_DB", "_DBNAME", "_DATABASE_NAME", "_DB_NAME",
				 "__NAME", "__DATABASE", "__DB", "__DBNAME", NULL };
	const struct service *s = ps->svc;
	const struct env_entry *u = env_any(s, prefix, pg_style ? u_pg : u_s);
	const struct env_entry *pw = env_any(s, prefix, pg_style ? p_pg : p_s);
	const struct env_entry *h = env_any(s, prefix, pg_style ? h_pg : h_s);
	const struct env_entry *po = env_any(s, prefix, pg_style ? o_pg : o_s);
	const struct env_entry *db = env_any(s, prefix, pg_style ? d_pg : d_s);

	if (pg_style && !u && !h && !db)
		return 0;
	/* A user variable already read beside a URL is not a second connection. */
	for (size_t i = 0; u && i < ps->nconns; i++)
		if (ps->conns[i].user_entry == u)
			return 0;
	if (!pg_style) {
		const char *w = last_word(&c->plan->arena, prefix);
		int hint = engine_hint(s, prefix);
		if (hint < 0 || (hint == 0 && other_engine(prefix)))
			return 0;
		/* Without a host the host is the app's default: only a user (and a
		 * password or database) under a database-named prefix, in a stack
		 * with a server, reads as a connection. */
		if (!h) {
			if (!u || (!pw && !db) || !c->servers.nr || (hint <= 0 && !db_word(w)))
				return 0;
			/* A broker or a cache that shares the env_file is not a client. */
			if (s->image && other_engine(s->image))
				return 0;
		} else if (!u && !db) {
			return 0;
		}
		/* Not PostgreSQL unless the prefix, the engine, the port or the host says so. */
		int pgish = hint > 0 || pg_word(w) ||
			    (po && (!strcmp(po->value, "5432") || !strcmp(po->value, "6432"))) ||
			    (h && servers_for_host(&c->servers, c->p, h->value)) ||
			    (db_word(w) && (!h || !host_is_other_service(c, h->value)));
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
	pc->password = pw && *pw->value ? a_dup(c->plan, pw->value) : NULL;
	/* libpq defaults the database to the user; an application reading
	 * DB_USER without a DB_NAME uses its own default, which is not here. */
	pc->database = db && *db->value ? a_dup(c->plan, db->value) : pg_style ? pc->user : NULL;

	pc->defined_file = origin_file(anchor);
	pc->defined_line = origin_line(anchor);
	split_pool_hint(c, ps, pc, prefix);
	return 0;
}

static int ends_ci(const char *s, const char *sfx)
{
	size_t n = strlen(s), k = strlen(sfx);
	return n >= k && !strcasecmp(s + n - k, sfx);
}

static int is_split_key(const char *key)
{
	static const char *const sfx[] = { "_USER", "_USERNAME", "_HOST", "_PASSWORD", "_PASS", "_PASSWD", "_PWD",
					   "_NAME", "_DATABASE", "_DB", "_PORT", "_HOSTNAME", "_DBNAME", NULL };
	/* No suffix holds a second '_', so a key ends in one exactly when the
	 * part from its last '_' is one: one compare each, not a strlen. */
	const char *us = strrchr(key, '_');
	for (const char *const *x = sfx; us && *x; x++)
		if (!strcasecmp(us, *x))
			return 1;
	return 0;
}

/* The prefix of a split key: DB_HOST -> "DB", DB_DATABASE_NAME -> "DB_DATABASE". */
static char *split_prefix(const char *key)
{
	const char *us = strrchr(key, '_');
	if (!us || us == key)
		return NULL;
	return xstrndup(key, (size_t)(us - key));
}

/*
 * DSNs passed as command arguments: --database-url=postgres://..., or
 * "--db postgres://...".  They are connections branch cannot rewrite.
 */
static int add_arg_conns(struct detect_ctx *c, struct plan_service *ps, const struct service_cmd *n)
{
	struct strvec words = STRVEC_INIT;
	if (!n)
		return 0;
	if (n->shell) {
		for (const char *p = n->shell; *p;) {
			while (*p == ' ' || *p == '\t' || *p == '\n')
				p++;
			size_t l = strcspn(p, " \t\n");
			if (l) {
				char *w = xstrndup(p, l);
				/* Quotes around the value are the shell's, not the DSN's. */
				size_t wl = strlen(w);
				char *v = w;
				if (wl >= 2 && (w[0] == '\'' || w[0] == '"') && w[wl - 1] == w[0]) {
					w[wl - 1] = '\0';
					v = w + 1;
				}
				strvec_push(&words, v);
				free(w);
			}
			p += l;
		}
	} else {
		for (size_t i = 0; i < n->argc; i++)
			strvec_push(&words, n->argv[i]);
	}
	for (size_t i = 0; i < words.nr; i++) {
		const char *w = words.v[i], *eq = strchr(w, '='), *val = w, *name = "command";
		char *opt = NULL;
		if (w[0] == '-' && eq) {
			val = eq + 1;
			if (*val == '\'' || *val == '"')
				val++;
			opt = xstrndup(w, (size_t)(eq - w));
			name = opt;
		} else if (i > 0 && words.v[i - 1][0] == '-') {
			name = words.v[i - 1];
		}
		char *clean = xstrdup(val);
		size_t cl = strlen(clean);
		if (cl && (clean[cl - 1] == '\'' || clean[cl - 1] == '"'))
			clean[cl - 1] = '\0';
		struct dsn dsn = DSN_INIT;
		struct diag sub = DIAG_INIT;
		if (strstr(clean, "://") && dsn_is_candidate(clean) && !dsn_parse(clean, &dsn, &sub)) {
			struct plan_conn *pc = add_conn(c->plan, ps);
			pc->variable = a_dup(c->plan, name);
			pc->form = CONN_ARG;
			pc->host = a_dup(c->plan, dsn.nhosts ? dsn.hosts[0].host : NULL);
			pc->port = dsn.nhosts && dsn.hosts[0].port > 0 ? dsn.hosts[0].port : 5432;
			pc->user = a_dup(c->plan, dsn.user && *dsn.user ? dsn.user : NULL);
			pc->database = a_dup(c->plan, dsn.dbname ? dsn.dbname : pc->user);
			pc->defined_file = n->pos.file ? n->pos.file->display : "?";
			pc->defined_line = n->pos.line;
		}
		dsn_release(&dsn);
		diag_release(&sub);
		free(clean);
		free(opt);
	}
	strvec_clear(&words);
	return 0;
}

/*
 * A service that depends_on a server but shows no connection at all (the
 * image's built-in default DSN, a config file) may well connect as the
 * superuser: listed as unknown too.  Admin UIs (pgAdmin, Adminer) are left
 * out: their connections are made by hand, not by the stack.
 */
static int is_server_host(void *ctx, const char *host)
{
	struct detect_ctx *c = ctx;
	return servers_for_host(&c->servers, c->p, host) || pooler_server(c, host);
}

/*
 * A connection in a config file of the service's build context (Spring's
 * application.properties, a database.yml) that names a server of the stack:
 * it is in the image, not the environment, so branch cannot rewrite it; the
 * service is listed with it as unknown.  Returns 1 when one was added.
 */
static int config_file_conn(struct detect_ctx *c, struct plan_service *ps)
{
	const struct service *s = ps->svc;
	struct appsource_hit hit;
	/* Its build context, then what it bind-mounts from the project (a config
	 * directory mounted at /etc/app). */
	struct bind_mount *mounts = NULL;
	size_t nm = mounts_bind(&c->plan->arena, s, &mounts);
	const char *found = NULL;
	for (size_t i = 0; i <= nm && i < 9 && !found; i++) {
		const char *src = i == 0 ? s->build_context : mounts[i - 1].source;
		if (!src)
			continue;
		const char *abs = path_join(&c->plan->arena, c->p->dir, src);
		if (!path_within(c->p->dir, abs) ||
		    !appsource_find_conn(&c->plan->arena, abs, is_server_host, c, &hit))
			continue;
		found = path_is_dir(abs) ? path_join(&c->plan->arena, abs, hit.file) : abs;
	}
	if (!found)
		return 0;
	const char *file = path_relative(&c->plan->arena, c->p->dir, found);
	struct plan_conn *pc = add_conn(c->plan, ps);
	pc->variable = file;
	pc->form = CONN_UNKNOWN;
	pc->host = hit.host;
	pc->port = 5432;
	pc->user = hit.user;
	pc->defined_file = file;
	pc->defined_line = hit.line;
	plan_add_evidence(c->plan, ps, file, hit.line,
			  arena_strfmt(&c->plan->arena, "a connection to the server %s in a config file of its "
				       "build context or mounts%s%s: not in its environment", hit.host,
				       hit.user ? ", user " : "", hit.user ? hit.user : ""), "config");
	return 1;
}

static void depends_on_server(struct detect_ctx *c, struct plan_service *ps)
{
	const struct service *s = ps->svc;
	const char *server = NULL;
	if (s->image && (strcasestr(s->image, "pgadmin") || strcasestr(s->image, "adminer") ||
			 strcasestr(s->image, "pgweb") || strcasestr(s->image, "nginx") ||
			 strcasestr(s->image, "caddy") || strcasestr(s->image, "traefik")))
		return;
	struct service_dep *deps;
	struct ypos dep;
	size_t ndeps = service_depends_on(s, &deps, &dep);
	int line = dep.line;
	for (size_t i = 0; i < ndeps && !server; i++)
		if (servers_for_host(&c->servers, c->p, deps[i].name)) {
			server = deps[i].name;
			line = deps[i].pos.line;
		}
	free(deps);
	if (!server)
		return;
	struct plan_conn *pc = add_conn(c->plan, ps);
	pc->variable = "depends_on";
	pc->form = CONN_UNKNOWN;
	pc->host = a_dup(c->plan, server);
	pc->port = 5432;
	pc->defined_file = dep.file ? dep.file->display : "?";
	pc->defined_line = line;
	plan_add_evidence(c->plan, ps, pc->defined_file, line,
			  arena_strfmt(&c->plan->arena, "depends on the server %s but no connection is in its "
				       "environment (an image default or a config file?)", server), "env");
}

/*
 * A service whose connection cannot be read but whose environment names a
 * server's host and a user still talks to that server: it is listed with
 * an unknown connection rather than dropped.
 */
static void add_unknown_conn(struct detect_ctx *c, struct plan_service *ps)
{
	const struct service *s = ps->svc;
	const struct env_entry *host = NULL, *user = NULL;
	for (size_t i = 0; i < s->nenv && !host; i++) {
		const char *v = s->env[i].value;
		if (!v || !*v)
			continue;
		size_t hl = strcspn(v, ":");
		char *h = xstrndup(v, hl);
		if (servers_for_host(&c->servers, c->p, h))
			host = &s->env[i];
		free(h);
	}
	for (size_t i = 0; host && i < s->nenv && !user; i++)
		if (strcasestr(s->env[i].key, "USER") && s->env[i].value && *s->env[i].value)
			user = &s->env[i];
	if (!host || !user) {
		if (!config_file_conn(c, ps))
			depends_on_server(c, ps);
		return;
	}
	struct plan_conn *pc = add_conn(c->plan, ps);
	pc->variable = host->key;
	pc->form = CONN_UNKNOWN;
	pc->host = a_dup(c->plan, host->value);
	pc->port = 5432;
	pc->user = a_dup(c->plan, user->value);
	pc->defined_file = origin_file(host);
	pc->defined_line = origin_line(host);
	plan_add_evidence(c->plan, ps, origin_file(host), origin_line(host),
			  arena_strfmt(&c->plan->arena, "%s names the server %s and %s a user, but the "
				       "connection cannot be read", host->key, host->value, user->key), "env");
}

/*
 * An asset build step (yarn build, npm run build:css, webpack, vite build)
 * that shares the app's env_file does not connect: its host-less settings
 * are not a connection.  Read from the compose command only.
 */
static int is_build_step(const struct service *s)
{
	struct strvec w = STRVEC_INIT;
	const char *sh = NULL;
	int hit = 0;
	if (!service_cmd_words(s->command, &w, &sh))
		return 0;
	if (sh)
		strvec_split(&w, sh, " \t\n");
	for (size_t i = 0; i < w.nr && !hit; i++) {
		const char *t = path_basename(w.v[i]);
		if (!strcmp(t, "webpack") || !strcmp(t, "tailwindcss") || !strcmp(t, "esbuild") ||
		    (!strcmp(t, "vite") && i + 1 < w.nr && !strcmp(w.v[i + 1], "build")))
			hit = 1;
		if ((!strcmp(t, "yarn") || !strcmp(t, "npm") || !strcmp(t, "pnpm") || !strcmp(t, "bun")) &&
		    i + 1 < w.nr) {
			const char *n = w.v[i + 1];
			if (!strcmp(n, "run") && i + 2 < w.nr)
				n = w.v[i + 2];
			hit = str_starts(n, "build");
		}
		if (strstr(t, ":build") || str_starts(t, "build:") || strstr(t, "yarn:build"))
			hit = 1;
	}
	strvec_clear(&w);
	return hit;
}

/*
 * An image that is itself another kind of server (a cache, a broker, a
 * search engine, a proxy) is not a PostgreSQL client, even when a shared
 * env_file hands it DATABASE_URL.  Matched on the whole name of the image
 * (or NAME-server), so "acme/redis-worker" or "nginx-app" stay candidates.
 */
static int other_server_image(const char *image)
{
	static const char *const names[] = {
		"redis", "valkey", "keydb", "dragonfly", "memcached", "rabbitmq", "minio", "meilisearch",
		"elasticsearch", "opensearch", "clickhouse", "mongo", "mongodb", "mysql", "mariadb", "nginx",
		"traefik", "caddy", "haproxy", "envoy", "kafka", "zookeeper", "nats", "qdrant", "typesense",
		"etcd", "mailpit", "mailhog", NULL
	};
	if (!image || strchr(image, '$'))
		return 0;
	const char *slash = strrchr(image, '/');
	const char *base = slash ? slash + 1 : image;
	size_t n = strcspn(base, ":@");
	for (const char *const *x = names; *x; x++) {
		size_t l = strlen(*x);
		if (n < l || strncasecmp(base, *x, l))
			continue;
		if (n == l || (n == l + 7 && !strncasecmp(base + l, "-server", 7)))
			return 1;
	}
	return 0;
}

static int find_connections(struct detect_ctx *c, struct plan_service *ps)
{
	const struct service *s = ps->svc;
	struct strvec prefixes = STRVEC_INIT;
	int ret = 0, has_dsn = 0;

	if (other_server_image(s->image) && !s->build_context)
		return 0;

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
	/* PG* variables alone are a connection when no DSN uses them, or when
	 * PGHOST names a server no DSN of the service reaches. */
	const struct env_entry *pghost = service_env(s, "PGHOST");
	int pg_other = has_dsn && pghost && pghost->value && *pghost->value;
	for (size_t i = 0; pg_other && i < ps->nconns; i++)
		if (ps->conns[i].host && !strcmp(ps->conns[i].host, pghost->value))
			pg_other = 0;
	if ((!has_dsn || pg_other) && add_split_conn(c, ps, "PG", 1)) {
		ret = -1;
		goto out;
	}
	/* Prefixed libpq-style groups (CODEINTEL_PGHOST, CODEINTEL_PGUSER, ...):
	 * one connection each, often to another server. */
	for (size_t i = 0; i < s->nenv; i++) {
		static const char *const tails[] = { "_PGHOST", "_PGUSER", "_PGDATABASE", NULL };
		const char *key = s->env[i].key;
		for (const char *const *t = tails; *t; t++) {
			size_t n = strlen(key), k = strlen(*t);
			if (n <= k || strcasecmp(key + n - k, *t))
				continue;
			/* "CODEINTEL_PGUSER" -> "CODEINTEL_PG" */
			char *prefix = xstrndup(key, n - k + 3);
			if (!strvec_contains(&prefixes, prefix)) {
				strvec_push(&prefixes, prefix);
				if (add_split_conn(c, ps, prefix, 1))
					ret = -1;
			}
			free(prefix);
			break;
		}
		if (ret)
			goto out;
	}
	for (size_t i = 0; i < s->nenv; i++) {
		const char *key = s->env[i].key;
		char *prefix;
		if (!is_split_key(key) || !(prefix = split_prefix(key)))
			continue;
		/* DB_HOST -> "DB"; TRACKSOLID_DB_HOST -> "TRACKSOLID_DB"; a__b -> "a_". */
		for (char *q = prefix; *q; q++)
			*q = (char)toupper((unsigned char)*q);
		if (!strvec_contains(&prefixes, prefix) && strcmp(prefix, "POSTGRES") != 0) {
			strvec_push(&prefixes, prefix);
			/* The group's own spelling: LISTMONK_db__user keeps "LISTMONK_db_". */
			char *own = split_prefix(key);
			if (add_split_conn(c, ps, own, 0))
				ret = -1;
			free(own);
		}
		free(prefix);
		if (ret)
			goto out;
	}
	/* POSTGRES_* on a client is a connection only with a host, or, without
	 * one, with a user and a password in a stack that has a server. */
	if (service_env(s, "POSTGRES_HOST") ||
	    (!has_dsn && service_env(s, "POSTGRES_USER") && c->servers.nr &&
	     (service_env(s, "POSTGRES_PASSWORD") || service_env(s, "POSTGRES_PWD") ||
	      service_env(s, "POSTGRES_PASS"))))
		if (add_split_conn(c, ps, "POSTGRES", 0))
			ret = -1;
	if (!ret && is_build_step(s)) {
		size_t k = 0;
		for (size_t i = 0; i < ps->nconns; i++)
			if (!(ps->conns[i].form == CONN_SPLIT && !ps->conns[i].host))
				ps->conns[k++] = ps->conns[i];
		ps->nconns = k;
	}
	if (!ret && add_arg_conns(c, ps, s->command))
		ret = -1;
	if (!ret && add_arg_conns(c, ps, s->entrypoint))
		ret = -1;
	if (!ret && !ps->nconns)
		add_unknown_conn(c, ps);
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
	const char *df_display; /* the Dockerfile, relative to the project dir */
	int unresolved;        /* a script path that does not resolve into the repo */
	const char *unresolved_what;
	const char *unread_what; /* start-up text found but not fully examined, and why */
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
	const char *display = path_relative(&c->plan->arena, c->p->dir, abs);
	struct srcfile *f;
	struct diag sub = DIAG_INIT;
	if (!path_exists(abs)) {
		plan_warn(c->plan, 1, "%s:%d: %s: Dockerfile %s not found: its start-up cannot be "
			  "read", b->build_pos.file ? b->build_pos.file->display : "?", b->build_pos.line,
			  ps->name, display);
		return 0;
	}
	if (read_once(c, abs, display, 1u << 20, &f, &sub) ||
	    dockerfile_parse(display, f->data, f->len, &st->df, &sub)) {
		return diag_take(c->d, &sub); /* it names the Dockerfile already */
	}
	st->have_df = 1;
	st->df_display = display;
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
	struct bind_mount *m;
	size_t n = mounts_bind(&c->plan->arena, s, &m);
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(m[i].target);
		if (!strcmp(m[i].target, cpath))
			return path_join(&c->plan->arena, c->p->dir, m[i].source);
		if (!strncmp(cpath, m[i].target, dl) && cpath[dl] == '/')
			return path_join(&c->plan->arena, path_join(&c->plan->arena, c->p->dir, m[i].source),
					 cpath + dl + 1);
	}
	return NULL;
}

/* Map a script path as the container sees it to a file in the repository. */
static const char *resolve_script(struct detect_ctx *c, struct startup *st,
				  const struct service *s, const char *path)
{
	struct arena *a = &c->plan->arena;
	const char *wd = st->have_df && st->df.workdir ? st->df.workdir : "/";
	if (service_working_dir(s))
		wd = service_working_dir(s);
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

	/* A script the start-up runs but dsnflip cannot read could migrate: the
	 * service is then unconfirmed (held), never classed on what was read. */
	if (read_once(c, abs, display, EVIDENCE_SCRIPT_MAX, &f, &sub)) {
		if (!st->unread_what)
			st->unread_what = arena_strfmt(&c->plan->arena, "start-up script %s", sub.msg.buf);
		diag_release(&sub);
		return;
	}
	if (evidence_scan_script(c->patterns, display, f->data, f->len, found, &called) < 0) {
		if (!st->unread_what)
			st->unread_what = arena_strfmt(&c->plan->arena, "start-up script %s is over %d bytes "
						       "and was not read", display, EVIDENCE_SCRIPT_MAX);
		strvec_clear(&called);
		return;
	}
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
		else if (!st->unresolved) {
			/* A script this one runs or sources from outside the repository
			 * (the image's own entrypoint, say) decides what start-up does. */
			st->unresolved = 1;
			st->unresolved_what = arena_strfmt(&c->plan->arena, "%s (run by %s)", called.v[i], display);
		}
	}
	strvec_clear(&called);
}

/* The words of the effective start-up (argv items, shell strings split on blanks, quotes dropped). */
static void startup_words(const struct strvec *full, struct strvec *out)
{
	for (size_t i = 0; i < full->nr; i++)
		for (const char *p = full->v[i]; *p;) {
			p += strspn(p, " \t\n;&|()");
			size_t l = strcspn(p, " \t\n;&|()");
			if (l) {
				char *t = xstrndup(p, l);
				char *v = t + strspn(t, "'\"");
				size_t vl = strlen(v);
				while (vl && (v[vl - 1] == '\'' || v[vl - 1] == '"'))
					v[--vl] = '\0';
				if (*v)
					strvec_push(out, v);
				free(t);
			}
			p += l;
		}
}

/*
 * Configuration files the start-up hands to a process manager (uwsgi
 * app.ini, supervisord -c x.conf): the commands they run are start-up too.
 * Every "key = value" line's value is read as a shell command, after a
 * leading "exec:"-style tag (uwsgi's hook-pre-app = exec:./manage.py migrate).
 */
static void scan_config_files(struct detect_ctx *c, struct startup *st, struct plan_service *ps,
			      const struct strvec *words, struct evidence_list *found)
{
	for (size_t i = 0; i < words->nr; i++) {
		const char *w = words->v[i];
		if (!str_ends(w, ".ini") && !str_ends(w, ".conf") && !str_ends(w, ".cfg"))
			continue;
		const char *abs = resolve_script(c, st, ps->svc, w);
		struct srcfile *f;
		struct diag sub = DIAG_INIT;
		if (!abs)
			continue;
		const char *display = path_relative(&c->plan->arena, c->p->dir, abs);
		if (read_once(c, abs, display, EVIDENCE_SCRIPT_MAX, &f, &sub)) {
			if (!st->unread_what)
				st->unread_what = arena_strfmt(&c->plan->arena, "process manager configuration "
							       "%s", sub.msg.buf);
			diag_release(&sub);
			continue;
		}
		size_t before = found->nr;
		int line = 1;
		for (const char *p = f->data, *end = f->data + f->len; p < end; line++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			char *text = xstrndup(p, n);
			char *eq = strchr(text, '=');
			if (eq && text[0] != '#' && text[0] != ';' && text[0] != '[') {
				char *v = eq + 1;
				v += strspn(v, " \t");
				size_t tag = strspn(v, "abcdefghijklmnopqrstuvwxyz-");
				if (tag && v[tag] == ':' && v[tag + 1] != '/')
					v += tag + 1;
				if (*v)
					evidence_match_shell(c->patterns, v, display, line, found);
			}
			free(text);
			p = nl ? nl + 1 : end;
		}
		add_matches(c, ps, found, before, "config");
	}
}

/*
 * Migration switches in the environment: the image's entrypoint migrates
 * when told to (RUN_MIGRATIONS=1, MIGRATION_ENABLED=true,
 * _AIRFLOW_DB_MIGRATE=true, DB_UPGRADE=yes).  A key that turns migrations
 * off (SKIP_MIGRATIONS, DISABLE_..., NO_...) or a false value is not one.
 */
static void env_switches(struct detect_ctx *c, const struct service *s, struct evidence_list *found)
{
	for (size_t i = 0; i < s->nenv; i++) {
		const struct env_entry *e = &s->env[i];
		const char *k = e->key, *v = e->value;
		if (!v || !(strcasestr(k, "MIGRAT") || ends_ci(k, "DB_UPGRADE") || ends_ci(k, "DB_INIT")))
			continue;
		if (strcasestr(k, "SKIP") || strcasestr(k, "DISABLE") || strcasestr(k, "NO_") ||
		    strcasestr(k, "DONT") || strcasestr(k, "PREVENT") || strcasestr(k, "IGNORE") ||
		    strcasestr(k, "_DIR") || strcasestr(k, "PATH") || strcasestr(k, "TABLE") ||
		    strcasestr(k, "TIMEOUT") || strcasestr(k, "LOCK"))
			continue;
		if (strcasecmp(v, "1") && strcasecmp(v, "true") && strcasecmp(v, "yes") && strcasecmp(v, "on") &&
		    strcasecmp(v, "always") && strcasecmp(v, "y"))
			continue;
		ALLOC_GROW(found->v, found->nr + 1, found->alloc);
		struct evidence *ev = &found->v[found->nr++];
		ev->file = xstrdup(origin_file(e));
		ev->line = origin_line(e);
		ev->text = xstrfmt("%s=%s: the image migrates at start-up when told to", k, v);
		ev->pattern = xstrfmt("%s=%s", k, v);
	}
	(void)c;
}

/*
 * A migrations directory in a build context (migrations/, alembic/,
 * db/migrate/ ...), up to three levels down: the application ships schema
 * changes, and many apply them from code at start-up (an ORM's
 * auto-migrate, an embedded migrator) where no start-up command shows it.
 * Returns the path relative to dir, or NULL.  Bounded: at most 2000
 * entries are looked at.
 */
static const char *migrations_dir(struct arena *a, const char *dir, const char *rel, int depth, int *budget)
{
	static const char *const names[] = { "migrations", "migration", "migrate", "alembic", NULL };
	static const char *const skip[] = { "node_modules", "vendor", "target", "dist", "build", "static",
					    "public", "assets", "test", "tests", "spec", "docs", NULL };
	DIR *d = opendir(dir);
	struct dirent *de;
	const char *found = NULL;
	if (!d)
		return NULL;
	while (!found && (de = readdir(d)) && (*budget)-- > 0) {
		const char *n = de->d_name;
		if (n[0] == '.')
			continue;
		const char *abs = path_join(a, dir, n);
		if (!path_is_dir(abs))
			continue;
		/* copied: n lives in the DIR stream, freed by closedir */
		const char *r = *rel ? arena_strfmt(a, "%s/%s", rel, n) : arena_strdup(a, n);
		int hit = 0;
		for (const char *const *x = names; *x && !hit; x++)
			hit = !strcmp(n, *x);
		if (hit) {
			found = r;
			break;
		}
		int skipped = 0;
		for (const char *const *x = skip; *x && !skipped; x++)
			skipped = !strcmp(n, *x);
		if (!skipped && depth < 3)
			found = migrations_dir(a, abs, r, depth + 1, budget);
	}
	closedir(d);
	return found;
}

/* migrations_dir of a build context, looked for once per context. */
static const char *migrations_dir_once(struct detect_ctx *c, const char *dir)
{
	const char *r = strmap_get(&c->mdirs, dir);
	if (!r) {
		r = migrations_dir(&c->plan->arena, dir, "", 0, &(int){ 2000 });
		strmap_put(&c->mdirs, dir, r ? (void *)r : (void *)c);
	}
	return r == (const void *)c ? NULL : r;
}

/*
 * The script an interpreter runs at start-up (`node index.js`) when no file
 * of that name is anywhere in the build context: it comes with the base
 * image (FROM someone's application image), so what it does at start-up is
 * not in the repository.  Returns the script word, or NULL.
 */
static const char *base_image_script(struct detect_ctx *c, const struct startup *st,
				     const struct strvec *full)
{
	struct strvec words = STRVEC_INIT;
	for (size_t i = 0; i < full->nr; i++)
		strvec_split(&words, full->v[i], " \t\n");
	const char *w = evidence_interp_script((const char *const *)words.v, words.nr);
	const char *found = NULL;
	if (w) {
		const char *name = path_basename(w);
		const char *dot = strrchr(name, '.');
		char *stem = arena_strndup(&c->plan->arena, name, dot ? (size_t)(dot - name) : strlen(name));
		if (*stem && !appsource_has_stem(&c->plan->arena,
						 path_join(&c->plan->arena, c->p->dir, st->context), stem))
			found = arena_strdup(&c->plan->arena, w);
	}
	strvec_clear(&words);
	return found;
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
	int has_ep = service_cmd_words(s->entrypoint, &ep, &ep_sh);
	int has_cmd = service_cmd_words(s->command, &cmd, &cmd_sh);
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
		const char *df = st.df_display;
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
	/* A bare subcommand (command: server) goes to the image's own entrypoint,
	 * which decides what runs: not visible unless that entrypoint is. */
	const char *subcmd = NULL;
	if (has_cmd && !has_ep && !st.have_df) {
		const char *first = cmd_sh ? NULL : cmd.nr ? cmd.v[0] : NULL;
		char *tmp = NULL;
		if (cmd_sh) {
			const char *p0 = cmd_sh + strspn(cmd_sh, " \t\n");
			tmp = xstrndup(p0, strcspn(p0, " \t\n"));
			first = tmp;
		}
		if (first && *first && !evidence_is_program(first))
			subcmd = arena_strdup(&plan->arena, first);
		free(tmp);
		if (subcmd)
			st.visible = 0;
	}
	{
		size_t before = found.nr;
		env_switches(c, s, &found);
		add_matches(c, ps, &found, before, "env");
	}

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

	{
		struct strvec words = STRVEC_INIT;
		startup_words(&full, &words);
		scan_config_files(c, &st, ps, &words, &found);
		strvec_clear(&words);
	}
	if (found.unread && !st.unread_what)
		st.unread_what = arena_strfmt(&plan->arena, "a start-up command nests sh -c or $(...) more "
					      "than %d deep, and the part below was not read",
					      EVIDENCE_MAX_DEPTH);
	int migrates = found.nr > 0;
	const char *mdir = NULL, *script = NULL;
	struct appsource_hit ddl;
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
	} else if (st.unread_what) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "its start-up was not fully examined (%s): it may "
					  "migrate", st.unread_what);
	} else if (subcmd) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "'%s' is a subcommand of image %s's own entrypoint, "
					  "which is not in the repository", subcmd, s->image ? s->image : "(none)");
		plan_add_evidence(plan, ps, s->command->pos.file ? s->command->pos.file->display : file,
				  s->command->pos.line, arena_strfmt(&plan->arena, "command: %s", subcmd), "command");
	} else if (!st.visible) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "image %s has no build context in the repository "
					  "and no command of its own", s->image ? s->image : "(none)");
		if (s->image)
			plan_add_evidence(plan, ps, s->image_pos.file ? s->image_pos.file->display : file,
					  s->image_pos.line, arena_strfmt(&plan->arena, "image: %s", s->image), "image");
	} else if (st.have_df && st.context &&
		   (mdir = migrations_dir_once(c, path_join(&plan->arena, c->p->dir, st.context)))) {
		const char *shown = strcmp(st.context, ".") ? arena_strfmt(&plan->arena, "%s/%s", st.context, mdir)
							    : mdir;
		ps->cls = CLASS_UNCONFIRMED;
		ps->migrations_dir = shown;
		ps->reason = arena_strfmt(&plan->arena, "its build context ships %s/ but no start-up command "
					  "applies it: the application may migrate from its own code", shown);
		plan_add_evidence(plan, ps, shown, 0, "migrations directory in the build context", "build");
	} else if (st.have_df && st.context &&
		   appsource_find_ddl(&plan->arena, path_join(&plan->arena, c->p->dir, st.context), &ddl)) {
		const char *shown = strcmp(st.context, ".") ? arena_strfmt(&plan->arena, "%s/%s", st.context, ddl.file)
							    : ddl.file;
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "its own source changes the schema (%s:%d) and no "
					  "start-up command shows when: the application may migrate from its code",
					  shown, ddl.line);
		plan_add_evidence(plan, ps, shown, ddl.line, ddl.text, "source");
	} else if (st.have_df && st.context && (script = base_image_script(c, &st, &full))) {
		ps->cls = CLASS_UNCONFIRMED;
		ps->reason = arena_strfmt(&plan->arena, "it runs %s, which is not in its build context: the "
					  "base image %s's application, whose start-up is not in the repository",
					  script, st.df.final_base_image ? st.df.final_base_image : "(unknown)");
	} else {
		char *what = NULL;
		int app = full.nr && evidence_runs_app((const char *const *)full.v, full.nr, &what);
		ps->cls = CLASS_WRITER;
		ps->reason = app ? arena_strfmt(&plan->arena, "runs an application (%s) with no migration "
						"evidence", what)
				 : arena_strdup(&plan->arena, "start-up visible, no migration evidence");
		free(what);
	}
	/* Start-up inside an image: read the image when one can be read. */
	if (ps->cls == CLASS_UNCONFIRMED && !settled && !(cs && cs->cls) && c->images)
		imagescan_classify(plan, ps, c->patterns, c->images);
	/* Say what start-up was looked at when nothing else was recorded. */
	if (ps->nevidence == ev_before && full.nr) {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < full.nr; i++)
			buf_addf(&b, "%s%s", i ? " " : "", full.v[i]);
		const struct service_cmd *at = has_cmd ? s->command : has_ep ? s->entrypoint : NULL;
		if (at)
			plan_add_evidence(plan, ps, at->pos.file->display, at->pos.line, b.buf,
					  has_cmd ? "command" : "entrypoint");
		else if (st.have_df)
			plan_add_evidence(plan, ps, st.df_display,
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

/*
 * flip, hold or skip, from the class and the connections (run again by
 * plan_build once live facts have settled who is a superuser).  A service
 * with a superuser connection flips unless it is unconfirmed or a superuser
 * DSN sits where branch cannot rewrite it (command arguments); a service
 * whose only doubtful connections are undecided is held; the rest skip.
 */
void detect_decide_action(struct plan *plan, struct plan_service *ps)
{
	int su = 0, unknown = 0, arg_su = 0;
	const char *who = NULL, *unk = NULL, *argvar = NULL;
	if (!ps->class_reason)
		ps->class_reason = ps->reason;
	for (size_t i = 0; i < ps->nconns; i++) {
		const struct plan_conn *pc = &ps->conns[i];
		if (pc->superuser) {
			su = 1;
			if (pc->form == CONN_ARG || pc->form == CONN_UNKNOWN) {
				arg_su = 1 + (pc->form == CONN_UNKNOWN);
				argvar = pc->variable;
			}
		} else if (pc->superuser_by && !strcmp(pc->superuser_by, "unknown")) {
			unknown = 1;
			unk = pc->user;
		} else {
			who = pc->user;
		}
	}
	ps->reason = ps->class_reason;
	if (su && arg_su) {
		ps->action = ACTION_HOLD;
		ps->reason = arg_su == 2
			? arena_strfmt(&plan->arena, "it connects as the superuser through %s, which branch "
				       "cannot rewrite: move the connection into an environment variable", argvar)
			: arena_strfmt(&plan->arena, "a superuser DSN is passed as a command argument (%s), "
				       "which branch cannot rewrite: move it into an environment variable",
				       argvar);
		plan_warn(plan, 1, "%s: %s", ps->name, ps->reason);
		return;
	}
	if (su) {
		ps->action = ps->cls == CLASS_UNCONFIRMED ? ACTION_HOLD : ACTION_FLIP;
		return;
	}
	if (unknown) {
		ps->action = ACTION_HOLD;
		ps->reason = arena_strfmt(&plan->arena, "cannot tell offline whether '%s' is a superuser: "
					  "run with --db", unk ? unk : "?");
		return;
	}
	ps->action = ACTION_SKIP;
	ps->reason = arena_strfmt(&plan->arena, "connects as '%s', not a superuser", who ? who : "?");
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

/*
 * Split settings with a user but no database variable: the database is the
 * application's default, not known here.  One blocking warning per
 * variable, naming every service.
 */
static void warn_no_database(struct plan *plan)
{
	struct strvec seen = STRVEC_INIT;
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++) {
			const struct plan_conn *pc = &plan->services[i].conns[k];
			if (pc->form != CONN_SPLIT || pc->database || strvec_contains(&seen, pc->variable))
				continue;
			strvec_push(&seen, pc->variable);
			struct buf svcs = BUF_INIT;
			for (size_t j = 0; j < plan->nservices; j++)
				for (size_t m = 0; m < plan->services[j].nconns; m++) {
					const struct plan_conn *o = &plan->services[j].conns[m];
					if (o->form == CONN_SPLIT && !o->database && !strcmp(o->variable, pc->variable)) {
						buf_addf(&svcs, "%s%s", svcs.len ? ", " : "", plan->services[j].name);
						break;
					}
				}
			const char *us = strrchr(pc->variable, '_');
			int plen = us ? (int)(us - pc->variable) : (int)strlen(pc->variable);
			plan_warn(plan, 1, "%s: %s names a user but no database variable is beside it; the "
				  "database is the application's own default, which dsnflip cannot read: set "
				  "it in the environment (%.*s_%s) or run with --db", svcs.buf, pc->variable,
				  plen, pc->variable, strcasestr(pc->variable, "POSTGRES") ? "DB" : "NAME");
			buf_release(&svcs);
		}
	strvec_clear(&seen);
}

/* The servers the plan talks about, with how each was recognised. */
static void record_servers(struct detect_ctx *c)
{
	struct plan *plan = c->plan;
	for (size_t i = 0; i < c->servers.nr; i++) {
		const struct pg_server *sv = &c->servers.v[i];
		if (!sv->svc->enabled)
			continue;
		ALLOC_GROW(plan->db_servers, plan->ndb_servers + 1, plan->db_servers_alloc);
		struct plan_dbserver *o = &plan->db_servers[plan->ndb_servers++];
		o->name = sv->svc->name;
		o->why = arena_strdup(&plan->arena, sv->why ? sv->why : "");
		o->superusers_known = sv->superusers_known;
		o->nsuperusers = sv->superusers.nr;
		o->superusers = arena_alloc(&plan->arena, (sv->superusers.nr + 1) * sizeof(*o->superusers));
		for (size_t k = 0; k < sv->superusers.nr; k++)
			o->superusers[k] = arena_strdup(&plan->arena, sv->superusers.v[k]);
	}
}

/*
 * One blocking warning per user and host whose superuser status is unknown
 * offline, naming every service concerned (not one per variable).
 */
void detect_warn_unknown(struct plan *plan)
{
	struct strvec seen = STRVEC_INIT;
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++) {
			const struct plan_conn *pc = &plan->services[i].conns[k];
			if (strcmp(pc->superuser_by, "unknown"))
				continue;
			const char *key = arena_strfmt(&plan->arena, "%s\1%s", pc->user ? pc->user : "",
						       pc->host ? pc->host : "");
			if (strvec_contains(&seen, key))
				continue;
			strvec_push(&seen, key);
			struct buf svcs = BUF_INIT;
			for (size_t j = 0; j < plan->nservices; j++) {
				int hit = 0;
				for (size_t m = 0; m < plan->services[j].nconns && !hit; m++) {
					const struct plan_conn *o = &plan->services[j].conns[m];
					hit = !strcmp(o->superuser_by, "unknown") &&
					      !strcmp(o->user ? o->user : "", pc->user ? pc->user : "") &&
					      !strcmp(o->host ? o->host : "", pc->host ? pc->host : "");
				}
				if (hit)
					buf_addf(&svcs, "%s%s", svcs.len ? ", " : "", plan->services[j].name);
			}
			if (pc->form == CONN_UNKNOWN)
				plan_warn(plan, 1, "%s: talks to %s but its connection cannot be read; "
					  "set it in dsnflip.yml or run with --db", svcs.buf,
					  pc->server ? pc->server : pc->host);
			else
				plan_warn(plan, 1, "cannot tell offline whether '%s'%s%s is a superuser (%s; used by %s): "
					  "run with --db to ask the server", pc->user ? pc->user : "?",
					  pc->host ? " on " : "", pc->host ? pc->host : "",
					  pc->server ? "its server's image does not say" :
					  "its server is not a service of this stack", svcs.buf);
			buf_release(&svcs);
		}
	strvec_clear(&seen);
}

int detect_services(struct plan *plan, const struct config *cfg, const struct plan_opts *opts,
		    struct diag *d)
{
	const struct compose_project *p = plan->project;
	struct detect_ctx c = { .plan = plan, .p = p, .cfg = cfg, .d = d,
				.images = opts ? opts->images : NULL };
	int ret = -1;

	c.patterns = patterns_default();
	for (size_t i = 0; cfg && i < cfg->nmigration_patterns; i++)
		if (patterns_add_at(c.patterns, cfg->migration_patterns[i], cfg->path,
				    cfg->migration_pattern_pos[i].line, cfg->migration_pattern_pos[i].col, d))
			goto cleanup;
	/* Servers by what they are: image lineage, build, environment, healthcheck. */
	servers_find(p, &plan->arena, &c.servers);
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
		if (!s->enabled || servers_is(&c.servers, i))
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
			/* A pooler in front of a server is its client, not a server. */
			if (client && client != ps && !pooler_server(&c, ps->name)) {
				ps->cls = (enum svc_class)-1;
				servers_mark_target(&c.servers, p, &plan->arena, (size_t)(ps->svc - p->services));
			}
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
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++)
			decide_superuser(&c, &plan->services[i].conns[k]);

	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		int settled = apply_assume(&c, opts, ps);
		if (settled < 0 || classify(&c, ps, settled))
			goto cleanup;
	}
	/* Migrations a context ships are accounted for when a service built from
	 * the same context visibly applies them (a dedicated migrator). */
	for (size_t i = 0; i < plan->nservices; i++) {
		struct plan_service *ps = &plan->services[i];
		const struct service *b = ps->migrations_dir ? image_builder(&c, ps->svc) : NULL;
		for (size_t j = 0; b && j < plan->nservices; j++) {
			struct plan_service *m = &plan->services[j];
			const struct service *mb = image_builder(&c, m->svc);
			if (m == ps || m->cls != CLASS_MIGRATOR || !mb || !mb->build_context ||
			    strcmp(mb->build_context, b->build_context))
				continue;
			ps->cls = CLASS_WRITER;
			ps->reason = arena_strfmt(&plan->arena, "start-up visible, no migration evidence; the "
						  "migrations in %s/ are applied by %s", ps->migrations_dir, m->name);
			break;
		}
	}
	for (size_t i = 0; i < plan->nservices; i++)
		detect_decide_action(plan, &plan->services[i]);
	record_servers(&c);
	warn_no_database(plan);
	ret = 0;
cleanup:
	patterns_free(c.patterns);
	strmap_clear(&c.builders);
	strmap_clear(&c.files);
	strmap_clear(&c.mdirs);
	servers_release(&c.servers);
	return ret;
}

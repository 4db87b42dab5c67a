/*
 * discover: the live server's facts in a fixed number of catalog queries
 * (see discover.h).
 *
 * The ownership query follows POSTGRES.md: schemas (pg_namespace), tables,
 * partitioned tables, views, materialized views, foreign tables and
 * sequences not linked to a column (pg_class; a serial's 'a' or an
 * identity's 'i' dependency means it follows its table), functions,
 * procedures and aggregates (pg_proc), types and domains (pg_type, without
 * array types, relation row types and multiranges, which follow their base),
 * minus extension members ('e' dependencies) and minus pg_catalog,
 * information_schema, pg_toast*, pg_temp* (by a regular expression with no
 * backslash, which means the same under standard_conforming_strings on and
 * off) and TimescaleDB's internal
 * schemas (so chunks, materialization hypertables and compressed
 * hypertables never appear).  The server groups superuser-owned objects
 * into counts and returns the rest by name.
 */
#include "server/discover.h"
#include "util/run.h"
#include "artifacts/rolesql.h"
#include "util/num.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Schemas that are never the application's (POSTGRES.md). */
#define INTERNAL_SCHEMAS \
	"'pg_catalog', 'information_schema', '_timescaledb_catalog', '_timescaledb_config', " \
	"'_timescaledb_internal', '_timescaledb_cache', '_timescaledb_functions', " \
	"'timescaledb_information', 'timescaledb_experimental'"

static const char SQL_SETTINGS[] =
	"SELECT current_setting('max_connections')::int,"
	" current_setting('superuser_reserved_connections')::int,"
	" coalesce(current_setting('reserved_connections', true)::int, 0),"
	" current_setting('server_version'),"
	" current_setting('server_version_num')::int";

/*
 * protected: what dsnflip never alters (superuser, CREATEROLE, REPLICATION,
 * BYPASSRLS; a predefined role); managed: marked by dsnflip (ROLESQL_MARKER).
 */
static const char SQL_ROLES[] =
	"SELECT rolname, rolsuper, rolcanlogin, rolconnlimit,"
	" pg_catalog.concat_ws(', ', CASE WHEN rolsuper THEN 'SUPERUSER' END,"
	"   CASE WHEN rolcreaterole THEN 'CREATEROLE' END, CASE WHEN rolreplication THEN 'REPLICATION' END,"
	"   CASE WHEN rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN oid < 16384 THEN 'predefined' END),"
	" pg_catalog.shobj_description(oid, 'pg_authid') IS NOT DISTINCT FROM $1,"
	" rolname = current_user"
	" FROM pg_catalog.pg_roles ORDER BY rolname COLLATE \"C\"";

static const char SQL_SESSIONS[] =
	"SELECT usename, datname, count(*)::int FROM pg_catalog.pg_stat_activity"
	" WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()"
	" AND usename IS NOT NULL"
	" GROUP BY 1, 2 ORDER BY 1, 2";

static const char SQL_EXTENSION[] =
	"SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'timescaledb'";

/* The ownership query; %s twice: TimescaleDB CTEs, and the kind test for them. */
static const char SQL_OBJECTS_FMT[] =
	"WITH ns AS ("
	"  SELECT n.oid, n.nspname, n.nspowner FROM pg_catalog.pg_namespace n"
	"  WHERE n.nspname NOT IN (" INTERNAL_SCHEMAS ")"
	"    AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp'),"
	" ext AS (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),"
	" linked AS (SELECT objid FROM pg_catalog.pg_depend WHERE classid = 'pg_catalog.pg_class'::regclass"
	"   AND refclassid = 'pg_catalog.pg_class'::regclass AND deptype IN ('a', 'i')),"
	"%s"
	" obj AS ("
	"  SELECT 'schema'::text AS kind, n.nspname::text AS sch, NULL::text AS name, n.nspowner AS owner,"
	"    'pg_catalog.pg_namespace'::regclass AS classid, n.oid FROM ns n"
	"  UNION ALL"
	"  SELECT CASE%s WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN c.relkind = 'v' THEN 'view'"
	"    WHEN c.relkind = 'm' THEN 'materialized view' WHEN c.relkind = 'f' THEN 'foreign table'"
	"    ELSE 'sequence' END, n.nspname, c.relname, c.relowner, 'pg_catalog.pg_class'::regclass, c.oid"
	"  FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace"
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
	"    AND (c.relkind <> 'S' OR NOT EXISTS (SELECT 1 FROM linked l WHERE l.objid = c.oid))"
	"  UNION ALL"
	"  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,"
	"    n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',"
	"    p.proowner, 'pg_catalog.pg_proc'::regclass, p.oid"
	"  FROM pg_catalog.pg_proc p JOIN ns n ON n.oid = p.pronamespace"
	"  UNION ALL"
	"  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, n.nspname, t.typname, t.typowner,"
	"    'pg_catalog.pg_type'::regclass, t.oid"
	"  FROM pg_catalog.pg_type t JOIN ns n ON n.oid = t.typnamespace"
	"  WHERE t.typtype <> 'm'"
	"    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)"
	"    AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_catalog.pg_class rc"
	"      WHERE rc.oid = t.typrelid AND rc.relkind = 'c')))"
	" SELECT * FROM ("
	"  SELECT o.kind, r.rolname::text AS owner, r.rolsuper,"
	"   CASE WHEN o.kind = 'schema' OR NOT (r.rolsuper OR r.rolname = 'pg_database_owner') THEN o.sch END AS sch,"
	"   CASE WHEN NOT (r.rolsuper OR r.rolname = 'pg_database_owner') THEN o.name END AS name,"
	"   count(*)::int"
	"  FROM obj o JOIN pg_catalog.pg_roles r ON r.oid = o.owner"
	"  WHERE NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = o.classid AND e.objid = o.oid)"
	"  GROUP BY 1, 2, 3, 4, 5) g"
	" ORDER BY g.sch COLLATE \"C\" NULLS FIRST, g.name COLLATE \"C\" NULLS FIRST, g.kind, g.owner COLLATE \"C\"";

/* TimescaleDB: the user-facing relations that are hypertables and caggs (POSTGRES.md). */
static const char SQL_TS_CTES[] =
	" ht AS (SELECT pg_catalog.format('%I.%I', hypertable_schema, hypertable_name)::regclass AS oid"
	"   FROM timescaledb_information.hypertables),"
	" ca AS (SELECT pg_catalog.format('%I.%I', view_schema, view_name)::regclass AS oid"
	"   FROM timescaledb_information.continuous_aggregates),";
static const char SQL_TS_KIND[] =
	" WHEN c.oid IN (SELECT oid FROM ht) THEN 'hypertable'"
	" WHEN c.oid IN (SELECT oid FROM ca) THEN 'continuous aggregate'";

static const char SQL_TS_HYPERTABLES[] =
	"SELECT hypertable_schema, hypertable_name, owner, num_chunks::int"
	" FROM timescaledb_information.hypertables ORDER BY 1, 2";
static const char SQL_TS_CAGGS[] =
	"SELECT view_schema, view_name, view_owner FROM timescaledb_information.continuous_aggregates"
	" ORDER BY 1, 2";
/* Jobs below 1000 are TimescaleDB's own: left alone, not even listed. */
static const char SQL_TS_JOBS[] =
	"SELECT job_id, owner, proc_schema, proc_name, hypertable_schema, hypertable_name"
	" FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY job_id";

struct ctx {
	struct live_facts *lf;
	struct diag *d;
	int bad; /* a reply held a number that is not one: d says which */
};

static int q(struct ctx *c, struct pgconn *pc, const char *sql, const char *what, PGresult **out)
{
	c->lf->queries++;
	return pg_exec(pc, sql, what, out, c->d);
}

static const char *val(struct ctx *c, PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strdup(&c->lf->arena, PQgetvalue(r, row, col));
}

/*
 * An integer column, parsed strictly: a reply that is not a whole number in
 * int range would otherwise read as 0 or wrap (a budget computed from it
 * would be wrong), so it fails discovery, naming the column.
 */
static int ival(struct ctx *c, PGresult *r, int row, int col)
{
	int v = 0;
	enum num_err e;
	if (PQgetisnull(r, row, col))
		return 0;
	e = num_parse_int(PQgetvalue(r, row, col), INT_MIN, INT_MAX, &v);
	if (e && !c->bad) {
		c->bad = 1;
		diag_fail(c->d, "the server replied with an unreadable %s (row %d): %s",
			  PQfname(r, col), row + 1, num_reason(e));
	}
	return v;
}

static int bval(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static const char *qualified(struct ctx *c, PGresult *r, int row, int scol, int ncol)
{
	if (PQgetisnull(r, row, scol) || PQgetisnull(r, row, ncol))
		return NULL;
	return arena_strfmt(&c->lf->arena, "%s.%s", PQgetvalue(r, row, scol), PQgetvalue(r, row, ncol));
}

static int role_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct live_role *)elem)->name);
}

static struct live_role *find_role(struct live_facts *lf, const char *name)
{
	return bsearch(name, lf->roles, lf->nroles, sizeof(*lf->roles), role_cmp);
}

/* Server settings, roles, sessions: three queries on the admin connection. */
static int read_server(struct ctx *c, struct pgconn *admin)
{
	struct live_facts *lf = c->lf;
	PGresult *r = NULL;

	if (q(c, admin, SQL_SETTINGS, "server settings", &r))
		return -1;
	lf->max_connections = ival(c, r, 0, 0);
	lf->superuser_reserved = ival(c, r, 0, 1);
	lf->reserved = ival(c, r, 0, 2);
	lf->version = val(c, r, 0, 3);
	lf->server_version_num = ival(c, r, 0, 4);
	PQclear(r);
	if (c->bad)
		return -1;

	const char *marker[] = { ROLESQL_MARKER };
	c->lf->queries++;
	if (pg_execp(admin, SQL_ROLES, 1, marker, "roles (pg_roles)", &r, c->d))
		return -1;
	lf->nroles = (size_t)PQntuples(r);
	lf->roles = arena_alloc(&lf->arena, (lf->nroles + 1) * sizeof(*lf->roles));
	for (size_t i = 0; i < lf->nroles; i++) {
		struct live_role *lr = &lf->roles[i];
		lr->name = val(c, r, (int)i, 0);
		lr->superuser = bval(r, (int)i, 1);
		lr->can_login = bval(r, (int)i, 2);
		lr->connection_limit = ival(c, r, (int)i, 3);
		if (lr->connection_limit < 0)
			lr->connection_limit = -1;
		const char *prot = PQgetvalue(r, (int)i, 4);
		lr->protected_by = *prot ? arena_strdup(&lf->arena, prot) : NULL;
		lr->managed = bval(r, (int)i, 5);
		if (bval(r, (int)i, 6))
			lf->admin_user = lr->name;
	}
	PQclear(r);
	if (c->bad)
		return -1;

	if (q(c, admin, SQL_SESSIONS, "sessions (pg_stat_activity)", &r))
		return -1;
	lf->nsessions = (size_t)PQntuples(r);
	lf->sessions = arena_alloc(&lf->arena, (lf->nsessions + 1) * sizeof(*lf->sessions));
	for (size_t i = 0; i < lf->nsessions; i++) {
		struct live_sessions *s = &lf->sessions[i];
		s->user = val(c, r, (int)i, 0);
		s->database = val(c, r, (int)i, 1);
		s->count = ival(c, r, (int)i, 2);
		struct live_role *lr = s->user ? find_role(lf, s->user) : NULL;
		if (!lr)
			continue;
		lr->sessions += s->count;
		/* PostgreSQL keeps no history of sessions: the peak known is now. */
		lr->peak = lr->sessions;
		if (lr->superuser)
			lf->superuser_sessions += s->count;
	}
	PQclear(r);
	return c->bad ? -1 : 0;
}

/* Ownership in one database: one query (TimescaleDB-aware when present). */
static int read_objects(struct ctx *c, struct pgconn *pc, struct live_db *db)
{
	struct live_facts *lf = c->lf;
	PGresult *r = NULL;
	char *sql = xstrfmt(SQL_OBJECTS_FMT, db->timescaledb ? SQL_TS_CTES : "",
			    db->timescaledb ? SQL_TS_KIND : "");
	char *what = xstrfmt("objects in database '%s'", db->name);
	int rc = q(c, pc, sql, what, &r);

	free(sql);
	free(what);
	if (rc)
		return -1;
	size_t n = (size_t)PQntuples(r), nschemas = 0, nkept = 0, nowned = 0;
	for (size_t i = 0; i < n; i++) {
		int su = bval(r, (int)i, 2);
		nschemas += !strcmp(PQgetvalue(r, (int)i, 0), "schema");
		nkept += !su && !PQgetisnull(r, (int)i, 3) && strcmp(PQgetvalue(r, (int)i, 1), "pg_database_owner");
	}
	db->schemas = arena_alloc(&lf->arena, (nschemas + 1) * sizeof(*db->schemas));
	db->kept = arena_alloc(&lf->arena, (nkept + 1) * sizeof(*db->kept));
	db->owned = arena_alloc(&lf->arena, (n + 1) * sizeof(*db->owned));
	for (size_t i = 0; i < n; i++) {
		const char *kind = PQgetvalue(r, (int)i, 0), *owner = PQgetvalue(r, (int)i, 1);
		int su = bval(r, (int)i, 2), count = ival(c, r, (int)i, 5);
		int is_schema = !strcmp(kind, "schema");

		lf->objects += (size_t)count;
		if (is_schema)
			db->schemas[db->nschemas++] = val(c, r, (int)i, 3);
		if (!su && !PQgetisnull(r, (int)i, 3) && strcmp(owner, "pg_database_owner")) {
			struct live_object *o = &db->kept[db->nkept++];
			o->kind = arena_strdup(&lf->arena, kind);
			o->name = is_schema ? val(c, r, (int)i, 3) : qualified(c, r, (int)i, 3, 4);
			o->owner = arena_strdup(&lf->arena, owner);
		}
		/* Counts per (kind, owner): rows arrive split by name, fold them. */
		size_t k;
		for (k = 0; k < nowned; k++)
			if (!strcmp(db->owned[k].kind, kind) && !strcmp(db->owned[k].owner, owner))
				break;
		if (k == nowned) {
			db->owned[k].kind = arena_strdup(&lf->arena, kind);
			db->owned[k].owner = arena_strdup(&lf->arena, owner);
			db->owned[k].owner_superuser = su;
			nowned++;
		}
		db->owned[k].count += count;
	}
	db->nowned = nowned;
	PQclear(r);
	return c->bad ? -1 : 0;
}

/* Hypertables, continuous aggregates and jobs: only with the extension. */
static int read_timescaledb(struct ctx *c, struct pgconn *pc, struct live_db *db)
{
	struct live_facts *lf = c->lf;
	PGresult *r = NULL;
	char *what = xstrfmt("hypertables in database '%s'", db->name);
	int rc = q(c, pc, SQL_TS_HYPERTABLES, what, &r);

	free(what);
	if (rc)
		return -1;
	db->nhypertables = (size_t)PQntuples(r);
	db->hypertables = arena_alloc(&lf->arena, (db->nhypertables + 1) * sizeof(*db->hypertables));
	for (size_t i = 0; i < db->nhypertables; i++) {
		struct live_object *o = &db->hypertables[i];
		o->kind = "hypertable";
		o->name = qualified(c, r, (int)i, 0, 1);
		o->owner = val(c, r, (int)i, 2);
		o->chunks = ival(c, r, (int)i, 3);
	}
	PQclear(r);

	what = xstrfmt("continuous aggregates in database '%s'", db->name);
	rc = q(c, pc, SQL_TS_CAGGS, what, &r);
	free(what);
	if (rc)
		return -1;
	db->ncaggs = (size_t)PQntuples(r);
	db->caggs = arena_alloc(&lf->arena, (db->ncaggs + 1) * sizeof(*db->caggs));
	for (size_t i = 0; i < db->ncaggs; i++) {
		struct live_object *o = &db->caggs[i];
		o->kind = "continuous aggregate";
		o->name = qualified(c, r, (int)i, 0, 1);
		o->owner = val(c, r, (int)i, 2);
	}
	PQclear(r);

	what = xstrfmt("jobs in database '%s'", db->name);
	rc = q(c, pc, SQL_TS_JOBS, what, &r);
	free(what);
	if (rc)
		return -1;
	db->njobs = (size_t)PQntuples(r);
	db->jobs = arena_alloc(&lf->arena, (db->njobs + 1) * sizeof(*db->jobs));
	for (size_t i = 0; i < db->njobs; i++) {
		struct live_job *j = &db->jobs[i];
		const char *ps = PQgetvalue(r, (int)i, 2);
		j->id = ival(c, r, (int)i, 0);
		j->owner = val(c, r, (int)i, 1);
		j->proc = qualified(c, r, (int)i, 2, 3);
		j->hypertable = qualified(c, r, (int)i, 4, 5);
		/* Policies run TimescaleDB's own procedures; add_job runs the user's. */
		j->custom = strcmp(ps, "_timescaledb_functions") && strcmp(ps, "_timescaledb_internal");
	}
	PQclear(r);
	return c->bad ? -1 : 0;
}

static int read_db(struct ctx *c, struct pgconn *admin, struct live_db *db)
{
	struct pgconn own = { 0 };
	struct pgconn *pc = admin;
	PGresult *r = NULL;
	int rc = -1;

	if (strcmp(PQdb(admin->conn), db->name)) {
		struct diag tmp = DIAG_INIT;
		if (pgconn_open_db(&own, admin, db->name, &tmp)) {
			if (strstr(tmp.msg.buf, "(SQLSTATE 3D000)")) {
				db->missing = 1;
				diag_release(&tmp);
				return 0;
			}
			diag_fail(c->d, "%s", tmp.msg.buf);
			diag_release(&tmp);
			return -1;
		}
		pc = &own;
	}
	char *what = xstrfmt("extensions in database '%s'", db->name);
	int qr = q(c, pc, SQL_EXTENSION, what, &r);
	free(what);
	if (qr)
		goto cleanup;
	if (PQntuples(r) > 0) {
		db->timescaledb = val(c, r, 0, 0);
		if (!c->lf->timescaledb)
			c->lf->timescaledb = db->timescaledb;
	}
	PQclear(r);
	if (read_objects(c, pc, db) || (db->timescaledb && read_timescaledb(c, pc, db)))
		goto cleanup;
	rc = 0;
cleanup:
	pgconn_close(&own);
	return rc;
}

int discover(struct pgconn *admin, const char *const *dbs, size_t ndbs,
	     struct live_facts **out, struct diag *d)
{
	struct live_facts *lf = xcalloc(1, sizeof(*lf));
	struct ctx c = { lf, d, 0 };
	long long start = run_now_ms();

	if (admin->derived)
		lf->derived = arena_strdup(&lf->arena, admin->derived);
	if (read_server(&c, admin))
		goto fail;
	lf->dbs = arena_alloc(&lf->arena, (ndbs + 1) * sizeof(*lf->dbs));
	for (size_t i = 0; i < ndbs; i++) {
		struct live_db *db = &lf->dbs[lf->ndbs++];
		db->name = arena_strdup(&lf->arena, dbs[i]);
		if (read_db(&c, admin, db))
			goto fail;
	}
	lf->elapsed_ms = run_now_ms() - start;
	*out = lf;
	return 0;
fail:
	live_facts_free(lf);
	return -1;
}

void live_facts_free(struct live_facts *lf)
{
	if (!lf)
		return;
	arena_release(&lf->arena);
	free(lf);
}

void discover_plan_databases(const struct plan *plan, struct strvec *out)
{
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		for (size_t k = 0; k < ps->nconns; k++) {
			const char *db = ps->conns[k].database;
			if (db && *db && !strstr(db, "${") && !strvec_contains(out, db))
				strvec_push(out, db);
		}
	}
}

const struct live_db *live_db(const struct live_facts *lf, const char *name)
{
	for (size_t i = 0; lf && i < lf->ndbs; i++)
		if (!strcmp(lf->dbs[i].name, name))
			return &lf->dbs[i];
	return NULL;
}

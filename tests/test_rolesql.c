/*
 * Tests for sqlquote and rolesql: quoting that matches PostgreSQL's rules
 * (identifiers as PQescapeIdentifier writes them, literals for
 * standard_conforming_strings=on, strict UTF-8), and the text of the role
 * SQL — above all its TimescaleDB branches, which CI cannot run (TimescaleDB
 * is not in Debian): continuous aggregates only by ALTER MATERIALIZED VIEW,
 * chunks and internal schemas never touched, jobs >= 1000 only, the
 * scheduler restarted, the catalog table chosen by version.  The plain
 * PostgreSQL path runs for real in tests/tier-roles.
 *
 * Plans here are built by hand (a plan is plain data) so names can be as
 * hostile as a DSN's database or a config's keep list can make them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/config.h"
#include "plan/plan.h"
#include "artifacts/rolesql.h"
#include "artifacts/sqlquote.h"

#define TDIR "templates"

/* ---- sqlquote ---------------------------------------------------------- */

static char *qi(const char *s)
{
	struct buf b = BUF_INIT;
	struct diag d = DIAG_INIT;
	if (sql_quote_ident(s, &b, &d)) {
		buf_release(&b);
		diag_release(&d);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static char *ql(const char *s)
{
	struct buf b = BUF_INIT;
	struct diag d = DIAG_INIT;
	if (sql_quote_literal(s, &b, &d)) {
		buf_release(&b);
		diag_release(&d);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

#define ASSERT_Q(fn, in, want) do { char *got_ = fn(in); assert_non_null(got_); \
	assert_string_equal(got_, want); free(got_); } while (0)
#define ASSERT_QFAIL(fn, in) do { char *got_ = fn(in); assert_null(got_); } while (0)

static void test_quote_ident(void **state)
{
	(void)state;
	/* Always quoted, as PQescapeIdentifier does: never a keyword clash. */
	ASSERT_Q(qi, "tracksolid_owner", "\"tracksolid_owner\"");
	ASSERT_Q(qi, "select", "\"select\"");
	ASSERT_Q(qi, "Trips \"2024\"", "\"Trips \"\"2024\"\"\"");
	ASSERT_Q(qi, "\"", "\"\"\"\"");
	ASSERT_Q(qi, "it's", "\"it's\"");
	ASSERT_Q(qi, "caf\xc3\xa9 \xf0\x9f\x9a\x9a", "\"caf\xc3\xa9 \xf0\x9f\x9a\x9a\"");
	ASSERT_Q(qi, "back\\slash", "\"back\\slash\"");
	ASSERT_QFAIL(qi, "");
}

static void test_quote_literal(void **state)
{
	(void)state;
	ASSERT_Q(ql, "", "''");
	ASSERT_Q(ql, "5min", "'5min'");
	ASSERT_Q(ql, "O'Brien", "'O''Brien'");
	ASSERT_Q(ql, "''", "''''''");
	/*
	 * A backslash: the escape-string form, as PQescapeLiteral writes it,
	 * which reads the same under standard_conforming_strings on and off
	 * (the plain form 'x\'' would end early with it off).
	 */
	ASSERT_Q(ql, "C:\\dir\\", " E'C:\\\\dir\\\\'");
	ASSERT_Q(ql, "x\\' ; CREATE ROLE pwn SUPERUSER; --", " E'x\\\\'' ; CREATE ROLE pwn SUPERUSER; --'");
	ASSERT_Q(ql, "\xc3\xbc'", "'\xc3\xbc'''");
}

static void test_quote_rejects_bad_utf8(void **state)
{
	(void)state;
	ASSERT_QFAIL(qi, "\xc0\xaf");         /* overlong '/' */
	ASSERT_QFAIL(ql, "\xe0\x80\xa7");     /* overlong quote */
	ASSERT_QFAIL(ql, "a\xed\xa0\x80");    /* a surrogate */
	ASSERT_QFAIL(ql, "\xe2\x82");         /* truncated */
	ASSERT_QFAIL(ql, "\xff'");            /* not UTF-8 at all */
	ASSERT_QFAIL(ql, "\xf4\x90\x80\x80"); /* above U+10FFFF */
	ASSERT_QFAIL(qi, "\x80");
	assert_true(sql_valid_utf8("\xf4\x8f\xbf\xbf"));
}

static void test_dollar_quote(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	sql_dollar_quote("SELECT 1", &b);
	assert_string_equal(b.buf, "$dsnflip$SELECT 1$dsnflip$");
	buf_reset(&b);
	sql_dollar_quote("x $dsnflip$ y", &b);
	assert_string_equal(b.buf, "$dsnflip1$x $dsnflip$ y$dsnflip1$");
	buf_reset(&b);
	/* A body ending in a prefix of the tag would close early. */
	sql_dollar_quote("a$dsnflip", &b);
	assert_string_equal(b.buf, "$dsnflip1$a$dsnflip$dsnflip1$");
	buf_release(&b);
}

/* ---- a hand-built plan ------------------------------------------------- */

struct fx {
	struct plan plan;
	struct config cfg;
	struct plan_role roles[4];
	const char *dbs[4][2];
	struct role_setting settings[2];
	const char *services[2];
	const char *keep[2];
};

static void add_role(struct fx *f, const char *name, enum role_kind kind, const char *db, int limit)
{
	struct plan_role *r = &f->roles[f->plan.nroles];
	memset(r, 0, sizeof(*r));
	f->dbs[f->plan.nroles][0] = db;
	r->name = name;
	r->kind = kind;
	r->databases = f->dbs[f->plan.nroles];
	r->ndatabases = 1;
	r->connection_limit = limit;
	r->services = f->services;
	r->nservices = 1;
	f->plan.nroles++;
}

static struct fx *fx_new(const char *db)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->plan.project_name = "fleet";
	f->plan.roles = f->roles;
	f->services[0] = "webhook_receiver";
	f->settings[0].key = "idle_session_timeout";
	f->settings[0].value = "1h";
	f->settings[1].key = "statement_timeout";
	f->settings[1].value = "60s";
	add_role(f, "tracksolid_owner", ROLE_OWNER, db, 30);
	add_role(f, "dashboard_app", ROLE_READER, db, 8);
	f->roles[1].settings = f->settings;
	f->roles[1].nsettings = 2;
	add_role(f, "ingest_app", ROLE_WRITER, db, 12);
	f->keep[0] = "reporting.v_trips";
	f->cfg.keep = f->keep;
	f->cfg.nkeep = 1;
	return f;
}

static char *must_build(struct fx *f, const char *db, struct rolesql_parts *p)
{
	struct diag d = DIAG_INIT;
	if (rolesql_build(&f->plan, &f->cfg, db, TDIR, NULL, p, &d))
		fail_msg("rolesql_build: %s", d.msg.buf);
	return p->file;
}

static char *build_err(struct fx *f, const char *db)
{
	struct diag d = DIAG_INIT;
	struct rolesql_parts p;
	if (!rolesql_build(&f->plan, &f->cfg, db, TDIR, NULL, &p, &d)) {
		rolesql_parts_release(&p);
		return NULL;
	}
	return buf_detach(&d.msg, NULL);
}

#define HAS(hay, needle) do { if (!strstr((hay), (needle))) \
	fail_msg("missing: %s", (needle)); } while (0)
#define HASNT(hay, needle) do { if (strstr((hay), (needle))) \
	fail_msg("unexpected: %s", (needle)); } while (0)

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- the TimescaleDB branches --------------------------------------------- */

static void test_cagg_by_alter_materialized_view(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	(void)state;
	must_build(f, "tracksolid_db", &p);
	const char *q = p.objects_tsdb;
	/* A continuous aggregate is found through the information view ... */
	HAS(q, "cagg AS (SELECT format('%I.%I', ca.view_schema, ca.view_name)::regclass::oid AS oid\n"
	       "         FROM timescaledb_information.continuous_aggregates ca)");
	/* ... and its ALTER keyword is decided before relkind 'v' could make it VIEW or TABLE. */
	HAS(q, "CASE WHEN c.oid IN (SELECT oid FROM cagg) THEN 'MATERIALIZED VIEW'\n"
	       "\t            ELSE CASE c.relkind WHEN 'r' THEN 'TABLE'");
	const char *kw = strstr(q, "THEN 'MATERIALIZED VIEW'");
	const char *tbl = strstr(q, "WHEN 'r' THEN 'TABLE'");
	assert_true(kw && tbl && kw < tbl);
	HAS(q, "CASE WHEN c.oid IN (SELECT oid FROM cagg) THEN 'continuous aggregate'");
	/* The statement is built from that keyword only. */
	HAS(q, "format('ALTER %s %s OWNER TO %I', o.alter_kw, o.object, 'tracksolid_owner')");
	/* No other place writes an ALTER TABLE for a relation. */
	assert_int_equal(count(q, "'TABLE'"), 2); /* relkind r and p */
	HASNT(q, "'ALTER TABLE");
	HASNT(q, "ALTER TABLE %");
	/* Hypertables are tables: ALTER TABLE takes their chunks along. */
	HAS(q, "WHEN c.oid IN (SELECT oid FROM ht) THEN 'hypertable'");
	HAS(q, "ht AS (SELECT format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass::oid AS oid\n"
	       "       FROM timescaledb_information.hypertables h)");
	/* Without TimescaleDB nothing refers to its catalogs. */
	HASNT(p.objects_plain, "FROM timescaledb_information");
	HASNT(p.objects_plain, "_timescaledb_catalog.continuous_agg");
	HAS(p.objects_plain, "CASE WHEN false THEN 'MATERIALIZED VIEW'");
	rolesql_parts_release(&p);
	free(f);
}

static void test_chunks_and_internals_skipped(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	(void)state;
	must_build(f, "tracksolid_db", &p);
	const char *q = p.objects_tsdb;
	/* Chunks wherever they live, found by inheritance from a hypertable. */
	HAS(q, "SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent IN (SELECT oid FROM ht)");
	HAS(q, "AND c.oid NOT IN (SELECT oid FROM tsdb_internal)");
	/* A cagg's materialization hypertable and its partial and direct views. */
	HAS(q, "ca.materialization_hypertable_name)::regclass::oid AS oid");
	HAS(q, "format('%I.%I', a.partial_view_schema, a.partial_view_name)");
	HAS(q, "format('%I.%I', a.direct_view_schema, a.direct_view_name)");
	HAS(q, "FROM _timescaledb_catalog.continuous_agg a");
	/* Every internal schema, in both variants and in the grants. */
	static const char *const internal[] = {
		"'_timescaledb_catalog'", "'_timescaledb_config'", "'_timescaledb_internal'",
		"'_timescaledb_cache'", "'_timescaledb_functions'", "'timescaledb_information'",
		"'timescaledb_experimental'",
	};
	for (size_t i = 0; i < sizeof(internal) / sizeof(*internal); i++) {
		HAS(p.objects_plain, internal[i]);
		HAS(q, internal[i]);
		HAS(p.roles_grants, internal[i]);
	}
	HAS(q, "n.nspname NOT IN ('_timescaledb_catalog', '_timescaledb_config', '_timescaledb_internal',");
	/* Extension members and linked sequences, in both variants. */
	for (int v = 0; v < 2; v++) {
		const char *s = v ? p.objects_tsdb : p.objects_plain;
		HAS(s, "d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'");
		HAS(s, "AND (d.deptype = 'e'\n");
		HAS(s, "AND d.deptype IN ('a', 'i'))))");
		HAS(s, "d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'");
		HAS(s, "AND (d.deptype = 'e' OR (d.deptype = 'i' AND t.typtype <> 'm')))");
		HAS(s, "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'");
	}
	rolesql_parts_release(&p);
	free(f);
}

static void test_jobs(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	(void)state;
	must_build(f, "tracksolid_db", &p);
	const char *j = p.jobs_do;
	assert_non_null(j);
	/* Only with the extension, and only with an owner role to give jobs to. */
	HAS(j, "IF target IS NULL OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN\n"
	       "\t\tRETURN;");
	/* The catalog by version: _timescaledb_catalog from 2.25, _timescaledb_config before. */
	HAS(j, "IF to_regclass('_timescaledb_catalog.bgw_job') IS NOT NULL THEN\n"
	       "\t\tUPDATE _timescaledb_catalog.bgw_job j SET owner = 'tracksolid_owner'");
	HAS(j, "\tELSE\n\t\tUPDATE _timescaledb_config.bgw_job j SET owner = 'tracksolid_owner'");
	/* Never TimescaleDB's own jobs; only jobs a superuser owns. */
	assert_int_equal(count(j, "WHERE j.id >= 1000\n"), 2);
	assert_int_equal(count(j, "j.owner::text IN (SELECT r.rolname::text FROM pg_roles r WHERE r.rolsuper"), 2);
	/* Custom jobs always; policy jobs only before 2.25.2, when their hypertable moved. */
	HAS(j, "policies_follow := v >= ARRAY[2, 25, 2];");
	assert_int_equal(count(j, "AND (j.hypertable_id IS NULL\n"), 2);
	assert_int_equal(count(j, "OR (NOT policies_follow\n"), 2);
	assert_int_equal(count(j, "WHERE h.id = j.hypertable_id AND hc.relowner = target)));"), 2);
	/* Then the scheduler is told, after the update commits, never in a dry run. */
	const char *commit = strstr(j, "\t\tCOMMIT;\n");
	const char *restart = strstr(j, "PERFORM _timescaledb_functions.restart_background_workers();");
	assert_true(commit && restart && commit < restart);
	HAS(j, "IF n > 0 AND coalesce(current_setting('dsnflip.dry_run', true), '') <> 'on' THEN");
	HAS(j, "IF to_regprocedure('_timescaledb_functions.restart_background_workers()') IS NOT NULL THEN");
	HAS(j, "PERFORM _timescaledb_internal.restart_background_workers();");
	HAS(j, "PERFORM set_config('dsnflip.jobs_reowned', n::text, false);");
	/* The file runs the same block. */
	HAS(p.file, j);
	rolesql_parts_release(&p);
	free(f);
}

static void test_reown_block(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	(void)state;
	must_build(f, "tracksolid_db", &p);
	const char *s = p.file;
	/* The TimescaleDB query only when the extension is there, decided at run time. */
	HAS(s, "IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN");
	HAS(s, "WHERE x.action = 'reown';");
	/* One object per transaction, under lock_timeout, busy ones reported. */
	HAS(s, "PERFORM set_config('lock_timeout', '2000ms', true);");
	HAS(s, "EXCEPTION WHEN lock_not_available THEN");
	HAS(s, "FOR attempt IN 1 .. 3 LOOP");
	HAS(s, "COMMIT;  -- one object per transaction");
	HAS(s, "never got its lock and still belongs to the superuser; run this file again");
	/* The same text as apply runs: roles and grants verbatim in one transaction. */
	HAS(s, "BEGIN;\nSET LOCAL lock_timeout = '2000ms';");
	HAS(s, p.roles_grants);
	assert_int_equal(count(s, "\nBEGIN;\n"), 1);
	assert_int_equal(count(s, "\nCOMMIT;\n"), 1);
	/* Holds no password: only the advice to use \password. */
	HAS(s, "--   \\password \"tracksolid_owner\"\n");
	HASNT(s, "PASSWORD '");
	HASNT(s, " PASSWORD ");
	HAS(s, "SET standard_conforming_strings = on;");
	HAS(s, "SET client_encoding = 'UTF8';");
	/* Roles, limits, settings, grants. */
	HAS(s, "CREATE ROLE \"dashboard_app\" LOGIN NOSUPERUSER CONNECTION LIMIT 8;");
	HAS(s, "ALTER ROLE \"dashboard_app\" WITH LOGIN NOSUPERUSER CONNECTION LIMIT 8;");
	HAS(s, "ALTER ROLE \"dashboard_app\" SET statement_timeout = '60s';");
	HAS(s, "GRANT CONNECT, CREATE ON DATABASE \"tracksolid_db\" TO \"tracksolid_owner\";");
	HAS(s, "GRANT CONNECT ON DATABASE \"tracksolid_db\" TO \"dashboard_app\";");
	HAS(s, "EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I', s.nspname, 'dashboard_app');");
	HAS(s, "EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', s.nspname, 'ingest_app');");
	HAS(s, "EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', s.nspname, 'ingest_app');");
	HAS(s, "EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', s.nspname, 'tracksolid_owner');");
	HAS(s, "ALTER DEFAULT PRIVILEGES FOR ROLE \"tracksolid_owner\" GRANT SELECT ON TABLES TO \"dashboard_app\";");
	HAS(s, "ALTER DEFAULT PRIVILEGES FOR ROLE \"tracksolid_owner\" GRANT USAGE, SELECT ON SEQUENCES TO \"ingest_app\";");
	HASNT(s, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', s.nspname, 'dashboard_app'");
	/* The keep list stays. */
	HAS(p.objects_plain, "keep (nsp, obj) AS (VALUES ('reporting'::name, 'v_trips'::name)),");
	HAS(s, "so\n-- do reporting.v_trips (the config's keep list)");
	/* The file is for one database and says so when run elsewhere. */
	HAS(s, "IF current_database() <> 'tracksolid_db' THEN");
	rolesql_parts_release(&p);
	free(f);
}

static void test_hostile_names(void **state)
{
	const char *db = "we'ird \"db\" \xc3\xa9";
	struct fx *f = fx_new(db);
	struct rolesql_parts p;
	(void)state;
	f->roles[0].name = "o\"wn'er";
	f->keep[0] = "rep'orting.\"v\" trips";
	must_build(f, db, &p);
	const char *s = p.file;
	HAS(s, "GRANT CONNECT, CREATE ON DATABASE \"we'ird \"\"db\"\" \xc3\xa9\" TO \"o\"\"wn'er\";");
	HAS(s, "IF current_database() <> 'we''ird \"db\" \xc3\xa9' THEN");
	HAS(s, "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'o\"wn''er') THEN");
	HAS(s, "CREATE ROLE \"o\"\"wn'er\" LOGIN NOSUPERUSER CONNECTION LIMIT 30;");
	HAS(p.objects_plain, "format('ALTER %s %s OWNER TO %I', o.alter_kw, o.object, 'o\"wn''er')");
	HAS(p.objects_plain, "(VALUES ('rep''orting'::name, '\"v\" trips'::name))");
	HAS(s, "--   psql -v ON_ERROR_STOP=1 -d 'we'\\''ird \"db\" \xc3\xa9' -f");
	rolesql_parts_release(&p);
	free(f);
}

static void test_newline_cannot_escape_a_comment(void **state)
{
	const char *db = "x\nDROP DATABASE prod; --";
	struct fx *f = fx_new(db);
	struct rolesql_parts p;
	(void)state;
	must_build(f, db, &p);
	/* Wherever the name's newline lands, it is inside quotes, never after "--". */
	for (const char *at = p.file; (at = strstr(at, "\nDROP DATABASE")); at++) {
		const char *bol = at;
		while (bol > p.file && bol[-1] != '\n')
			bol--;
		if (!strncmp(bol, "--", 2))
			fail_msg("a comment line ends where the name's newline is: %.40s", bol);
		assert_true(at[-1] == 'x' && (at[-2] == '"' || at[-2] == '\''));
	}
	HAS(p.file, "-- dsnflip: least-privilege roles for database x?DROP DATABASE prod; --\n");
	HAS(p.file, "ON DATABASE \"x\nDROP DATABASE prod; --\" TO"); /* inside quotes: harmless */
	rolesql_parts_release(&p);
	free(f);
}

static void test_rejects(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	char *e;
	(void)state;

	f->roles[1].name = "a$dsnflip$b";
	e = build_err(f, "tracksolid_db");
	assert_non_null(e);
	assert_non_null(strstr(e, "contains '$dsnflip'"));
	free(e);
	f->roles[1].name = "dashboard_app";

	char longname[80];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	f->roles[2].name = longname;
	e = build_err(f, "tracksolid_db");
	assert_non_null(e);
	assert_non_null(strstr(e, "longer than 63 bytes"));
	free(e);
	f->roles[2].name = "ingest_app";

	f->roles[1].name = "bad\xff";
	e = build_err(f, "tracksolid_db");
	assert_non_null(strstr(e, "not valid UTF-8"));
	free(e);
	f->roles[1].name = "dashboard_app";

	f->settings[1].key = "statement_timeout = 0; DROP";
	e = build_err(f, "tracksolid_db");
	assert_non_null(strstr(e, "is not a setting name"));
	free(e);
	f->settings[1].key = "statement_timeout";

	f->keep[0] = "no_dot";
	e = build_err(f, "tracksolid_db");
	assert_non_null(strstr(e, "is not schema.object"));
	free(e);
	f->keep[0] = "reporting.v_trips";

	f->roles[2].kind = ROLE_OWNER;
	e = build_err(f, "tracksolid_db");
	assert_non_null(strstr(e, "has two owner roles"));
	free(e);
	f->roles[2].kind = ROLE_WRITER;

	e = build_err(f, "other_db");
	assert_non_null(strstr(e, "no planned role connects to database 'other_db'"));
	free(e);
	free(f);
}

static void test_no_owner_role(void **state)
{
	struct fx *f = fx_new("fleet_platform");
	struct rolesql_parts p;
	(void)state;
	f->roles[0].kind = ROLE_WRITER;
	f->roles[0].name = "gateway_app";
	must_build(f, "fleet_platform", &p);
	assert_null(p.owner);
	assert_null(p.jobs_do);
	HAS(p.file, "-- This database has no owner role in the plan (no migrator was confirmed):\n-- nothing is re-owned.");
	HASNT(p.file, "DO $dsnflip$\nDECLARE\n\tkinds text[];");
	HASNT(p.file, "bgw_job");
	/* The classification still runs (kept objects are reported), re-owning nothing. */
	HAS(p.objects_plain, "(SELECT oid FROM pg_roles WHERE rolname = NULL::text)");
	HASNT(p.file, "GRANT CONNECT, CREATE");
	HASNT(p.file, "ALTER DEFAULT PRIVILEGES FOR ROLE \"");
	/* Superusers' future objects reach the writers (transition). */
	HAS(p.file, "ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',\n"
		    "\t\t\t               su.rolname, s.nspname, 'gateway_app');");
	rolesql_parts_release(&p);
	free(f);
}

/* Outside -- comments, the SQL must not hold a backslash: its meaning would depend on
 * standard_conforming_strings (LIKE 'pg\_x', a regex '\.', a literal 'a\'). */
static void assert_no_backslash_in_code(const char *sql)
{
	const char *p = sql;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *c = p;
		while (c < p + n && (*c == ' ' || *c == '\t'))
			c++;
		if (strncmp(c, "--", 2) && memchr(p, '\\', n))
			fail_msg("a backslash in SQL code: %.*s", (int)n, p);
		p += n + (eol != NULL);
	}
}

static void test_same_meaning_without_standard_strings(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	(void)state;
	must_build(f, "tracksolid_db", &p);
	assert_no_backslash_in_code(p.file);
	assert_no_backslash_in_code(p.objects_tsdb);
	assert_no_backslash_in_code(p.jobs_do);
	HAS(p.file, "SET search_path = pg_catalog, pg_temp;");
	rolesql_parts_release(&p);
	/* A value with a backslash and a quote: one E'' literal, whatever the setting. */
	f->settings[0].key = "application_name";
	f->settings[0].value = "x\\' ; CREATE ROLE pwn SUPERUSER; --";
	must_build(f, "tracksolid_db", &p);
	HAS(p.file, "ALTER ROLE \"dashboard_app\" SET application_name =  E'x\\\\'' ; CREATE ROLE pwn SUPERUSER; --';\n");
	rolesql_parts_release(&p);
	free(f);
}

static void test_guard_marker_and_reset(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct config_role adopt[1] = { { .name = "ingest_app", .adopt = 1 } };
	struct rolesql_parts p;
	(void)state;
	f->cfg.roles = adopt;
	f->cfg.nroles = 1;
	must_build(f, "tracksolid_db", &p);
	const char *s = p.roles_grants;
	/* Refused at run time, before any ALTER: the same conditions as apply checks. */
	HAS(s, "ELSIF r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls THEN\n"
	       "\t\tRAISE EXCEPTION 'dsnflip: refusing to change role %: it has %;");
	HAS(s, "ELSIF r.oid < 16384 OR 'dashboard_app' ~ '^pg_' THEN");
	HAS(s, "IF 'dashboard_app' IN (current_user, session_user) THEN");
	HAS(s, "ELSIF r.note IS DISTINCT FROM 'managed by dsnflip' AND NOT false THEN");
	HAS(s, "ELSIF r.note IS DISTINCT FROM 'managed by dsnflip' AND NOT true THEN"); /* adopted */
	assert_int_equal(count(s, "AND NOT true THEN"), 1);
	/* Every managed role is marked; the guard comes before its first ALTER. */
	HAS(s, "COMMENT ON ROLE \"dashboard_app\" IS 'managed by dsnflip';");
	assert_true(strstr(s, "refusing to change role %: it has") < strstr(s, "ALTER ROLE \"tracksolid_owner\""));
	/* Settings the plan does not have are reset, this database's and every database's. */
	HAS(s, "IF s.setdatabase <> 0 OR NOT s.name = ANY (ARRAY['idle_session_timeout', 'statement_timeout']::text[]) THEN");
	HAS(s, "IF s.setdatabase <> 0 OR NOT s.name = ANY (ARRAY[]::text[]) THEN");
	HAS(s, "EXECUTE format('ALTER ROLE %I %s RESET %s', 'dashboard_app',");
	HAS(p.file, s);
	rolesql_parts_release(&p);
	free(f);
}

static void test_options_and_databases(void **state)
{
	struct fx *f = fx_new("tracksolid_db");
	struct rolesql_parts p;
	struct rolesql_opts o = { 500, 5, 50, NULL };
	struct diag d = DIAG_INIT;
	(void)state;
	assert_int_equal(rolesql_build(&f->plan, &f->cfg, "tracksolid_db", TDIR, &o, &p, &d), 0);
	HAS(p.file, "PERFORM set_config('lock_timeout', '500ms', true);");
	HAS(p.file, "FOR attempt IN 1 .. 5 LOOP");
	HAS(p.file, "PERFORM pg_sleep(0.050 * 2 ^ (attempt - 1));");
	rolesql_parts_release(&p);
	/* Same input, same text: the branch commits it, so it must be stable. */
	struct buf a = BUF_INIT, b = BUF_INIT;
	assert_int_equal(rolesql_render(&f->plan, &f->cfg, "tracksolid_db", TDIR, &a, &d), 0);
	assert_int_equal(rolesql_render(&f->plan, &f->cfg, "tracksolid_db", TDIR, &b, &d), 0);
	assert_string_equal(a.buf, b.buf);
	buf_release(&a);
	buf_release(&b);

	f->dbs[2][0] = "fleet_platform";
	struct strvec dbv = STRVEC_INIT;
	assert_int_equal(rolesql_databases(&f->plan, &dbv), 2);
	assert_string_equal(dbv.v[0], "tracksolid_db");
	assert_string_equal(dbv.v[1], "fleet_platform");
	strvec_clear(&dbv);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_ident),
		cmocka_unit_test(test_quote_literal),
		cmocka_unit_test(test_same_meaning_without_standard_strings),
		cmocka_unit_test(test_guard_marker_and_reset),
		cmocka_unit_test(test_quote_rejects_bad_utf8),
		cmocka_unit_test(test_dollar_quote),
		cmocka_unit_test(test_cagg_by_alter_materialized_view),
		cmocka_unit_test(test_chunks_and_internals_skipped),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_reown_block),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_newline_cannot_escape_a_comment),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_no_owner_role),
		cmocka_unit_test(test_options_and_databases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_statement: what observe takes a statement to do (statement.h), and
 * the statement as evidence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "running/statement.h"

static void test_kinds(void **state)
{
	static const struct { const char *q; enum stmt_kind k; } cases[] = {
		{ "SELECT count(*) FROM app.items", STMT_READ },
		{ "select current_user", STMT_READ },
		{ "  (SELECT 1) UNION (SELECT 2)", STMT_READ },
		{ "-- a comment\n/* and another */ insert into app.items(name) values ('x')", STMT_WRITE },
		{ "UPDATE app.items SET n = n + 1", STMT_WRITE },
		{ "delete from app.items where id = $1", STMT_WRITE },
		{ "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET n = 1", STMT_WRITE },
		{ "TRUNCATE app.items", STMT_WRITE },
		{ "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone", STMT_WRITE },
		{ "with x as (select 1) select * from x", STMT_READ },
		{ "SELECT * FROM jobs WHERE id = 1 FOR UPDATE SKIP LOCKED", STMT_WRITE },
		/* A word inside a longer identifier is not the word. */
		{ "select insert_count, updated_at from stats", STMT_READ },
		{ "COPY app.items FROM STDIN", STMT_WRITE },
		{ "COPY app.items TO STDOUT", STMT_READ },
		{ "copy (select * from app.items) to stdout with csv", STMT_READ },
		{ "CREATE TABLE app.boot_scratch (id int)", STMT_DDL },
		{ "ALTER TABLE app.items ADD COLUMN note text", STMT_DDL },
		{ "drop index app.items_name", STMT_DDL },
		{ "COMMENT ON TABLE app.items IS 'x'", STMT_DDL },
		{ "GRANT SELECT ON app.items TO reader", STMT_DDL },
		{ "SECURITY LABEL ON TABLE t IS 'x'", STMT_DDL },
		{ "EXPLAIN ANALYZE DELETE FROM app.items", STMT_WRITE },
		{ "explain analyze create table t as select 1", STMT_DDL },
		{ "EXPLAIN SELECT 1", STMT_OTHER },
		{ "EXPLAIN ANALYZE SELECT 1", STMT_READ },
		{ "EXPLAIN ANALYSE VERBOSE UPDATE t SET n = 1", STMT_WRITE },
		{ "explain (analyze, buffers) delete from t", STMT_WRITE },
		{ "explain (costs off) delete from t", STMT_OTHER },
		{ "EXPLAIN VERBOSE SELECT 1", STMT_OTHER },
		{ "SELECT * INTO app.snapshot FROM app.items", STMT_DDL },
		{ "WITH x AS (SELECT 1) SELECT * INTO t2 FROM x", STMT_DDL },
		{ "VACUUM ANALYZE app.items", STMT_DDL },
		{ "ANALYZE app.items", STMT_DDL },
		{ "REFRESH MATERIALIZED VIEW CONCURRENTLY app.totals", STMT_DDL },
		{ "IMPORT FOREIGN SCHEMA s FROM SERVER f INTO app", STMT_DDL },
		{ "LOCK TABLE app.items IN ACCESS EXCLUSIVE MODE", STMT_WRITE },
		{ "CALL app.nightly_rollup()", STMT_WRITE },
		{ "DO $$ BEGIN PERFORM 1; END $$", STMT_WRITE },
		{ "TABLE app.items", STMT_READ },
		{ "VALUES (1), (2)", STMT_READ },
		{ "FETCH 10 FROM c", STMT_READ },
		{ "SHOW search_path", STMT_READ },
		{ "BEGIN", STMT_OTHER },
		{ "SET search_path TO app", STMT_OTHER },
		{ "", STMT_OTHER },
		{ "-- only a comment", STMT_OTHER },
		{ "/* unterminated", STMT_OTHER },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum stmt_kind k = stmt_kind(cases[i].q);
		if (k != cases[i].k)
			fail_msg("'%s': kind %d, want %d", cases[i].q, (int)k, (int)cases[i].k);
	}
	(void)state;
}

static void test_evidence(void **state)
{
	char *e = stmt_evidence("-- c\n  SELECT\n\t1,\n   2  FROM  t", 160);
	assert_string_equal(e, "SELECT 1, 2 FROM t");
	free(e);
	/* A password in the statement is masked. */
	e = stmt_evidence("ALTER ROLE app PASSWORD 'hunter2-secret'", 160);
	assert_null(strstr(e, "hunter2-secret"));
	free(e);
	/* Cut with "...", never inside a UTF-8 character. */
	e = stmt_evidence("select 'ééééééééé'", 14);
	assert_true(strlen(e) <= 14);
	assert_string_equal(e + strlen(e) - 3, "...");
	for (const char *p = e; *p; p++)
		if (((unsigned char)*p & 0xC0) == 0xC0)
			assert_true(((unsigned char)p[1] & 0xC0) == 0x80);
	assert_int_equal(strncmp(e, "select '", 8), 0);
	free(e);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_evidence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests for server/sessions without a server: a sample row is read with
 * strict numbers (a pid or port that does not parse drops the row instead
 * of reading as 0), and client ports become an int[] literal.  The
 * queries themselves run in the pg, observe and docker tiers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/sessions.h"

static void test_row(void **state)
{
	(void)state;
	const char *cols[SESSIONS_COLUMNS] = { "4242", "51234", "app_api", "t", "f", "172.18.0.5",
					       "rails", "app", "UPDATE t SET x = 1", "12:00:01", "t" };
	struct pg_session s;
	assert_int_equal(sessions_parse_row(cols, &s), 0);
	assert_int_equal(s.pid, 4242);
	assert_string_equal(s.pid_text, "4242");
	assert_int_equal(s.port, 51234);
	assert_string_equal(s.user, "app_api");
	assert_true(s.role_known);
	assert_false(s.super);
	assert_string_equal(s.addr, "172.18.0.5");
	assert_string_equal(s.app, "rails");
	assert_string_equal(s.db, "app");
	assert_string_equal(s.query, "UPDATE t SET x = 1");
	assert_string_equal(s.query_start, "12:00:01");
	assert_true(s.has_xid);

	/* A Unix-socket session: port -1, no address; a superuser. */
	const char *unix_cols[SESSIONS_COLUMNS] = { "7", "-1", "postgres", "t", "t", "", "psql", "postgres",
						    "", "", "f" };
	assert_int_equal(sessions_parse_row(unix_cols, &s), 0);
	assert_int_equal(s.port, -1);
	assert_true(s.super);
	assert_false(s.has_xid);
}

static void test_row_strict(void **state)
{
	(void)state;
	const char *bad[][2] = { { "12abc", "5432" }, { "", "5432" }, { "0", "5432" }, { "9", "70000" },
				 { "9", "-2" }, { "9", "1e3" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		const char *cols[SESSIONS_COLUMNS] = { bad[i][0], bad[i][1], "u", "t", "f", "", "", "", "",
						       "", "f" };
		struct pg_session s;
		assert_int_equal(sessions_parse_row(cols, &s), -1);
	}
}

static void test_port_array(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	int ports[] = { 40001, 40002, 5 };
	sessions_port_array(ports, 3, &b);
	assert_string_equal(b.buf, "{40001,40002,5}");
	buf_reset(&b);
	sessions_port_array(NULL, 0, &b);
	assert_string_equal(b.buf, "{}");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row),
		cmocka_unit_test(test_row_strict),
		cmocka_unit_test(test_port_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

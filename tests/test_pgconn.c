/*
 * test_pgconn: conninfo strings are shown with the password masked, and a
 * failed connection reports the target and an SQLSTATE without the
 * password.  No server needed (the failing connection goes to a closed
 * local port).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/diag.h"
#include "server/pgconn.h"

static const char *const cases[][2] = {
	{ "postgresql://postgres:s3cret@db:5432/app",
	  "user=postgres password=**** dbname=app host=db port=5432" },
	{ "postgres://u:p%40ss%3Aword@h/db?sslmode=require",
	  "user=u password=**** dbname=db host=h sslmode=require" },
	{ "host=db user=postgres password=abc dbname=x",
	  "user=postgres password=**** dbname=x host=db" },
	{ "password='a b c' host=x", "password=**** host=x" },
	{ "host=x sslpassword=keypw sslkey=/k.pem", "host=x sslkey=/k.pem sslpassword=****" },
	{ "host=127.0.0.1 port=5433 dbname=app", "dbname=app host=127.0.0.1 port=5433" },
	{ "application_name='my app' host=h", "host=h application_name='my app'" },
	{ "host=h application_name=redis://:hunter2@cache", "host=h application_name=redis://:****@cache" },
	{ "host=h options='-c password=hunter2'", "host=h options='-c password=****'" },
	{ "", "" },
};

static void test_mask_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT;
		struct diag d = DIAG_INIT;
		if (pgconn_mask_conninfo(cases[i][0], &out, &d))
			fail_msg("case %zu: %s", i, d.msg.buf);
		assert_string_equal(out.buf, cases[i][1]);
		assert_null(strstr(out.buf, "s3cret"));
		assert_null(strstr(out.buf, "hunter2"));
		buf_release(&out);
		diag_release(&d);
	}
}

/* A value that must be quoted survives a round trip through libpq. */
static void test_mask_reparses(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct diag d = DIAG_INIT;
	assert_int_equal(pgconn_mask_conninfo("host=h dbname='we ird\\'s' options='-c a=b'", &out, &d), 0);
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(out.buf, &err);
	assert_non_null(o);
	int seen = 0;
	for (PQconninfoOption *p = o; p->keyword; p++) {
		if (!strcmp(p->keyword, "dbname")) {
			assert_string_equal(p->val, "we ird's");
			seen++;
		}
		if (!strcmp(p->keyword, "options")) {
			assert_string_equal(p->val, "-c a=b");
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	PQconninfoFree(o);
	buf_release(&out);
	diag_release(&d);
}

/* libpq quotes the bad token in its parse errors: we must not. */
static void test_mask_error_hides_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"postgresql://u:%zzsecretpw@h/db",
		"host=h password='secretpw",
		"host=h secretpw",
		"postgresql://u:pw@h/db?secretpw=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf out = BUF_INIT;
		struct diag d = DIAG_INIT;
		assert_int_equal(pgconn_mask_conninfo(bad[i], &out, &d), -1);
		assert_true(d.set);
		assert_int_equal(d.code, EXIT_INPUT);
		assert_non_null(strstr(d.msg.buf, "--db"));
		if (strstr(d.msg.buf, "secretpw"))
			fail_msg("case %zu leaks: %s", i, d.msg.buf);
		buf_release(&out);
		diag_release(&d);
	}
}

/* A refused connection: target shown masked, SQLSTATE 08001, exit code 1. */
static void test_connect_failure(void **state)
{
	(void)state;
	struct pgconn pc;
	struct diag d = DIAG_INIT;
	assert_int_equal(pgconn_open(&pc, "host=127.0.0.1 port=1 user=u password=hunter2 dbname=x "
				     "connect_timeout=3", NULL, &d), -1);
	assert_int_equal(d.code, EXIT_FAILED);
	assert_null(strstr(d.msg.buf, "hunter2"));
	assert_non_null(strstr(d.msg.buf, "password=****"));
	assert_non_null(strstr(d.msg.buf, "(SQLSTATE 08001)"));
	assert_null(pc.conn);
	pgconn_close(&pc);
	diag_release(&d);
}

/* A conninfo libpq cannot parse is an input error, before any connection. */
static void test_connect_bad_conninfo(void **state)
{
	(void)state;
	struct pgconn pc;
	struct diag d = DIAG_INIT;
	assert_int_equal(pgconn_open(&pc, "postgresql://u:%zzhunter2@h/db", NULL, &d), -1);
	assert_int_equal(d.code, EXIT_INPUT);
	assert_null(strstr(d.msg.buf, "hunter2"));
	pgconn_close(&pc);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_cases),
		cmocka_unit_test(test_mask_reparses),
		cmocka_unit_test(test_mask_error_hides_input),
		cmocka_unit_test(test_connect_failure),
		cmocka_unit_test(test_connect_bad_conninfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

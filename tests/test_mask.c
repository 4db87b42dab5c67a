/*
 * test_mask: passwords never survive into printed text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/diag.h"
#include "util/mask.h"

static const char *const cases[][2] = {
	{ "postgresql://postgres:s3cret@db:5432/app", "postgresql://postgres:****@db:5432/app" },
	{ "psql postgres://u:p@ss@h/db -c 'x'", "psql postgres://u:****@h/db -c 'x'" },
	{ "postgres://u@h/db", "postgres://u@h/db" },
	{ "postgres://h:5432/db", "postgres://h:5432/db" },
	{ "host=db user=postgres password=abc dbname=x", "host=db user=postgres password=**** dbname=x" },
	{ "password='a b' host=x", "password='****' host=x" },
	{ "jdbc:postgresql://db/x?user=u&password=pw&ssl=true", "jdbc:postgresql://db/x?user=u&password=****&ssl=true" },
	{ "PGPASSWORD=hunter2 psql", "PGPASSWORD=**** psql" },
	{ "DB_PASSWORD: topsecret", "DB_PASSWORD: ****" },
	{ "no secrets here: https://example.org/a", "no secrets here: https://example.org/a" },
	{ "\"postgresql://postgres:pw@db/app", "\"postgresql://postgres:****@db/app" },
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		mask_secrets(cases[i][0], &b);
		assert_string_equal(b.buf, cases[i][1]);
		buf_release(&b);
	}
}

static void test_diag_masks(void **state)
{
	struct diag d = DIAG_INIT;
	(void)state;
	diag_at(&d, "compose.yml", 3, 5, "bad value \"%s\"", "postgres://postgres:pw@db:54x/app");
	assert_string_equal(d.msg.buf, "compose.yml:3:5: bad value \"postgres://postgres:****@db:54x/app\"");
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_diag_masks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

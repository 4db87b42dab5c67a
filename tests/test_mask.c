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
	/* SQL, as pg_stat_activity shows an app's role statements. */
	{ "ALTER ROLE app PASSWORD 'it''s-secret' VALID UNTIL 'infinity'",
	  "ALTER ROLE app PASSWORD '****' VALID UNTIL 'infinity'" },
	{ "CREATE ROLE a LOGIN ENCRYPTED PASSWORD 'x1'", "CREATE ROLE a LOGIN ENCRYPTED PASSWORD '****'" },
	{ "password is wrong for 'postgres'", "password is wrong for 'postgres'" },
	{ "ALTER ROLE a PASSWORD E'pa\\\\ss\\'word' LOGIN", "ALTER ROLE a PASSWORD E'****' LOGIN" },
	{ "ALTER ROLE a PASSWORD $$dollar-secret$$ LOGIN", "ALTER ROLE a PASSWORD $$****$$ LOGIN" },
	{ "ALTER ROLE a PASSWORD $pw$x$y$pw$ LOGIN", "ALTER ROLE a PASSWORD $pw$****$pw$ LOGIN" },
	{ "ALTER ROLE a PASSWORD U&'d\\0061t' LOGIN", "ALTER ROLE a PASSWORD U&'****' LOGIN" },
	{ "DB_PASSWORD: topsecret", "DB_PASSWORD: ****" },
	{ "no secrets here: https://example.org/a", "no secrets here: https://example.org/a" },
	{ "\"postgresql://postgres:pw@db/app", "\"postgresql://postgres:****@db/app" },
	/* DSNs that do not parse are masked all the same */
	{ "postgres://u:s3cr%zzet@db:5432/app", "postgres://u:****@db:5432/app" },
	{ "postgres://u:s3cret@db:54x/app", "postgres://u:****@db:54x/app" },
	{ "postgres://u:pa?ss@db/app", "postgres://u:****@db/app" },
	{ "postgres://u:pa/ss#x@db/app", "postgres://u:****@db/app" },
	/* other schemes' userinfo */
	{ "redis://:r3dispw@cache:6379/0", "redis://:****@cache:6379/0" },
	{ "amqp://guest:rabbitpw@mq:5672/", "amqp://guest:****@mq:5672/" },
	{ "ecto://app:ectopw@db/app", "ecto://app:****@db/app" },
	{ "db+postgresql://app:celerypw@db/app", "db+postgresql://app:****@db/app" },
	/* a port and a path holding '@' is not a password */
	{ "https://host:8443/user@example", "https://host:8443/user@example" },
	/* secret-looking names before = or : */
	{ "sh -c 'PGPASSWORD=hunter2 psql -h db'", "sh -c 'PGPASSWORD=**** psql -h db'" },
	{ "DB_PASS=abc ./run", "DB_PASS=**** ./run" },
	{ "POSTGRES_PW: pw1234", "POSTGRES_PW: ****" },
	{ "APP_SECRET=s,API_TOKEN=t", "APP_SECRET=****,API_TOKEN=****" },
	{ "STRIPE_API_KEY=sk_live_1", "STRIPE_API_KEY=****" },
	{ "pg_dump --password=pw1 x", "pg_dump --password=**** x" },
	{ "mysql --password pw2 -h x", "mysql --password **** -h x" },
	{ "{\"password\": \"jsonpw\"}", "{\"password\": \"****\"}" },
	{ "PWD=/srv/app OLDPWD=/", "PWD=/srv/app OLDPWD=/" },
	{ "POSTGRES_HOST_AUTH_METHOD=trust", "POSTGRES_HOST_AUTH_METHOD=trust" },
	{ "SORT_KEY=name KEY=v", "SORT_KEY=**** KEY=v" },
	{ "mypassword=x", "mypassword=****" },
	{ "the password is fine", "the password is fine" },
	{ "redis-server --requirepass difyai123456", "redis-server --requirepass ****" },
	/* a message about a place in the compose model keeps its words ... */
	{ "services.api.environment.DB_PASSWORD: required variable X is missing a value",
	  "services.api.environment.DB_PASSWORD: required variable X is missing a value" },
	{ "x-common.environment.POSTGRES_PASSWORD: the value is empty",
	  "x-common.environment.POSTGRES_PASSWORD: the value is empty" },
	/* ... while a dotted key and a value are still an assignment */
	{ "spring.datasource.password: hunter2", "spring.datasource.password: ****" },
	{ "services.api.environment.DB_PASSWORD=hunter2", "services.api.environment.DB_PASSWORD=****" },
	{ "services.DB_PASSWORD: hunter2", "services.DB_PASSWORD: ****" },
};

static void test_env_value(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	static const char *const secret[] = { "DB_PASS", "POSTGRES_PW", "APP_SECRET", "GH_TOKEN",
		"POSTGRES_PASSWORD", "db_password", "AWS_SECRET_ACCESS_KEY", "API_KEY", "PG_PWD",
		"SMTP_CREDENTIALS", NULL };
	for (const char *const *k = secret; *k; k++) {
		buf_reset(&b);
		mask_env_value(*k, "plainvalue", &b);
		assert_string_equal(b.buf, "****");
	}
	static const char *const plain[] = { "PWD", "POSTGRES_USER", "PASSAGE", "KEYS",
		"POSTGRES_HOST_AUTH_METHOD", "COMPASS_URL", NULL };
	for (const char *const *k = plain; *k; k++) {
		buf_reset(&b);
		mask_env_value(*k, "plainvalue", &b);
		assert_string_equal(b.buf, "plainvalue");
	}
	buf_reset(&b);
	mask_env_value("DATABASE_URL", "postgres://u:p%zz@db/x", &b);
	assert_string_equal(b.buf, "postgres://u:****@db/x");
	buf_reset(&b);
	mask_env_value("DB_PASSWORD", "", &b);
	assert_string_equal(b.buf, "");
	buf_release(&b);
}

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
	/* Appended text is masked too; the place and the code stay. */
	assert_int_equal(diag_append(&d, "x"), -1);
	assert_false(d.set); /* nothing to add to */
	diag_fail(&d, "cannot connect");
	diag_append(&d, " (see %s)", "postgres://u:pw2@h/db");
	assert_string_equal(d.msg.buf, "cannot connect (see postgres://u:****@h/db)");
	assert_int_equal(d.code, EXIT_FAILED);
	diag_release(&d);
	/* an env-file variable's name is not masked, the message still is */
	diag_at_key(&d, "api.env", 2, 19, "DB_PASSWORD", "required variable %s is missing a value: %s",
		    "API_PW", "see postgres://u:hunter2@db/x");
	assert_string_equal(d.msg.buf, "api.env:2:19: DB_PASSWORD: required variable API_PW is missing a "
			    "value: see postgres://u:****@db/x");
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_diag_masks),
		cmocka_unit_test(test_env_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

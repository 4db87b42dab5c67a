/*
 * test_appsource: an application's own files in its build context: schema
 * statements in its source (not in its tests, not in a server's init
 * script), a connection in a config file that names a server (not in the
 * compose files), and whether a script's name is anywhere in the context.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/appsource.h"
#include "util/buf.h"
#include "util/path.h"

static char *dir;
static struct arena a;

static void put(const char *rel, const char *text)
{
	char *p = xstrfmt("%s/%s", dir, rel);
	for (char *s = strchr(p + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	assert_int_equal(path_write_file(p, text, strlen(text)), 0);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	dir = xstrdup("/tmp/dsnflip-test-appsource.XXXXXX");
	assert_non_null(mkdtemp(dir));
	a = (struct arena)ARENA_INIT;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	path_remove_tree(dir);
	free(dir);
	arena_release(&a);
	return 0;
}

static void test_ddl_in_go_main(void **state)
{
	(void)state;
	struct appsource_hit hit;
	put("go.mod", "module x\n");
	put("main_test.go", "db.Exec(\"CREATE TABLE t (id int)\")\n");
	assert_int_equal(appsource_find_ddl(&a, dir, &hit), 0);
	put("main.go", "package main\n\nfunc main() {\n\tdb.Exec(\"CREATE   TABLE IF NOT EXISTS blog (id SERIAL)\")\n}\n");
	assert_int_equal(appsource_find_ddl(&a, dir, &hit), 1);
	assert_string_equal(hit.file, "main.go");
	assert_int_equal(hit.line, 4);
	assert_non_null(strstr(hit.text, "CREATE   TABLE"));
}

static void test_ddl_not_in_init_sql_or_words(void **state)
{
	(void)state;
	struct appsource_hit hit;
	/* the server's initdb script beside an app built from "." is not the app's */
	put("init.sql", "CREATE TABLE users (id int);\n");
	put("app.py", "# we never create tables here\nprint('created table count')\nrecreate_table = 1\n");
	assert_int_equal(appsource_find_ddl(&a, dir, &hit), 0);
	put("src/main/resources/schema.sql", "\nCREATE TABLE IF NOT EXISTS GREETINGS (id int);\n");
	assert_int_equal(appsource_find_ddl(&a, dir, &hit), 1);
	assert_string_equal(hit.file, "src/main/resources/schema.sql");
	assert_int_equal(hit.line, 2);
}

static int only_db(void *ctx, const char *host)
{
	(void)ctx;
	return !strcmp(host, "db");
}

static void test_conn_in_spring_properties(void **state)
{
	(void)state;
	struct appsource_hit hit;
	put("docker-compose.yml", "services: {x: {environment: {U: 'postgres://a:b@db/x'}}}\n");
	put("src/main/resources/other.yml", "url: postgres://u:p@elsewhere:5432/x\n");
	assert_int_equal(appsource_find_conn(&a, dir, only_db, NULL, &hit), 0);
	put("src/main/resources/application.properties",
	    "spring.jpa.hibernate.ddl-auto=none\n"
	    "spring.datasource.url=jdbc:postgresql://db:5432/${POSTGRES_DB}\n"
	    "spring.datasource.username=postgres\n"
	    "spring.datasource.password=${POSTGRES_PASSWORD:x}\n");
	assert_int_equal(appsource_find_conn(&a, dir, only_db, NULL, &hit), 1);
	assert_string_equal(hit.file, "src/main/resources/application.properties");
	assert_int_equal(hit.line, 2);
	assert_string_equal(hit.host, "db");
	assert_string_equal(hit.user, "postgres");
}

static void test_conn_uri_user(void **state)
{
	(void)state;
	struct appsource_hit hit;
	put("config/database.yml", "production:\n  url: postgresql://app_rw:secret@db:5432/app\n");
	assert_int_equal(appsource_find_conn(&a, dir, only_db, NULL, &hit), 1);
	assert_string_equal(hit.user, "app_rw");
	assert_int_equal(hit.line, 2);
}

static void test_has_stem(void **state)
{
	(void)state;
	put("src/index.ts", "export {}\n");
	put("node_modules/server.js", "\n");
	assert_int_equal(appsource_has_stem(&a, dir, "index"), 1);
	assert_int_equal(appsource_has_stem(&a, dir, "server"), 0);
	assert_int_equal(appsource_has_stem(&a, dir, "ind"), 0);
	assert_int_equal(appsource_has_stem(&a, "/nonexistent/dsnflip", "index"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ddl_in_go_main, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ddl_not_in_init_sql_or_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_in_spring_properties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_uri_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_has_stem, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_admin: the admin connection derived from the stack, for every form
 * compose has of publishing a port (short syntax with and without a host
 * IP, IPv6, long syntax, ranges, a port with no host side, another
 * protocol), and stack/ports' reading of them.  The derived host and port
 * must outlive the parse: the sanitizer build checks every read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "plan/admin.h"
#include "stack/ports.h"

struct derived {
	int found;
	char host[64], port[8], user[32], how[256];
};

/* Plan a stack whose db publishes ports_yaml; derive the admin connection. */
static struct derived derive_with(const char *ports_yaml)
{
	struct derived out = { 0 };
	char dir[] = "/tmp/dsnflip-test-admin.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xstrfmt("%s/compose.yaml", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "services:\n"
		    "  db:\n"
		    "    image: postgres:16\n"
		    "    environment:\n"
		    "      POSTGRES_PASSWORD: Sup3r\n"
		    "%s"
		    "  api:\n"
		    "    image: example/api\n"
		    "    environment:\n"
		    "      DATABASE_URL: postgresql://postgres:Sup3r@db:5432/shop\n", ports_yaml);
	fclose(fp);
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct compose_project *p = NULL;
	struct plan *plan = NULL;
	struct plan_opts po = { 0 };
	struct diag d = DIAG_INIT;
	char *const env[] = { NULL };
	co.dir = dir;
	co.environ = env;
	if (compose_load(&co, &p, &d) || plan_build(p, NULL, NULL, &po, &plan, &d))
		fail_msg("%s", d.msg.buf);
	struct admin_conninfo a;
	out.found = admin_derive(plan, &a);
	if (out.found) {
		snprintf(out.host, sizeof(out.host), "%s", a.host);
		snprintf(out.port, sizeof(out.port), "%s", a.port);
		snprintf(out.user, sizeof(out.user), "%s", a.user);
		snprintf(out.how, sizeof(out.how), "%s", a.how);
		assert_string_equal(a.password, "Sup3r");
		assert_string_equal(a.dbname, "shop");
	}
	admin_conninfo_release(&a);
	assert_null(a.password);
	plan_free(plan);
	compose_free(p);
	diag_release(&d);
	unlink(path);
	free(path);
	rmdir(dir);
	return out;
}

static void expect(const char *ports_yaml, const char *host, const char *port)
{
	struct derived r = derive_with(ports_yaml);
	if (!host) {
		if (r.found)
			fail_msg("derived %s:%s from\n%s", r.host, r.port, ports_yaml);
		return;
	}
	if (!r.found)
		fail_msg("nothing derived from\n%s", ports_yaml);
	assert_string_equal(r.host, host);
	assert_string_equal(r.port, port);
	assert_string_equal(r.user, "postgres");
	assert_non_null(strstr(r.how, "DATABASE_URL of api"));
}

static void test_short_forms(void **state)
{
	(void)state;
	expect("    ports: [\"5432:5432\"]\n", "127.0.0.1", "5432");
	expect("    ports: [\"5433:5432\"]\n", "127.0.0.1", "5433");
	expect("    ports: [\"127.0.0.1:5432:5432\"]\n", "127.0.0.1", "5432");
	expect("    ports: [\"10.1.2.3:6543:5432\"]\n", "10.1.2.3", "6543");
	expect("    ports: [\"0.0.0.0:5434:5432\"]\n", "127.0.0.1", "5434");
	expect("    ports: [\"[::1]:5432:5432\"]\n", "::1", "5432");
	expect("    ports: [\"5435:5432/tcp\"]\n", "127.0.0.1", "5435");
	expect("    ports:\n      - 5436:5432\n", "127.0.0.1", "5436");
}

static void test_long_form(void **state)
{
	(void)state;
	expect("    ports:\n      - target: 5432\n        published: 5437\n", "127.0.0.1", "5437");
	expect("    ports:\n      - target: 5432\n        published: \"5438\"\n        host_ip: 127.0.0.1\n"
	       "        protocol: tcp\n", "127.0.0.1", "5438");
	expect("    ports:\n      - target: 5432\n        published: 5439\n        host_ip: \"::1\"\n",
	       "::1", "5439");
}

static void test_not_derivable(void **state)
{
	(void)state;
	expect("", NULL, NULL);
	expect("    ports: [\"5432\"]\n", NULL, NULL);                 /* random host port */
	expect("    ports: [\"5432-5433:5432-5433\"]\n", NULL, NULL);  /* a range */
	expect("    ports: [\"5432:5432/udp\"]\n", NULL, NULL);
	expect("    ports: [\"6000:6000\"]\n", NULL, NULL);            /* another container port */
	expect("    ports: [\"99999:5432\"]\n", NULL, NULL);           /* not a port */
	expect("    ports: [\"12abc:5432\"]\n", NULL, NULL);
	expect("    ports:\n      - target: 5432\n        published: 5432-5434\n", NULL, NULL);
	expect("    ports:\n      - target: 5432\n", NULL, NULL);     /* no published side */
}

/*
 * Two servers: each gets its own roles (a service on both has one on each,
 * names unique), a budget each, a view per server, and an admin connection
 * is matched to the server whose port it dials.
 */
static void test_two_servers(void **state)
{
	(void)state;
	char dir[] = "/tmp/dsnflip-test-admin.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xstrfmt("%s/compose.yaml", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("services:\n"
	      "  db:\n    image: postgres:16\n    ports: ['5433:5432']\n"
	      "    environment: {POSTGRES_PASSWORD: Sup3r}\n"
	      "  vec:\n    image: pgvector/pgvector:pg16\n    ports: ['5434:5432']\n"
	      "    environment: {POSTGRES_PASSWORD: V3c}\n"
	      "  api:\n    image: example/api\n    command: [gunicorn, api.wsgi]\n    environment:\n"
	      "      DATABASE_URL: postgresql://postgres:Sup3r@db:5432/shop\n"
	      "      VECTOR_URL: postgresql://postgres:V3c@vec:5432/shop\n", fp);
	fclose(fp);
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct compose_project *p = NULL;
	struct plan *plan = NULL;
	struct plan_opts po = { 0 };
	struct diag d = DIAG_INIT;
	char *const env[] = { NULL };
	co.dir = dir;
	co.environ = env;
	co.project_name = "shop";
	if (compose_load(&co, &p, &d) || plan_build(p, NULL, NULL, &po, &plan, &d))
		fail_msg("%s", d.msg.buf);
	assert_int_equal(plan->nservers, 2);
	assert_int_equal(plan->nroles, 2);
	assert_string_equal(plan->roles[0].name, "shop_app");
	assert_string_equal(plan->roles[0].server, "db");
	assert_string_equal(plan->roles[1].name, "shop_vec_app");
	assert_string_equal(plan->roles[1].server, "vec");
	/* each connection flips to its own server's role */
	const struct plan_service *api = plan_service(plan, "api");
	assert_string_equal(api->conns[0].role, "shop_app");
	assert_string_equal(api->conns[1].role, "shop_vec_app");
	assert_int_equal(plan->nbudgets, 2);
	assert_string_equal(plan->budget.server, "db");
	assert_int_equal(plan->budgets[1].nrows, 1);
	assert_string_equal(plan->budgets[1].rows[0].role, "shop_vec_app");
	struct plan view;
	plan_view_server(plan, "vec", &view);
	assert_int_equal(view.nroles, 1);
	assert_non_null(plan_role(&view, "shop_vec_app"));
	assert_null(plan_role(&view, "shop_app"));
	plan_view_release(&view);
	assert_string_equal(admin_server_for(plan, "127.0.0.1", 5434), "vec");
	assert_string_equal(admin_server_for(plan, "localhost", 5433), "db");
	assert_string_equal(admin_server_for(plan, "db", 5432), "db");
	assert_null(admin_server_for(plan, "127.0.0.1", 5432));
	struct admin_conninfo a;
	assert_int_equal(admin_derive(plan, &a), 1);
	assert_string_equal(a.server, "db");
	admin_conninfo_release(&a);
	plan_free(plan);
	compose_free(p);
	diag_release(&d);
	unlink(path);
	free(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_forms),
		cmocka_unit_test(test_long_form),
		cmocka_unit_test(test_not_derivable),
		cmocka_unit_test(test_two_servers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

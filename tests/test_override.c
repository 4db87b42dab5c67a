/*
 * test_override: the override file deploy writes (only ${ROLE_PASSWORD}
 * references, every DSN form switched with only user and password changed,
 * $ escaped for compose).
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

#include "running/deploy.h"

/* Named: "api" is a generic service name, so its role takes the project's (shop_app). */
static const char stack[] =
	"name: shop\n"
	"services:\n"
	"  api:\n"
	"    image: example/api\n"
	"    command: [\"python3\", \"-m\", \"api\"]\n"
	"    environment:\n"
	"      DATABASE_URL: postgresql://postgres:Sup3r@db:5432/shop?application_name=a$$b&sslmode=disable\n"
	"  worker:\n"
	"    image: example/worker\n"
	"    command: [\"python3\", \"-m\", \"worker\"]\n"
	"    environment:\n"
	"      PGHOST: db\n"
	"      PGUSER: postgres\n"
	"      PGPASSWORD: Sup3r\n"
	"      PGDATABASE: shop\n"
	"  ingest:\n"
	"    image: example/ingest\n"
	"    command: [\"python3\", \"-m\", \"ingest\"]\n"
	"    environment:\n"
	"      DB_DSN: \"host=db dbname=shop user='postgres' password='Sup3r'\"\n"
	"  report:\n"
	"    image: example/report\n"
	"    command: [\"python3\", \"-m\", \"report\"]\n"
	"    environment:\n"
	"      DATABASE_URL: postgres://db/shop\n"
	"      PGUSER: postgres\n"
	"      PGPASSWORD: Sup3r\n";

struct fx {
	char dir[64];
	struct compose_project *p;
	struct plan *plan;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct diag d = DIAG_INIT;
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { 0 };
	char *const env[] = { NULL };
	strcpy(f->dir, "/tmp/dsnflip-test-deploy.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char *path = xstrfmt("%s/compose.yaml", f->dir);
	FILE *fp = fopen(path, "w");
	fputs(stack, fp);
	fclose(fp);
	free(path);
	co.dir = f->dir;
	co.environ = env;
	if (compose_load(&co, &f->p, &d) || plan_build(f->p, NULL, NULL, &po, &f->plan, &d)) {
		fprintf(stderr, "%s\n", d.msg.buf);
		return -1;
	}
	diag_release(&d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *path = xstrfmt("%s/compose.yaml", f->dir);
	unlink(path);
	free(path);
	rmdir(f->dir);
	plan_free(f->plan);
	compose_free(f->p);
	free(f);
	return 0;
}

static void render(struct fx *f, const char *const *svcs, struct buf *out)
{
	struct journal *j = journal_new(NULL);
	struct diag d = DIAG_INIT;
	for (; *svcs; svcs++)
		journal_get(j, *svcs, 1)->in_override = 1;
	int r = deploy_render_override(f->plan, j, out, &d);
	if (r < 0)
		fprintf(stderr, "%s\n", d.msg.buf);
	assert_true(r >= 0);
	journal_free(j);
	diag_release(&d);
}

static void test_uri(void **state)
{
	struct buf out = BUF_INIT;
	const char *const svcs[] = { "api", NULL };
	render(*state, svcs, &out);
	assert_non_null(strstr(out.buf,
		"  api:\n    environment:\n"
		"      DATABASE_URL: \"postgresql://shop_app:${SHOP_APP_PASSWORD:?SHOP_APP_PASSWORD must be set "
		"(dsnflip passes it)}@db:5432/shop?application_name=a$$b&sslmode=disable\"\n"));
	assert_null(strstr(out.buf, "Sup3r"));
	assert_null(strstr(out.buf, "worker"));
	buf_release(&out);
}

static void test_split_kv_and_pgpassword(void **state)
{
	struct buf out = BUF_INIT;
	const char *const svcs[] = { "worker", "ingest", "report", NULL };
	render(*state, svcs, &out);
	assert_non_null(strstr(out.buf, "      PGUSER: \"worker_app\"\n"
					"      PGPASSWORD: \"${WORKER_APP_PASSWORD:?"));
	assert_non_null(strstr(out.buf, "      DB_DSN: \"host=db dbname=shop user='ingest_app' "
					"password='${INGEST_APP_PASSWORD:?"));
	/* A URI with no credentials of its own: user and password come from PG* there. */
	assert_non_null(strstr(out.buf, "  report:\n    environment:\n      DATABASE_URL: \"postgres://report_app@db/shop\"\n"
					"      PGUSER: \"report_app\"\n      PGPASSWORD: \"${REPORT_APP_PASSWORD:?"));
	assert_null(strstr(out.buf, "Sup3r"));
	assert_null(strstr(out.buf, "\"postgres\""));
	assert_null(strstr(out.buf, "'postgres'"));
	buf_release(&out);
}

static void test_nothing_switched(void **state)
{
	struct buf out = BUF_INIT;
	const char *const svcs[] = { NULL };
	render(*state, svcs, &out);
	assert_null(strstr(out.buf, "environment"));
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uri, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_kv_and_pgpassword, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_switched, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_plan: roles, limits, budget and order (plan.c) and the detection
 * they rest on (detect.c), on the stacks in fixtures/plan/ — asserted field
 * by field here, beside the golden JSON the fixture tier compares.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/compose.h"
#include "stack/config.h"
#include "plan/plan.h"
#include "util/path.h"

struct loaded {
	struct compose_project *p;
	struct config *cfg;
	struct plan *plan;
};

static void load(struct loaded *l, const char *dir, const char *const *assume, size_t nassume)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { .assume = assume, .nassume = nassume };
	struct diag d = DIAG_INIT;
	char *const env[] = { NULL };
	char cfgpath[512];

	co.dir = dir;
	co.environ = env;
	memset(l, 0, sizeof(*l));
	if (compose_load(&co, &l->p, &d))
		fail_msg("%s: %s", dir, d.msg.buf);
	snprintf(cfgpath, sizeof(cfgpath), "%s/dsnflip.yml", dir);
	if (config_load(cfgpath, "dsnflip.yml", &l->cfg, &d)) {
		diag_release(&d);
		l->cfg = config_empty();
	}
	if (plan_build(l->p, l->cfg, NULL, &po, &l->plan, &d))
		fail_msg("%s: %s", dir, d.msg.buf);
	diag_release(&d);
}

static void unload(struct loaded *l)
{
	plan_free(l->plan);
	config_free(l->cfg);
	compose_free(l->p);
}

static const struct plan_service *svc(const struct loaded *l, const char *name)
{
	const struct plan_service *s = plan_service(l->plan, name);
	if (!s)
		fail_msg("no service %s in the plan", name);
	return s;
}

static int has_warning(const struct plan *plan, const char *needle)
{
	for (size_t i = 0; i < plan->warnings.nr; i++)
		if (strstr(plan->warnings.v[i], needle))
			return 1;
	return 0;
}

static void test_role_naming(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/naming", NULL, 0);
	assert_string_equal(svc(&l, "dashboard_api")->role, "dashboard_app");
	assert_string_equal(svc(&l, "billing-service")->role, "billing_app");
	assert_string_equal(svc(&l, "Search.Server")->role, "search_app");
	assert_string_equal(svc(&l, "migrate")->role, "billing_owner");
	assert_int_equal(plan_role(l.plan, "billing_owner")->kind, ROLE_OWNER);
	unload(&l);
}

static void test_reserved_prefix(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/dsn-forms", NULL, 0);
	/* "pg-vars" would be pg_vars_app: PostgreSQL reserves pg_ */
	assert_string_equal(svc(&l, "pg-vars")->role, "app_pg_vars_app");
	assert_false(has_warning(l.plan, "is reserved"));
	unload(&l);
}

static void test_forms_and_superusers(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/dsn-forms", NULL, 0);
	/* POSTGRES_USER of an official image is a superuser too */
	assert_true(svc(&l, "uri-driver")->conns[0].superuser);
	assert_string_equal(svc(&l, "uri-driver")->conns[0].user, "admin");
	assert_int_equal(svc(&l, "jdbc")->conns[0].form, CONN_JDBC);
	assert_string_equal(svc(&l, "jdbc")->conns[0].database, "billing");
	assert_int_equal(svc(&l, "keyvalue")->conns[0].form, CONN_KV);
	assert_int_equal(svc(&l, "split")->conns[0].form, CONN_SPLIT);
	assert_string_equal(svc(&l, "split")->conns[0].database, "crm_database");
	/* no user anywhere: libpq's default, treated as the superuser */
	assert_null(svc(&l, "pg-vars")->conns[0].user);
	assert_true(svc(&l, "pg-vars")->conns[0].superuser);
	assert_string_equal(svc(&l, "ipv6-multi")->conns[0].host, "::1");
	assert_int_equal(svc(&l, "not-super")->action, ACTION_SKIP);
	assert_null(plan_service(l.plan, "redis-only"));
	assert_null(plan_service(l.plan, "db"));
	unload(&l);
}

static void test_limits(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/classes", NULL, 0);
	/* api: SQLAlchemy 5 + overflow 10, +2 */
	assert_int_equal(svc(&l, "api")->pool, 15);
	/* jobs: connection_limit=4 in the DSN, 3 replicas, +2 = 14; mounted: default 10.
	 * Database "app" is a generic name: the owner takes the project name. */
	assert_int_equal(plan_role(l.plan, "classes_owner")->connection_limit, 17 + 14 + 10);
	/* web: scale 2, no hint: the default stands, with a warning */
	assert_int_equal(plan_role(l.plan, "web_app")->connection_limit, 10);
	assert_true(has_warning(l.plan, "web: no pool size hint") ||
		    has_warning(l.plan, ", web: no pool size hint") || has_warning(l.plan, "web, "));
	/* one warning names every service without a hint, not one per service */
	size_t nohint = 0;
	for (size_t i = 0; i < l.plan->warnings.nr; i++)
		nohint += strstr(l.plan->warnings.v[i], "no pool size hint") != NULL;
	assert_int_equal(nohint, 1);
	unload(&l);
}

static void test_classes_and_evidence(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/classes", NULL, 0);
	const struct plan_service *api = svc(&l, "api"), *mounted = svc(&l, "mounted");
	assert_int_equal(api->cls, CLASS_MIGRATOR);
	int found = 0;
	for (size_t i = 0; i < api->nevidence; i++)
		found |= !strcmp(api->evidence[i].file, "svc/api/entrypoint.sh") && api->evidence[i].line == 4;
	assert_true(found);
	/* the bind mount maps /opt/start.sh, which sources lib.sh */
	assert_int_equal(mounted->cls, CLASS_MIGRATOR);
	found = 0;
	for (size_t i = 0; i < mounted->nevidence; i++)
		found |= !strcmp(mounted->evidence[i].file, "scripts/lib.sh");
	assert_true(found);
	assert_int_equal(svc(&l, "web")->cls, CLASS_WRITER);
	assert_int_equal(svc(&l, "opaque")->cls, CLASS_UNCONFIRMED);
	assert_int_equal(svc(&l, "opaque")->action, ACTION_HOLD);
	/* an echo of a migration command is not evidence */
	assert_int_equal(svc(&l, "echoer")->cls, CLASS_WRITER);
	unload(&l);
}

static void test_order(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/classes", NULL, 0);
	const char *want[] = { "web", "echoer", "jobs", "mounted", "api" };
	assert_int_equal(l.plan->norder, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(l.plan->order[i], want[i]);
	unload(&l);
}

static void test_config_and_assume(void **state)
{
	struct loaded l;
	const char *assume[] = { "gateway=writer", "cron=reader" };
	(void)state;
	load(&l, "fixtures/plan/config-overrides", NULL, 0);
	assert_int_equal(svc(&l, "gateway")->cls, CLASS_MIGRATOR);
	assert_string_equal(l.plan->order[0], "gateway");
	assert_string_equal(svc(&l, "cron")->role, "scheduler");
	assert_int_equal(plan_role(l.plan, "scheduler")->connection_limit, 4);
	assert_int_equal(l.plan->budget.available, 60 - 3 - 5);
	assert_string_equal(l.plan->server.source, "config");
	unload(&l);

	load(&l, "fixtures/plan/assume", assume, 2);
	assert_int_equal(svc(&l, "gateway")->cls, CLASS_WRITER);
	assert_int_equal(svc(&l, "cron")->cls, CLASS_READER);
	assert_int_equal(plan_role(l.plan, "cron_app")->kind, ROLE_READER);
	unload(&l);
}

static void test_budget_and_shared(void **state)
{
	struct loaded l;
	(void)state;
	load(&l, "fixtures/plan/over-budget", NULL, 0);
	assert_false(l.plan->budget.ok);
	assert_true(l.plan->blocking);
	assert_int_equal(l.plan->budget.planned, 62 + 42);
	unload(&l);

	load(&l, "fixtures/plan/shared-literal", NULL, 0);
	/* one anchor literal: one role, named after the first in file order */
	assert_string_equal(svc(&l, "writer")->role, "reader_app");
	assert_int_equal(plan_role(l.plan, "reader_app")->kind, ROLE_WRITER);
	assert_true(plan_role(l.plan, "reader_app")->shared_origin);
	/* one env_file literal shared by a held and a flipped service blocks */
	assert_true(l.plan->blocking);
	assert_true(has_warning(l.plan, "held and other share one connection literal"));
	unload(&l);
}

static void put(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(path_write_file(path, text, len), 0);
}

/*
 * A start-up that was not fully examined (a script over the size limit, one
 * that is not a regular file, a command nested deeper than the walk goes)
 * leaves the service unconfirmed and held, saying what was not read: the
 * migration may be in the part not read.  It used to be classed a writer.
 */
static void test_startup_not_fully_read(void **state)
{
	(void)state;
	static const char compose[] =
		"services:\n"
		"  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: example\n"
		"  api:\n    build: .\n    command: [\"sh\", \"./start.sh\"]\n"
		"    environment:\n      DATABASE_URL: postgresql://postgres:example@db/app\n";
	static const char line[] = "# a comment line that only makes the script long\n";
	char dir[] = "/tmp/dsnflip-test-plan-XXXXXX";
	struct loaded l;
	struct buf big = BUF_INIT;

	assert_non_null(mkdtemp(dir));
	put(dir, "compose.yml", compose, strlen(compose));
	static const char dockerfile[] = "FROM python:3.12\nWORKDIR /app\nCOPY . /app\n";
	put(dir, "Dockerfile", dockerfile, strlen(dockerfile));
	buf_addstr(&big, "#!/bin/sh\n");
	while (big.len < 1100000)
		buf_addstr(&big, line);
	buf_addstr(&big, "alembic upgrade head\nexec gunicorn app:app\n");
	put(dir, "start.sh", big.buf, big.len);
	load(&l, dir, NULL, 0);
	assert_int_equal(svc(&l, "api")->cls, CLASS_UNCONFIRMED);
	assert_int_equal(svc(&l, "api")->action, ACTION_HOLD);
	assert_non_null(strstr(svc(&l, "api")->reason, "not fully examined"));
	assert_non_null(strstr(svc(&l, "api")->reason, "start.sh"));
	unload(&l);

	/* not a regular file */
	char path[512];
	snprintf(path, sizeof(path), "%s/start.sh", dir);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	load(&l, dir, NULL, 0);
	assert_int_equal(svc(&l, "api")->cls, CLASS_UNCONFIRMED);
	assert_non_null(strstr(svc(&l, "api")->reason, "not a regular file"));
	unload(&l);
	unlink(path);

	/* nested deeper than the walk reads */
	struct buf cmd = BUF_INIT;
	buf_addstr(&cmd, compose);
	buf_setlen(&cmd, (size_t)(strstr(cmd.buf, "    command:") - cmd.buf));
	buf_addstr(&cmd, "    command: \"sh -c 'x=");
	for (int i = 0; i < 12; i++)
		buf_addstr(&cmd, "$(");
	buf_addstr(&cmd, "alembic upgrade head");
	for (int i = 0; i < 12; i++)
		buf_addstr(&cmd, ")");
	buf_addstr(&cmd, "; exec gunicorn app:app'\"\n"
		     "    environment:\n      DATABASE_URL: postgresql://postgres:example@db/app\n");
	put(dir, "compose.yml", cmd.buf, cmd.len);
	load(&l, dir, NULL, 0);
	assert_int_equal(svc(&l, "api")->cls, CLASS_UNCONFIRMED);
	assert_non_null(strstr(svc(&l, "api")->reason, "deep"));
	unload(&l);

	buf_release(&cmd);
	buf_release(&big);
	path_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_naming),
		cmocka_unit_test(test_reserved_prefix),
		cmocka_unit_test(test_forms_and_superusers),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_classes_and_evidence),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_config_and_assume),
		cmocka_unit_test(test_budget_and_shared),
		cmocka_unit_test(test_startup_not_fully_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

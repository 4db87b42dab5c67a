/*
 * test_swarmspec: the swarm driver's pure parts — the update order chosen
 * from the plan's pools, limits and budget; the monitor from a
 * healthcheck; the update file; the compose file version; and the docker
 * CLI output it reads (tasks, a task's state, a service's update status),
 * with the shapes docker 20.10 to 28 print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "running/swarmspec.h"

/* A plan of two services sharing nothing: svc (class, replicas, pool) on role r with limit. */
struct fixture {
	struct plan plan;
	struct plan_service ps[2];
	struct service svc[2];
	struct plan_role role[2];
	const char *role_svcs[2][1];
};

static void fixture_init(struct fixture *f, enum svc_class cls, int replicas, int pool, int limit)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 2; i++) {
		f->svc[i].replicas = replicas;
		f->ps[i].svc = &f->svc[i];
		f->ps[i].cls = cls;
		f->ps[i].pool = pool;
		f->ps[i].action = ACTION_FLIP;
	}
	f->ps[0].name = "api";
	f->ps[0].role = "api_app";
	f->ps[1].name = "other";
	f->ps[1].role = "other_app";
	f->role[0].name = "api_app";
	f->role[1].name = "other_app";
	for (int i = 0; i < 2; i++) {
		f->role[i].connection_limit = limit;
		f->role_svcs[i][0] = f->ps[i].name;
		f->role[i].services = f->role_svcs[i];
		f->role[i].nservices = 1;
	}
	f->plan.services = f->ps;
	f->plan.nservices = 2;
	f->plan.roles = f->role;
	f->plan.nroles = 2;
	strmap_put(&f->plan.role_index, "api_app", (void *)(uintptr_t)1);
	strmap_put(&f->plan.role_index, "other_app", (void *)(uintptr_t)2);
	f->plan.budget.ok = 1;
	f->plan.budget.available = 90;
	f->plan.budget.planned = 2 * limit;
}

static void fixture_release(struct fixture *f)
{
	strmap_clear(&f->plan.role_index);
}

static void test_order(void **state)
{
	struct fixture f;
	struct buf why = BUF_INIT;

	/* Two replicas of pool 2 with the plan's limit (pool x replicas + 2 = 6): 4 + 2 fits. */
	fixture_init(&f, CLASS_READER, 2, 2, 6);
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_START_FIRST);
	assert_non_null(strstr(why.buf, "6 sessions, within api_app's limit 6"));
	assert_string_equal(swarm_order_name(SWARM_START_FIRST), "start-first");

	/* A limit that holds the running pools but not one task more. */
	buf_reset(&why);
	f.role[0].connection_limit = 5;
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	assert_non_null(strstr(why.buf, "over api_app's limit 5"));

	/* Unlimited role (-1), but the budget is exceeded. */
	buf_reset(&why);
	f.role[0].connection_limit = -1;
	f.plan.budget.ok = 0;
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	assert_non_null(strstr(why.buf, "budget is exceeded"));
	f.plan.budget.ok = 1;
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], NULL), SWARM_START_FIRST);

	/* The role is shared: the other service's pools count too. */
	buf_reset(&why);
	const char *both[2] = { "api", "other" };
	f.role[0].services = both;
	f.role[0].nservices = 2;
	f.role[0].connection_limit = 9; /* 4 + 4 + 2 = 10 */
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	f.role[0].connection_limit = 10;
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_START_FIRST);
	fixture_release(&f);

	/* Migrators and single replicas: stop-first whatever the limit. */
	buf_reset(&why);
	fixture_init(&f, CLASS_MIGRATOR, 2, 1, 100);
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	assert_non_null(strstr(why.buf, "migrator"));
	fixture_release(&f);
	buf_reset(&why);
	fixture_init(&f, CLASS_WRITER, 1, 1, 100);
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	assert_non_null(strstr(why.buf, "single replica"));
	fixture_release(&f);
	/* No pool size known: the extra task cannot be bounded. */
	buf_reset(&why);
	fixture_init(&f, CLASS_WRITER, 3, 0, 100);
	assert_int_equal(swarm_update_order(&f.plan, &f.ps[0], &why), SWARM_STOP_FIRST);
	assert_non_null(strstr(why.buf, "unknown"));
	fixture_release(&f);
	buf_release(&why);
	(void)state;
}

static void test_monitor(void **state)
{
	const long long s = 1000000000LL;
	assert_int_equal(swarm_monitor_seconds(0, 0, 0, 0), SWARM_MONITOR_MIN_S);
	/* start 10 s + 2 s x 3 + 1 s */
	assert_int_equal(swarm_monitor_seconds(10 * s, 2 * s, 1 * s, 3), 17);
	/* docker's defaults for what the spec leaves out: 30 s x 3 + 30 s */
	assert_int_equal(swarm_monitor_seconds(0, 0, 0, 1), 60);
	assert_int_equal(swarm_monitor_seconds(s / 2, s / 2, s / 2, 1), SWARM_MONITOR_MIN_S);
	/* Absurd values are capped, never overflow. */
	assert_true(swarm_monitor_seconds(1LL << 62, 1LL << 62, 1LL << 62, 1 << 30) > 0);
	(void)state;
}

static void test_file_version(void **state)
{
	char *v = swarm_file_version("# a stack\nversion: \"3.8\"\nservices:\n  a: {}\n");
	assert_string_equal(v, "3.8");
	free(v);
	v = swarm_file_version("services:\n  a: {}\nversion: '3'\n");
	assert_string_equal(v, "3");
	free(v);
	v = swarm_file_version("version:3.9\n");
	assert_string_equal(v, "3.9");
	free(v);
	assert_null(swarm_file_version("services:\n  version: \"3.8\"\n"));
	assert_null(swarm_file_version("versions: \"3.8\"\n"));
	assert_null(swarm_file_version("version: \"${V}\"\n"));
	assert_null(swarm_file_version(""));
	(void)state;
}

static void test_parse_healthcheck(void **state)
{
	long long sp = -1, iv = -1, to = -1;
	int r = -1;
	assert_int_equal(swarm_parse_healthcheck("0 2000000000 1000000000 3\n", &sp, &iv, &to, &r), 0);
	assert_true(sp == 0 && iv == 2000000000LL && to == 1000000000LL && r == 3);
	/* No healthcheck, a sign, a space too many, a count past int, trailing junk: untouched. */
	const char *bad[] = { "", "\n", "-1 2 3 4", "1  2 3 4", "1 2 3", "1 2 3 4 5",
			      "1 2 3 2147483648", "1 2 3 4x", "0x10 2 3 4", "1 2 3 4\n\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp = iv = to = 7;
		r = 7;
		assert_int_equal(swarm_parse_healthcheck(bad[i], &sp, &iv, &to, &r), -1);
		assert_true(sp == 7 && iv == 7 && to == 7 && r == 7);
	}
	(void)state;
}

static void test_client_has_stack_config(void **state)
{
	assert_true(swarm_client_has_stack_config("28.2.2"));
	assert_true(swarm_client_has_stack_config("23.0.0"));
	assert_true(swarm_client_has_stack_config("29.0.0-rc.1"));
	/* Debian 12's docker.io: no `stack config` (docker/cli#3544 came in 23.0). */
	assert_false(swarm_client_has_stack_config("20.10.24+dfsg1"));
	assert_false(swarm_client_has_stack_config("22.06.0-beta.0"));
	/* What cannot be read is not taken to have it. */
	assert_false(swarm_client_has_stack_config(NULL));
	assert_false(swarm_client_has_stack_config(""));
	assert_false(swarm_client_has_stack_config("28"));
	assert_false(swarm_client_has_stack_config("v28.1.0"));
	assert_false(swarm_client_has_stack_config(" 28.1.0"));
	(void)state;
}

static void test_render_update(void **state)
{
	struct buf b = BUF_INIT;
	swarm_render_update("3.8", "api", SWARM_START_FIRST, 17, "rollback", &b);
	assert_non_null(strstr(b.buf, "version: \"3.8\"\nservices:\n  \"api\":\n    deploy:\n"
				      "      update_config:\n        parallelism: 1\n"
				      "        failure_action: rollback\n        monitor: 17s\n"
				      "        max_failure_ratio: 0\n        order: start-first\n"
				      "      rollback_config:\n        parallelism: 1\n        monitor: 1s\n"
				      "        order: start-first\n"));
	buf_reset(&b);
	/* A name needing quotes is quoted, no version line without one. */
	swarm_render_update(NULL, "we\"ird", SWARM_STOP_FIRST, 5, "pause", &b);
	assert_null(strstr(b.buf, "version:"));
	assert_non_null(strstr(b.buf, "  \"we\\\"ird\":\n"));
	assert_non_null(strstr(b.buf, "failure_action: pause\n"));
	assert_non_null(strstr(b.buf, "order: stop-first\n"));
	buf_release(&b);
	(void)state;
}

static void test_parse_tasks(void **state)
{
	/* docker service ps --format: per slot the task Swarm wants running, else its first. */
	char text[] = "jh81leuj42c9yuh2xixpujq7f|swx_r.1|Running\n"
		      "tvinmfj1c2md236rxjchd3skm|swx_r.1|Shutdown\n"
		      "aaaaaaaaaaaaaaaaaaaaaaaaa|swx_r.2|Shutdown\n" /* a restart a rollback superseded */
		      "loahsvk7xxl7hxh7sm6b3npzq|swx_r.2|Running\n"
		      "xndz16k5l8i2jbc5sj7hsxo1z| \\_ swx_r.2|Shutdown\n"
		      "18n4ojo2py4pighdr47vdpmqi|swx_m.1|Shutdown\n" /* a one-shot that completed */
		      "kjq3co4bz98lg1wosuvt4ae11|swx_m.1|Shutdown\n"
		      "garbage line\n"
		      "x|y\n"
		      "|swx_r.3|Running\n";
	struct strvec ids = STRVEC_INIT;
	swarm_parse_tasks(text, &ids);
	assert_int_equal(ids.nr, 3);
	assert_string_equal(ids.v[0], "jh81leuj42c9yuh2xixpujq7f");
	assert_string_equal(ids.v[1], "loahsvk7xxl7hxh7sm6b3npzq");
	assert_string_equal(ids.v[2], "18n4ojo2py4pighdr47vdpmqi");
	strvec_clear(&ids);
	(void)state;
}

static void test_parse_task(void **state)
{
	struct container c;
	char running[] = "node1|running|running|1f1b3141cd14|28787|0|2026-12-03T17:27:40.736158996Z|\n";
	assert_int_equal(swarm_parse_task("task1", running, &c), 0);
	assert_string_equal(c.id, "task1");
	assert_string_equal(c.cid, "1f1b3141cd14");
	assert_string_equal(c.status, "running");
	assert_int_equal(c.running, 1);
	assert_int_equal(c.pid, 28787);
	assert_string_equal(c.node, "node1");
	assert_int_equal(c.remote, 0); /* the driver decides that, against this node's id */

	char failed[] = "node1|failed|shutdown|abc|0|1|2026-12-03T17:28:00.000000000Z|task: non-zero exit (1)";
	assert_int_equal(swarm_parse_task("task2", failed, &c), 0);
	assert_string_equal(c.status, "exited");
	assert_int_equal(c.running, 0);
	assert_int_equal(c.exit_code, 1);
	assert_int_equal(c.pid, 0);
	assert_string_equal(c.finished_at, "2026-12-03T17:28:00.000000000Z");

	/* Failed without a container exit code is a failure all the same. */
	char nocode[] = "node1|failed|shutdown|||0|2026-12-03T17:28:00.000000000Z|starting container failed";
	assert_int_equal(swarm_parse_task("task3", nocode, &c), 0);
	assert_int_not_equal(c.exit_code, 0);

	/* A one-shot that completed: exited 0 (the migrator's success). */
	char done[] = "node1|complete|shutdown|abc|0|0|2026-12-03T17:28:00.000000000Z|";
	assert_int_equal(swarm_parse_task("task4", done, &c), 0);
	assert_string_equal(c.status, "exited");
	assert_int_equal(c.exit_code, 0);

	/* On its way: created, so the watch waits for it. */
	char starting[] = "node1|preparing|running|||0|2026-12-03T17:28:00.000000000Z|";
	assert_int_equal(swarm_parse_task("task5", starting, &c), 0);
	assert_string_equal(c.status, "created");

	char rejected[] = "node1|rejected|shutdown|||0|2026-12-03T17:28:00.000000000Z|no such image";
	assert_int_equal(swarm_parse_task("task6", rejected, &c), 0);
	assert_string_equal(c.status, "rejected");
	assert_int_not_equal(c.exit_code, 0);

	/* Inspecting into the same struct whose id is passed (watch.c does). */
	char again[] = "node1|running|running|1f1b|1|0|2026-12-03T17:28:00.000000000Z|";
	assert_int_equal(swarm_parse_task(c.id, again, &c), 0);
	assert_string_equal(c.id, "task6");

	char shortl[] = "node1|running|running|x";
	assert_int_equal(swarm_parse_task("t", shortl, &c), -1);
	/* A task not yet given a node. */
	char unassigned[] = "|pending|running|||0|2026-12-03T17:28:00.000000000Z|";
	assert_int_equal(swarm_parse_task("t7", unassigned, &c), 0);
	assert_string_equal(c.node, "");
	char empty[] = "";
	assert_int_equal(swarm_parse_task("t", empty, &c), -1);
	(void)state;
}

static void test_parse_update(void **state)
{
	struct swarm_update u, v;
	char a[] = "updating|2026-12-03 17:38:05.025219507 +0000 UTC|update in progress\n"
		   "{\"ContainerSpec\":{\"Env\":[\"PASSWORD=s3cret\"]}}\n";
	assert_int_equal(swarm_parse_update(a, &u), 0);
	assert_string_equal(u.state, "updating");
	assert_string_equal(u.message, "update in progress");
	assert_int_equal(swarm_phase_of(u.state), SWARM_UPDATING);
	/* The template (with its password) is wiped once hashed. */
	for (size_t i = 0; i + 6 <= sizeof(a); i++)
		assert_false(!memcmp(a + i, "s3cret", 6));

	char b[] = "||\n{\"ContainerSpec\":{\"Env\":[\"PASSWORD=s3cret\"]}}\n";
	assert_int_equal(swarm_parse_update(b, &v), 0);
	assert_string_equal(v.state, "");
	assert_int_equal(swarm_phase_of(v.state), SWARM_IDLE);
	assert_true(u.spec_hash == v.spec_hash);

	char c[] = "rollback_completed|t|update rolled back due to failure\n{\"ContainerSpec\":{}}\n";
	assert_int_equal(swarm_parse_update(c, &v), 0);
	assert_int_equal(swarm_phase_of(v.state), SWARM_ROLLED_BACK);
	assert_true(u.spec_hash != v.spec_hash);
	assert_int_equal(swarm_phase_of("paused"), SWARM_PAUSED);
	assert_int_equal(swarm_phase_of("rollback_paused"), SWARM_PAUSED);
	assert_int_equal(swarm_phase_of("rollback_started"), SWARM_UPDATING);
	assert_int_equal(swarm_phase_of("completed"), SWARM_COMPLETED);

	char bad[] = "no newline";
	assert_int_equal(swarm_parse_update(bad, &v), -1);
	char nospec[] = "completed|t|m\n";
	assert_int_equal(swarm_parse_update(nospec, &v), -1);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_monitor),
		cmocka_unit_test(test_file_version),
		cmocka_unit_test(test_client_has_stack_config),
		cmocka_unit_test(test_parse_healthcheck),
		cmocka_unit_test(test_render_update),
		cmocka_unit_test(test_parse_tasks),
		cmocka_unit_test(test_parse_task),
		cmocka_unit_test(test_parse_update),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

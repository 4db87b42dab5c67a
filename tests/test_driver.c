/*
 * test_driver: choosing a runtime driver by name, and every operation
 * going through the driver's own table (a recording fake stands in for a
 * runtime, so nothing is run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "running/driver.h"
#include "running/driver_compose.h"
#include "running/driver_swarm.h"

static void test_select(void **state)
{
	struct diag d = DIAG_INIT;
	assert_ptr_equal(driver_select(NULL, &d), &driver_compose);
	assert_ptr_equal(driver_select("compose", &d), &driver_compose);
	assert_ptr_equal(driver_select("swarm", &d), &driver_swarm);
	assert_false(d.set);
	assert_null(driver_select("kubernetes", &d));
	assert_true(d.set);
	assert_int_equal(d.code, EXIT_INPUT);
	assert_non_null(strstr(d.msg.buf, "'kubernetes'"));
	diag_release(&d);
	(void)state;
}

static void test_compose_describe(void **state)
{
	struct runtime rt;
	struct buf b = BUF_INIT;
	runtime_init(&rt);
	rt.ops = &driver_compose;
	driver_describe(&rt, &b);
	assert_int_equal(b.len, 0); /* no CLI found: nothing claimed */
	rt.version = xstrdup("1.29.2");
	driver_describe(&rt, &b);
	assert_string_equal(b.buf, "compose v1 1.29.2");
	buf_reset(&b);
	rt.v2 = 1;
	free(rt.version);
	rt.version = xstrdup("2.24.0");
	driver_describe(&rt, &b);
	assert_string_equal(b.buf, "compose v2 2.24.0");
	buf_release(&b);
	runtime_release(&rt);
	(void)state;
}

/* A fake driver recording the calls made through the dispatchers. */
static struct strvec calls = STRVEC_INIT;

static int fake_detect(struct runtime *rt, const char *cmd, char *const *env, struct diag *d)
{
	(void)rt, (void)env;
	strvec_pushf(&calls, "detect %s", cmd ? cmd : "-");
	return diag_fail(d, "no CLI");
}
static int fake_check(struct runtime *rt, struct diag *d)
{
	(void)rt, (void)d;
	strvec_push(&calls, "check");
	return 0;
}
static int fake_switch(struct runtime *rt, const char *svc, int ms, struct diag *d)
{
	(void)rt, (void)d;
	strvec_pushf(&calls, "switch %s %d", svc, ms);
	return 0;
}
static int fake_restore(struct runtime *rt, const char *svc, int ms, struct diag *d)
{
	(void)rt, (void)d;
	strvec_pushf(&calls, "restore %s %d", svc, ms);
	return 0;
}
static int fake_tasks(struct runtime *rt, const char *svc, struct strvec *ids, struct diag *d)
{
	(void)rt, (void)d;
	strvec_pushf(&calls, "tasks %s", svc);
	strvec_push(ids, "t1");
	strvec_push(ids, "t2");
	return 0;
}
static int fake_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d)
{
	(void)rt, (void)d;
	strvec_pushf(&calls, "inspect %s", id);
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->running = 1;
	return 0;
}
static int fake_env(struct runtime *rt, const char *id, const char *key, char **out, struct diag *d)
{
	(void)rt, (void)d;
	strvec_pushf(&calls, "env %s %s", id, key);
	*out = xstrdup("v");
	return 0;
}
static int fake_ports(const struct container *c, const int *port, size_t nport, int **ports,
		      size_t *n)
{
	strvec_pushf(&calls, "ports %s %d/%zu", c->id, port[0], nport);
	*ports = NULL;
	*n = 0;
	return 0;
}
static int fake_logs(struct logstream *ls, struct runtime *rt, const char *id, const char *since,
		     struct diag *d)
{
	(void)ls, (void)rt, (void)d;
	strvec_pushf(&calls, "logs %s %s", id, since ? since : "-");
	return -1;
}
static void fake_describe(const struct runtime *rt, struct buf *out)
{
	(void)rt;
	buf_addstr(out, "fake 1");
}

static int fake_restart(struct runtime *rt, const char *svc, int ms, struct child *c,
			struct diag *d)
{
	(void)rt, (void)c;
	strvec_pushf(&calls, "restart %s %d", svc, ms);
	return diag_fail(d, "not started");
}

static const struct driver_ops fake = {
	"fake", fake_detect, fake_check, fake_switch, fake_restore, fake_tasks, fake_inspect,
	fake_env, fake_ports, fake_logs, fake_describe, fake_restart,
};

static void test_dispatch(void **state)
{
	struct runtime rt;
	struct diag d = DIAG_INIT;
	struct strvec ids = STRVEC_INIT;
	struct container ct;
	struct logstream ls;
	struct buf b = BUF_INIT;
	char *v = NULL;
	int *ports = NULL;
	size_t n = 1;

	runtime_init(&rt);
	/* A failed detect still leaves the driver set: status can ask it. */
	assert_int_equal(driver_open(&rt, &fake, "x", NULL, &d), -1);
	assert_ptr_equal(rt.ops, &fake);
	diag_release(&d);
	assert_int_equal(driver_check_config(&rt, &d), 0);
	assert_int_equal(driver_switch(&rt, "api", 5, &d), 0);
	assert_int_equal(driver_restore(&rt, "api", 6, &d), 0);
	assert_int_equal(driver_tasks(&rt, "api", &ids, &d), 0);
	assert_int_equal(ids.nr, 2);
	assert_int_equal(driver_inspect(&rt, ids.v[1], &ct, &d), 0);
	assert_string_equal(ct.id, "t2");
	assert_int_equal(driver_task_env(&rt, "t1", "DATABASE_URL", &v, &d), 0);
	assert_int_equal(driver_client_ports(&rt, &ct, 5432, &ports, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(driver_logs_start(&rt, &ls, "t1", NULL, &d), -1);
	driver_describe(&rt, &b);
	assert_string_equal(b.buf, "fake 1");
	diag_release(&d);
	assert_int_equal(driver_restart(&rt, "api", 7, &d), -1);

	static const char *const want[] = {
		"detect x", "check", "switch api 5", "restore api 6", "tasks api", "inspect t2",
		"env t1 DATABASE_URL", "ports t2 5432/1", "logs t1 -", "restart api 7",
	};
	assert_int_equal(calls.nr, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < calls.nr; i++)
		assert_string_equal(calls.v[i], want[i]);

	free(v);
	buf_release(&b);
	strvec_clear(&ids);
	strvec_clear(&calls);
	diag_release(&d);
	runtime_release(&rt);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_compose_describe),
		cmocka_unit_test(test_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

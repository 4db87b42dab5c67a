/*
 * test_watch: deploy's watch follows every replica of a service (a fake
 * driver stands in for the runtime: twelve running containers, and only
 * the last writes a failure line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "running/deploy.h"
#include "running/driver.h"
#include "running/watch.h"

#define NREPLICAS 12

static int logs_fail; /* logs_start fails for this replica (1-based), 0: never */

static int fake_tasks(struct runtime *rt, const char *svc, struct strvec *ids, struct diag *d)
{
	(void)rt, (void)svc, (void)d;
	for (int i = 1; i <= NREPLICAS; i++)
		strvec_pushf(ids, "replica%02d", i);
	return 0;
}

static int fake_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d)
{
	(void)rt, (void)d;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->status, sizeof(out->status), "running");
	out->running = 1;
	out->pid = 1;
	return 0;
}

/* Every replica's stream is a child that stays quiet, except the last one's. */
static int fake_logs(struct logstream *ls, struct runtime *rt, const char *id, const char *since,
		     struct diag *d)
{
	(void)rt, (void)since;
	char failing[16];
	memset(ls, 0, sizeof(*ls));
	snprintf(failing, sizeof(failing), "replica%02d", logs_fail);
	if (logs_fail && !strcmp(id, failing))
		return diag_fail(d, "cannot start docker logs");
	child_init(&ls->child);
	strvec_push(&ls->child.args, "/bin/sh");
	strvec_push(&ls->child.args, "-c");
	strvec_push(&ls->child.args,
		    strcmp(id, "replica12") ? "sleep 20"
					    : "echo 'FATAL: password authentication failed for user \"app\"'; sleep 20");
	strvec_push(&ls->child.env, "PATH=/usr/bin:/bin");
	ls->child.out_mode = ls->child.err_mode = RUN_PIPE;
	for (int i = 0; i < 2; i++) {
		buf_init(&ls->partial[i]);
		ls->open[i] = 1;
	}
	return run_start(&ls->child, d);
}

static const struct driver_ops fake = {
	.name = "fake", .tasks = fake_tasks, .inspect = fake_inspect, .logs_start = fake_logs,
};

static void setup_ctx(struct deploy_ctx *dc, struct deploy_opts *o)
{
	memset(dc, 0, sizeof(*dc));
	memset(o, 0, sizeof(*o));
	o->quiet = 1;
	dc->o = o;
	runtime_init(&dc->rt);
	dc->rt.ops = &fake;
	sigemptyset(&dc->sigs);
	failpat_init(&dc->pats);
	failpat_add_defaults(&dc->pats);
}

static void test_every_replica_watched(void **state)
{
	(void)state;
	struct deploy_ctx dc;
	struct deploy_opts o;
	struct plan_service ps;
	struct watch w;

	setup_ctx(&dc, &o);
	memset(&ps, 0, sizeof(ps));
	ps.name = "api";
	ps.cls = CLASS_WRITER;
	watch_init(&w, &ps);
	logs_fail = 0;
	/* The window is 3 s; the failure line arrives at once. */
	assert_int_equal(watch_service(&dc, &w, 3, 0), -1);
	assert_non_null(w.reason);
	assert_non_null(strstr(w.reason, "password authentication failed"));
	watch_release(&w);

	/* A replica whose logs cannot be followed fails the watch, naming it and the count. */
	watch_init(&w, &ps);
	logs_fail = 10;
	assert_int_equal(watch_service(&dc, &w, 3, 0), -1);
	assert_non_null(w.reason);
	assert_non_null(strstr(w.reason, "replica10"));
	assert_non_null(strstr(w.reason, "9 of 12 containers followed"));
	watch_release(&w);

	failpat_release(&dc.pats);
	runtime_release(&dc.rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_replica_watched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

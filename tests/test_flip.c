/*
 * test_flip: the plan's flips, the one rule branch and deploy share.
 *
 * Each case plans a small stack and checks the flip (sites, settings,
 * blocked), then that branch's rewrite and deploy's override agree with it:
 * the split-settings case without a password variable is refused by both
 * paths with the plan's own words, a DSN in ${VAR:-default} is rewritten
 * inside the default, a literal shared with a service that does not flip
 * blocks, and what branch writes equals what deploy sets.
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

#include "plan/flip.h"
#include "artifacts/rewrite.h"
#include "artifacts/mirror.h"
#include "running/override.h"

struct fx {
	char dir[64];
	struct compose_project *p;
	struct plan *plan;
	struct compose_opts co;
};

static char *const no_env[] = { NULL };

static void load(struct fx *f, const char *compose)
{
	struct diag d = DIAG_INIT;
	struct plan_opts po = { 0 };
	strcpy(f->dir, "/tmp/dsnflip-test-flip.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char *path = xstrfmt("%s/compose.yaml", f->dir);
	FILE *fp = fopen(path, "w");
	fputs(compose, fp);
	fclose(fp);
	free(path);
	struct compose_opts co = COMPOSE_OPTS_INIT;
	f->co = co;
	f->co.dir = f->dir;
	f->co.environ = no_env;
	if (compose_load(&f->co, &f->p, &d) || plan_build(f->p, NULL, NULL, &po, &f->plan, &d))
		fail_msg("%s", d.msg.buf);
	diag_release(&d);
}

static void unload(struct fx *f)
{
	char *path = xstrfmt("%s/compose.yaml", f->dir);
	unlink(path);
	free(path);
	rmdir(f->dir);
	plan_free(f->plan);
	compose_free(f->p);
}

static const struct plan_flip *flip_of(const struct fx *f, const char *svc)
{
	const struct plan_service *ps = plan_service(f->plan, svc);
	assert_non_null(ps);
	for (size_t k = 0; k < ps->nconns; k++)
		if (ps->conns[k].flip)
			return ps->conns[k].flip;
	fail_msg("%s has no flip", svc);
	return NULL;
}

/* deploy's override for svc alone: its return code, text into out, error into d. */
static int override_for(const struct fx *f, const char *svc, struct buf *out, struct diag *d)
{
	struct journal *j = journal_new(NULL);
	journal_get(j, svc, 1)->in_override = 1;
	int r = deploy_render_override(f->plan, j, out, d);
	journal_free(j);
	return r;
}

static void test_split_without_password_refused_by_both(void **state)
{
	(void)state;
	struct fx f;
	load(&f, "services:\n"
		 "  db:\n    image: postgres:16\n"
		 "  worker:\n    image: acme/worker\n    command: [\"./worker\"]\n"
		 "    environment:\n      PGHOST: db\n      PGUSER: postgres\n      PGDATABASE: app\n");
	const struct plan_flip *fl = flip_of(&f, "worker");
	assert_non_null(fl->blocked);
	assert_non_null(strstr(fl->blocked, "services.worker: the connection set by PGUSER has no "
					    "password variable (such as DB_PASSWORD)"));
	assert_int_equal(fl->nsettings, 0);
	assert_true(f.plan->blocking);
	/* branch */
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	assert_int_equal(rewrite_compute(f.plan, &rw, &d), -1);
	assert_string_equal(d.msg.buf, fl->blocked);
	rewrite_release(&rw);
	diag_release(&d);
	/* deploy: no PGPASSWORD is invented */
	struct buf out = BUF_INIT;
	assert_int_equal(override_for(&f, "worker", &out, &d), -1);
	assert_non_null(strstr(d.msg.buf, fl->blocked));
	assert_null(strstr(out.buf, "PGPASSWORD"));
	buf_release(&out);
	diag_release(&d);
	unload(&f);
}

static void test_split_with_both_agree(void **state)
{
	(void)state;
	struct fx f;
	load(&f, "services:\n"
		 "  db:\n    image: postgres:16\n"
		 "  worker:\n    image: acme/worker\n    command: [\"./worker\"]\n"
		 "    environment:\n      PGHOST: db\n      PGUSER: postgres\n      PGPASSWORD: Sup3r\n");
	const struct plan_flip *fl = flip_of(&f, "worker");
	assert_null(fl->blocked);
	assert_int_equal(fl->nsites, 2);
	assert_int_equal(fl->sites[0].kind, FLIP_USER);
	assert_int_equal(fl->sites[1].kind, FLIP_PASSWORD);
	assert_string_equal(fl->password_var, "WORKER_APP_PASSWORD");
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	if (rewrite_compute(f.plan, &rw, &d) || rewrite_verify(&rw, f.p, &f.co, &d))
		fail_msg("%s", d.msg.buf);
	assert_non_null(strstr(rw.files[0].data, "PGUSER: worker_app\n"));
	assert_non_null(strstr(rw.files[0].data,
			       "PGPASSWORD: ${WORKER_APP_PASSWORD:?WORKER_APP_PASSWORD must be set}\n"));
	rewrite_release(&rw);
	struct buf out = BUF_INIT;
	assert_int_equal(override_for(&f, "worker", &out, &d), 1);
	assert_non_null(strstr(out.buf, "      PGUSER: \"worker_app\"\n      PGPASSWORD: "
					"\"${WORKER_APP_PASSWORD:?WORKER_APP_PASSWORD must be set "
					"(dsnflip passes it)}\"\n"));
	buf_release(&out);
	diag_release(&d);
	unload(&f);
}

static void test_dsn_in_interpolation_default(void **state)
{
	(void)state;
	struct fx f;
	load(&f, "services:\n"
		 "  db:\n    image: postgres:16\n"
		 "  billing:\n    image: acme/billing\n    command: [\"./billing\"]\n"
		 "    environment:\n"
		 "      DATABASE_URL: ${API_URL:-postgresql://postgres:pw@db:5432/app}\n");
	const struct plan_flip *fl = flip_of(&f, "billing");
	assert_null(fl->blocked);
	assert_int_equal(fl->nsites, 1);
	assert_true(fl->sites[0].in_default);
	struct buf b = BUF_INIT;
	flip_text_render(&fl->sites[0].text, "REF", &b);
	assert_string_equal(b.buf, "${API_URL:-postgresql://billing_app:REF@db:5432/app}");
	buf_reset(&b);
	assert_int_equal(fl->nsettings, 1);
	flip_text_render(&fl->settings[0].value, "REF", &b);
	assert_string_equal(b.buf, "postgresql://billing_app:REF@db:5432/app");
	buf_release(&b);
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	if (rewrite_compute(f.plan, &rw, &d) || rewrite_verify(&rw, f.p, &f.co, &d))
		fail_msg("%s", d.msg.buf);
	rewrite_release(&rw);
	diag_release(&d);
	unload(&f);
}

static void test_shared_with_inactive_profile_blocks(void **state)
{
	(void)state;
	struct fx f;
	load(&f, "x-url: &url postgresql://postgres:pw@db:5432/app\n"
		 "services:\n"
		 "  db:\n    image: postgres:16\n"
		 "  job:\n    image: acme/job\n    command: [\"./job\"]\n"
		 "    environment:\n      DATABASE_URL: *url\n"
		 "  old:\n    image: acme/old\n    profiles: [legacy]\n    command: [\"./old\"]\n"
		 "    environment:\n      DATABASE_URL: *url\n");
	const struct plan_flip *fl = flip_of(&f, "job");
	assert_non_null(fl->blocked);
	assert_non_null(strstr(fl->blocked, "this literal is also services.old.DATABASE_URL, which "
					    "does not flip with it (its profile is not active)"));
	assert_true(f.plan->blocking);
	/* Without the plan's check, the reload check would catch it too late, at branch. */
	unload(&f);
}

static void test_branch_text_equals_deploy_value(void **state)
{
	(void)state;
	struct fx f;
	load(&f, "services:\n"
		 "  db:\n    image: postgres:16\n"
		 "  billing:\n    image: acme/billing\n    command: [\"./billing\"]\n"
		 "    environment:\n"
		 "      DATABASE_URL: \"postgresql://postgres:S3cr$$t@db:5432/shop?application_name=a$$b\"\n");
	const struct plan_flip *fl = flip_of(&f, "billing");
	struct buf site = BUF_INIT, set = BUF_INIT;
	flip_text_render(&fl->sites[0].text, "R", &site);
	flip_text_render(&fl->settings[0].value, "R", &set);
	/* One rule: the file's text and the override's value are the same connection. */
	assert_string_equal(site.buf, "postgresql://billing_app:R@db:5432/shop?application_name=a$$b");
	assert_string_equal(set.buf, site.buf);
	assert_false(fl->sites[0].reference);
	buf_release(&site);
	buf_release(&set);
	unload(&f);
}

static void test_password_ref_names(void **state)
{
	(void)state;
	char *v = flip_password_var("tracksolid-owner.x");
	assert_string_equal(v, "TRACKSOLID_OWNER_X_PASSWORD");
	free(v);
	char *r = flip_password_ref("app", NULL);
	assert_string_equal(r, "${APP_PASSWORD:?APP_PASSWORD must be set}");
	free(r);
	r = flip_password_ref("app", "why");
	assert_string_equal(r, "${APP_PASSWORD:?APP_PASSWORD must be set (why)}");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_without_password_refused_by_both),
		cmocka_unit_test(test_split_with_both_agree),
		cmocka_unit_test(test_dsn_in_interpolation_default),
		cmocka_unit_test(test_shared_with_inactive_profile_blocks),
		cmocka_unit_test(test_branch_text_equals_deploy_value),
		cmocka_unit_test(test_password_ref_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

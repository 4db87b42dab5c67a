/*
 * Tests for lint: the fixture stacks tests/lint/{dirty,clean} loaded as
 * `dsnflip lint` loads them (INTERP_SECRETS_OPTIONAL, no environment), the
 * rules' findings and positions, what "tracked" changes, the comparison by
 * rule + service + variable, and GitHub's escaping.  tests/tier-lint runs
 * the command itself.  Run from the top of the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan/lint.h"
#include "plan/lint_out.h"
#include "stack/interp.h"

struct loaded {
	struct compose_project *p;
	struct config *cfg;
	struct plan *plan;
};

static int load(const char *dir, unsigned flags, struct loaded *l, struct diag *d)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	static char *const env[] = { NULL };
	char *cfg = xstrfmt("%s/dsnflip.yml", dir);
	struct plan_opts po = { 0 };
	int r = -1;

	memset(l, 0, sizeof(*l));
	co.dir = dir;
	co.environ = env;
	co.interp_flags = flags;
	if (compose_load(&co, &l->p, d))
		goto out;
	FILE *fp = fopen(cfg, "r");
	if (fp) {
		fclose(fp);
		if (config_load(cfg, "dsnflip.yml", &l->cfg, d))
			goto out;
	} else {
		l->cfg = config_empty();
	}
	r = plan_build(l->p, l->cfg, NULL, &po, &l->plan, d);
out:
	free(cfg);
	return r;
}

static void unload(struct loaded *l)
{
	plan_free(l->plan);
	config_free(l->cfg);
	compose_free(l->p);
}

static int never_tracked(void *ctx, const struct srcfile *f)
{
	(void)ctx;
	(void)f;
	return 0;
}

static const struct lint_finding *find(const struct lint_report *r, const char *rule,
				       const char *service)
{
	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->v[i].rule->id, rule) && !strcmp(r->v[i].service, service))
			return &r->v[i];
	return NULL;
}

/* A flipped stack needs its password references only with the flag. */
static void test_clean_loads_only_with_the_flag(void **state)
{
	struct loaded l;
	struct diag d = DIAG_INIT;
	struct lint_report r = LINT_REPORT_INIT;

	(void)state;
	assert_int_equal(load("tests/lint/clean", 0, &l, &d), -1);
	assert_non_null(strstr(d.msg.buf, "variable POSTGRES_PASSWORD is missing a value"));
	unload(&l);
	diag_release(&d);
	if (load("tests/lint/clean", INTERP_SECRETS_OPTIONAL, &l, &d))
		fail_msg("%s", d.msg.buf);
	assert_int_equal(lint_run(l.plan, l.cfg, NULL, &r, &d), 0);
	/* The ignored .env's literal counts here (no tracked callback: everything does). */
	assert_int_equal(r.nr, 1);
	assert_string_equal(r.v[0].rule->id, "literal-password");
	assert_string_equal(r.v[0].file, ".env");
	lint_report_release(&r);
	struct lint_opts o = { .tracked = never_tracked };
	assert_int_equal(lint_run(l.plan, l.cfg, &o, &r, &d), 0);
	assert_int_equal(r.nr, 0);
	lint_report_release(&r);
	unload(&l);
	diag_release(&d);
}

static void test_dirty_findings(void **state)
{
	struct loaded l;
	struct diag d = DIAG_INIT;
	struct lint_report r = LINT_REPORT_INIT;
	struct lint_opts o = { .path_prefix = "deploy" };
	const struct lint_finding *f;

	(void)state;
	if (load("tests/lint/dirty", INTERP_SECRETS_OPTIONAL, &l, &d))
		fail_msg("%s", d.msg.buf);
	assert_int_equal(lint_run(l.plan, l.cfg, &o, &r, &d), 0);
	assert_int_equal(r.nr, 9);
	assert_int_equal(r.suppressed, 1); /* legacy's inline comment */
	assert_null(find(&r, "superuser-connection", "legacy"));
	f = find(&r, "superuser-connection", "report");
	assert_non_null(f);
	assert_string_equal(f->variable, "PGUSER");
	assert_string_equal(f->file, "deploy/docker-compose.yml");
	assert_int_equal(f->line, 29);
	assert_non_null(strstr(f->message, "listed under superusers:"));
	f = find(&r, "literal-password", "");
	assert_non_null(f);
	assert_string_equal(f->variable, "WORKER_DB_PASSWORD");
	assert_string_equal(f->file, "deploy/.env");
	assert_non_null(find(&r, "server-password", "report"));
	assert_non_null(find(&r, "held-unsettled", "mystery"));
	assert_non_null(find(&r, "over-budget", ""));
	assert_int_equal(lint_count_at_least(&r, LINT_ERROR), 8);
	assert_int_equal(lint_count_at_least(&r, LINT_WARNING), 9);
	/* Against itself with every line moved: nothing is new. */
	struct lint_report base = LINT_REPORT_INIT;
	assert_int_equal(lint_run(l.plan, l.cfg, NULL, &base, &d), 0);
	for (size_t i = 0; i < base.nr; i++)
		base.v[i].line += 7;
	lint_subtract(&r, &base);
	assert_int_equal(r.nr, 0);
	lint_report_release(&base);
	lint_report_release(&r);
	unload(&l);
	diag_release(&d);
}

static void test_severity_and_rules(void **state)
{
	enum lint_severity s;
	size_t n;
	const struct lint_rule *rules = lint_rules(&n);

	(void)state;
	assert_int_equal(lint_severity_parse("warning", &s), 0);
	assert_int_equal(s, LINT_WARNING);
	assert_int_equal(lint_severity_parse("Error", &s), -1);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++) {
		assert_ptr_equal(lint_rule(rules[i].id), &rules[i]);
		assert_true(strlen(rules[i].help) > 40);
	}
	assert_null(lint_rule("superuser"));
}

static void test_github_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	lint_github_escape("50% off\r\nnext: a,b", 0, &b);
	assert_string_equal(b.buf, "50%25 off%0D%0Anext: a,b");
	buf_reset(&b);
	lint_github_escape("dir,x:y%/f.yml\n", 1, &b);
	assert_string_equal(b.buf, "dir%2Cx%3Ay%25/f.yml%0A");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_loads_only_with_the_flag),
		cmocka_unit_test(test_dirty_findings),
		cmocka_unit_test(test_severity_and_rules),
		cmocka_unit_test(test_github_escape),
	};
	return cmocka_run_group_tests_name("lint", tests, NULL, NULL);
}

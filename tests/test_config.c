/*
 * Tests for config: parse_duration from a table; the good configs under
 * fixtures/config/good with every value asserted; then every
 * fixtures/config/bad/NAME.yml (each its own cmocka test) must fail with
 * exactly the one-line message in NAME.err, loaded under the display name
 * "dsnflip.yml".  Run from the top of the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>

#include "stack/config.h"

#define GOOD "fixtures/config/good"
#define BAD "fixtures/config/bad"


/* Load a good fixture; fails the test with the message if it does not load. */
static struct config *load_good(const char *name)
{
	char *path = xstrfmt("%s/%s", GOOD, name);
	struct config *c = NULL;
	struct diag d = DIAG_INIT;

	if (config_load(path, "dsnflip.yml", &c, &d))
		fail_msg("%s: %s", path, d.msg.buf);
	assert_non_null(c);
	assert_false(d.set);
	diag_release(&d);
	free(path);
	return c;
}

static void assert_kv(const struct config_kv *kv, const char *key, const char *value)
{
	assert_string_equal(kv->key, key);
	assert_string_equal(kv->value, value);
}

/* Nothing but defaults, whatever produced the config. */
static void assert_defaults(const struct config *c)
{
	assert_int_equal(c->headroom, -1);
	assert_int_equal(c->window_seconds, -1);
	assert_int_equal(c->max_connections, -1);
	assert_int_equal(c->superuser_reserved, -1);
	assert_int_equal(c->reserved, -1);
	assert_int_equal(c->nservices, 0);
	assert_int_equal(c->nroles, 0);
	assert_int_equal(c->nsettings, 0);
	assert_int_equal(c->nreader_settings, 0);
	assert_int_equal(c->nkeep, 0);
	assert_int_equal(c->nmigration_patterns, 0);
	assert_int_equal(c->nfailure_patterns, 0);
}

static void test_parse_duration(void **state)
{
	static const struct { const char *s; int want; } t[] = {
		{ "30s", 30 }, { "30", 30 }, { "0", 0 }, { "5min", 300 }, { "2m", 120 },
		{ "1h", 3600 }, { "250ms", 1 }, { "1000ms", 1 }, { "1001ms", 2 }, { "0ms", 0 },
		{ "2147483647", 2147483647 }, { "2147483647000ms", 2147483647 },
		{ "", -1 }, { "s", -1 }, { "-5s", -1 }, { "+5s", -1 }, { " 5s", -1 },
		{ "5 s", -1 }, { "5S", -1 }, { "1.5h", -1 }, { "1d", -1 }, { "5mins", -1 },
		{ "5sec", -1 }, { "2147483648", -1 }, { "596524h", -1 },
		{ "99999999999999999999", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (parse_duration(t[i].s) != t[i].want)
			fail_msg("parse_duration(\"%s\") = %d, want %d", t[i].s,
				 parse_duration(t[i].s), t[i].want);
	assert_int_equal(parse_duration(NULL), -1);
}

static void test_empty(void **state)
{
	struct config *c = config_empty();

	(void)state;
	assert_null(c->path);
	assert_defaults(c);
	assert_null(config_service(c, "gateway"));
	assert_null(config_role(c, "gateway_app"));
	assert_null(config_service(NULL, "gateway"));
	config_free(c);
	config_free(NULL);
}

static void test_empty_file(void **state)
{
	struct config *c = load_good("empty.yml");

	(void)state;
	assert_string_equal(c->path, "dsnflip.yml");
	assert_defaults(c);
	config_free(c);
}

static void test_full(void **state)
{
	struct config *c = load_good("full.yml");
	const struct config_service *s;
	const struct config_role *r;

	(void)state;
	assert_string_equal(c->path, "dsnflip.yml");
	assert_int_equal(c->headroom, 4);
	assert_int_equal(c->window_seconds, 300);
	assert_int_equal(c->max_connections, 200);
	assert_int_equal(c->superuser_reserved, 5);
	assert_int_equal(c->reserved, 2);

	assert_int_equal(c->nservices, 3);
	s = &c->services[0];
	assert_string_equal(s->name, "migrate");
	assert_int_equal(s->pos.line, 9);
	assert_int_equal(s->pos.col, 3);
	assert_string_equal(s->pos.file->display, "dsnflip.yml");
	assert_string_equal(s->cls, "migrator");
	assert_int_equal(s->cls_pos.line, 9);
	assert_int_equal(s->cls_pos.col, 20);
	assert_string_equal(s->role, "tracksolid_owner");
	assert_int_equal(s->connection_limit, 0);
	assert_int_equal(s->order, 1);
	s = &c->services[1];
	assert_string_equal(s->name, "gateway");
	assert_int_equal(s->pos.line, 10);
	assert_int_equal(s->pos.col, 3);
	assert_string_equal(s->cls, "writer");
	assert_int_equal(s->cls_pos.line, 11);
	assert_int_equal(s->cls_pos.col, 12);
	/* The span covers the literal, for rewriting it in place. */
	assert_int_equal(s->cls_pos.end - s->cls_pos.start, 6);
	assert_memory_equal(s->cls_pos.file->data + s->cls_pos.start, "writer", 6);
	assert_string_equal(s->role, "gateway_app");
	assert_int_equal(s->connection_limit, 15);
	assert_int_equal(s->order, 4);
	s = &c->services[2];
	assert_string_equal(s->name, "dashboard_api");
	assert_string_equal(s->cls, "reader");
	assert_null(s->role);
	assert_int_equal(s->connection_limit, 8); /* quoted "8" is still a count */
	assert_int_equal(s->order, 0);
	assert_ptr_equal(config_service(c, "gateway"), &c->services[1]);
	assert_null(config_service(c, "gateway_app"));

	assert_int_equal(c->nroles, 2);
	r = &c->roles[0];
	assert_string_equal(r->name, "dashboard_app");
	assert_int_equal(r->pos.line, 19);
	assert_int_equal(r->pos.col, 3);
	assert_int_equal(r->connection_limit, 8);
	assert_int_equal(r->nsettings, 3);
	assert_kv(&r->settings[0], "statement_timeout", "30s");
	assert_kv(&r->settings[1], "work_mem", "64MB");
	assert_kv(&r->settings[2], "search_path", "app, public");
	r = &c->roles[1];
	assert_string_equal(r->name, "gateway_app");
	assert_int_equal(r->connection_limit, 0);
	assert_int_equal(r->nsettings, 2);
	assert_kv(&r->settings[0], "lock_timeout", "5 s");
	assert_kv(&r->settings[1], "application_name", "gateway");
	assert_int_equal(r->settings[1].pos.line, 26); /* for errors the server finds later */
	assert_int_equal(r->settings[1].pos.col, 35);
	assert_true(r->adopt);
	assert_false(c->roles[0].adopt);
	assert_ptr_equal(config_role(c, "gateway_app"), &c->roles[1]);
	assert_null(config_role(c, "gateway"));

	assert_int_equal(c->nsettings, 2);
	assert_kv(&c->settings[0], "idle_session_timeout", "1h");
	assert_kv(&c->settings[1], "idle_in_transaction_session_timeout", "60000");
	assert_int_equal(c->nreader_settings, 1);
	assert_kv(&c->reader_settings[0], "statement_timeout", "1.5min");

	assert_int_equal(c->nkeep, 2);
	assert_string_equal(c->keep[0], "reporting.v_trips");
	assert_string_equal(c->keep[1], "billing.invoice_totals");
	assert_int_equal(c->nmigration_patterns, 2);
	assert_string_equal(c->migration_patterns[0], "bin/migrate-db");
	assert_string_equal(c->migration_patterns[1], "alembic upgrade head");
	assert_int_equal(c->nfailure_patterns, 2);
	assert_string_equal(c->failure_patterns[0], "relation .* does not exist");
	assert_string_equal(c->failure_patterns[1], "permission denied for table");
	config_free(c);
}

static void test_minimal(void **state)
{
	struct config *c = load_good("minimal.yml");
	const struct config_service *s;

	(void)state;
	assert_int_equal(c->headroom, -1);
	assert_int_equal(c->window_seconds, -1);
	assert_int_equal(c->max_connections, -1);
	assert_int_equal(c->superuser_reserved, -1);
	assert_int_equal(c->reserved, -1);
	assert_int_equal(c->nservices, 1);
	s = config_service(c, "worker");
	assert_non_null(s);
	assert_string_equal(s->name, "worker");
	assert_int_equal(s->pos.line, 2);
	assert_int_equal(s->pos.col, 3);
	assert_string_equal(s->cls, "writer");
	assert_int_equal(s->cls_pos.line, 2);
	assert_int_equal(s->cls_pos.col, 19);
	assert_null(s->role);
	assert_int_equal(s->connection_limit, 0);
	assert_int_equal(s->order, 0);
	assert_int_equal(c->nroles, 0);
	assert_int_equal(c->nsettings, 0);
	assert_int_equal(c->nreader_settings, 0);
	assert_int_equal(c->nkeep, 0);
	assert_int_equal(c->nmigration_patterns, 0);
	assert_int_equal(c->nfailure_patterns, 0);
	config_free(c);
}

/* Sections written but left empty are empty, not errors. */
static void test_null_sections(void **state)
{
	struct config *c = load_good("null_sections.yml");

	(void)state;
	assert_int_equal(c->nservices, 1);
	assert_string_equal(c->services[0].name, "worker");
	assert_null(c->services[0].cls);
	assert_null(c->services[0].role);
	assert_int_equal(c->services[0].connection_limit, 0);
	assert_int_equal(c->services[0].order, 0);
	struct config rest = *c; /* everything else is at its default */
	rest.nservices = 0;
	assert_defaults(&rest);
	config_free(c);
}

/* superusers: and lint.disable: keep their names (and the ids' positions). */
static void test_superusers_and_lint(void **state)
{
	struct config *c = load_good("lint.yml");

	(void)state;
	assert_int_equal(c->nsuperusers, 2);
	assert_string_equal(c->superusers[0], "admin");
	assert_string_equal(c->superusers[1], "ops");
	assert_int_equal(c->nlint_disable, 2);
	assert_string_equal(c->lint_disable[0].name, "held-unsettled");
	assert_int_equal(c->lint_disable[0].pos.line, 4);
	assert_int_equal(c->lint_disable[0].pos.col, 7);
	assert_string_equal(c->lint_disable[1].name, "over-budget");
	config_free(c);
}

/* Merge keys and aliases: explicit keys win, positions are the anchor's text. */
static void test_anchors(void **state)
{
	struct config *c = load_good("anchors.yml");
	const struct config_service *s;
	const struct config_role *r;

	(void)state;
	assert_int_equal(c->nservices, 2);
	s = config_service(c, "webhook_receiver");
	assert_non_null(s);
	assert_string_equal(s->cls, "writer");
	assert_int_equal(s->cls_pos.line, 2);
	assert_string_equal(s->role, "gateway_app");
	assert_int_equal(s->connection_limit, 4);
	assert_int_equal(s->order, 2);
	s = config_service(c, "gateway");
	assert_int_equal(s->connection_limit, 15);
	assert_int_equal(s->order, 0);
	r = config_role(c, "webhook_app");
	assert_non_null(r);
	assert_int_equal(r->connection_limit, 6);
	assert_int_equal(r->nsettings, 1);
	assert_kv(&r->settings[0], "statement_timeout", "5s");
	r = config_role(c, "gateway_app");
	assert_int_equal(r->nsettings, 1);
	assert_kv(&r->settings[0], "statement_timeout", "5s");
	config_free(c);
}

/* Load path expecting failure with message want; *out must stay untouched. */
static void expect_error(const char *path, const char *want)
{
	static struct config untouched;
	struct config *c = &untouched;
	struct diag d = DIAG_INIT;

	if (!config_load(path, "dsnflip.yml", &c, &d))
		fail_msg("%s: loaded, want error: %s", path, want);
	assert_ptr_equal(c, &untouched);
	assert_true(d.set);
	assert_int_equal(d.code, EXIT_INPUT);
	if (strcmp(d.msg.buf, want))
		fail_msg("%s:\n got: %s\nwant: %s", path, d.msg.buf, want);
	diag_release(&d);
}

static void test_missing_file(void **state)
{
	(void)state;
	expect_error(GOOD "/no-such-file.yml",
		     "dsnflip.yml: cannot open: No such file or directory");
}

/* A config is bounded at 1 MiB: exactly that loads, a byte more does not. */
static void test_size_limit(void **state)
{
	char path[] = "/tmp/dsnflip-config-XXXXXX";
	int fd = mkstemp(path);
	size_t limit = 1u << 20;
	char *data = xmalloc(limit + 1);
	struct config *c = NULL;
	struct diag d = DIAG_INIT;

	(void)state;
	assert_true(fd >= 0);
	memset(data, ' ', limit + 1);
	memcpy(data, "headroom: 1 #", 13);
	assert_int_equal(write(fd, data, limit), (ssize_t)limit);
	assert_int_equal(config_load(path, "dsnflip.yml", &c, &d), 0);
	assert_int_equal(c->headroom, 1);
	config_free(c);
	assert_int_equal(write(fd, data, 1), 1);
	close(fd);
	expect_error(path, "dsnflip.yml: file is larger than the limit of 1048576 bytes");
	unlink(path);
	free(data);
}

/* One bad fixture: state is its base name. */
static void test_bad(void **state)
{
	const char *name = *state;
	char *yml = xstrfmt("%s/%s.yml", BAD, name), *errp = xstrfmt("%s/%s.err", BAD, name);
	size_t len;
	char *want = read_file(errp, &len);

	if (!want)
		fail_msg("%s: no %s beside it", yml, errp);
	while (len && (want[len - 1] == '\n' || want[len - 1] == '\r'))
		want[--len] = '\0';
	assert_null(strchr(want, '\n'));
	expect_error(yml, want);
	free(want);
	free(yml);
	free(errp);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Base names of BAD/ *.yml, sorted; every NAME.err must have its NAME.yml. */
static size_t bad_fixtures(struct strvec *names)
{
	DIR *dh = opendir(BAD);
	struct dirent *de;

	if (!dh) {
		fprintf(stderr, "cannot open %s (run from the top of the tree)\n", BAD);
		exit(1);
	}
	while ((de = readdir(dh))) {
		size_t n = strlen(de->d_name);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".yml"))
			strvec_pushf(names, "%.*s", (int)(n - 4), de->d_name);
	}
	rewinddir(dh);
	while ((de = readdir(dh))) {
		size_t n = strlen(de->d_name);
		char *base = xstrfmt("%.*s", (int)(n > 4 ? n - 4 : 0), de->d_name);
		if (n > 4 && !strcmp(de->d_name + n - 4, ".err") && !strvec_contains(names, base)) {
			fprintf(stderr, "%s/%s has no .yml beside it\n", BAD, de->d_name);
			exit(1);
		}
		free(base);
	}
	closedir(dh);
	qsort(names->v, names->nr, sizeof(*names->v), by_name);
	return names->nr;
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_null_sections),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_superusers_and_lint),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_size_limit),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct strvec names = STRVEC_INIT;
	size_t nbad = bad_fixtures(&names), n = 0;
	struct CMUnitTest *tests = xcalloc(nfixed + nbad, sizeof(*tests));
	char **labels = xcalloc(nbad ? nbad : 1, sizeof(*labels));
	int ret;

	for (size_t i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < nbad; i++) {
		labels[i] = xstrfmt("bad/%s", names.v[i]);
		tests[n++] = (struct CMUnitTest){ labels[i], test_bad, NULL, NULL, names.v[i] };
	}
	ret = _cmocka_run_group_tests("config", tests, n, NULL, NULL);
	for (size_t i = 0; i < nbad; i++)
		free(labels[i]);
	free(labels);
	free(tests);
	strvec_clear(&names);
	return ret;
}

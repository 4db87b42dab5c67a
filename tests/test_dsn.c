/*
 * test_dsn: the dsn module against the case table fixtures/dsn/cases.tsv.
 *
 * Each non-comment line of the table is one cmocka test, named after its
 * kind and line, with tab-separated fields ("-" stands for NULL):
 *
 *   parse    INPUT FORM SCHEME USER PASSWORD HOSTS DBNAME PARAMS USPAN PSPAN
 *   parse-conflict  the same, for inputs that give the user or password
 *            twice with different values (no round trip through them)
 *   rewrite  INPUT NEW_USER NEW_PASSWORD_REF EXPECTED
 *   error    INPUT MESSAGE
 *   nocand   INPUT
 *
 * HOSTS is "host:port,..." (IPv6 in brackets, ":ref" for a ${...} port,
 * no ":port" when absent); PARAMS is "key=value&..." decoded; spans are
 * "start-end".  Beyond the listed fields every parse case must round-trip
 * (rewriting with its own user and password, decoded or raw, or with NULLs,
 * gives the input back), every rewrite output must parse to the new user
 * and be a fixed point, and every error must come out of dsn_rewrite too.
 * A few properties that a table cannot express are plain tests at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/diag.h"
#include "detect/dsn.h"

#define MAX_FIELDS 12

struct tcase {
	int line;
	int conflict; /* parse-conflict */
	char name[48];
	char *kind;
	char *f[MAX_FIELDS]; /* after the kind; NULL for "-" */
	size_t nf;
};

struct table {
	char *text;
	struct tcase *v;
	size_t nr, alloc;
};

static const char *nz(const char *s)
{
	return s ? s : "-";
}

static void dump_hosts(const struct dsn *d, struct buf *b)
{
	size_t i;

	if (!d->nhosts)
		buf_addch(b, '-');
	for (i = 0; i < d->nhosts; i++) {
		const char *h = d->hosts[i].host;
		if (i)
			buf_addch(b, ',');
		buf_addf(b, strchr(h, ':') ? "[%s]" : "%s", h);
		if (d->hosts[i].port < 0)
			buf_addstr(b, ":ref");
		else if (d->hosts[i].port)
			buf_addf(b, ":%d", d->hosts[i].port);
	}
}

static void dump_params(const struct dsn *d, struct buf *b)
{
	size_t i;

	if (!d->nparams)
		buf_addch(b, '-');
	for (i = 0; i < d->nparams; i++)
		buf_addf(b, "%s%s=%s", i ? "&" : "", d->params[i].key, d->params[i].value);
}

static void dump_span(const struct dsn_span *sp, struct buf *b)
{
	if (sp->present)
		buf_addf(b, "%zu-%zu", sp->start, sp->end);
	else
		buf_addch(b, '-');
}

static void check_field(const struct tcase *c, const char *what, const char *want,
			const char *got)
{
	if (strcmp(nz(want), nz(got)))
		fail_msg("line %d: %s: want '%s', got '%s'", c->line, what, nz(want), nz(got));
}

/* Rewrite s and compare with want; fails the test on a parse error. */
static void check_rewrite(const struct tcase *c, const char *s, const char *user,
			  const char *ref, const char *want)
{
	struct buf out = BUF_INIT;
	struct diag d = DIAG_INIT;

	if (dsn_rewrite(s, user, ref, &out, &d) < 0)
		fail_msg("line %d: rewrite of '%s' failed: %s", c->line, s, d.msg.buf);
	if (strcmp(out.buf, want))
		fail_msg("line %d: rewrite(%s, %s)\n  want '%s'\n  got  '%s'", c->line,
			 nz(user), nz(ref), want, out.buf);
	buf_release(&out);
	diag_release(&d);
}

static void test_parse_case(void **state)
{
	const struct tcase *c = *state;
	const char *s = c->f[0];
	static const char *const forms[] = { "uri", "jdbc", "kv" };
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;
	struct buf b = BUF_INIT;
	char *raw_pw = NULL;

	assert_int_equal(c->nf, 10);
	assert_true(dsn_is_candidate(s));
	if (dsn_parse(s, &dsn, &d) < 0)
		fail_msg("line %d: parse failed: %s", c->line, d.msg.buf);

	check_field(c, "form", c->f[1], forms[dsn.form]);
	check_field(c, "scheme", c->f[2], dsn.scheme);
	check_field(c, "user", c->f[3], dsn.user);
	check_field(c, "password", c->f[4], dsn.password);
	dump_hosts(&dsn, &b);
	check_field(c, "hosts", c->f[5], b.buf);
	check_field(c, "dbname", c->f[6], dsn.dbname);
	buf_reset(&b);
	dump_params(&dsn, &b);
	check_field(c, "params", c->f[7], b.buf);
	buf_reset(&b);
	dump_span(&dsn.user_span, &b);
	check_field(c, "user span", c->f[8], b.buf);
	buf_reset(&b);
	dump_span(&dsn.password_span, &b);
	check_field(c, "password span", c->f[9], b.buf);
	assert_int_equal(dsn.user != NULL, dsn.user_span.present);
	assert_int_equal(dsn.password != NULL, dsn.password_span.present);

	/* Round trips: decoded values, the raw password text, nothing at all. */
	check_rewrite(c, s, NULL, NULL, s);
	if (!c->conflict)
		check_rewrite(c, s, dsn.user, dsn.password, s);
	if (!c->conflict && dsn.password_span.present) {
		size_t a = dsn.password_span.start, e = dsn.password_span.end;
		if (dsn.form == DSN_KV && s[a] == '\'') {
			a++;
			e--;
		}
		raw_pw = xstrndup(s + a, e - a);
		check_rewrite(c, s, dsn.user, raw_pw, s);
		free(raw_pw);
	}
	buf_release(&b);
	diag_release(&d);
	dsn_release(&dsn);
	assert_null(dsn.user);
}

static void test_rewrite_case(void **state)
{
	const struct tcase *c = *state;
	const char *user = c->f[1], *ref = c->f[2], *want = c->f[3];
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;

	assert_int_equal(c->nf, 4);
	assert_true(dsn_is_candidate(c->f[0]));
	check_rewrite(c, c->f[0], user, ref, want);

	/* The output is a DSN with the new credentials, and a fixed point. */
	assert_true(dsn_is_candidate(want));
	if (dsn_parse(want, &dsn, &d) < 0)
		fail_msg("line %d: output does not parse: %s", c->line, d.msg.buf);
	if (user)
		check_field(c, "new user", user, dsn.user);
	if (ref && !strncmp(ref, "${", 2))
		check_field(c, "new password", ref, dsn.password);
	check_rewrite(c, want, user, ref, want);
	dsn_release(&dsn);
	diag_release(&d);
}

static void test_error_case(void **state)
{
	const struct tcase *c = *state;
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;
	struct buf out = BUF_INIT;

	assert_int_equal(c->nf, 2);
	assert_true(dsn_is_candidate(c->f[0]));
	dsn.nparams = 42; /* must stay untouched */
	assert_int_equal(dsn_parse(c->f[0], &dsn, &d), -1);
	assert_int_equal(dsn.nparams, 42);
	assert_null(dsn.user);
	check_field(c, "parse error", c->f[1], d.msg.buf);
	diag_release(&d);

	buf_addstr(&out, "keep");
	assert_int_equal(dsn_rewrite(c->f[0], "app", "${P}", &out, &d), -1);
	check_field(c, "rewrite error", c->f[1], d.msg.buf);
	assert_string_equal(out.buf, "keep");
	buf_release(&out);
	diag_release(&d);
}

static void test_nocand_case(void **state)
{
	const struct tcase *c = *state;

	assert_int_equal(c->nf, 1);
	if (dsn_is_candidate(nz(c->f[0])))
		fail_msg("line %d: '%s' should not be a candidate", c->line, c->f[0]);
}

/* Strings over DSN_MAX_LEN are refused; DSN_MAX_LEN itself is fine. */
static void test_length_limit(void **state)
{
	char *s = malloc(DSN_MAX_LEN + 2);
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	memset(s, 'a', DSN_MAX_LEN + 1);
	memcpy(s, "postgresql://db/", 16);
	s[DSN_MAX_LEN] = '\0';
	assert_int_equal(dsn_parse(s, &dsn, &d), 0);
	assert_int_equal(strlen(dsn.dbname), DSN_MAX_LEN - 16);
	dsn_release(&dsn);

	s[DSN_MAX_LEN] = 'a';
	s[DSN_MAX_LEN + 1] = '\0';
	assert_true(dsn_is_candidate(s));
	assert_int_equal(dsn_parse(s, &dsn, &d), -1);
	assert_string_equal(d.msg.buf, "longer than 8192 bytes");
	diag_release(&d);
	assert_int_equal(dsn_rewrite(s, "app", "${P}", &out, &d), -1);
	assert_int_equal(out.len, 0);
	buf_release(&out);
	diag_release(&d);
	free(s);
}

/* A rewrite that would outgrow DSN_MAX_LEN fails: its result could not be
 * parsed again (fuzz_dsn: many password= parameters, each replaced by a
 * longer reference). */
static void test_rewrite_length_limit(void **state)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct diag d = DIAG_INIT;
	struct dsn dsn = DSN_INIT;

	(void)state;
	buf_addstr(&in, "postgresql://db/app?user=a");
	while (in.len < 6000)
		buf_addstr(&in, "&password=x");
	assert_int_equal(dsn_parse(in.buf, &dsn, &d), 0);
	dsn_release(&dsn);
	buf_addstr(&out, "kept");
	assert_int_equal(dsn_rewrite(in.buf, "app", "${APP_PASSWORD:?APP_PASSWORD must be set}",
				     &out, &d), -1);
	assert_string_equal(d.msg.buf,
			    "the rewritten connection string would be longer than 8192 bytes");
	assert_string_equal(out.buf, "kept");
	buf_release(&in);
	buf_release(&out);
	diag_release(&d);
}

static void test_not_candidate_parse(void **state)
{
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;

	(void)state;
	assert_int_equal(dsn_parse("mysql://root@db/app", &dsn, &d), -1);
	assert_string_equal(d.msg.buf, "not a postgres connection string at offset 1");
	diag_release(&d);
}

static void test_param_lookup(void **state)
{
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;

	(void)state;
	assert_int_equal(dsn_parse("postgresql://db/app?sslmode=disable&application_name=a"
				   "&sslmode=require&user=u", &dsn, &d), 0);
	assert_string_equal(dsn_param(&dsn, "sslmode"), "require");
	assert_string_equal(dsn_param(&dsn, "application_name"), "a");
	assert_null(dsn_param(&dsn, "user"));
	assert_null(dsn_param(&dsn, "SSLMODE"));
	dsn_release(&dsn);
	dsn_release(&dsn); /* releasing twice is harmless */
	assert_null(dsn_param(&dsn, "sslmode"));
}

/* A rewrite appends to what out already holds. */
static void test_rewrite_appends(void **state)
{
	struct buf out = BUF_INIT;
	struct diag d = DIAG_INIT;

	(void)state;
	buf_addstr(&out, "DATABASE_URL=");
	assert_int_equal(dsn_rewrite("postgres://postgres:pw@db/app", "app", "${P}", &out, &d), 0);
	assert_string_equal(out.buf, "DATABASE_URL=postgres://app:${P}@db/app");
	buf_release(&out);
}

static char *split_field(char **p)
{
	char *s = *p, *tab;

	if (!s)
		return NULL;
	tab = strchr(s, '\t');
	if (tab) {
		*tab = '\0';
		*p = tab + 1;
	} else {
		*p = NULL;
	}
	return s;
}

/* The case table: from the working directory, else beside this source. */
static char *read_table(void)
{
	const char *rel = "fixtures/dsn/cases.tsv";
	char *text = read_file(rel, NULL), *path;
	const char *slash;

	if (text)
		return text;
	slash = strstr(__FILE__, "tests/test_dsn.c");
	if (!slash)
		return NULL;
	path = xstrfmt("%.*s%s", (int)(slash - __FILE__), __FILE__, rel);
	text = read_file(path, NULL);
	free(path);
	return text;
}

static int load_table(struct table *t)
{
	char *line, *next;
	int lineno = 0;

	t->text = read_table();
	if (!t->text)
		return -1;
	for (line = t->text; line; line = next) {
		struct tcase *c;
		char *rest, *f;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line || *line == '#')
			continue;
		ALLOC_GROW(t->v, t->nr + 1, t->alloc);
		c = &t->v[t->nr++];
		memset(c, 0, sizeof(*c));
		c->line = lineno;
		rest = line;
		c->kind = split_field(&rest);
		while ((f = split_field(&rest)) && c->nf < MAX_FIELDS)
			c->f[c->nf++] = strcmp(f, "-") ? f : NULL;
		snprintf(c->name, sizeof(c->name), "%s:%d", c->kind, lineno);
	}
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		CMUnitTestFunction fn;
	} fixed[] = {
		{ "length_limit", test_length_limit },
		{ "rewrite_length_limit", test_rewrite_length_limit },
		{ "not_candidate_parse", test_not_candidate_parse },
		{ "param_lookup", test_param_lookup },
		{ "rewrite_appends", test_rewrite_appends },
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct table t = { NULL, NULL, 0, 0 };
	struct CMUnitTest *tests;
	size_t i, n = 0;
	int rc;

	if (load_table(&t) < 0) {
		fprintf(stderr, "test_dsn: cannot read fixtures/dsn/cases.tsv (run from the repository root)\n");
		return 1;
	}
	tests = xcalloc(t.nr + nfixed, sizeof(*tests));
	for (i = 0; i < t.nr; i++) {
		struct tcase *c = &t.v[i];
		CMUnitTestFunction fn = NULL;

		c->conflict = !strcmp(c->kind, "parse-conflict");
		if (!strcmp(c->kind, "parse") || c->conflict)
			fn = test_parse_case;
		else if (!strcmp(c->kind, "rewrite"))
			fn = test_rewrite_case;
		else if (!strcmp(c->kind, "error"))
			fn = test_error_case;
		else if (!strcmp(c->kind, "nocand"))
			fn = test_nocand_case;
		if (!fn) {
			fprintf(stderr, "cases.tsv:%d: unknown kind '%s'\n", c->line, c->kind);
			return 1;
		}
		tests[n].name = c->name;
		tests[n].test_func = fn;
		tests[n].initial_state = c;
		n++;
	}
	for (i = 0; i < nfixed; i++, n++) {
		tests[n].name = fixed[i].name;
		tests[n].test_func = fixed[i].fn;
	}
	rc = _cmocka_run_group_tests("dsn", tests, n, NULL, NULL);
	free(tests);
	free(t.v);
	free(t.text);
	return rc;
}

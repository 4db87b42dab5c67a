/*
 * Tests for interp: one table of cases, each a cmocka test of its own,
 * checked against compose v2 (compose-go template) behaviour, plus the
 * limits and the result's ownership rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/interp.h"

struct var {
	const char *name;
	const char *value;
};

/* The environment every case sees; an origin is the address of its entry. */
static const struct var env[] = {
	{ "FOO", "first" },
	{ "BAR", "" },            /* set but empty */
	{ "USER", "app" },
	{ "HOST", "db" },
	{ "DSN", "postgres://postgres:pw@db:5432/app" },
	{ "foo_1", "lower" },
	{ "DOLLAR", "a$b" },      /* values are not re-interpolated */
};

static const char *lookup(void *ctx, const char *name, const void **origin)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		if (!strcmp(env[i].name, name)) {
			if (origin)
				*origin = &env[i];
			return env[i].value;
		}
	}
	return NULL;
}

static const void *origin_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (!strcmp(env[i].name, name))
			return &env[i];
	return NULL;
}

struct icase {
	const char *name;
	const char *in;
	const char *want;   /* expected value (when no error) */
	const char *whole;  /* var_name when whole_var, else NULL */
	const char *unset;  /* expected unset names, space-separated */
	int had_refs;
	const char *err;    /* expected diag text after "c.yml:3:7: " */
};

#define OK(n, in, want, whole, unset, refs) { n, in, want, whole, unset, refs, NULL }
#define ERR(n, in, err) { n, in, NULL, NULL, "", 1, err }

static const struct icase cases[] = {
	/* Plain text and simple references. */
	OK("plain", "hello world", "hello world", NULL, "", 0),
	OK("empty", "", "", NULL, "", 0),
	OK("dollar_name", "$FOO", "first", "FOO", "", 1),
	OK("braced", "${FOO}", "first", "FOO", "", 1),
	OK("named_then_dash", "$FOO-bar", "first-bar", NULL, "", 1),
	OK("embedded", "x${FOO}y", "xfirsty", NULL, "", 1),
	OK("two_refs", "${FOO}${BAR}", "first", NULL, "", 1),
	OK("lowercase_name", "${foo_1}", "lower", "foo_1", "", 1),
	OK("value_not_reinterpolated", "$DOLLAR", "a$b", "DOLLAR", "", 1),
	OK("set_empty_is_whole", "${BAR}", "", "BAR", "", 1),
	OK("unset_named", "$NOPE", "", NULL, "NOPE", 1),
	OK("unset_braced", "a${NOPE}b", "ab", NULL, "NOPE", 1),
	OK("unset_dedup", "$N1 $N1 ${N2}", "  ", NULL, "N1 N2", 1),
	/* :- and - */
	OK("soft_default_unset", "${NOPE:-def}", "def", NULL, "", 1),
	OK("soft_default_empty", "${BAR:-def}", "def", NULL, "", 1),
	OK("soft_default_set", "${FOO:-def}", "first", "FOO", "", 1),
	OK("hard_default_unset", "${NOPE-def}", "def", NULL, "", 1),
	OK("hard_default_empty", "${BAR-def}", "", "BAR", "", 1),
	OK("hard_default_set", "${FOO-def}", "first", "FOO", "", 1),
	OK("empty_default", "${NOPE:-}", "", NULL, "", 1),
	OK("default_with_separators", "${BAR:-/non:-alpha}", "/non:-alpha", NULL, "", 1),
	OK("default_precedence", "${NOPE-my?msg}", "my?msg", NULL, "", 1),
	/* :? and ? */
	OK("required_set", "${FOO:?need foo}", "first", "FOO", "", 1),
	OK("required_unset_only_empty", "${BAR?msg}", "", "BAR", "", 1),
	OK("required_precedence", "${FOO?bar-baz}", "first", "FOO", "", 1),
	ERR("required_unset", "${NOPE:?need it}",
	    "required variable NOPE is missing a value: need it"),
	ERR("required_empty", "x ${BAR:?must not be empty}",
	    "required variable BAR is missing a value: must not be empty"),
	ERR("required_no_message", "${NOPE:?}",
	    "required variable NOPE is missing a value"),
	ERR("required_unset_plain", "${NOPE?}",
	    "required variable NOPE is missing a value"),
	ERR("required_message_interpolated", "${NOPE:?set ${FOO} please}",
	    "required variable NOPE is missing a value: set first please"),
	ERR("required_message_keeps_dash", "${NOPE?bar-baz}",
	    "required variable NOPE is missing a value: bar-baz"),
	/* :+ and + */
	OK("alt_set", "${FOO:+alt}", "alt", NULL, "", 1),
	OK("alt_empty", "${BAR:+alt}", "", NULL, "", 1),
	OK("alt_unset", "${NOPE:+alt}", "", NULL, "", 1),
	OK("plus_set_empty", "${BAR+alt}", "alt", NULL, "", 1),
	OK("plus_unset", "${NOPE+alt}", "", NULL, "", 1),
	OK("plus_set", "${FOO+alt}", "alt", NULL, "", 1),
	/* Nesting. */
	OK("nest_default", "${NOPE:-${BAR:-x}}", "x", NULL, "", 1),
	OK("nest_default_var", "${NOPE:-${FOO}}", "first", NULL, "", 1),
	OK("nest_default_named", "ok ${NOPE-$FOO}", "ok first", NULL, "", 1),
	OK("nest_two", "${NOPE-${FOO} ${FOO}}", "first first", NULL, "", 1),
	OK("nest_alt", "${BAR+$FOO ${FOO:+second}}", "first second", NULL, "", 1),
	OK("nest_hard_empty", "+ok ${NOPE:-${BAR-defaultValue}}", "+ok ", NULL, "", 1),
	OK("nest_unused_default_lazy", "${FOO:-$MISSING}", "first", "FOO", "", 1),
	OK("nest_unused_required_lazy", "${FOO:-${MISSING:?boom}}", "first", "FOO", "", 1),
	OK("nest_unset_in_used_default", "${NOPE:-$MISSING}", "", NULL, "MISSING", 1),
	ERR("nest_required_used", "${NOPE:-${MISSING:?boom}}",
	    "required variable MISSING is missing a value: boom"),
	OK("brace_balance", "${NOPE:-{x}}", "{x}", NULL, "", 1),
	OK("brace_rest", "${NOPE:-x}}", "x}", NULL, "", 1),
	OK("brace_after_ref", "${NOPE:-a}-${FOO:-b}!", "a-first!", NULL, "", 1),
	/* $$ and lone $. */
	OK("escaped", "$$", "$", NULL, "", 1),
	OK("escaped_braced", "$${FOO}", "${FOO}", NULL, "", 1),
	OK("escaped_named", "pa$$FOO", "pa$FOO", NULL, "", 1),
	OK("escaped_then_ref", "$$$FOO", "$first", NULL, "", 1),
	OK("escaped_in_default", "${NOPE:-$$x}", "$x", NULL, "", 1),
	OK("lone_dollar_space", "a $ string", "a $ string", NULL, "", 0),
	OK("lone_dollar_end", "^REGEX$", "^REGEX$", NULL, "", 0),
	OK("lone_dollar_only", "$", "$", NULL, "", 0),
	OK("dollar_dash", "$-x", "$-x", NULL, "", 0),
	OK("dollar_digit", "$1a", "$1a", NULL, "", 0),
	OK("dollar_brace_close", "$}", "$}", NULL, "", 0),
	/* A DSN as it appears in stacks. */
	OK("dsn_parts", "postgres://${USER}:${PASS:-secret}@${HOST}:5432/db",
	   "postgres://app:secret@db:5432/db", NULL, "", 1),
	OK("dsn_whole", "${DSN:-postgres://localhost/x}",
	   "postgres://postgres:pw@db:5432/app", "DSN", "", 1),
	/* Malformed references. */
	ERR("invalid_open_only", "${",
	    "invalid interpolation format for \"${\": \"${\""),
	ERR("invalid_empty", "${}",
	    "invalid interpolation format for \"${}\": \"${}\""),
	ERR("invalid_digit_name", "${1a}",
	    "invalid interpolation format for \"${1a}\": \"${1a}\""),
	ERR("invalid_unterminated", "pre ${FOO",
	    "invalid interpolation format for \"pre ${FOO\": \"${FOO\""),
	ERR("invalid_unterminated_default", "${NOPE:-x",
	    "invalid interpolation format for \"${NOPE:-x\": \"${NOPE:-x\""),
	ERR("invalid_space_before", "${ FOO}",
	    "invalid interpolation format for \"${ FOO}\": \"${ FOO}\""),
	ERR("invalid_space_after", "${FOO }",
	    "invalid interpolation format for \"${FOO }\": \"${FOO }\""),
	ERR("invalid_bang", "${FOO!}",
	    "invalid interpolation format for \"${FOO!}\": \"${FOO!}\""),
	ERR("invalid_colon_only", "${FOO:x}",
	    "invalid interpolation format for \"${FOO:x}\": \"${FOO:x}\""),
	ERR("invalid_newline_in_default", "${NOPE:-a\nb}",
	    "invalid interpolation format for \"${NOPE:-a\\nb}\": \"${NOPE:-a\""),
	ERR("invalid_unbalanced_nested", "${NOPE:-${B}",
	    "invalid interpolation format for \"${NOPE:-${B}\": \"${B\""),
	ERR("invalid_in_used_default", "${NOPE:-${}}",
	    "invalid interpolation format for \"${NOPE:-${}}\": \"${}\""),
	ERR("invalid_after_valid", "$FOO ${",
	    "invalid interpolation format for \"$FOO ${\": \"${\""),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void run_case(void **state)
{
	const struct icase *c = *state;
	struct interp_result r;
	struct diag d = DIAG_INIT;
	int ret;

	interp_result_init(&r);
	ret = interp_expand(c->in, strlen(c->in), lookup, NULL, "c.yml", 3, 7, &r, &d);
	if (c->err) {
		char *want = xstrfmt("c.yml:3:7: %s", c->err);
		assert_int_equal(ret, -1);
		assert_string_equal(d.msg.buf, want);
		/* A failed expansion leaves the result empty. */
		assert_int_equal(r.value.len, 0);
		assert_null(r.var_name);
		assert_int_equal(r.unset.nr, 0);
		free(want);
	} else {
		struct buf got = BUF_INIT;
		size_t i;

		if (ret)
			fail_msg("unexpected error: %s", d.msg.buf);
		assert_string_equal(r.value.buf, c->want);
		assert_int_equal(r.value.len, strlen(c->want));
		if (c->whole) {
			assert_int_equal(r.whole_var, 1);
			assert_non_null(r.var_name);
			assert_string_equal(r.var_name, c->whole);
			assert_ptr_equal(r.var_origin, origin_of(c->whole));
		} else {
			assert_int_equal(r.whole_var, 0);
			assert_null(r.var_name);
			assert_null(r.var_origin);
		}
		for (i = 0; i < r.unset.nr; i++)
			buf_addf(&got, "%s%s", i ? " " : "", r.unset.v[i]);
		assert_string_equal(got.buf, c->unset);
		assert_int_equal(r.had_refs, c->had_refs);
		assert_int_equal(d.set, 0);
		buf_release(&got);
	}
	interp_result_release(&r);
	diag_release(&d);
}

/* "${U1:-${U2:-...x...}}" with n references. */
static char *nested(int n)
{
	struct buf b = BUF_INIT;
	int i;

	for (i = 1; i <= n; i++)
		buf_addf(&b, "${U%d:-", i);
	buf_addch(&b, 'x');
	for (i = 1; i <= n; i++)
		buf_addch(&b, '}');
	return buf_detach(&b, NULL);
}

static void test_depth_limit(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;
	char *ok = nested(INTERP_MAX_DEPTH), *deep = nested(INTERP_MAX_DEPTH + 1);

	(void)state;
	interp_result_init(&r);
	assert_int_equal(interp_expand(ok, strlen(ok), lookup, NULL, "c.yml", 1, 1,
				       &r, &d), 0);
	assert_string_equal(r.value.buf, "x");
	assert_int_equal(interp_expand(deep, strlen(deep), lookup, NULL, "c.yml", 1, 1,
				       &r, &d), -1);
	assert_non_null(strstr(d.msg.buf, "c.yml:1:1: interpolation nested too deeply in \"${U1:-"));
	assert_non_null(strstr(d.msg.buf, "...\" (max 16)"));
	/* An unused deep default is never expanded, as in compose-go. */
	diag_release(&d);
	free(deep);
	deep = xstrfmt("${FOO:-%s}", ok);
	free(ok);
	ok = nested(40);
	free(deep);
	deep = xstrfmt("${FOO:-%s}", ok);
	assert_int_equal(interp_expand(deep, strlen(deep), lookup, NULL, "c.yml", 1, 1,
				       &r, &d), 0);
	assert_string_equal(r.value.buf, "first");
	interp_result_release(&r);
	diag_release(&d);
	free(ok);
	free(deep);
}

static void test_length_limit(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;
	size_t n = INTERP_MAX_LEN;
	char *s = xmalloc(n + 2);

	(void)state;
	memset(s, 'a', n + 1);
	s[n + 1] = '\0';
	interp_result_init(&r);
	assert_int_equal(interp_expand(s, n, lookup, NULL, "c.yml", 2, 3, &r, &d), 0);
	assert_int_equal(r.value.len, n);
	assert_int_equal(interp_expand(s, n + 1, lookup, NULL, "c.yml", 2, 3, &r, &d), -1);
	assert_string_equal(d.msg.buf,
			    "c.yml:2:3: value too long to interpolate (65537 bytes, max 65536)");
	assert_int_equal(r.value.len, 0);
	interp_result_release(&r);
	diag_release(&d);
	free(s);
}

/* Many references on one long line stay linear (no quadratic rescans). */
static void test_many_refs(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	while (b.len + 12 < INTERP_MAX_LEN)
		buf_addstr(&b, "${NOPE-x}}");
	interp_result_init(&r);
	assert_int_equal(interp_expand(b.buf, b.len, lookup, NULL, "c.yml", 1, 1, &r, &d), 0);
	assert_int_equal(r.value.len, b.len / 10 * 2);
	interp_result_release(&r);
	buf_release(&b);
}

/* The length is honoured (no NUL needed) and the result is reusable. */
static void test_length_and_reuse(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;
	const char *s = "$FOOTER";

	(void)state;
	interp_result_init(&r);
	assert_int_equal(interp_expand(s, 4, lookup, NULL, "c.yml", 1, 1, &r, &d), 0);
	assert_string_equal(r.value.buf, "first");
	assert_int_equal(r.whole_var, 1);
	assert_int_equal(interp_expand("$A $B", 5, lookup, NULL, "c.yml", 1, 1, &r, &d), 0);
	assert_string_equal(r.value.buf, " ");
	assert_int_equal(r.whole_var, 0);
	assert_null(r.var_name);
	assert_int_equal(r.unset.nr, 2);
	interp_result_release(&r);
	interp_result_release(&r); /* releasing twice is harmless */
	diag_release(&d);
}

/* Without a file name the message has no place. */
static void test_no_file(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;

	(void)state;
	interp_result_init(&r);
	assert_int_equal(interp_expand("${X:?gone}", 10, lookup, NULL, NULL, 0, 0, &r, &d), -1);
	assert_string_equal(d.msg.buf, "required variable X is missing a value: gone");
	interp_result_release(&r);
	diag_release(&d);
}

/*
 * INTERP_SECRETS_OPTIONAL (lint): an unset required password reference
 * expands to "" and is named; any other required variable is still an
 * error, and without the flag the password reference is one too.
 */
static void test_secrets_optional(void **state)
{
	struct interp_result r;
	struct diag d = DIAG_INIT;
	static const char dsn[] = "postgres://app:${APP_PASSWORD:?APP_PASSWORD must be set}@db/x";
	static const char host[] = "postgres://app@${DB_HOST:?set it}/x";

	(void)state;
	interp_result_init(&r);
	assert_int_equal(interp_expand_flags(dsn, strlen(dsn), lookup, NULL, INTERP_SECRETS_OPTIONAL,
					     "c.yml", 1, 1, &r, &d), 0);
	assert_string_equal(r.value.buf, "postgres://app:@db/x");
	assert_int_equal(r.unset_secrets.nr, 1);
	assert_string_equal(r.unset_secrets.v[0], "APP_PASSWORD");
	assert_int_equal(r.unset.nr, 0);
	assert_int_equal(interp_expand_flags(host, strlen(host), lookup, NULL, INTERP_SECRETS_OPTIONAL,
					     "c.yml", 1, 1, &r, &d), -1);
	assert_string_equal(d.msg.buf, "c.yml:1:1: required variable DB_HOST is missing a value: set it");
	diag_release(&d);
	assert_int_equal(interp_expand(dsn, strlen(dsn), lookup, NULL, "c.yml", 1, 1, &r, &d), -1);
	assert_non_null(strstr(d.msg.buf, "required variable APP_PASSWORD is missing a value"));
	assert_true(interp_name_is_secret("db_password"));
	assert_true(interp_name_is_secret("PASSWORD_FILE_X"));
	assert_false(interp_name_is_secret("DB_PASS"));
	interp_result_release(&r);
	diag_release(&d);
}

int main(void)
{
	static struct CMUnitTest tests[NCASES + 6];
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = run_case;
		tests[n].setup_func = NULL;
		tests[n].teardown_func = NULL;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_depth_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_length_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_many_refs);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_length_and_reuse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_no_file);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_secrets_optional);
	return _cmocka_run_group_tests("interp", tests, n, NULL, NULL);
}

/*
 * Tests for envfile: a table of inline cases (each its own cmocka test)
 * with exact values, positions and byte spans, then every
 * fixtures/envfile/NAME.env compared with NAME.expected (one line per
 * entry: KEY|quote|line:col|vstart-vend|value, value with \n \r \t \\
 * escaped; "(bare)" for a key without '=').
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

#include "stack/envfile.h"

struct want {
	const char *key;
	const char *value;
	int line, col;
	const char *literal; /* data[vstart..vend) */
	int quote;
	int has_value;
};

struct ecase {
	const char *name;
	const char *data;
	size_t len;          /* 0: strlen(data) */
	struct want w[4];
	const char *err;     /* expected diag, whole */
};

#define V(k, v, l, c, lit, q) { k, v, l, c, lit, q, 1 }
#define BARE(k, l, c) { k, "", l, c, "", 0, 0 }
#define NO_ENTRIES { { NULL, NULL, 0, 0, NULL, 0, 0 } }

static const struct ecase cases[] = {
	{ "simple", "A=1\n", 0, { V("A", "1", 1, 3, "1", 0) }, NULL },
	{ "blank_and_comments", "\n# c\n   # indented\n\nA=1\n\n#x=y\nB=2", 0,
	  { V("A", "1", 5, 3, "1", 0), V("B", "2", 8, 3, "2", 0) }, NULL },
	{ "export_prefix", "export A=1\nexport\tB = two\n", 0,
	  { V("A", "1", 1, 10, "1", 0), V("B", "two", 2, 12, "two", 0) }, NULL },
	{ "export_is_a_key", "export=1\nexportX=2\n", 0,
	  { V("export", "1", 1, 8, "1", 0), V("exportX", "2", 2, 9, "2", 0) }, NULL },
	{ "spaces_trimmed", "  A  =  hello world  \n", 0,
	  { V("A", "hello world", 1, 9, "hello world", 0) }, NULL },
	{ "inline_comment", "A=foo #bar\nB=foo#bar\nC=x  # two spaces\n", 0,
	  { V("A", "foo", 1, 3, "foo", 0), V("B", "foo#bar", 2, 3, "foo#bar", 0),
	    V("C", "x", 3, 3, "x", 0) }, NULL },
	/* compose-go: only " #" starts a comment, after the value's leading
	 * space is gone; a tab before '#' does not. */
	{ "comment_quirks", "A= # c\nB=a\t#c\n", 0,
	  { V("A", "# c", 1, 4, "# c", 0), V("B", "a\t#c", 2, 3, "a\t#c", 0) }, NULL },
	{ "dsn_fragment_kept", "URL=postgres://u:p@h/db?x=1#frag\n", 0,
	  { V("URL", "postgres://u:p@h/db?x=1#frag", 1, 5,
	      "postgres://u:p@h/db?x=1#frag", 0) }, NULL },
	{ "single_quoted_literal", "A='x $B \\n \"q\"' # c\n", 0,
	  { V("A", "x $B \\n \"q\"", 1, 3, "'x $B \\n \"q\"'", '\'') }, NULL },
	{ "single_quoted_escaped_quote", "A='it\\'s'\n", 0,
	  { V("A", "it's", 1, 3, "'it\\'s'", '\'') }, NULL },
	{ "single_quoted_multiline", "A='l1\nl2'\nB=2\n", 0,
	  { V("A", "l1\nl2", 1, 3, "'l1\nl2'", '\''), V("B", "2", 3, 3, "2", 0) }, NULL },
	{ "double_quoted_escapes", "A=\"a\\nb\\tc\\\\d\\\"e\\$f\\rg\\x\"\n", 0,
	  { V("A", "a\nb\tc\\d\"e$$f\rg\\x", 1, 3,
	      "\"a\\nb\\tc\\\\d\\\"e\\$f\\rg\\x\"", '"') }, NULL },
	{ "double_quoted_octal", "A=\"\\0101\\0\\0128\"\n", 0,
	  { V("A", "A\\0\\0128", 1, 3, "\"\\0101\\0\\0128\"", '"') }, NULL },
	{ "double_quoted_multiline", "A=\"l1\nl2 # not a comment\"\nB=x\n", 0,
	  { V("A", "l1\nl2 # not a comment", 1, 3, "\"l1\nl2 # not a comment\"", '"'),
	    V("B", "x", 3, 3, "x", 0) }, NULL },
	{ "double_quoted_spaces_kept", "A=  \"  x  \"  \n", 0,
	  { V("A", "  x  ", 1, 5, "\"  x  \"", '"') }, NULL },
	{ "quoted_then_comment", "A=\"x\" # c\nB=1\n", 0,
	  { V("A", "x", 1, 3, "\"x\"", '"'), V("B", "1", 2, 3, "1", 0) }, NULL },
	/* compose-go reads text after a closing quote as the next statement. */
	{ "text_after_quote", "A=\"x\"junk\n", 0,
	  { V("A", "x", 1, 3, "\"x\"", '"'), BARE("junk", 1, 10) }, NULL },
	{ "crlf", "A=1 \r\nB='x'\r\nC\r\nD=\r\n", 0,
	  { V("A", "1", 1, 3, "1", 0), V("B", "x", 2, 3, "'x'", '\''),
	    BARE("C", 3, 2), V("D", "", 4, 3, "", 0) }, NULL },
	{ "bom", "\xef\xbb\xbf" "A=1\n", 0, { V("A", "1", 1, 3, "1", 0) }, NULL },
	{ "duplicates_kept", "A=1\nA=2\n", 0,
	  { V("A", "1", 1, 3, "1", 0), V("A", "2", 2, 3, "2", 0) }, NULL },
	{ "bare_keys", "A\nB=2\n  C  \nD", 0,
	  { BARE("A", 1, 2), V("B", "2", 2, 3, "2", 0), BARE("C", 3, 4), BARE("D", 4, 2) },
	  NULL },
	{ "empty_values", "A=\nB=\"\"\nC=''", 0,
	  { V("A", "", 1, 3, "", 0), V("B", "", 2, 3, "\"\"", '"'),
	    V("C", "", 3, 3, "''", '\'') }, NULL },
	{ "yaml_style", "A: b\nB : 'c'\n", 0,
	  { V("A", "b", 1, 4, "b", 0), V("B", "c", 2, 5, "'c'", '\'') }, NULL },
	{ "utf8_columns", "\xc3\x84\xc3\x96=\xc3\xa9 x #c\n", 0,
	  { V("\xc3\x84\xc3\x96", "\xc3\xa9 x", 1, 4, "\xc3\xa9 x", 0) }, NULL },
	{ "digit_key_accepted", "1A=x\nA.b-c[0]=y\n", 0,
	  { V("1A", "x", 1, 4, "x", 0), V("A.b-c[0]", "y", 2, 10, "y", 0) }, NULL },
	{ "value_with_equals", "A==b=c\n", 0, { V("A", "=b=c", 1, 3, "=b=c", 0) }, NULL },
	{ "unquoted_dollar_kept", "A=$B ${C:-d} $$\n", 0,
	  { V("A", "$B ${C:-d} $$", 1, 3, "$B ${C:-d} $$", 0) }, NULL },
	/* Errors. */
	{ "err_space_in_key", "A=1\nA B=x\n", 0, NO_ENTRIES,
	  "e.env:2:1: key cannot contain a space: \"A B\"" },
	{ "err_bad_char", "A!=x\n", 0, NO_ENTRIES,
	  "e.env:1:2: unexpected character \"!\" in variable name \"A!\"" },
	{ "err_bad_char_col", "\xc3\x84$=x\r\n", 0, NO_ENTRIES,
	  "e.env:1:2: unexpected character \"$\" in variable name \"\xc3\x84$\"" },
	{ "err_unterminated_single", "A=1\nB='x\nC=1\n", 0, NO_ENTRIES,
	  "e.env:2:3: unterminated quoted value for B (no closing ' before the end of the file)" },
	{ "err_unterminated_double", "B=  \"x\\\"", 0, NO_ENTRIES,
	  "e.env:1:5: unterminated quoted value for B (no closing \" before the end of the file)" },
	{ "err_missing_key", "=x\n", 0, NO_ENTRIES,
	  "e.env:1:1: missing variable name before '='" },
	{ "err_nul", "A=1\nB=x\0y\n", 10, NO_ENTRIES,
	  "e.env:2:4: NUL byte in env file" },
	{ "err_quote_after_quote", "A='x' 'y'\n", 0, NO_ENTRIES,
	  "e.env:1:7: unexpected character \"'\" in variable name \"'y'\"" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void run_case(void **state)
{
	const struct ecase *c = *state;
	struct envfile ef = ENVFILE_INIT;
	struct diag d = DIAG_INIT;
	size_t len = c->len ? c->len : strlen(c->data), i, nw = 0;
	int ret = envfile_parse("e.env", c->data, len, &ef, &d);

	if (c->err) {
		assert_int_equal(ret, -1);
		assert_string_equal(d.msg.buf, c->err);
		assert_int_equal(ef.nr, 0);
		assert_null(ef.v);
		diag_release(&d);
		return;
	}
	if (ret)
		fail_msg("unexpected error: %s", d.msg.buf);
	while (nw < 4 && c->w[nw].key)
		nw++;
	assert_int_equal(ef.nr, nw);
	for (i = 0; i < nw; i++) {
		const struct want *w = &c->w[i];
		const struct envfile_entry *e = &ef.v[i];
		assert_string_equal(e->key, w->key);
		assert_string_equal(e->value, w->value);
		assert_int_equal(e->line, w->line);
		assert_int_equal(e->col, w->col);
		assert_true(e->vstart <= e->vend && e->vend <= len);
		assert_int_equal(e->vend - e->vstart, strlen(w->literal));
		assert_memory_equal(c->data + e->vstart, w->literal, strlen(w->literal));
		assert_int_equal(e->quote, w->quote);
		assert_int_equal(e->has_value, w->has_value);
		assert_int_equal(envfile_entry_interpolates(e),
				 w->has_value && w->quote != '\'');
	}
	envfile_release(&ef);
}

static void test_get_last_wins(void **state)
{
	static const char data[] = "A=1\nB=x\nA=2\n";
	struct envfile ef = ENVFILE_INIT;
	struct diag d = DIAG_INIT;
	const struct envfile_entry *e;

	(void)state;
	assert_int_equal(envfile_parse("e.env", data, sizeof(data) - 1, &ef, &d), 0);
	e = envfile_get(&ef, "A");
	assert_non_null(e);
	assert_string_equal(e->value, "2");
	assert_int_equal(e->line, 3);
	assert_null(envfile_get(&ef, "C"));
	envfile_release(&ef);
	envfile_release(&ef);
	assert_null(envfile_get(&ef, "A"));
}

static void test_size_limit(void **state)
{
	struct envfile ef = ENVFILE_INIT;
	struct diag d = DIAG_INIT;
	size_t n = ENVFILE_MAX_SIZE;
	char *data = xmalloc(n + 1);

	(void)state;
	memset(data, '\n', n + 1);
	memcpy(data, "A=1", 3);
	memcpy(data + n - 3, "B=2", 3);
	assert_int_equal(envfile_parse("big.env", data, n, &ef, &d), 0);
	assert_int_equal(ef.nr, 2);
	assert_int_equal(ef.v[1].vstart, n - 1);
	envfile_release(&ef);
	assert_int_equal(envfile_parse("big.env", data, n + 1, &ef, &d), -1);
	assert_string_equal(d.msg.buf, "big.env: env file too large (1048577 bytes, max 1048576)");
	diag_release(&d);
	free(data);
}

/* Many statements on one line keep positions cheap and right. */
static void test_long_line(void **state)
{
	struct envfile ef = ENVFILE_INIT;
	struct diag d = DIAG_INIT;
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 50000; i++)
		buf_addstr(&b, "K=\"v\"");
	assert_int_equal(envfile_parse("e.env", b.buf, b.len, &ef, &d), 0);
	assert_int_equal(ef.nr, 50000);
	assert_int_equal(ef.v[49999].col, 49999 * 5 + 3);
	envfile_release(&ef);
	buf_release(&b);
}

static void test_empty(void **state)
{
	struct envfile ef = ENVFILE_INIT;
	struct diag d = DIAG_INIT;

	(void)state;
	assert_int_equal(envfile_parse("e.env", "", 0, &ef, &d), 0);
	assert_int_equal(ef.nr, 0);
	assert_int_equal(envfile_parse("e.env", "\xef\xbb\xbf \n# only\n", 12, &ef, &d), 0);
	assert_int_equal(ef.nr, 0);
}


static void add_escaped(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\n': buf_addstr(b, "\\n"); break;
		case '\r': buf_addstr(b, "\\r"); break;
		case '\t': buf_addstr(b, "\\t"); break;
		case '\\': buf_addstr(b, "\\\\"); break;
		default: buf_addch(b, s[i]);
		}
	}
}

/* Every fixtures/envfile/NAME.env against NAME.expected. */
static void test_fixtures(void **state)
{
	const char *dir = "fixtures/envfile";
	DIR *dh = opendir(dir);
	struct dirent *de;
	int seen = 0;

	(void)state;
	if (!dh)
		fail_msg("cannot open %s (run from the top of the tree)", dir);
	while ((de = readdir(dh))) {
		size_t nl = strlen(de->d_name), len, wlen, i;
		char *path, *data, *want;
		struct envfile ef = ENVFILE_INIT;
		struct diag d = DIAG_INIT;
		struct buf got = BUF_INIT;

		if (nl < 5 || strcmp(de->d_name + nl - 4, ".env"))
			continue;
		path = xstrfmt("%s/%s", dir, de->d_name);
		data = read_file(path, &len);
		free(path);
		path = xstrfmt("%s/%.*s.expected", dir, (int)(nl - 4), de->d_name);
		want = read_file(path, &wlen);
		if (!data || !want)
			fail_msg("missing fixture pair for %s", de->d_name);
		if (envfile_parse(de->d_name, data, len, &ef, &d))
			buf_addf(&got, "error: %s\n", d.msg.buf);
		for (i = 0; i < ef.nr; i++) {
			const struct envfile_entry *e = &ef.v[i];
			buf_addf(&got, "%s|%c|%d:%d|%zu-%zu|", e->key,
				 e->quote ? e->quote : '-', e->line, e->col,
				 e->vstart, e->vend);
			if (e->has_value)
				add_escaped(&got, e->value, strlen(e->value));
			else
				buf_addstr(&got, "(bare)");
			buf_addch(&got, '\n');
			/* The span is the literal: re-reading it gives the value. */
			if (e->quote == '\'') {
				assert_int_equal(data[e->vstart], '\'');
				assert_int_equal(data[e->vend - 1], '\'');
			}
		}
		if (strcmp(got.buf, want))
			fail_msg("%s: got\n%s\nwant\n%s", de->d_name, got.buf, want);
		seen++;
		envfile_release(&ef);
		diag_release(&d);
		buf_release(&got);
		free(path);
		free(data);
		free(want);
	}
	closedir(dh);
	assert_true(seen >= 2);
}

/* envfile_set on data: out must equal want (NULL: refused). */
static void set_case(const char *data, const char *const *keys, const char *const *vals, size_t n,
		     const char *want)
{
	struct buf out = BUF_INIT;
	struct diag d = DIAG_INIT;
	int r = envfile_set(".env", data, strlen(data), keys, vals, n, "# mark", &out, &d);
	if (!want) {
		assert_int_equal(r, -1);
		assert_true(d.set);
	} else {
		if (r)
			fail_msg("%s", d.msg.buf);
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.buf, want, out.len);
	}
	buf_release(&out);
	diag_release(&d);
}

static void test_set_adds_never_shifts(void **state)
{
	(void)state;
	const char *k[] = { "A_PASSWORD", "B_PASSWORD" }, *v[] = { "aa11", "bb22" };
	/* Appended at the end, below the mark; every byte before stays. */
	set_case("# c\nX=1\n", k, v, 2, "# c\nX=1\n# mark\nA_PASSWORD=aa11\nB_PASSWORD=bb22\n");
	/* No final newline: one is added first; CRLF files get CRLF lines. */
	set_case("X=1\r\nY=\"a\r\nb\"", k, v, 1, "X=1\r\nY=\"a\r\nb\"\r\n# mark\r\nA_PASSWORD=aa11\r\n");
	/* Already defined (a re-run): replaced in place, the mark not repeated. */
	set_case("# mark\nA_PASSWORD=old\nZ=\"q\nr\"\n", k, v, 1, "# mark\nA_PASSWORD=aa11\nZ=\"q\nr\"\n");
	set_case("A_PASSWORD='old' # kept comment\n", k, v, 1, "A_PASSWORD=aa11 # kept comment\n");
	set_case("export A_PASSWORD\n", k, v, 1, "export A_PASSWORD=aa11\n");
	/* The same values again: byte-identical. */
	set_case("X=1\n# mark\nA_PASSWORD=aa11\nB_PASSWORD=bb22\n", k, v, 2,
		 "X=1\n# mark\nA_PASSWORD=aa11\nB_PASSWORD=bb22\n");
	set_case("", k, v, 1, "# mark\nA_PASSWORD=aa11\n");
}

static void test_set_refuses(void **state)
{
	(void)state;
	const char *k[] = { "A_PASSWORD" }, *bad[] = { "has space" }, *ok[] = { "x" };
	set_case("X=1\n", k, bad, 1, NULL);
	set_case("X=\"unterminated\n", k, ok, 1, NULL);
}

int main(void)
{
	static struct CMUnitTest tests[NCASES + 7];
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		tests[n].name = cases[i].name;
		tests[n].test_func = run_case;
		tests[n].setup_func = NULL;
		tests[n].teardown_func = NULL;
		tests[n].initial_state = (void *)&cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get_last_wins);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_size_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_long_line);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_empty);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_fixtures);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_adds_never_shifts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_refuses);
	return _cmocka_run_group_tests("envfile", tests, n, NULL, NULL);
}

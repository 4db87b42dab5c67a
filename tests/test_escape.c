/*
 * test_escape: input-derived text cannot drive a terminal, forge a line,
 * restructure markdown or break the YAML `config` prints.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/escape.h"

typedef void (*escfn)(const char *, struct buf *);

static void check(escfn f, const char *in, const char *want)
{
	struct buf b = BUF_INIT;
	f(in, &b);
	assert_string_equal(b.buf, want);
	buf_release(&b);
}

static void test_quote_lines(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;
	esc_quote_lines("Error: pull\x1b[2J\r\ndsnflip: ok\n\nend", "    ", &b);
	assert_string_equal(b.buf, "\n    Error: pull\\x1b[2J\n    dsnflip: ok\n    \n    end");
	buf_release(&b);
}

static void test_text(void **state)
{
	(void)state;
	check(esc_text, "app\x1b]0;pwned\x07\n# Approved", "app\\x1b]0;pwned\\x07\\x0a# Approved");
	check(esc_text, "caf\xc3\xa9 \xc3\x84", "caf\xc3\xa9 \xc3\x84");
	check(esc_text, "c1 \xc2\x9b" "2J", "c1 \\x9b2J");
	check(esc_text, "ls\xe2\x80\xa8x", "ls\\u2028x");
	check(esc_text, "bad \xff utf8", "bad \\xff utf8");
	/* a failure's indented continuation lines stay; a line at column 0 cannot be forged */
	check(esc_text_block, "failed:\n    one\n  two", "failed:\n    one\n  two");
	check(esc_text_block, "db 'x\ndsnflip: ok' failed", "db 'x\\x0adsnflip: ok' failed");
	check(esc_text_block, "a\x1b[2J\n\tb", "a\\x1b[2J\\x0a\\x09b");
	check(esc_text, "typed \\x1b", "typed \\\\x1b");
	check(esc_text, "C:\\path", "C:\\path");
	assert_false(esc_text_needed("plain caf\xc3\xa9"));
	assert_true(esc_text_needed("a\tb"));
}

static void test_markdown(void **state)
{
	(void)state;
	check(esc_markdown, "run_migrations", "run_migrations");
	check(esc_markdown, "_x_ *y* `z` [l](u) <b> a|b ~s~ &amp;",
	      "\\_x\\_ \\*y\\* \\`z\\` \\[l\\](u) \\<b\\> a\\|b \\~s\\~ \\&amp;");
	check(esc_markdown, "db\n# Approved by security", "db\\\\x0a# Approved by security");
}

static void test_yaml(void **state)
{
	(void)state;
	check(esc_yaml, "postgres://u:****@db/app", "postgres://u:****@db/app");
	check(esc_yaml, "****", "\"****\"");
	check(esc_yaml, "", "\"\"");
	check(esc_yaml, "5", "\"5\"");
	check(esc_yaml, "yes", "\"yes\"");
	check(esc_yaml, "acme/api:", "\"acme/api:\"");
	check(esc_yaml, "a: b", "\"a: b\"");
	check(esc_yaml, "x #c", "\"x #c\"");
	check(esc_yaml, "say \"hi\"\x1b", "\"say \\\"hi\\\"\\x1b\"");
	check(esc_yaml, "caf\xc3\xa9", "caf\xc3\xa9");
	check(esc_yaml_quoted, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_quote_lines),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_yaml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests for ydoc: byte spans (the literal exactly, quotes included, in the
 * file's bytes whatever the line ends, BOM, tabs or UTF-8 before the value),
 * merge keys, aliases, limits, duplicate keys, tags and documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/ydoc.h"

struct fx {
	struct arena a;
	struct diag d;
	const struct srcfile *f;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	fx->d = (struct diag)DIAG_INIT;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	arena_release(&fx->a);
	diag_release(&fx->d);
	free(fx);
	return 0;
}

/* Parse len bytes (0: strlen) with limits lim (NULL: defaults); the root or NULL. */
static struct ynode *parse_lim(struct fx *fx, const char *data, size_t len,
			       const struct ylimits *lim, int *rc)
{
	struct ynode *root = NULL;
	if (!len)
		len = strlen(data);
	diag_release(&fx->d);
	fx->d = (struct diag)DIAG_INIT;
	fx->f = srcfile_from(&fx->a, "t.yml", data, len);
	*rc = ydoc_load(&fx->a, fx->f, lim, &root, &fx->d);
	return root;
}

static struct ynode *parse_n(struct fx *fx, const char *data, size_t len)
{
	int rc;
	struct ynode *root = parse_lim(fx, data, len, NULL, &rc);
	if (rc)
		fail_msg("parse failed: %s", fx->d.msg.buf);
	return root;
}

static struct ynode *parse(struct fx *fx, const char *data)
{
	return parse_n(fx, data, 0);
}

/* The error message of a parse that must fail. */
static const char *parse_err(struct fx *fx, const char *data, const struct ylimits *lim)
{
	int rc;
	parse_lim(fx, data, 0, lim, &rc);
	assert_int_equal(rc, -1);
	return fx->d.msg.buf;
}

/* Assert the node's span is exactly `lit` and its place is line:col. */
static void check_span(struct fx *fx, const struct ynode *n, const char *lit, int line, int col)
{
	assert_non_null(n);
	size_t len = n->pos.end - n->pos.start;
	if (len != strlen(lit) || memcmp(fx->f->data + n->pos.start, lit, len))
		fail_msg("span [%zu,%zu) is \"%.*s\", want \"%s\"", n->pos.start, n->pos.end,
			 (int)len, fx->f->data + n->pos.start, lit);
	assert_int_equal(n->pos.line, line);
	assert_int_equal(n->pos.col, col);
	/* line:col and the byte offset agree both ways. */
	assert_int_equal(srcfile_offset(fx->f, line, col), n->pos.start);
	int l, c;
	srcfile_linecol(fx->f, n->pos.start, &l, &c);
	assert_int_equal(l, line);
	assert_int_equal(c, col);
}

static const struct ynode *get(const struct ynode *m, const char *key)
{
	const struct ynode *v = ymap_get(m, key);
	if (!v)
		fail_msg("no key '%s'", key);
	return v;
}

static void test_scalar_styles(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "plain: postgres://u@h/db\n"
				    "single: 'it''s'\n"
				    "double: \"a\\\"b\"\n"
				    "empty_dq: \"\"\n"
				    "multi: a\n  b\n"
				    "lit: |\n  l1\n  l2\n"
				    "fold: >-\n  f1\n  f2\n"
				    "last: x\n");
	check_span(fx, get(r, "plain"), "postgres://u@h/db", 1, 8);
	assert_int_equal(get(r, "plain")->style, YS_PLAIN);
	check_span(fx, get(r, "single"), "'it''s'", 2, 9);
	assert_string_equal(get(r, "single")->str, "it's");
	assert_int_equal(get(r, "single")->style, YS_SINGLE);
	check_span(fx, get(r, "double"), "\"a\\\"b\"", 3, 9);
	assert_string_equal(get(r, "double")->str, "a\"b");
	assert_int_equal(get(r, "double")->style, YS_DOUBLE);
	check_span(fx, get(r, "empty_dq"), "\"\"", 4, 11);
	assert_false(ynode_is_null(get(r, "empty_dq")));
	check_span(fx, get(r, "multi"), "a\n  b", 5, 8);
	assert_string_equal(get(r, "multi")->str, "a b");
	/* Block scalars: from the indicator through the last line break. */
	check_span(fx, get(r, "lit"), "|\n  l1\n  l2\n", 7, 6);
	assert_string_equal(get(r, "lit")->str, "l1\nl2\n");
	assert_int_equal(get(r, "lit")->style, YS_LITERAL);
	check_span(fx, get(r, "fold"), ">-\n  f1\n  f2\n", 10, 7);
	assert_string_equal(get(r, "fold")->str, "f1 f2");
	assert_int_equal(get(r, "fold")->style, YS_FOLDED);
	check_span(fx, get(r, "last"), "x", 13, 7);
}

static void test_crlf(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "a: one\r\nb: \"two\"\r\nc:\r\n  - 'three'\r\n  - four\r\n");
	check_span(fx, get(r, "a"), "one", 1, 4);
	check_span(fx, get(r, "b"), "\"two\"", 2, 4);
	const struct ynode *c = get(r, "c");
	assert_int_equal(c->kind, YN_SEQ);
	check_span(fx, c->items[0], "'three'", 4, 5);
	check_span(fx, c->items[1], "four", 5, 5);
	assert_string_equal(c->items[1]->str, "four");
}

static void test_bom(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "\xef\xbb\xbf" "a: \"x\"\nb: y\n");
	/* Column 1 is the first character after the BOM. */
	check_span(fx, r->keys[0], "a", 1, 1);
	assert_int_equal(r->keys[0]->pos.start, 3);
	check_span(fx, get(r, "a"), "\"x\"", 1, 4);
	check_span(fx, get(r, "b"), "y", 2, 4);
}

static void test_utf8_before_value(void **state)
{
	struct fx *fx = *state;
	/* libyaml's mark.index/column count characters: "é" is 2 bytes, "→" 3,
	 * "😀" 4; every span must still be the literal's bytes. */
	struct ynode *r = parse(fx, "caf\xc3\xa9: \"cr\xc3\xa8me\"\n"
				    "k: [\xe2\x86\x92, '\xf0\x9f\x98\x80', \"ok\"]\n"
				    "\xc3\xa9\xc3\xa9: {\xc3\xa0: 'x', b: \"y\"}\n"
				    "d: \xc3\xa9t\xc3\xa9 \xe2\x86\x92 ${X}\n");
	check_span(fx, get(r, "caf\xc3\xa9"), "\"cr\xc3\xa8me\"", 1, 7);
	assert_int_equal(get(r, "caf\xc3\xa9")->pos.start, 7);
	const struct ynode *k = get(r, "k");
	check_span(fx, k->items[0], "\xe2\x86\x92", 2, 5);
	check_span(fx, k->items[1], "'\xf0\x9f\x98\x80'", 2, 8);
	check_span(fx, k->items[2], "\"ok\"", 2, 13);
	const struct ynode *m = get(r, "\xc3\xa9\xc3\xa9");
	check_span(fx, get(m, "\xc3\xa0"), "'x'", 3, 9);
	check_span(fx, get(m, "b"), "\"y\"", 3, 17);
	check_span(fx, get(r, "d"), "\xc3\xa9t\xc3\xa9 \xe2\x86\x92 ${X}", 4, 4);
}

static void test_tabs_and_flow(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "a:\t\"tab\"\n"
				    "b: {x: 1, y: 'two', z: \"three\"}\n"
				    "c: [ p , \"q\" ]\n"
				    "d: plain\t# comment\n");
	check_span(fx, get(r, "a"), "\"tab\"", 1, 4);
	const struct ynode *b = get(r, "b");
	check_span(fx, b, "{x: 1, y: 'two', z: \"three\"}", 2, 4);
	check_span(fx, get(b, "x"), "1", 2, 8);
	check_span(fx, get(b, "y"), "'two'", 2, 14);
	check_span(fx, get(b, "z"), "\"three\"", 2, 24);
	const struct ynode *c = get(r, "c");
	check_span(fx, c->items[0], "p", 3, 6);
	check_span(fx, c->items[1], "\"q\"", 3, 10);
	check_span(fx, get(r, "d"), "plain", 4, 4);
}

static void test_properties_outside_span(void **state)
{
	struct fx *fx = *state;
	/* An anchor or tag is not part of the literal a rewrite replaces. */
	struct ynode *r = parse(fx, "a: &url postgres://u@h/db\n"
				    "b: !reset\n"
				    "c: !!str &n 5\n"
				    "d: &q\n  # the value is on the next line\n  \"quoted\"\n"
				    "e: *url\n");
	check_span(fx, get(r, "a"), "postgres://u@h/db", 1, 9);
	assert_string_equal(get(r, "a")->anchor, "url");
	const struct ynode *b = get(r, "b");
	assert_string_equal(b->tag, "!reset");
	assert_int_equal(b->pos.start, b->pos.end);
	check_span(fx, get(r, "c"), "5", 3, 13);
	check_span(fx, get(r, "d"), "\"quoted\"", 6, 3);
	/* The alias is the anchored node itself, with the anchor's span. */
	assert_ptr_equal(get(r, "e"), get(r, "a"));
}

static void test_tags_kept(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "environment: !reset []\n"
				    "command: !override [\"a\"]\n"
				    "labels: !override\n  k: v\n"
				    "x: !custom 1\n");
	assert_string_equal(get(r, "environment")->tag, "!reset");
	assert_int_equal(get(r, "environment")->kind, YN_SEQ);
	assert_string_equal(get(r, "command")->tag, "!override");
	assert_string_equal(get(r, "labels")->tag, "!override");
	assert_int_equal(get(r, "labels")->kind, YN_MAP);
	assert_string_equal(get(r, "x")->tag, "!custom");
	assert_null(get(r, "x")->anchor);
}

static void test_merge_keys(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "base: &base {A: base-a, B: base-b, C: base-c}\n"
				    "more: &more {B: more-b, D: more-d}\n"
				    "explicit_first:\n  A: mine\n  <<: *base\n"
				    "explicit_after:\n  <<: *base\n  A: mine\n"
				    "list:\n  <<: [*more, *base]\n  C: mine\n"
				    "two:\n  <<: *more\n  <<: *base\n");
	const struct ynode *m = get(r, "explicit_first");
	assert_int_equal(m->n, 3);
	assert_string_equal(get(m, "A")->str, "mine");
	assert_string_equal(get(m, "B")->str, "base-b");
	m = get(r, "explicit_after");
	assert_int_equal(m->n, 3);
	assert_string_equal(get(m, "A")->str, "mine");
	assert_int_equal(ymap_index(m, "<<"), -1);
	/* In a list the earlier map wins. */
	m = get(r, "list");
	assert_int_equal(m->n, 4);
	assert_string_equal(get(m, "B")->str, "more-b");
	assert_string_equal(get(m, "A")->str, "base-a");
	assert_string_equal(get(m, "C")->str, "mine");
	assert_string_equal(get(m, "D")->str, "more-d");
	/* A merged value keeps its place inside the anchored map. */
	check_span(fx, get(m, "A"), "base-a", 1, 17);
	assert_ptr_equal(get(m, "A"), get(get(r, "base"), "A"));
	/* Two << keys: the first wins too. */
	m = get(r, "two");
	assert_string_equal(get(m, "B")->str, "more-b");
	assert_string_equal(get(m, "C")->str, "base-c");
}

static void test_merge_key_errors(void **state)
{
	struct fx *fx = *state;
	assert_string_equal(parse_err(fx, "s: &s text\nm:\n  k:\n    <<: *s\n", NULL),
			    "t.yml:4:5: m.k: merge key '<<' needs a mapping or a list of mappings, "
			    "not a string");
	assert_string_equal(parse_err(fx, "a: &a {x: 1}\nm:\n  <<: [*a, [1]]\n", NULL),
			    "t.yml:3:3: m: merge key '<<' needs a mapping or a list of mappings, "
			    "not a list");
	/* A quoted "<<" is an ordinary key. */
	struct ynode *r = parse(fx, "m:\n  \"<<\": 1\n");
	assert_string_equal(get(get(r, "m"), "<<")->str, "1");
}

static void test_aliases_share(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "x-env: &env\n  DB: postgres://h/db\n"
				    "a:\n  environment: *env\n"
				    "b:\n  environment: *env\n");
	const struct ynode *ea = get(get(r, "a"), "environment");
	assert_ptr_equal(ea, get(get(r, "b"), "environment"));
	assert_ptr_equal(ea, get(r, "x-env"));
	check_span(fx, get(ea, "DB"), "postgres://h/db", 2, 7);
	/* A redefined anchor shadows the earlier one from there on. */
	r = parse(fx, "a: &x one\nb: *x\nc: &x two\nd: *x\n");
	assert_string_equal(get(r, "b")->str, "one");
	assert_string_equal(get(r, "d")->str, "two");
}

static void test_alias_limits(void **state)
{
	struct fx *fx = *state;
	struct ylimits lim = { 1u << 20, 64, 50 };
	/* 4 x 4 x 4 = 64 leaves > 50. */
	assert_string_equal(parse_err(fx, "a: &a [1, 2, 3, 4]\n"
					  "b: &b [*a, *a, *a, *a]\n"
					  "c: [*b, *b, *b, *b]\n", &lim),
			    "t.yml:3:4: c: aliases expand to more than 50 nodes (an alias bomb?)");
	/* Below the bound it loads. */
	int rc;
	parse_lim(fx, "a: &a [1, 2, 3, 4]\nb: [*a, *a]\n", 0, &lim, &rc);
	assert_int_equal(rc, 0);
	/* The expanded size saturates instead of overflowing. */
	struct buf bomb = BUF_INIT;
	buf_addstr(&bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 30; i++)
		buf_addf(&bomb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i,
			 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	const char *msg = parse_err(fx, bomb.buf, NULL);
	assert_non_null(strstr(msg, "aliases expand to more than 1000000 nodes"));
	buf_release(&bomb);
	/* An alias inside the node it names is refused (it would be a cycle). */
	assert_string_equal(parse_err(fx, "a: &a\n  b: *a\n", NULL),
			    "t.yml:2:6: alias '*a' is inside the node it refers to (a recursive alias)");
	assert_string_equal(parse_err(fx, "a: [1, *nope]\n", NULL),
			    "t.yml:1:8: unknown alias '*nope'");
}

static void test_depth_limit(void **state)
{
	struct fx *fx = *state;
	struct ylimits lim = { 1u << 20, 4, 1000 };
	int rc;
	parse_lim(fx, "a: {b: {c: [x]}}\n", 0, &lim, &rc); /* 4 levels */
	assert_int_equal(rc, 0);
	assert_string_equal(parse_err(fx, "a: {b: {c: [[x]]}}\n", &lim),
			    "t.yml:1:13: a.b.c[0]: nesting deeper than 4 levels");
	lim.max_bytes = 10;
	assert_string_equal(parse_err(fx, "a: 12345678901\n", &lim),
			    "t.yml: file is larger than the limit of 10 bytes");
}

static void test_duplicate_keys(void **state)
{
	struct fx *fx = *state;
	assert_string_equal(parse_err(fx, "services:\n  api:\n    environment:\n"
					  "      A: 1\n      B: 2\n      A: 3\n", NULL),
			    "t.yml:6:7: services.api.environment: duplicate key 'A' (first at line 4)");
	assert_string_equal(parse_err(fx, "a: 1\na: 2\n", NULL),
			    "t.yml:2:1: duplicate key 'a' (first at line 1)");
	assert_string_equal(parse_err(fx, "l:\n  - {k: 1, k: 2}\n", NULL),
			    "t.yml:2:12: l[0]: duplicate key 'k' (first at line 2)");
	/* A big mapping (found by hash) reports the same. */
	struct buf big = BUF_INIT;
	for (int i = 0; i < 100; i++)
		buf_addf(&big, "k%d: %d\n", i, i);
	int rc;
	parse_lim(fx, big.buf, 0, NULL, &rc);
	assert_int_equal(rc, 0);
	buf_addstr(&big, "k42: again\n");
	assert_string_equal(parse_err(fx, big.buf, NULL),
			    "t.yml:101:1: duplicate key 'k42' (first at line 43)");
	buf_release(&big);
	/* A key given explicitly and by a merge is no duplicate. */
	struct ynode *r = parse(fx, "b: &b {k: 1}\nm: {<<: *b, k: 2}\n");
	assert_string_equal(get(get(r, "m"), "k")->str, "2");
}

static void test_syntax_errors(void **state)
{
	struct fx *fx = *state;
	assert_string_equal(parse_err(fx, "a:\n  b: \"open\n  c: d\n", NULL),
			    "t.yml:4:1: a.b: found unexpected end of stream while scanning a quoted "
			    "scalar that began at 2:6");
	assert_string_equal(parse_err(fx, "a:\n  b: 1\n c: 2\n", NULL),
			    "t.yml:3:2: did not find expected key while parsing a block mapping "
			    "that began at 1:1");
	/* UTF-16 would make every byte offset wrong: refused. */
	assert_string_equal(parse_err(fx, "\xff\xfe" "a\0:\0 \0b\0", NULL),
			    "t.yml: the file is UTF-16; compose files must be UTF-8 (convert it "
			    "with iconv -f UTF-16 -t UTF-8)");
}

static void test_documents(void **state)
{
	struct fx *fx = *state;
	int rc;
	struct ynode *r = parse_lim(fx, "", 0, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_null(r);
	r = parse(fx, "# only a comment\n");
	assert_null(r);
	assert_string_equal(parse_err(fx, "a: 1\n---\nb: 2\n", NULL),
			    "t.yml:2:1: more than one YAML document in one file");

	struct ynode **docs;
	size_t n;
	const char *multi = "a: &x 1\n---\nb: 2\n---\n---\nc: 3\n---\n";
	const struct srcfile *f = srcfile_from(&fx->a, "m.yml", multi, strlen(multi));
	diag_release(&fx->d);
	fx->d = (struct diag)DIAG_INIT;
	assert_int_equal(ydoc_load_all(&fx->a, f, NULL, &docs, &n, &fx->d), 0);
	assert_int_equal(n, 3);
	assert_string_equal(get(docs[0], "a")->str, "1");
	assert_string_equal(get(docs[1], "b")->str, "2");
	assert_int_equal(get(docs[2], "c")->pos.line, 6);
	/* Anchors do not cross documents. */
	f = srcfile_from(&fx->a, "m.yml", "a: &x 1\n---\nb: *x\n", 18);
	assert_int_equal(ydoc_load_all(&fx->a, f, NULL, &docs, &n, &fx->d), -1);
	assert_string_equal(fx->d.msg.buf, "m.yml:3:4: unknown alias '*x'");
}

static void test_linecol(void **state)
{
	struct fx *fx = *state;
	const struct srcfile *f = srcfile_from(&fx->a, "x", "ab\r\n\xc3\xa9z\rq\n", 10);
	int l, c;
	assert_int_equal(f->nlines, 4);
	assert_int_equal(srcfile_offset(f, 2, 2), 6);
	srcfile_linecol(f, 6, &l, &c);
	assert_int_equal(l, 2);
	assert_int_equal(c, 2);
	srcfile_linecol(f, 8, &l, &c); /* after the lone CR */
	assert_int_equal(l, 3);
	assert_int_equal(c, 1);
	assert_int_equal(srcfile_offset(f, 9, 1), f->len);
}

/* One long line: every span exact (UTF-8, anchors, aliases, nested flows). */
static void test_long_line_spans(void **state)
{
	struct fx *fx = *state;
	struct buf b = BUF_INIT;
	buf_addstr(&b, "k: [");
	for (int i = 0; i < 3000; i++)
		buf_addf(&b, "%s\xc3\xa9%d, &a%d 'q%d', {m: *a%d}, ", i ? "" : "", i, i, i, i);
	buf_addstr(&b, "end]\n");
	struct ynode *r = parse(fx, b.buf);
	const struct ynode *k = get(r, "k");
	assert_int_equal(k->n, 3 * 3000 + 1);
	int col = 5;
	for (int i = 0; i < 3000; i++) {
		char lit[32], q[32];
		snprintf(lit, sizeof(lit), "\xc3\xa9%d", i);
		check_span(fx, k->items[3 * i], lit, 1, col);
		col += (int)strlen(lit) - 1 + 2;
		snprintf(q, sizeof(q), "'q%d'", i);
		int anchor = snprintf(NULL, 0, "&a%d ", i);
		check_span(fx, k->items[3 * i + 1], q, 1, col + anchor);
		col += anchor + (int)strlen(q) + 2;
		const struct ynode *m = k->items[3 * i + 2];
		assert_int_equal(m->pos.col, col);
		assert_int_equal(fx->f->data[m->pos.start], '{');
		assert_int_equal(fx->f->data[m->pos.end - 1], '}');
		col += snprintf(NULL, 0, "{m: *a%d}, ", i);
	}
	check_span(fx, k->items[3 * 3000], "end", 1, col);
	buf_release(&b);
}

static void test_helpers(void **state)
{
	struct fx *fx = *state;
	struct ynode *r = parse(fx, "a: ~\nb: null\nc: ''\nd:\ne: [1]\n");
	assert_true(ynode_is_null(get(r, "a")));
	assert_true(ynode_is_null(get(r, "b")));
	assert_false(ynode_is_null(get(r, "c")));
	assert_true(ynode_is_null(get(r, "d")));
	assert_string_equal(ykind_name(get(r, "e")), "a list");
	assert_string_equal(ykind_name(r), "a mapping");
	assert_string_equal(ykind_name(get(r, "a")), "null");
	assert_null(ymap_get(r, "zz"));
	assert_null(ymap_get(get(r, "e"), "a"));
	struct ynode *m = ynode_new(&fx->a, YN_MAP);
	for (int i = 0; i < 100; i++) {
		char k[8];
		snprintf(k, sizeof(k), "k%d", i);
		ymap_push(&fx->a, m, ynode_scalar(&fx->a, k, NULL), ynode_scalar(&fx->a, "v", NULL));
	}
	assert_int_equal(ymap_index(m, "k99"), 99);
	struct ynode *c = ynode_copy(&fx->a, m);
	c->vals[0] = NULL;
	assert_non_null(m->vals[0]);
}

/* An edited file read back: the scalar (key or value) starting at each offset, in any document. */
static void test_scalars_at(void **state)
{
	struct fx *fx = *state;
	const char *text = "a: 1\nb: \"x y\"\n---\nc: [p, 'q']\n";
	const struct srcfile *f = srcfile_from(&fx->a, "t.yml", text, strlen(text));
	struct yscalar_at v[4] = { { strchr(text, '"') - text, NULL, 0 }, { 0, NULL, 0 },
				   { strchr(text, '\'') - text, NULL, 0 }, { 2, NULL, 0 } };
	struct ylimits lim = YLIMITS_DEFAULT;
	assert_int_equal(ydoc_scalars_at(&fx->a, f, &lim, v, 4, &fx->d), 0);
	assert_string_equal(v[0].str, "x y");
	assert_int_equal(v[0].len, 3);
	assert_string_equal(v[1].str, "a");
	assert_string_equal(v[2].str, "q");
	assert_null(v[3].str); /* a blank, no scalar starts there */
	const char *bad = "a: [1\n";
	struct yscalar_at w = { 0, "untouched", 9 };
	assert_int_equal(ydoc_scalars_at(&fx->a, srcfile_from(&fx->a, "b.yml", bad, strlen(bad)), &lim,
					 &w, 1, &fx->d), -1);
	assert_string_equal(w.str, "untouched");
	assert_non_null(strstr(fx->d.msg.buf, "b.yml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scalar_styles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_before_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tabs_and_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_properties_outside_span, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_key_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linecol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_spans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scalars_at, setup, teardown),
	};
	return cmocka_run_group_tests_name("ydoc", tests, NULL, NULL);
}

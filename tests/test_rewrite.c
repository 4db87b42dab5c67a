/*
 * Tests for rewrite: inline literal cases (each its own cmocka test: a file,
 * a span, a new compose-level value, the exact bytes expected), then every
 * fixtures/rewrite/CASE/ as a whole stack:
 *
 *   CASE/...               the stack (compose files, env files, dsnflip.yml)
 *   CASE/assume            optional: SERVICE=CLASS lines (--assume)
 *   CASE/environ           optional: KEY=VALUE lines (the process environment)
 *   CASE/expected/PATH     the exact bytes of each file the rewrite changes;
 *                          every other file must be left alone
 *   CASE/notes             the unavoidable style changes reported (one a line);
 *                          absent: none
 *   CASE/error             instead: the refusal's message (first line, exact)
 *
 * Each stack case runs rewrite_compute and rewrite_verify (the re-load).
 * UPDATE=1 writes the expected files from the output (review the diff!).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stack/config.h"
#include "plan/plan.h"
#include "artifacts/rewrite.h"
#include "artifacts/mirror.h"
#include "stack/literal.h"

#define FIXTURES "fixtures/rewrite"

/* --- inline literal cases --- */

struct lcase {
	const char *name;
	int yaml, list_form;
	const char *data;
	const char *literal;  /* the literal's span: its first occurrence in data */
	const char *value;    /* the new compose-level value */
	const char *want;     /* the whole file afterwards, or NULL with err */
	const char *err;      /* a substring of the error */
	const char *old;      /* the compose-level value read before (NULL: not checked) */
};

static const struct lcase lcases[] = {
	{ "yaml_plain", 1, 0, "a: postgres://u:p@h/d # c\n", "postgres://u:p@h/d", "postgres://r:${X}@h/d",
	  "a: postgres://r:${X}@h/d # c\n", NULL, "postgres://u:p@h/d" },
	{ "yaml_single_keeps_escapes", 1, 0, "a: 'postgres://u:it''s@h/d?n=o''k'\n",
	  "'postgres://u:it''s@h/d?n=o''k'", "postgres://r:${X}@h/d?n=o'k",
	  "a: 'postgres://r:${X}@h/d?n=o''k'\n", NULL, "postgres://u:it's@h/d?n=o'k" },
	{ "yaml_double_keeps_escapes", 1, 0, "a: \"postgres://u:p@h/d?application_name=caf\\u00e9\\x20x\"\n",
	  "\"postgres://u:p@h/d?application_name=caf\\u00e9\\x20x\"",
	  "postgres://r:${X}@h/d?application_name=caf\xc3\xa9 x",
	  "a: \"postgres://r:${X}@h/d?application_name=caf\\u00e9\\x20x\"\n", NULL,
	  "postgres://u:p@h/d?application_name=caf\xc3\xa9 x" },
	{ "yaml_double_escapes_new_text", 1, 0, "a: \"x\"\n", "\"x\"", "say \"hi\"\\",
	  "a: \"say \\\"hi\\\"\\\\\"\n", NULL, NULL },
	{ "yaml_anchor_and_tag", 1, 0, "a: &u !!str postgres://u:p@h/d\nb: *u\n", "postgres://u:p@h/d",
	  "postgres://r:p@h/d", "a: &u !!str postgres://r:p@h/d\nb: *u\n", NULL, NULL },
	{ "yaml_anchor_then_newline", 1, 0, "a: &u # the DSN\n  postgres://u:p@h/d\n",
	  "postgres://u:p@h/d", "postgres://r:p@h/d",
	  "a: &u # the DSN\n  postgres://r:p@h/d\n", NULL, NULL },
	{ "yaml_list_form", 1, 1, "e:\n  - \"URL=postgres://u:p@h/d\"\n", "\"URL=postgres://u:p@h/d\"",
	  "postgres://r:${X}@h/d", "e:\n  - \"URL=postgres://r:${X}@h/d\"\n", NULL, "postgres://u:p@h/d" },
	{ "yaml_block_one_line", 1, 0, "a: >-\n  postgres://u:p@h/d\nb: 1\n", ">-\n  postgres://u:p@h/d\n",
	  "postgres://r:${X}@h/d", "a: >-\n  postgres://r:${X}@h/d\nb: 1\n", NULL, NULL },
	{ "yaml_block_two_lines", 1, 0, "a: |\n  postgres://u:p@h/d\n  more\nb: 1\n",
	  "|\n  postgres://u:p@h/d\n  more\n", "x", NULL, "block scalar (|) of 2 lines", NULL },
	{ "yaml_plain_multiline", 1, 0, "a: postgres://u:p@h/d\n  ?x=1\n", "postgres://u:p@h/d\n  ?x=1",
	  "x", NULL, "plain value spanning several lines", NULL },
	{ "yaml_double_multiline", 1, 0, "a: \"postgres://u:p@h/d\n  x\"\n", "\"postgres://u:p@h/d\n  x\"",
	  "x", NULL, "quoted value spanning several lines", NULL },
	{ "yaml_flow_plain_becomes_double", 1, 0, "e: {A: 1, URL: postgres://u:p@h/d}\n",
	  "postgres://u:p@h/d", "postgres://r:${X:?X must be set}@h/d",
	  "e: {A: 1, URL: \"postgres://r:${X:?X must be set}@h/d\"}\n", NULL, NULL },
	{ "yaml_crlf_no_final_newline", 1, 0, "a: 1\r\nb: 'postgres://u:p@h/d'  # c\r\nc: 2",
	  "'postgres://u:p@h/d'", "postgres://r:p@h/d",
	  "a: 1\r\nb: 'postgres://r:p@h/d'  # c\r\nc: 2", NULL, NULL },
	{ "yaml_same_value_no_edit", 1, 0, "a: \"p\\x41\"\n", "\"p\\x41\"", "pA", "a: \"p\\x41\"\n", NULL, "pA" },
	{ "env_unquoted", 0, 0, "# c\tx\nA=postgres://u:p@h/d # c\nB=2\n", "postgres://u:p@h/d",
	  "postgres://r:${X}@h/d", "# c\tx\nA=postgres://r:${X}@h/d # c\nB=2\n", NULL, NULL },
	{ "env_double_keeps_escapes", 0, 0, "A=\"postgres://u:p@h/d?x=\\$y\\t\"\n",
	  "\"postgres://u:p@h/d?x=\\$y\\t\"", "postgres://r:${X}@h/d?x=$$y\t",
	  "A=\"postgres://r:${X}@h/d?x=\\$y\\t\"\n", NULL, "postgres://u:p@h/d?x=$$y\t" },
	{ "env_single_user_only_stays_single", 0, 0, "U='post$gres'\n", "'post$gres'", "app",
	  "U='app'\n", NULL, "post$$gres" },
	{ "env_single_becomes_double", 0, 0, "A='postgres://u:p@h/d?n=a$b'\r\n",
	  "'postgres://u:p@h/d?n=a$b'", "postgres://r:${X}@h/d?n=a$$b",
	  "A=\"postgres://r:${X}@h/d?n=a$$b\"\r\n", NULL, "postgres://u:p@h/d?n=a$$b" },
};
#define NLCASES (sizeof(lcases) / sizeof(lcases[0]))

static void run_lcase(void **state)
{
	const struct lcase *c = *state;
	struct arena a = ARENA_INIT;
	struct srcfile *f = srcfile_from(&a, "t.yml", c->data, strlen(c->data));
	const char *at = strstr(c->data, c->literal);
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	struct buf old = BUF_INIT;
	int line = 1, col = 1;

	assert_non_null(at);
	for (const char *p = c->data; p < at; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	size_t start = (size_t)(at - c->data), end = start + strlen(c->literal);
	if (c->old) {
		assert_int_equal(literal_read(f, c->yaml, c->list_form, start, end, line, col, NULL, &old, &d), 0);
		assert_string_equal(old.buf, c->old);
	}
	int r = rewrite_set_value(&rw, f, c->yaml, c->list_form, start, end, line, col, c->value,
				  "services.t.A", &d);
	if (!r)
		r = rewrite_apply(&rw, &d);
	if (c->err) {
		assert_int_equal(r, -1);
		if (!strstr(d.msg.buf, c->err))
			fail_msg("error '%s' lacks '%s'", d.msg.buf, c->err);
	} else {
		if (r)
			fail_msg("%s", d.msg.buf);
		const struct rewrite_file *rf = rewrite_file_for(&rw, f);
		if (!strcmp(c->want, c->data)) {
			assert_null(rf);
		} else {
			assert_non_null(rf);
			assert_int_equal(rf->len, strlen(c->want));
			assert_memory_equal(rf->data, c->want, rf->len);
		}
	}
	buf_release(&old);
	diag_release(&d);
	rewrite_release(&rw);
	arena_release(&a);
}

static void test_conflicting_edits(void **state)
{
	(void)state;
	const char *text = "a: postgres://u:p@h/d\n";
	struct arena a = ARENA_INIT;
	struct srcfile *f = srcfile_from(&a, "t.yml", text, strlen(text));
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	assert_int_equal(rewrite_set_value(&rw, f, 1, 0, 3, 21, 1, 4, "postgres://r:p@h/d", "s.one", &d), 0);
	assert_int_equal(rewrite_set_value(&rw, f, 1, 0, 3, 21, 1, 4, "postgres://r:p@h/d", "s.two", &d), 0);
	assert_int_equal(rw.nedits, 1);
	assert_int_equal(rewrite_set_value(&rw, f, 1, 0, 3, 21, 1, 4, "postgres://q:p@h/d", "s.three", &d), -1);
	assert_non_null(strstr(d.msg.buf, "shared by s.one and s.three"));
	diag_release(&d);
	rewrite_release(&rw);
	arena_release(&a);
}

static void test_password_ref(void **state)
{
	(void)state;
	char *r = rewrite_password_ref("tracksolid_owner");
	assert_string_equal(r, "${TRACKSOLID_OWNER_PASSWORD:?TRACKSOLID_OWNER_PASSWORD must be set}");
	free(r);
}

/* --- whole stacks --- */

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;
	if (!fp)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	return buf_detach(&b, len);
}

static void read_lines(const char *path, struct strvec *out)
{
	char *t = slurp(path, NULL), *save = NULL;
	if (!t)
		return;
	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (*l && *l != '#')
			strvec_push(out, l);
	free(t);
}

static void mkdirs_for(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	free(p);
}

/* Every file under dir/expected, relative to it. */
static void list_expected(const char *root, const char *rel, struct strvec *out)
{
	char *path = *rel ? xstrfmt("%s/%s", root, rel) : xstrdup(root);
	DIR *dir = opendir(path);
	struct dirent *e;
	while (dir && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *sub = *rel ? xstrfmt("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		char *full = xstrfmt("%s/%s", root, sub);
		struct stat st;
		if (!stat(full, &st) && S_ISDIR(st.st_mode))
			list_expected(root, sub, out);
		else
			strvec_push(out, sub);
		free(sub);
		free(full);
	}
	if (dir)
		closedir(dir);
	free(path);
}

static void run_stack(void **state)
{
	const char *name = *state;
	char *dir = xstrfmt("%s/%s", FIXTURES, name);
	char *errpath = xstrfmt("%s/error", dir), *cfgpath = xstrfmt("%s/dsnflip.yml", dir);
	char *experr = slurp(errpath, NULL);
	struct strvec env = STRVEC_INIT, assume = STRVEC_INIT, expected = STRVEC_INIT;
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { 0 };
	struct compose_project *p = NULL;
	struct config *cfg = NULL;
	struct plan *plan = NULL;
	struct rewrite rw = REWRITE_INIT;
	struct diag d = DIAG_INIT;
	int update = getenv("UPDATE") && !strcmp(getenv("UPDATE"), "1");

	char *envpath = xstrfmt("%s/environ", dir), *assumepath = xstrfmt("%s/assume", dir);
	read_lines(envpath, &env);
	read_lines(assumepath, &assume);
	strvec_push(&env, "DSNFLIP_TEST=1");
	co.dir = dir;
	co.environ = env.v;
	po.assume = (const char *const *)assume.v;
	po.nassume = assume.nr;
	if (compose_load(&co, &p, &d))
		fail_msg("load: %s", d.msg.buf);
	struct stat st;
	if (!stat(cfgpath, &st)) {
		if (config_load(cfgpath, "dsnflip.yml", &cfg, &d))
			fail_msg("config: %s", d.msg.buf);
	} else {
		cfg = config_empty();
	}
	if (plan_build(p, cfg, NULL, &po, &plan, &d))
		fail_msg("plan: %s", d.msg.buf);
	int r = rewrite_compute(plan, &rw, &d);
	if (!r)
		r = rewrite_verify(&rw, p, &co, &d);
	if (experr) {
		char *nl = strchr(experr, '\n');
		if (nl)
			*nl = '\0';
		if (!r)
			fail_msg("expected a refusal: %s", experr);
		if (update) {
			FILE *fp = fopen(errpath, "w");
			fprintf(fp, "%s\n", d.msg.buf);
			fclose(fp);
		} else {
			assert_string_equal(d.msg.buf, experr);
		}
		goto out;
	}
	if (r)
		fail_msg("%s", d.msg.buf);
	char *expdir = xstrfmt("%s/expected", dir);
	list_expected(expdir, "", &expected);
	size_t matched = 0;
	for (size_t i = 0; i < p->nsources; i++) {
		const struct srcfile *f = p->sources[i];
		const struct rewrite_file *rf = rewrite_file_for(&rw, f);
		char *exp = xstrfmt("%s/%s", expdir, f->display);
		size_t len = 0;
		char *want = slurp(exp, &len);
		if (update && rf) {
			mkdirs_for(exp);
			FILE *fp = fopen(exp, "wb");
			fwrite(rf->data, 1, rf->len, fp);
			fclose(fp);
		} else if (rf) {
			if (!want)
				fail_msg("%s changed but %s does not exist", f->display, exp);
			if (rf->len != len || memcmp(rf->data, want, len))
				fail_msg("%s: output differs from %s", f->display, exp);
		} else if (want) {
			fail_msg("%s: expected a change (%s) but the file is left alone", f->display, exp);
		}
		if (rf && !strvec_contains(&expected, f->display)) {
			if (!update)
				fail_msg("%s changed but has no expected file", f->display);
		} else if (rf) {
			matched++;
		}
		free(want);
		free(exp);
	}
	(void)matched;
	free(expdir);
	{
		char *npath = xstrfmt("%s/notes", dir), *notes = slurp(npath, NULL);
		struct buf got = BUF_INIT;
		for (size_t i = 0; i < rw.notes.nr; i++)
			buf_addf(&got, "%s\n", rw.notes.v[i]);
		if (update && got.len) {
			FILE *fp = fopen(npath, "w");
			fputs(got.buf, fp);
			fclose(fp);
		} else if (!update) {
			assert_string_equal(got.buf, notes ? notes : "");
		}
		buf_release(&got);
		free(notes);
		free(npath);
	}
out:
	free(experr);
	free(errpath);
	free(cfgpath);
	free(envpath);
	free(assumepath);
	free(dir);
	strvec_clear(&env);
	strvec_clear(&assume);
	strvec_clear(&expected);
	rewrite_release(&rw);
	plan_free(plan);
	config_free(cfg);
	compose_free(p);
	diag_release(&d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	struct strvec names = STRVEC_INIT;
	DIR *dir = opendir(FIXTURES);
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			strvec_push(&names, e->d_name);
	if (dir)
		closedir(dir);
	if (names.nr)
		qsort(names.v, names.nr, sizeof(*names.v), cmp_str);

	struct CMUnitTest *tests = xcalloc(NLCASES + names.nr + 3, sizeof(*tests));
	size_t n = 0;
	for (size_t i = 0; i < NLCASES; i++) {
		tests[n].name = lcases[i].name;
		tests[n].test_func = run_lcase;
		tests[n].initial_state = (void *)&lcases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_conflicting_edits);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_password_ref);
	for (size_t i = 0; i < names.nr; i++) {
		tests[n].name = names.v[i];
		tests[n].test_func = run_stack;
		tests[n].initial_state = names.v[i];
		n++;
	}
	if (!names.nr)
		fprintf(stderr, "no fixtures under %s (run from the source tree)\n", FIXTURES);
	int r = _cmocka_run_group_tests("rewrite", tests, n, NULL, NULL);
	if (!names.nr)
		r = 1;
	free(tests);
	strvec_clear(&names);
	return r;
}

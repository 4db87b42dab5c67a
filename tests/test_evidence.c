/*
 * test_evidence: two data-driven sets and a few C tests.
 *
 * fixtures/evidence/commands.cases holds single commands, one "==" block
 * each (the format is described at the top of that file); every block is
 * one cmocka test.  fixtures/evidence/scripts/NAME is scanned as a script
 * and the result, one line per evidence ("evidence: FILE:LINE | PATTERN |
 * TEXT") and per called script ("called: PATH"), must equal NAME.expected.
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

#include "util/buf.h"
#include "util/diag.h"
#include "detect/evidence.h"

static char fixture_dir[4096];


/* ---- commands.cases ---- */

struct cmd_case {
	char *name;
	int line;               /* of the "==" line, for messages */
	char *shell;            /* or NULL when argv is used */
	struct strvec argv;
	struct strvec patterns;
	struct strvec expect;   /* "PATTERN | TEXT" */
	char *app;              /* expected runs_app, "none", or NULL: not checked */
	struct strvec calls;
	int check_calls;
};

static struct cmd_case *cases;
static size_t ncases;

static void case_clear(struct cmd_case *c)
{
	free(c->name);
	free(c->shell);
	free(c->app);
	strvec_clear(&c->argv);
	strvec_clear(&c->patterns);
	strvec_clear(&c->expect);
	strvec_clear(&c->calls);
}

static int load_cases(const char *path)
{
	char *text = read_file(path, NULL);
	size_t alloc = 0;
	int lineno = 0;

	if (!text)
		return -1;
	for (char *p = text; *p;) {
		char *e = strchr(p, '\n');
		if (e)
			*e = '\0';
		lineno++;
		struct cmd_case *c = ncases ? &cases[ncases - 1] : NULL;
		if (str_starts(p, "== ")) {
			ALLOC_GROW(cases, ncases + 1, alloc);
			c = &cases[ncases++];
			memset(c, 0, sizeof(*c));
			c->name = xstrdup(p + 3);
			c->line = lineno;
		} else if (!*p || *p == '#') {
			/* blank or comment */
		} else if (!c) {
			fprintf(stderr, "%s:%d: text before the first case\n", path, lineno);
			return -1;
		} else if (str_starts(p, "shell: ")) {
			c->shell = xstrdup(p + 7);
		} else if (str_starts(p, "arg: ")) {
			strvec_push(&c->argv, p + 5);
		} else if (str_starts(p, "pattern: ")) {
			strvec_push(&c->patterns, p + 9);
		} else if (!strcmp(p, "expect: none")) {
			strvec_push(&c->expect, "none");
		} else if (str_starts(p, "expect: ")) {
			strvec_push(&c->expect, p + 8);
		} else if (str_starts(p, "app: ")) {
			c->app = xstrdup(p + 5);
		} else if (!strcmp(p, "calls: none")) {
			c->check_calls = 1;
		} else if (str_starts(p, "calls: ")) {
			c->check_calls = 1;
			strvec_push(&c->calls, p + 7);
		} else {
			fprintf(stderr, "%s:%d: cannot read '%s'\n", path, lineno, p);
			return -1;
		}
		p = e ? e + 1 : p + strlen(p);
	}
	free(text);
	for (size_t i = 0; i < ncases; i++) {
		if (!cases[i].expect.nr || (!cases[i].shell) == (!cases[i].argv.nr)) {
			fprintf(stderr, "%s:%d: a case needs one input and an expect line\n", path,
				cases[i].line);
			return -1;
		}
	}
	return 0;
}

static void lines_equal(const char *what, const char *name, const struct buf *got, const struct buf *want)
{
	if (strcmp(got->buf, want->buf))
		print_error("%s: %s differs\n--- expected\n%s+++ got\n%s", name, what, want->buf, got->buf);
	assert_string_equal(got->buf, want->buf);
}

static void test_command_case(void **state)
{
	const struct cmd_case *c = *state;
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct diag d = DIAG_INIT;
	struct buf got = BUF_INIT, want = BUF_INIT;
	const char *sh_argv[3] = { "/bin/sh", "-c", c->shell };
	const char *const *argv = c->shell ? sh_argv : (const char *const *)c->argv.v;
	size_t argc = c->shell ? 3 : c->argv.nr;
	int n;

	for (size_t i = 0; i < c->patterns.nr; i++)
		assert_int_equal(patterns_add(p, c->patterns.v[i], &d), 0);

	if (c->shell)
		n = evidence_match_shell(p, c->shell, "compose.yaml", 42, &out);
	else
		n = evidence_match_command(p, argv, argc, "compose.yaml", 42, &out);
	assert_int_equal(n, (int)out.nr);
	for (size_t i = 0; i < out.nr; i++) {
		assert_string_equal(out.v[i].file, "compose.yaml");
		assert_int_equal(out.v[i].line, 42);
		buf_addf(&got, "%s | %s\n", out.v[i].pattern, out.v[i].text);
	}
	for (size_t i = 0; i < c->expect.nr; i++)
		if (strcmp(c->expect.v[i], "none"))
			buf_addf(&want, "%s\n", c->expect.v[i]);
	lines_equal("evidence", c->name, &got, &want);

	if (c->app) {
		char *what = (char *)"unset";
		int r = evidence_runs_app(argv, argc, &what);
		buf_reset(&got);
		buf_addstr(&got, r ? what : "none");
		assert_true(r ? what != NULL : what == NULL);
		buf_reset(&want);
		buf_addstr(&want, c->app);
		lines_equal("app", c->name, &got, &want);
		free(what);
	}
	if (c->check_calls) {
		struct strvec called = STRVEC_INIT;
		int k = c->shell ? evidence_calls_shell(c->shell, &called)
				 : evidence_calls_command(argv, argc, &called);
		assert_int_equal(k, (int)called.nr);
		buf_reset(&got);
		buf_reset(&want);
		for (size_t i = 0; i < called.nr; i++)
			buf_addf(&got, "%s\n", called.v[i]);
		for (size_t i = 0; i < c->calls.nr; i++)
			buf_addf(&want, "%s\n", c->calls.v[i]);
		lines_equal("calls", c->name, &got, &want);
		strvec_clear(&called);
	}

	buf_release(&got);
	buf_release(&want);
	diag_release(&d);
	evidence_list_release(&out);
	patterns_free(p);
}

/* ---- scripts ---- */

static void test_script(void **state)
{
	const char *name = *state;
	char *path = xstrfmt("%s/scripts/%s", fixture_dir, name);
	char *exp_path = xstrfmt("%s/scripts/%s.expected", fixture_dir, name);
	char *display = xstrfmt("scripts/%s", name);
	size_t len;
	char *data = read_file(path, &len);
	char *expected = read_file(exp_path, NULL);
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct strvec called = STRVEC_INIT;
	struct buf got = BUF_INIT, want = BUF_INIT;

	assert_non_null(data);
	assert_non_null(expected);
	int n = evidence_scan_script(p, display, data, len, &out, &called);
	assert_int_equal(n, (int)out.nr);
	for (size_t i = 0; i < out.nr; i++)
		buf_addf(&got, "evidence: %s:%d | %s | %s\n", out.v[i].file, out.v[i].line,
			 out.v[i].pattern, out.v[i].text);
	for (size_t i = 0; i < called.nr; i++)
		buf_addf(&got, "called: %s\n", called.v[i]);
	buf_addstr(&want, expected);
	lines_equal("scan", name, &got, &want);

	buf_release(&got);
	buf_release(&want);
	strvec_clear(&called);
	evidence_list_release(&out);
	patterns_free(p);
	free(data);
	free(expected);
	free(display);
	free(path);
	free(exp_path);
}

/* ---- C tests ---- */

static void test_patterns_add_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *words, *msg;
	} bad[] = {
		{ "", "patterns.migration: '': empty" },
		{ "   ", "patterns.migration: '   ': empty" },
		{ "bin/migrate && true", "patterns.migration: 'bin/migrate && true': it holds shell syntax; write plain words" },
		{ "run '$x'", "patterns.migration: 'run '$x'': it holds shell syntax; write plain words" },
		{ "... migrate", "patterns.migration: '... migrate': it may not start or end with '...'" },
		{ "migrate ...", "patterns.migration: 'migrate ...': it may not start or end with '...'" },
		{ "a b c d e f g h i j k l m n o p q", "patterns.migration: 'a b c d e f g h i j k l m n o p q': more than 16 words" },
	};
	struct patterns *p = patterns_default();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diag d = DIAG_INIT;
		assert_int_equal(patterns_add(p, bad[i].words, &d), -1);
		assert_string_equal(d.msg.buf, bad[i].msg);
		diag_release(&d);
	}
	char *longp = xmalloc(260);
	memset(longp, 'a', 259);
	longp[259] = '\0';
	struct diag d = DIAG_INIT;
	assert_int_equal(patterns_add(p, longp, &d), -1);
	assert_non_null(strstr(d.msg.buf, "longer than 200 bytes"));
	diag_release(&d);
	free(longp);
	patterns_free(p);
	patterns_free(NULL);
}

static void test_patterns_add_duplicate(void **state)
{
	(void)state;
	struct patterns *p = patterns_default();
	struct diag d = DIAG_INIT;
	struct evidence_list out = EVIDENCE_LIST_INIT;

	/* a default again, and a new one twice with other spacing: one match each */
	assert_int_equal(patterns_add(p, "alembic upgrade", &d), 0);
	assert_int_equal(patterns_add(p, "bin/migrate-db", &d), 0);
	assert_int_equal(patterns_add(p, "  bin/migrate-db\t", &d), 0);
	assert_false(d.set);
	assert_int_equal(evidence_match_shell(p, "alembic upgrade head; bin/migrate-db", "f", 1, &out), 2);
	assert_string_equal(out.v[0].pattern, "alembic upgrade");
	assert_string_equal(out.v[1].pattern, "bin/migrate-db");
	evidence_list_release(&out);
	evidence_list_release(&out);
	patterns_free(p);
}

static void test_script_too_large(void **state)
{
	(void)state;
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct strvec called = STRVEC_INIT;
	size_t n = EVIDENCE_SCRIPT_MAX + 1;
	char *data = xmalloc(n);

	memset(data, '\n', n);
	memcpy(data, "alembic upgrade head\n", 21);
	assert_int_equal(evidence_scan_script(p, "big.sh", data, n, &out, &called), -1);
	assert_int_equal(out.nr, 0);
	assert_int_equal(evidence_scan_script(p, "ok.sh", data, n - 1, &out, &called), 1);
	assert_int_equal(out.v[0].line, 1);
	evidence_list_release(&out);
	strvec_clear(&called);
	patterns_free(p);
	free(data);
}

static void test_script_not_nul_terminated(void **state)
{
	(void)state;
	static const char text[] = "#!/bin/sh\nexec ./entry.sh\ndbmate up";
	size_t n = sizeof(text) - 1;
	char *data = xmalloc(n);
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct strvec called = STRVEC_INIT;

	memcpy(data, text, n);
	assert_int_equal(evidence_scan_script(p, "s", data, n, &out, &called), 1);
	assert_int_equal(out.v[0].line, 3);
	assert_string_equal(out.v[0].text, "dbmate up");
	assert_int_equal(called.nr, 1);
	assert_string_equal(called.v[0], "./entry.sh");
	evidence_list_release(&out);
	strvec_clear(&called);
	patterns_free(p);
	free(data);
}

static void test_nesting_is_bounded(void **state)
{
	(void)state;
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct buf cmd = BUF_INIT;

	/* $( $( ... alembic upgrade ... ) ): shallow finds it, too deep does not */
	for (int depth = 1; depth <= 40; depth++) {
		buf_reset(&cmd);
		for (int i = 0; i < depth; i++)
			buf_addstr(&cmd, "x=$(");
		buf_addstr(&cmd, "alembic upgrade head");
		for (int i = 0; i < depth; i++)
			buf_addch(&cmd, ')');
		int n = evidence_match_shell(p, cmd.buf, "f", 1, &out);
		assert_int_equal(n, depth <= EVIDENCE_MAX_DEPTH ? 1 : 0);
		/* what is not read is said, never dropped silently */
		assert_int_equal(out.unread, depth > EVIDENCE_MAX_DEPTH);
		evidence_list_release(&out);
	}
	evidence_list_release(&out);
	buf_release(&cmd);
	patterns_free(p);
}

/* A long command is matched over all its words, behind any number of wrappers. */
static void test_long_commands_fully_matched(void **state)
{
	(void)state;
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct strvec argv = STRVEC_INIT;

	/* 600 assignments before the command word (the words looked at stopped at 512) */
	for (int i = 0; i < 600; i++)
		strvec_pushf(&argv, "V%d=1", i);
	strvec_push(&argv, "alembic");
	strvec_push(&argv, "upgrade");
	strvec_push(&argv, "head");
	assert_int_equal(evidence_match_command(p, (const char *const *)argv.v, argv.nr, "f", 1, &out), 1);
	evidence_list_release(&out);
	strvec_clear(&argv);

	/* options between the pattern's words, past word 512 */
	strvec_push(&argv, "alembic");
	for (int i = 0; i < 700; i++)
		strvec_push(&argv, "-x");
	strvec_push(&argv, "upgrade");
	assert_int_equal(evidence_match_command(p, (const char *const *)argv.v, argv.nr, "f", 1, &out), 1);
	evidence_list_release(&out);
	strvec_clear(&argv);

	/* 30 wrappers deep (the candidates stopped at 24) */
	for (int i = 0; i < 30; i++)
		strvec_push(&argv, "nice");
	strvec_push(&argv, "alembic");
	strvec_push(&argv, "upgrade");
	strvec_push(&argv, "head");
	assert_int_equal(evidence_match_command(p, (const char *const *)argv.v, argv.nr, "f", 1, &out), 1);
	evidence_list_release(&out);
	strvec_clear(&argv);

	/* and an argument is still not a command, however long the line */
	strvec_push(&argv, "echo");
	for (int i = 0; i < 2000; i++)
		strvec_push(&argv, i == 1500 ? "alembic" : i == 1501 ? "upgrade" : "w");
	assert_int_equal(evidence_match_command(p, (const char *const *)argv.v, argv.nr, "f", 1, &out), 0);
	assert_int_equal(out.unread, 0);
	evidence_list_release(&out);
	strvec_clear(&argv);
	patterns_free(p);
}

static void test_text_cut_on_utf8_boundary(void **state)
{
	(void)state;
	struct patterns *p = patterns_default();
	struct evidence_list out = EVIDENCE_LIST_INIT;
	struct buf cmd = BUF_INIT;

	buf_addstr(&cmd, "alembic upgrade head -x ");
	while (cmd.len < 300)
		buf_addstr(&cmd, "\xc3\xa9"); /* é */
	assert_int_equal(evidence_match_shell(p, cmd.buf, "f", 1, &out), 1);
	const char *t = out.v[0].text;
	size_t n = strlen(t);
	assert_true(n <= EVIDENCE_TEXT_MAX);
	assert_string_equal(t + n - 3, "...");
	/* the byte before "..." ends a character: é is 2 bytes from offset 24 */
	assert_int_equal((n - 3 - 24) % 2, 0);
	evidence_list_release(&out);
	buf_release(&cmd);
	patterns_free(p);
}

static void test_garbage_does_not_crash(void **state)
{
	(void)state;
	static const char alphabet[] = "alembic upgrade migrate $()`'\"\\;&|<>#{}\n\t-=./*sh c";
	struct patterns *p = patterns_default();
	uint32_t x = 88172645u;

	for (int round = 0; round < 400; round++) {
		size_t n = 1 + (size_t)round * 13 % 1500;
		char *data = xmalloc(n + 1);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			data[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		data[n] = '\0';
		struct evidence_list out = EVIDENCE_LIST_INIT;
		struct strvec called = STRVEC_INIT;
		char *what = NULL;
		const char *argv[] = { "sh", "-c", data };
		evidence_scan_script(p, "fuzz", data, n, &out, &called);
		evidence_match_shell(p, data, "fuzz", 1, &out);
		evidence_match_command(p, argv, 3, "fuzz", 1, &out);
		evidence_calls_shell(data, &called);
		evidence_runs_app(argv, 3, &what);
		for (size_t i = 0; i < out.nr; i++)
			assert_true(strlen(out.v[i].text) <= EVIDENCE_TEXT_MAX);
		free(what);
		evidence_list_release(&out);
		strvec_clear(&called);
		free(data);
	}
	patterns_free(p);
}

static void test_runs_app_empty(void **state)
{
	(void)state;
	char *what = (char *)"unset";
	assert_int_equal(evidence_runs_app(NULL, 0, &what), 0);
	assert_null(what);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The script an interpreter runs, through wrappers; none for modules and inline code. */
static void test_interp_script(void **state)
{
	(void)state;
	const char *a[] = { "./wait-for", "db:5432", "--", "node", "index.js" };
	assert_string_equal(evidence_interp_script(a, 5), "index.js");
	const char *b[] = { "python3", "-u", "app/main.py" };
	assert_string_equal(evidence_interp_script(b, 3), "app/main.py");
	const char *c[] = { "python", "-m", "uvicorn", "main:app" };
	assert_null(evidence_interp_script(c, 4));
	const char *d[] = { "node", "-e", "require('x')" };
	assert_null(evidence_interp_script(d, 3));
	const char *e[] = { "/code/bin/backend" };
	assert_null(evidence_interp_script(e, 1));
}

int main(void)
{
	struct strvec scripts = STRVEC_INIT;
	const char *env = getenv("DSNFLIP_FIXTURES");
	char *dir = xstrdup(__FILE__);
	char *slash = strrchr(dir, '/');

	if (env)
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/evidence", env);
	else if (slash)
		snprintf(fixture_dir, sizeof(fixture_dir), "%.*s/../fixtures/evidence", (int)(slash - dir), dir);
	else
		snprintf(fixture_dir, sizeof(fixture_dir), "../fixtures/evidence");
	free(dir);

	char *cases_path = xstrfmt("%s/commands.cases", fixture_dir);
	if (load_cases(cases_path)) {
		fprintf(stderr, "test_evidence: cannot load %s\n", cases_path);
		return 1;
	}
	free(cases_path);

	char *sdir = xstrfmt("%s/scripts", fixture_dir);
	DIR *dh = opendir(sdir);
	if (!dh) {
		fprintf(stderr, "test_evidence: cannot open %s\n", sdir);
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(dh)))
		if (de->d_name[0] != '.' && !str_ends(de->d_name, ".expected"))
			strvec_push(&scripts, de->d_name);
	closedir(dh);
	free(sdir);
	qsort(scripts.v, scripts.nr, sizeof(*scripts.v), cmp_names);

	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_patterns_add_rejects),
		cmocka_unit_test(test_patterns_add_duplicate),
		cmocka_unit_test(test_script_too_large),
		cmocka_unit_test(test_interp_script),
		cmocka_unit_test(test_script_not_nul_terminated),
		cmocka_unit_test(test_nesting_is_bounded),
		cmocka_unit_test(test_long_commands_fully_matched),
		cmocka_unit_test(test_text_cut_on_utf8_boundary),
		cmocka_unit_test(test_garbage_does_not_crash),
		cmocka_unit_test(test_runs_app_empty),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	size_t total = ncases + scripts.nr + nfixed;
	struct CMUnitTest *tests = xcalloc(total, sizeof(*tests));
	struct strvec names = STRVEC_INIT;
	size_t k = 0;
	for (size_t i = 0; i < ncases; i++) {
		strvec_pushf(&names, "case %s", cases[i].name);
		tests[k].name = names.v[names.nr - 1];
		tests[k].test_func = test_command_case;
		tests[k++].initial_state = &cases[i];
	}
	for (size_t i = 0; i < scripts.nr; i++) {
		strvec_pushf(&names, "script %s", scripts.v[i]);
		tests[k].name = names.v[names.nr - 1];
		tests[k].test_func = test_script;
		tests[k++].initial_state = scripts.v[i];
	}
	memcpy(tests + k, fixed, sizeof(fixed));

	int rc = _cmocka_run_group_tests("evidence", tests, total, NULL, NULL);
	free(tests);
	strvec_clear(&names);
	strvec_clear(&scripts);
	for (size_t i = 0; i < ncases; i++)
		case_clear(&cases[i]);
	free(cases);
	return rc;
}

/*
 * test_dockerfile: fixtures/dockerfile/NAME.Dockerfile is parsed and dumped;
 * the dump must equal NAME.expected.  The expected file also holds queries
 * that the test answers and compares the same way:
 *
 *   map PATH -> RESULT      dockerfile_map_path(PATH), "(none)" for NULL
 *   instr LINE TEXT         the instruction that starts on LINE, joined
 *
 * A parse failure dumps as the single line "error: MESSAGE".  Each fixture
 * is one cmocka test; a few properties that need generated input (size
 * bound, NUL bytes, garbage) are plain C tests below.
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
#include "stack/dockerfile.h"

static char fixture_dir[4096];


static void add_quoted(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_addstr(b, "\\n");
		else if (*s == '\t')
			buf_addstr(b, "\\t");
		else
			buf_addch(b, *s);
	}
	buf_addch(b, '"');
}

static void add_list(struct buf *b, const struct strvec *v)
{
	buf_addch(b, '[');
	for (size_t i = 0; i < v->nr; i++) {
		if (i)
			buf_addstr(b, ", ");
		add_quoted(b, v->v[i]);
	}
	buf_addch(b, ']');
}

static void dump_command(struct buf *b, const char *what, const struct strvec *v, int shell, int line)
{
	buf_addf(b, "%s ", what);
	if (!line) {
		buf_addstr(b, "none\n");
		return;
	}
	if (shell) {
		buf_addf(b, "shell %d ", line);
		add_quoted(b, v->nr ? v->v[0] : "");
	} else {
		buf_addf(b, "exec %d ", line);
		add_list(b, v);
	}
	buf_addch(b, '\n');
}

static void dump(struct buf *b, const struct dockerfile *df)
{
	buf_addf(b, "final_from %s\n", df->final_from);
	buf_addf(b, "final_base_image %s\n", df->final_base_image);
	dump_command(b, "entrypoint", &df->entrypoint, df->entrypoint_shell, df->entrypoint_line);
	dump_command(b, "cmd", &df->cmd, df->cmd_shell, df->cmd_line);
	buf_addf(b, "workdir %s\n", df->workdir);
	for (size_t i = 0; i < df->ncopies; i++) {
		const struct df_copy *c = &df->copies[i];
		buf_addf(b, "copy %d ", c->line);
		if (c->is_add)
			buf_addstr(b, "add ");
		if (c->from_stage)
			buf_addf(b, "from=%s ", c->from_stage);
		if (c->heredoc)
			buf_addstr(b, "heredoc ");
		add_list(b, &c->srcs);
		buf_addf(b, " -> %s\n", c->dest);
	}
}

/* Answer the queries of the expected file, in order. */
static void answer(struct buf *b, const struct dockerfile *df, const char *expected)
{
	const char *p = expected;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *line = xstrndup(p, n);
		if (str_starts(line, "map ")) {
			char *arrow = strstr(line, " -> ");
			assert_non_null(arrow);
			*arrow = '\0';
			char *got = dockerfile_map_path(df, line + 4);
			buf_addf(b, "map %s -> %s\n", line + 4, got ? got : "(none)");
			free(got);
		} else if (str_starts(line, "instr ")) {
			int at = atoi(line + 6);
			const char *text = "(no instruction)";
			for (size_t i = 0; i < df->ninstrs; i++)
				if (df->instrs[i].line == at)
					text = df->instrs[i].text;
			buf_addf(b, "instr %d %s\n", at, text);
		}
		free(line);
		p = e ? e + 1 : p + n;
	}
}

static void test_fixture(void **state)
{
	const char *name = *state;
	char *in_path = xstrfmt("%s/%s.Dockerfile", fixture_dir, name);
	char *exp_path = xstrfmt("%s/%s.expected", fixture_dir, name);
	char *display = xstrfmt("%s.Dockerfile", name);
	size_t len;
	char *data = read_file(in_path, &len);
	char *expected = read_file(exp_path, NULL);
	struct dockerfile df;
	struct diag d = DIAG_INIT;
	struct buf got = BUF_INIT;

	assert_non_null(data);
	assert_non_null(expected);
	if (dockerfile_parse(display, data, len, &df, &d)) {
		assert_true(d.set);
		buf_addf(&got, "error: %s\n", d.msg.buf);
	} else {
		assert_false(d.set);
		dump(&got, &df);
		answer(&got, &df, expected);
		dockerfile_release(&df);
	}
	if (strcmp(got.buf, expected))
		print_error("%s: dump differs\n--- expected\n%s+++ got\n%s", name, expected, got.buf);
	assert_string_equal(got.buf, expected);

	buf_release(&got);
	diag_release(&d);
	free(data);
	free(expected);
	free(display);
	free(in_path);
	free(exp_path);
}

static void test_too_large(void **state)
{
	(void)state;
	size_t n = DOCKERFILE_MAX + 1;
	char *data = xmalloc(n);
	struct dockerfile df;
	struct diag d = DIAG_INIT;

	memset(data, '#', n);
	memcpy(data, "FROM x\n", 7);
	assert_int_equal(dockerfile_parse("big/Dockerfile", data, n, &df, &d), -1);
	assert_string_equal(d.msg.buf, "big/Dockerfile: Dockerfile is larger than 1048576 bytes");
	diag_release(&d);

	/* exactly at the bound is fine */
	data[DOCKERFILE_MAX - 1] = '\n';
	assert_int_equal(dockerfile_parse("ok/Dockerfile", data, DOCKERFILE_MAX, &df, &d), 0);
	assert_string_equal(df.final_from, "x");
	dockerfile_release(&df);
	free(data);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char data[] = "FROM alpine\nCMD [\"a\"]\0garbage";
	struct dockerfile df;
	struct diag d = DIAG_INIT;

	assert_int_equal(dockerfile_parse("bin/Dockerfile", data, sizeof(data) - 1, &df, &d), -1);
	assert_string_equal(d.msg.buf, "bin/Dockerfile: not a Dockerfile: it holds a NUL byte");
	diag_release(&d);
}

/* A file copied in the first of 70 chained stages is still found from the last. */
static void test_long_stage_chain(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	struct dockerfile df;
	struct diag d = DIAG_INIT;

	buf_addstr(&b, "FROM python:3.12 AS s0\nCOPY start.sh /app/start.sh\n");
	for (int i = 1; i < 70; i++)
		buf_addf(&b, "FROM s%d AS s%d\nRUN true\n", i - 1, i);
	assert_int_equal(dockerfile_parse("Dockerfile", b.buf, b.len, &df, &d), 0);
	char *got = dockerfile_map_path(&df, "/app/start.sh");
	assert_non_null(got);
	assert_string_equal(got, "start.sh");
	free(got);
	dockerfile_release(&df);
	buf_release(&b);
}

static void test_not_nul_terminated(void **state)
{
	(void)state;
	/* the parser must stop at len: no NUL after the data */
	static const char text[] = "FROM alpine\nENTRYPOINT [\"/run.sh\"]";
	size_t n = sizeof(text) - 1;
	char *data = xmalloc(n);
	struct dockerfile df;
	struct diag d = DIAG_INIT;

	memcpy(data, text, n);
	assert_int_equal(dockerfile_parse("Dockerfile", data, n, &df, &d), 0);
	assert_int_equal(df.entrypoint.nr, 1);
	assert_string_equal(df.entrypoint.v[0], "/run.sh");
	dockerfile_release(&df);
	free(data);
}

static void test_garbage_does_not_crash(void **state)
{
	(void)state;
	/*
	 * Pseudo-random printable soup.  Each input either parses, with no
	 * diagnostic, or is refused with one that names the file and a line
	 * inside it; both happen over the rounds; nothing crashes or leaks.
	 */
	int parsed = 0, refused = 0;
	uint32_t x = 2463534242u;
	static const char alphabet[] = "FROMCPYENTRYPOINTDWKADR[]\"\\`<>-#= \n\t/.*?ASaseofl$";
	for (int round = 0; round < 300; round++) {
		size_t n = 1 + round * 7 % 900;
		char *data = xmalloc(n + 8);
		memcpy(data, "FROM a\n", 7);
		for (size_t i = 7; i < n + 7; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			data[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		struct dockerfile df;
		struct diag d = DIAG_INIT;
		int r = dockerfile_parse("fuzz", data, n + 7, &df, &d);
		assert_true(r == 0 || r == -1);
		if (r) {
			int line = 0;
			assert_true(d.set);
			assert_true(!strncmp(d.msg.buf, "fuzz", 4));
			if (sscanf(d.msg.buf, "fuzz:%d:", &line) == 1)
				assert_true(line >= 1 && line <= (int)(n + 7));
			refused++;
		} else {
			assert_false(d.set);
			parsed++;
		}
		if (!r) {
			char *m = dockerfile_map_path(&df, "/a/b/c");
			free(m);
			m = dockerfile_map_path(&df, "x/../../y");
			free(m);
			dockerfile_release(&df);
		}
		diag_release(&d);
		free(data);
	}
	assert_true(parsed > 0);
	assert_true(refused > 0);
}

static void test_release_twice(void **state)
{
	(void)state;
	static const char text[] = "FROM alpine\nCOPY a b /c/\n";
	struct dockerfile df;
	struct diag d = DIAG_INIT;

	assert_int_equal(dockerfile_parse("Dockerfile", text, sizeof(text) - 1, &df, &d), 0);
	dockerfile_release(&df);
	dockerfile_release(&df); /* released is empty */
	assert_null(dockerfile_map_path(&df, "/c/a"));
	dockerfile_release(NULL);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	struct strvec names = STRVEC_INIT;
	const char *env = getenv("DSNFLIP_FIXTURES");
	char *dir = xstrdup(__FILE__);
	char *slash = strrchr(dir, '/');

	if (env)
		snprintf(fixture_dir, sizeof(fixture_dir), "%s/dockerfile", env);
	else if (slash)
		snprintf(fixture_dir, sizeof(fixture_dir), "%.*s/../fixtures/dockerfile", (int)(slash - dir), dir);
	else
		snprintf(fixture_dir, sizeof(fixture_dir), "../fixtures/dockerfile");
	free(dir);

	DIR *dh = opendir(fixture_dir);
	if (!dh) {
		fprintf(stderr, "test_dockerfile: cannot open %s\n", fixture_dir);
		return 1;
	}
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (str_ends(de->d_name, ".Dockerfile"))
			strvec_pushf(&names, "%.*s", (int)(strlen(de->d_name) - 11), de->d_name);
	}
	closedir(dh);
	qsort(names.v, names.nr, sizeof(*names.v), cmp_names);

	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_long_stage_chain),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_garbage_does_not_crash),
		cmocka_unit_test(test_release_twice),
	};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = xcalloc(names.nr + nfixed, sizeof(*tests));
	for (size_t i = 0; i < names.nr; i++) {
		tests[i].name = names.v[i];
		tests[i].test_func = test_fixture;
		tests[i].initial_state = names.v[i];
	}
	memcpy(tests + names.nr, fixed, sizeof(fixed));

	int rc = _cmocka_run_group_tests("dockerfile", tests, names.nr + nfixed, NULL, NULL);
	free(tests);
	strvec_clear(&names);
	return rc;
}

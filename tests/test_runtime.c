/*
 * test_runtime: the failure patterns the log watch matches (the defaults
 * PRODUCT.md names, a config's own, a bad one refused with its text).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "running/runtime.h"

static void test_failure_patterns(void **state)
{
	struct failpats p;
	struct diag d = DIAG_INIT;
	failpat_init(&p);
	failpat_add_defaults(&p);
	assert_non_null(failpat_match(&p, "FATAL:  password authentication failed for user \"x_app\""));
	assert_non_null(failpat_match(&p, "ERROR: permission denied for table audit_log"));
	assert_non_null(failpat_match(&p, "ERROR:  must be owner of table items"));
	assert_non_null(failpat_match(&p, "FATAL: too many connections for role \"x_app\""));
	assert_non_null(failpat_match(&p, "FATAL:  role \"x_app\" does not exist"));
	assert_null(failpat_match(&p, "connected as x_app"));
	assert_null(failpat_match(&p, "10 rows written"));
	assert_int_equal(failpat_add(&p, "relation .* does not exist", &d), 0);
	assert_string_equal(failpat_match(&p, "ERROR: relation \"t\" does not exist"),
			    "relation .* does not exist");
	assert_int_equal(failpat_add(&p, "broken (", &d), -1);
	assert_non_null(strstr(d.msg.buf, "failure pattern 'broken ('"));
	failpat_release(&p);
	diag_release(&d);
}

struct seen {
	int lines, hits;
	size_t longest;
};

static void on_piece(void *ctx, const char *line)
{
	struct seen *s = ctx;
	s->lines++;
	if (strstr(line, "password authentication failed"))
		s->hits++;
	if (strlen(line) > s->longest)
		s->longest = strlen(line);
}

/*
 * A log line longer than LOGS_LINE_MAX is still matched whole: the pattern
 * straddling the piece boundary (bytes were dropped past 4096) and one far
 * past it are both seen, and a NUL does not hide what follows it.
 */
static void test_long_log_line(void **state)
{
	(void)state;
	int p[2];
	struct logstream ls;
	struct seen s = { 0, 0, 0 };
	struct buf line = BUF_INIT;
	static const char pat[] = "password authentication failed";

	assert_int_equal(pipe(p), 0);
	memset(&ls, 0, sizeof(ls));
	ls.child.out_fd = p[0];
	ls.child.err_fd = -1;
	ls.open[0] = 1;
	buf_init(&ls.partial[0]);
	buf_init(&ls.partial[1]);
	while (line.len < LOGS_LINE_MAX - 10)
		buf_addch(&line, 'x');
	buf_addstr(&line, pat); /* crosses byte 4096 */
	while (line.len < 3 * LOGS_LINE_MAX)
		buf_addch(&line, 'y');
	buf_addstr(&line, "FATAL: ");
	buf_addstr(&line, pat);
	buf_addstr(&line, "\n");
	assert_int_equal(write(p[1], line.buf, line.len), (ssize_t)line.len);
	/* a NUL in the middle of a short line */
	assert_int_equal(write(p[1], "boot\0FATAL: password authentication failed for user x\n", 55), 55);
	close(p[1]);
	for (int k = 0; k < 50 && ls.open[0]; k++)
		logstream_poll(&ls, 20, on_piece, &s);
	assert_true(s.hits >= 3);
	assert_true(s.longest <= LOGS_LINE_MAX);
	close(p[0]);
	buf_release(&ls.partial[0]);
	buf_release(&ls.partial[1]);
	buf_release(&line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_patterns),
		cmocka_unit_test(test_long_log_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_buf: the file readers of util/buf (open_regular, read_file) and
 * srcfile_read on top of them read only regular files; a FIFO or a device in place
 * of an input file is refused at once instead of blocking forever.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/ydoc.h"
#include "util/buf.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dsnflip-test-file-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* A test that blocked would hang the suite: bound it. */
	alarm(20);
	return 0;
}

static int teardown(void **state)
{
	char p[128];
	(void)state;
	snprintf(p, sizeof(p), "%s/fifo", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/plain", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
	alarm(0);
	return 0;
}

static void test_fifo_refused(void **state)
{
	char p[128];
	size_t len;
	(void)state;
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(open_regular(p), -1);
	assert_int_equal(errno, EFTYPE_NOTREG);
	assert_null(read_file(p, &len));

	struct arena a = ARENA_INIT;
	struct diag d = DIAG_INIT;
	struct srcfile *f = NULL;
	assert_int_equal(srcfile_read(&a, p, ".env", 1 << 20, &f, &d), -1);
	assert_string_equal(d.msg.buf, ".env: cannot open: not a regular file (a FIFO, device, "
			    "socket or directory): refusing to read it");
	diag_release(&d);
	arena_release(&a);
}

static void test_devices_and_dirs_refused(void **state)
{
	char p[128];
	(void)state;
	assert_int_equal(open_regular("/dev/null"), -1);
	assert_int_equal(errno, EFTYPE_NOTREG);
	assert_int_equal(open_regular("/dev/zero"), -1);
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(open_regular(p), -1);
	assert_null(read_file(p, NULL));
}

static void test_regular_read(void **state)
{
	char p[128];
	size_t len = 0;
	(void)state;
	snprintf(p, sizeof(p), "%s/plain", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("A=1\n", f);
	fclose(f);
	char *text = read_file(p, &len);
	assert_non_null(text);
	assert_int_equal(len, 4);
	assert_string_equal(text, "A=1\n");
	free(text);
	int fd = open_regular(p);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_regular("/nonexistent/x"), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_devices_and_dirs_refused),
		cmocka_unit_test(test_regular_read),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

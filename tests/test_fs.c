/*
 * test_fs: atomic replacement keeps the mode asked for (0600 for files
 * holding secrets) and the new content, and leaves no temporary file;
 * mkdir -p creates every missing parent and accepts what exists.
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
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fs.h"

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/dsnflip-test-fs.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static size_t entries(const char *dir)
{
	DIR *dp = opendir(dir);
	size_t n = 0;
	assert_non_null(dp);
	for (struct dirent *e; (e = readdir(dp));)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static void test_write_atomic_mode(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char *p = xstrfmt("%s/override.yml", dir);
	struct diag d = DIAG_INIT;
	struct stat st;
	assert_int_equal(fs_write_atomic(p, "a: 1\n", 5, 0600, &d), 0);
	assert_int_equal(fs_write_atomic(p, "a: 2\n", 5, 0600, &d), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 5);
	size_t len;
	char *text = read_file(p, &len);
	assert_string_equal(text, "a: 2\n");
	free(text);
	assert_int_equal(entries(dir), 1); /* no PATH.tmp.* left */
	unlink(p);
	rmdir(dir);
	free(p);
	free(dir);
	diag_release(&d);
}

static void test_write_atomic_failure_leaves_old(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char *p = xstrfmt("%s/missing/f", dir);
	struct diag d = DIAG_INIT;
	assert_int_equal(fs_write_atomic(p, "x", 1, 0600, &d), -1);
	assert_int_equal(d.code, EXIT_FAILED);
	assert_non_null(strstr(d.msg.buf, "missing/f"));
	assert_int_equal(entries(dir), 0);
	rmdir(dir);
	free(p);
	free(dir);
	diag_release(&d);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char *dir = tmpdir();
	char *p = xstrfmt("%s/a/b/c", dir);
	struct diag d = DIAG_INIT;
	struct stat st;
	assert_int_equal(fs_mkdir_p(p, 0700, &d), 0);
	assert_int_equal(fs_mkdir_p(p, 0700, &d), 0); /* exists: fine */
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	char *f = xstrfmt("%s/a/file", dir);
	FILE *fp = fopen(f, "w");
	fclose(fp);
	char *under = xstrfmt("%s/x", f);
	assert_int_equal(fs_mkdir_p(under, 0700, &d), -1); /* a file in the way */
	assert_non_null(strstr(d.msg.buf, "cannot create directory"));
	char *rm = xstrfmt("rm -rf '%s'", dir);
	assert_int_equal(system(rm), 0);
	free(rm);
	free(under);
	free(f);
	free(p);
	free(dir);
	diag_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic_mode),
		cmocka_unit_test(test_write_atomic_failure_leaves_old),
		cmocka_unit_test(test_mkdir_p),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

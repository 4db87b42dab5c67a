/*
 * test_image: what the docker CLI says on failure reaches dsnflip's
 * messages masked and escaped (a fake `docker` on PATH stands in for the
 * engine: `version` answers, `image inspect` fails with a hostile stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "running/image.h"
#include "util/path.h"

static void test_inspect_failure_escaped(void **state)
{
	(void)state;
	char dir[] = "/tmp/dsnflip-test-image-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *docker = xstrfmt("%s/docker", dir);
	static const char script[] =
		"#!/bin/sh\n"
		"if [ \"$1\" = version ]; then echo 24.0.7; exit 0; fi\n"
		"printf 'Error: pull access denied\\033]0;pwned\\007 for postgres://u:hunter2@registry/x\\n' >&2\n"
		"exit 1\n";
	assert_int_equal(path_write_file(docker, script, strlen(script)), 0);
	assert_int_equal(chmod(docker, 0700), 0);
	char *pathvar = xstrfmt("PATH=%s:/usr/bin:/bin", dir);
	char *const env[] = { pathvar, NULL };
	/* the child is found on the PATH dsnflip runs with, whatever docker is installed */
	char *saved = xstrdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", pathvar + 5, 1);

	struct image_engine *e = image_engine_new(env);
	const struct image_source *src = image_engine_source(e);
	struct image_config cfg;
	struct buf why = BUF_INIT;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(src->inspect(src->ctx, "acme/api:1", &cfg, &why), IMAGE_FAILED);
	assert_null(strchr(why.buf, '\033'));
	assert_null(strchr(why.buf, '\007'));
	assert_null(strstr(why.buf, "hunter2"));
	assert_non_null(strstr(why.buf, "pull access denied\\x1b]0;pwned\\x07"));
	buf_release(&why);
	image_engine_free(e);
	setenv("PATH", saved, 1);
	free(saved);
	path_remove_tree(dir);
	free(docker);
	free(pathvar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_failure_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

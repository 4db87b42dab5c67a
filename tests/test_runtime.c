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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_num: every number from input is parsed strictly, whole, in range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>

#include "util/num.h"

static void test_strict(void **state)
{
	int n = -7;
	(void)state;
	assert_int_equal(num_parse_int("12", 1, 100, &n), NUM_OK);
	assert_int_equal(n, 12);
	assert_int_equal(num_parse_int("-1", -1, 100, &n), NUM_OK);
	assert_int_equal(n, -1);
	n = 5;
	/* atoi would read these as 12, 1, 2147483647 and 0 */
	assert_int_equal(num_parse_int("12abc", 1, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("1e3", 1, 100000, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("2147483647", 1, 262143, &n), NUM_RANGE);
	assert_int_equal(num_parse_int("-1", 1, 100, &n), NUM_RANGE);
	assert_int_equal(num_parse_int("", 1, 100, &n), NUM_EMPTY);
	assert_int_equal(num_parse_int(" 5", 1, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("5 ", 1, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("+5", 1, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("0x10", 1, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("-", -5, 100, &n), NUM_SYNTAX);
	assert_int_equal(num_parse_int("99999999999999999999999", 0, INT_MAX, &n), NUM_RANGE);
	assert_int_equal(num_parse_int("99999999999999999999999x", 0, INT_MAX, &n), NUM_SYNTAX);
	assert_int_equal(n, 5); /* untouched on error */
}

static void test_limits(void **state)
{
	long long v;
	unsigned long long u;
	(void)state;
	assert_int_equal(num_parse_ll("9223372036854775807", LLONG_MIN, LLONG_MAX, &v), NUM_OK);
	assert_true(v == LLONG_MAX);
	assert_int_equal(num_parse_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v), NUM_OK);
	assert_true(v == LLONG_MIN);
	assert_int_equal(num_parse_ll("9223372036854775808", LLONG_MIN, LLONG_MAX, &v), NUM_RANGE);
	assert_int_equal(num_parse_lln("1234", 2, 0, 100, &v), NUM_OK);
	assert_true(v == 12);
	assert_int_equal(num_parse_ull("18446744073709551615", ULLONG_MAX, &u), NUM_OK);
	assert_true(u == ULLONG_MAX);
	assert_int_equal(num_parse_ull("18446744073709551616", ULLONG_MAX, &u), NUM_RANGE);
	assert_int_equal(num_parse_ull("-1", ULLONG_MAX, &u), NUM_SYNTAX);
}

static void test_hex_milli(void **state)
{
	unsigned long long u = 7;
	long long v = 7;
	(void)state;
	assert_int_equal(num_parse_hexn("1538", 4, 65535, &u), NUM_OK);
	assert_true(u == 5432);
	assert_int_equal(num_parse_hexn("0100007F:1538", 8, ULLONG_MAX, &u), NUM_OK);
	assert_true(u == 0x0100007F);
	assert_int_equal(num_parse_hexn("15x8", 4, 65535, &u), NUM_SYNTAX);
	assert_int_equal(num_parse_hexn("10000", 5, 65535, &u), NUM_RANGE);
	assert_int_equal(num_parse_hexn("", 0, 65535, &u), NUM_EMPTY);
	assert_int_equal(num_parse_millin("1.5", 3, LLONG_MAX, &v), NUM_OK);
	assert_true(v == 1500);
	assert_int_equal(num_parse_millin("2", 1, LLONG_MAX, &v), NUM_OK);
	assert_true(v == 2000);
	assert_int_equal(num_parse_millin("0.25", 4, LLONG_MAX, &v), NUM_OK);
	assert_true(v == 250);
	v = 7;
	/* strtod reads every one of these as a number */
	assert_int_equal(num_parse_millin("1e3", 3, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("inf", 3, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("nan", 3, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("0x10", 4, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("-1", 2, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin(".5", 2, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("1.", 2, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("1.-5", 4, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("1.2345", 6, LLONG_MAX, &v), NUM_SYNTAX);
	assert_int_equal(num_parse_millin("3601", 4, 3600000, &v), NUM_RANGE);
	assert_true(v == 7);
}

static void test_arith(void **state)
{
	int r = 0;
	(void)state;
	assert_int_equal(num_mul_int(262143, 1000000, &r), -1);
	assert_int_equal(num_add_int(INT_MAX, 2, &r), -1);
	assert_int_equal(num_mul_int(7, 3, &r), 0);
	assert_int_equal(r, 21);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_hex_milli),
		cmocka_unit_test(test_arith),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

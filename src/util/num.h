/*
 * num: strict decimal integers from input.
 *
 * Every number dsnflip reads from a compose file, an env file, a DSN,
 * dsnflip.yml, a journal or a server reply goes through here, never atoi():
 * atoi reads "12abc" as 12, "1e3" as 1 and wraps "2147483647" + 2 into a
 * negative connection limit.  The whole string must be an optional '-'
 * followed by ASCII digits (no spaces, no '+', no exponent, no hex) and
 * fall inside [min, max]; anything else is refused with a reason that
 * names the range, so the caller can put it after a file:line:col.
 */
#ifndef DSNFLIP_NUM_H
#define DSNFLIP_NUM_H

#include <stddef.h>

enum num_err {
	NUM_OK = 0,
	NUM_EMPTY,     /* "" */
	NUM_SYNTAX,    /* not an optional '-' and digits only */
	NUM_RANGE,     /* digits, but outside [min, max] */
};

/* Parse all of s into *out (untouched on error). */
enum num_err num_parse_ll(const char *s, long long min, long long max, long long *out);
enum num_err num_parse_int(const char *s, int min, int max, int *out);
/* The same for the first n bytes of s (not NUL-terminated). */
enum num_err num_parse_lln(const char *s, size_t n, long long min, long long max, long long *out);
enum num_err num_parse_ull(const char *s, unsigned long long max, unsigned long long *out);
/* The first n bytes of s as hexadecimal digits only (no "0x"; either case): /proc tables. */
enum num_err num_parse_hexn(const char *s, size_t n, unsigned long long max, unsigned long long *out);
/*
 * The first n bytes of s as a non-negative decimal with at most three
 * fraction digits ("2", "1.5", "0.25"), in thousandths: "1.5" is 1500.
 * No sign, exponent, "inf" or "nan" (strtod accepts all of them).
 */
enum num_err num_parse_millin(const char *s, size_t n, long long max, long long *out);

/* "expected a whole number from MIN to MAX" style reason for err (static or buf-free). */
const char *num_reason(enum num_err err);

/* Overflow-safe arithmetic: 0 and *out set, or -1 when the result would leave int. */
int num_add_int(int a, int b, int *out);
int num_mul_int(int a, int b, int *out);

#endif

/*
 * num: strict integer parsing (see num.h).
 */
#include "util/num.h"

#include <limits.h>
#include <string.h>

enum num_err num_parse_lln(const char *s, size_t n, long long min, long long max, long long *out)
{
	size_t i = 0;
	int neg = 0;
	unsigned long long v = 0, limit;

	if (!s || !n)
		return NUM_EMPTY;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return NUM_SYNTAX;
	/* The magnitude may reach |LLONG_MIN| for a negative number. */
	limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	int over = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NUM_SYNTAX;
		unsigned d = (unsigned)(s[i] - '0');
		if (!over && (v > (limit - d) / 10))
			over = 1; /* keep scanning: "99999999999999999999x" is a syntax error */
		if (!over)
			v = v * 10 + d;
	}
	if (over)
		return NUM_RANGE;
	long long r;
	if (neg)
		r = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	else
		r = (long long)v;
	if (r < min || r > max)
		return NUM_RANGE;
	*out = r;
	return NUM_OK;
}

enum num_err num_parse_ll(const char *s, long long min, long long max, long long *out)
{
	return num_parse_lln(s, s ? strlen(s) : 0, min, max, out);
}

enum num_err num_parse_int(const char *s, int min, int max, int *out)
{
	long long v;
	enum num_err e = num_parse_ll(s, min, max, &v);
	if (e == NUM_OK)
		*out = (int)v;
	return e;
}

enum num_err num_parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (!s || !*s)
		return NUM_EMPTY;
	int over = 0;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NUM_SYNTAX;
		unsigned d = (unsigned)(s[i] - '0');
		if (!over && v > (ULLONG_MAX - d) / 10)
			over = 1;
		if (!over)
			v = v * 10 + d;
	}
	if (over || v > max)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

enum num_err num_parse_hexn(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	int over = 0;

	if (!s || !n)
		return NUM_EMPTY;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
		if (d == 16)
			return NUM_SYNTAX;
		if (v > (ULLONG_MAX - d) / 16)
			over = 1;
		if (!over)
			v = v * 16 + d;
	}
	if (over || v > max)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

enum num_err num_parse_millin(const char *s, size_t n, long long max, long long *out)
{
	const char *dot = s ? memchr(s, '.', n) : NULL;
	size_t ni = dot ? (size_t)(dot - s) : n, nf = dot ? n - ni - 1 : 0;
	long long whole = 0, frac = 0, v;

	if (!s || !n)
		return NUM_EMPTY;
	if (!ni || (dot && (!nf || nf > 3)) || s[0] == '-')
		return NUM_SYNTAX;
	enum num_err e = num_parse_lln(s, ni, 0, LLONG_MAX / 1000, &whole);
	if (e)
		return e;
	if (nf) {
		if (dot[1] == '-')
			return NUM_SYNTAX;
		if ((e = num_parse_lln(dot + 1, nf, 0, 999, &frac)))
			return e;
		for (size_t i = nf; i < 3; i++)
			frac *= 10;
	}
	v = whole * 1000 + frac;
	if (v > max)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

const char *num_reason(enum num_err err)
{
	switch (err) {
	case NUM_OK:
		return "ok";
	case NUM_EMPTY:
		return "empty";
	case NUM_SYNTAX:
		return "not a whole number";
	case NUM_RANGE:
		return "out of range";
	}
	return "invalid";
}

int num_add_int(int a, int b, int *out)
{
	int r;
	if (__builtin_add_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

int num_mul_int(int a, int b, int *out)
{
	int r;
	if (__builtin_mul_overflow(a, b, &r))
		return -1;
	*out = r;
	return 0;
}

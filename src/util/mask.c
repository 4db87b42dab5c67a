/*
 * mask: password masking for printed text (see mask.h).
 */
#include "util/mask.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Where a token ends: blanks, quotes, brackets that delimit words in commands and JSON. */
static int stop_char(char c)
{
	return !c || isspace((unsigned char)c) || c == '"' || c == '\'' || c == '`';
}

static int word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(w, lit, n);
}

int mask_key_is_secret(const char *key, size_t len)
{
	static const char *const words[] = { "PASSWORD", "PASSWD", "PASS", "PW", "PWD", "SECRET",
					     "SECRETS", "TOKEN", "CREDENTIAL", "CREDENTIALS", "APIKEY",
					     "PASSPHRASE", NULL };
	static const char *const parts[] = { "PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL",
					     NULL };
	/* The shell's working directories are not passwords. */
	if (word_is(key, len, "PWD") || word_is(key, len, "OLDPWD"))
		return 0;
	for (size_t i = 0; i < len; i++) {
		/* Each part starts with P, S, T or C: look further only there. */
		int c = toupper((unsigned char)key[i]);
		if (c != 'P' && c != 'S' && c != 'T' && c != 'C')
			continue;
		for (const char *const *p = parts; *p; p++) {
			size_t pl = strlen(*p);
			if ((*p)[0] == c && i + pl <= len && !strncasecmp(key + i, *p, pl))
				return 1;
		}
	}
	size_t i = 0;
	while (i < len) {
		while (i < len && (key[i] == '_' || key[i] == '-' || key[i] == '.'))
			i++;
		size_t s = i;
		while (i < len && key[i] != '_' && key[i] != '-' && key[i] != '.')
			i++;
		if (i == s)
			continue;
		for (const char *const *w = words; *w; w++)
			if (word_is(key + s, i - s, *w))
				return 1;
		/* ..._KEY (API_KEY, ACCESS_KEY), not KEY alone (a sort key, a map key) */
		if (s > 0 && i == len && word_is(key + s, i - s, "KEY"))
			return 1;
		/* a last word ending in PASS: redis's --requirepass, --masterpass */
		if (i == len && i - s > 4 && !strncasecmp(key + i - 4, "PASS", 4))
			return 1;
	}
	return 0;
}

/*
 * At p (just after "://"): the authority runs to the end of the token; its
 * userinfo is everything before the LAST '@' in it (as libpq reads it, and
 * so a raw '/', '?' or '#' inside a password still counts as password).
 * Mask what follows the first ':' of the userinfo.  Returns bytes consumed.
 */
static size_t mask_userinfo(const char *p, struct buf *out)
{
	const char *at = NULL, *colon = NULL, *q;
	for (q = p; !stop_char(*q); q++)
		if (*q == '@')
			at = q;
	if (!at)
		return 0;
	for (q = p; q < at; q++)
		if (*q == ':') {
			colon = q;
			break;
		}
	if (!colon) {
		/* no ':' before the last '@': only a user, unless a path came first */
		return 0;
	}
	/* "host:5432/x@y" (a port, then a path holding '@'): the '/' before the
	 * '@' comes after the colon, and digits only sit between them. */
	const char *slash = memchr(p, '/', (size_t)(at - p));
	if (slash && slash > colon) {
		const char *d = colon + 1;
		while (d < slash && isdigit((unsigned char)*d))
			d++;
		if (d == slash && slash > colon + 1)
			return 0;
	}
	buf_add(out, p, (size_t)(colon - p) + 1);
	buf_addstr(out, MASK);
	return (size_t)(at - p);
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/*
 * A place in the compose model as messages name it ("services.api.
 * environment.DB_PASSWORD: required variable ... is missing a value"): a
 * dotted path of three or more parts under services or an x- extension.
 * Followed by ": " it introduces dsnflip's message about that setting, not
 * the setting's value, so the message's first word is not masked.  Other
 * dotted keys (spring.datasource.password: x) are still assignments.
 */
static int place_label(const char *name, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n; i++)
		dots += name[i] == '.';
	return dots >= 2 && ((n > 9 && !strncmp(name, "services.", 9)) || (n > 2 && !strncmp(name, "x-", 2)));
}

/*
 * At p, the start of a name: when it looks secret and is followed by '=',
 * ':' + blank, (a --flag) a blank and a value, or blanks and a quoted
 * literal (SQL's PASSWORD 'x'), append the name and the
 * separator, mask the value and return the bytes consumed; else 0.
 */
static size_t mask_named(const char *p, struct buf *out)
{
	const char *e = p;
	while (name_char(*e))
		e++;
	size_t nl = (size_t)(e - p);
	const char *name = p;
	size_t skip = 0;
	while (skip < nl && name[skip] == '-')
		skip++;
	if (nl == skip || !mask_key_is_secret(name + skip, nl - skip))
		return 0;
	const char *v;
	if (*e == '=') {
		v = e + 1;
	} else if (*e == ':' && (e[1] == ' ' || e[1] == '\t')) {
		if (place_label(name, nl))
			return 0;
		v = e + 1;
		while (*v == ' ' || *v == '\t')
			v++;
	} else if (*e == '"' && e[1] == ':') {
		/* JSON: "password": "x" */
		v = e + 2;
		while (*v == ' ' || *v == '\t')
			v++;
	} else if ((*e == ' ' || *e == '\t') && !skip) {
		/* SQL: PASSWORD 'x' (CREATE/ALTER ROLE), only before a literal:
		 * 'x', "x", E'x' (PQescapeLiteral's form for a backslash, where \'
		 * does not end it), U&'x', or dollar-quoted $tag$x$tag$. */
		v = e;
		while (*v == ' ' || *v == '\t')
			v++;
		if ((*v == 'E' || *v == 'e') && v[1] == '\'') {
			buf_add(out, p, (size_t)(v + 2 - p));
			buf_addstr(out, MASK);
			const char *q = v + 2;
			while (*q && !(*q == '\'' && q[1] != '\''))
				q += (*q == '\\' || *q == '\'') && q[1] ? 2 : 1;
			if (!*q)
				return strlen(p);
			buf_addch(out, '\'');
			return (size_t)(q + 1 - p);
		}
		if ((*v == 'U' || *v == 'u') && v[1] == '&' && v[2] == '\'')
			v += 2;
		if (*v == '$') {
			const char *t = v + 1;
			while (*t == '_' || isalnum((unsigned char)*t))
				t++;
			if (*t != '$')
				return 0;
			size_t tl = (size_t)(t + 1 - v);
			const char *end = strstr(t + 1, "$");
			while (end && strncmp(end, v, tl))
				end = strstr(end + 1, "$");
			buf_add(out, p, (size_t)(t + 1 - p));
			buf_addstr(out, MASK);
			if (!end)
				return strlen(p);
			buf_add(out, v, tl);
			return (size_t)(end + tl - p);
		}
		if (*v != '\'' && *v != '"')
			return 0;
	} else if (skip && (*e == ' ' || *e == '\t')) {
		/* a command-line flag: --password VALUE */
		v = e;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '-' || !*v)
			return 0;
	} else {
		return 0;
	}
	buf_add(out, p, (size_t)(v - p));
	char quote = (*v == '\'' || *v == '"') ? *v : 0;
	if (quote) {
		/* A doubled quote ('it''s') is inside the literal. */
		const char *end = strchr(v + 1, quote);
		while (end && end[1] == quote)
			end = strchr(end + 2, quote);
		buf_addch(out, quote);
		buf_addstr(out, MASK);
		if (!end)
			return strlen(p);
		buf_addch(out, quote);
		return (size_t)(end + 1 - p);
	}
	const char *q = v;
	while (!stop_char(*q) && *q != '&' && *q != ';' && *q != ',' && *q != '}')
		q++;
	if (q > v)
		buf_addstr(out, MASK);
	return (size_t)(q - p);
}

void mask_secrets(const char *s, struct buf *out)
{
	const char *p = s;
	int at_word = 1;
	while (*p) {
		if (!strncmp(p, "://", 3)) {
			buf_add(out, p, 3);
			p += 3;
			p += mask_userinfo(p, out);
			at_word = 0;
			continue;
		}
		if (at_word && name_char(*p)) {
			size_t n = mask_named(p, out);
			if (n) {
				p += n;
				at_word = 1;
				continue;
			}
		}
		at_word = !name_char(*p);
		buf_addch(out, *p++);
	}
}

void mask_env_value(const char *key, const char *value, struct buf *out)
{
	if (*value && mask_key_is_secret(key, strlen(key))) {
		buf_addstr(out, MASK);
		return;
	}
	mask_secrets(value, out);
}

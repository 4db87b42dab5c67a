/*
 * sqlquote: offline quoting that matches PostgreSQL's rules (see sqlquote.h).
 */
#include "artifacts/sqlquote.h"

#include <string.h>

int sql_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int n;
		unsigned cp, min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int quote(const char *s, char q, const char *what, struct buf *out, struct diag *d)
{
	if (!sql_valid_utf8(s))
		return diag_err(d, "%s is not valid UTF-8", what);
	/* A literal with a backslash: E'...', as PQescapeLiteral writes it. */
	int escape = q == '\'' && strchr(s, '\\');
	if (escape)
		buf_addstr(out, " E");
	buf_addch(out, q);
	for (; *s; s++) {
		if (*s == q || (escape && *s == '\\'))
			buf_addch(out, *s);
		buf_addch(out, *s);
	}
	buf_addch(out, q);
	return 0;
}

int sql_quote_ident(const char *s, struct buf *out, struct diag *d)
{
	if (!*s)
		return diag_err(d, "an empty SQL identifier");
	return quote(s, '"', "an SQL identifier", out, d);
}

int sql_quote_literal(const char *s, struct buf *out, struct diag *d)
{
	return quote(s, '\'', "an SQL literal", out, d);
}

static int offline_ident(void *ctx, const char *s, struct buf *out, struct diag *d)
{
	(void)ctx;
	return sql_quote_ident(s, out, d);
}

static int offline_literal(void *ctx, const char *s, struct buf *out, struct diag *d)
{
	(void)ctx;
	return sql_quote_literal(s, out, d);
}

const struct sql_quoter *sql_offline_quoter(void)
{
	static const struct sql_quoter q = { offline_ident, offline_literal, NULL };
	return &q;
}

/* Does tag close a dollar quote opened before body anywhere but at its end? */
static int tag_clashes(const char *body, const char *tag)
{
	struct buf all = BUF_INIT;
	buf_addstr(&all, body);
	buf_addstr(&all, tag);
	const char *first = strstr(all.buf, tag);
	int clash = first != all.buf + strlen(body);
	buf_release(&all);
	return clash;
}

void sql_dollar_quote(const char *body, struct buf *out)
{
	struct buf tag = BUF_INIT;
	buf_addstr(&tag, "$dsnflip$");
	for (int i = 1; tag_clashes(body, tag.buf); i++) {
		buf_reset(&tag);
		buf_addf(&tag, "$dsnflip%d$", i);
	}
	buf_addstr(out, tag.buf);
	buf_addstr(out, body);
	buf_addstr(out, tag.buf);
	buf_release(&tag);
}

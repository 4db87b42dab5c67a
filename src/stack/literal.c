/*
 * literal: the codec of a value's literal text (see literal.h).
 *
 * A literal is decoded into "units": each unit is a run of source bytes
 * and the decoded bytes it stands for (one character, or one escape
 * sequence such as \" or ''), so decoded offsets map back to source bytes
 * without ever splitting an escape.
 */
#include "stack/literal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void literal_release(struct literal *L)
{
	buf_release(&L->text);
	free(L->u);
	memset(L, 0, sizeof(*L));
}

static void lit_unit(struct literal *L, size_t s0, size_t s1, const char *dec, size_t n)
{
	ALLOC_GROW(L->u, L->nu + 1, L->alloc);
	L->u[L->nu].s0 = s0;
	L->u[L->nu].s1 = s1;
	L->u[L->nu].d0 = L->text.len;
	L->u[L->nu].d1 = L->text.len + n;
	L->nu++;
	buf_add(&L->text, dec, n);
}

static void lit_verbatim(struct literal *L, const char *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		lit_unit(L, i, i + 1, s + i, 1);
}

static int has_break(const char *s, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (s[i] == '\n' || s[i] == '\r')
			return 1;
	return 0;
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One YAML double-quoted escape at s[i] ('\\'); 0 with its unit added, or -1. */
static int yaml_escape(struct literal *L, const char *s, size_t i, size_t end, size_t *next)
{
	char c = i + 1 < end ? s[i + 1] : '\0', out[4];
	size_t n = 1, hex = 0;
	switch (c) {
	case 'a': out[0] = '\a'; break;
	case 'b': out[0] = '\b'; break;
	case 't': case '\t': out[0] = '\t'; break;
	case 'n': out[0] = '\n'; break;
	case 'v': out[0] = '\v'; break;
	case 'f': out[0] = '\f'; break;
	case 'r': out[0] = '\r'; break;
	case 'e': out[0] = 0x1b; break;
	case ' ': case '"': case '/': case '\\': out[0] = c; break;
	case 'N': n = utf8_put(out, 0x85); break;
	case '_': n = utf8_put(out, 0xA0); break;
	case 'L': n = utf8_put(out, 0x2028); break;
	case 'P': n = utf8_put(out, 0x2029); break;
	case 'x': hex = 2; break;
	case 'u': hex = 4; break;
	case 'U': hex = 8; break;
	default: return -1; /* \0 (a NUL) or not an escape */
	}
	if (hex) {
		unsigned long cp = 0;
		if (i + 2 + hex > end)
			return -1;
		for (size_t k = 0; k < hex; k++) {
			char h = s[i + 2 + k];
			if (!isxdigit((unsigned char)h))
				return -1;
			cp = cp * 16 + (unsigned long)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
		}
		if (!cp || cp > 0x10FFFF)
			return -1;
		n = utf8_put(out, cp);
	}
	lit_unit(L, i, i + 2 + hex, out, n);
	*next = i + 2 + hex;
	return 0;
}

/* Decode the YAML scalar whose node span is [start, end). */
static int yaml_decode(const struct srcfile *f, size_t start, size_t end, int line, int col,
		       const char *label, struct literal *L, struct diag *d)
{
	const char *s = f->data;
	size_t p = start;

	L->yaml = 1;
	/* The span starts at the node's properties (&anchor, !tag), if any. */
	while (p < end && (s[p] == '&' || s[p] == '!')) {
		while (p < end && !strchr(" \t\r\n", s[p]))
			p++;
		for (;;) {
			while (p < end && strchr(" \t\r\n", s[p]))
				p++;
			if (p < end && s[p] == '#') {
				while (p < end && s[p] != '\n')
					p++;
				continue;
			}
			break;
		}
	}
	if (p >= end)
		return diag_at(d, f->display, line, col, "%s: the value is empty: nothing to rewrite", label);
	char c = s[p];
	if (c == '\'' || c == '"') {
		if (end - p < 2 || s[end - 1] != c)
			return diag_at(d, f->display, line, col, "%s: cannot find the end of this quoted value", label);
		L->style = c == '"' ? YS_DOUBLE : YS_SINGLE;
		L->body0 = p + 1;
		L->body1 = end - 1;
		if (has_break(s, L->body0, L->body1))
			return diag_at(d, f->display, line, col, "%s: a quoted value spanning several lines "
				       "cannot be rewritten safely: put it on one line", label);
		for (size_t i = L->body0; i < L->body1;) {
			if (c == '\'' && s[i] == '\'' && i + 1 < L->body1 && s[i + 1] == '\'') {
				lit_unit(L, i, i + 2, "'", 1);
				i += 2;
			} else if (c == '"' && s[i] == '\\') {
				if (yaml_escape(L, s, i, L->body1, &i))
					return diag_at(d, f->display, line, col, "%s: an escape in this "
						       "double-quoted value cannot be rewritten safely", label);
			} else {
				lit_unit(L, i, i + 1, s + i, 1);
				i++;
			}
		}
		return 0;
	}
	if (c == '|' || c == '>') {
		/* Only a block scalar holding a single line is trivially safe. */
		size_t q = p + 1, lines = 0, b0 = 0, b1 = 0;
		L->style = c == '|' ? YS_LITERAL : YS_FOLDED;
		while (q < end && s[q] != '\n') {
			if (isdigit((unsigned char)s[q]))
				return diag_at(d, f->display, line, col, "%s: a block scalar with an "
					       "indentation indicator cannot be rewritten safely: write the "
					       "value on one line", label);
			if (s[q] == '#')
				break;
			q++;
		}
		while (q < end && s[q] != '\n')
			q++;
		while (q < end) {
			size_t ls = ++q, le;
			if (ls >= end)
				break;
			le = ls;
			while (le < end && s[le] != '\n')
				le++;
			size_t t = ls, te = le;
			while (t < te && s[t] == ' ')
				t++;
			while (te > t && (s[te - 1] == '\r'))
				te--;
			size_t nonblank = t;
			while (nonblank < te && (s[nonblank] == ' ' || s[nonblank] == '\t'))
				nonblank++;
			if (nonblank < te) {
				lines++;
				b0 = t;
				b1 = te;
			}
			q = le;
		}
		if (lines != 1)
			return diag_at(d, f->display, line, col, "%s: a block scalar (%c) of %zu lines cannot "
				       "be rewritten safely: write the value on one line", label, c, lines);
		L->body0 = b0;
		L->body1 = b1;
		lit_verbatim(L, s, b0, b1);
		return 0;
	}
	L->style = YS_PLAIN;
	L->body0 = p;
	L->body1 = end;
	if (has_break(s, p, end))
		return diag_at(d, f->display, line, col, "%s: a plain value spanning several lines cannot be "
			       "rewritten safely: put it on one line", label);
	lit_verbatim(L, s, p, end);
	return 0;
}

/* Decode an env-file value whose span [start, end) includes its quotes. */
static int env_decode(const struct srcfile *f, size_t start, size_t end, int line, int col,
		      const char *label, struct literal *L, struct diag *d)
{
	const char *s = f->data;
	char q = 0;

	L->yaml = 0;
	if (end - start >= 2 && (s[start] == '\'' || s[start] == '"') && s[end - 1] == s[start])
		q = s[start];
	L->style = q;
	L->body0 = q ? start + 1 : start;
	L->body1 = q ? end - 1 : end;
	if (has_break(s, L->body0, L->body1))
		return diag_at(d, f->display, line, col, "%s: a quoted value spanning several lines cannot "
			       "be rewritten safely: put it on one line", label);
	for (size_t i = L->body0; i < L->body1;) {
		if (!q || s[i] != '\\' || i + 1 >= L->body1) {
			lit_unit(L, i, i + 1, s + i, 1);
			i++;
			continue;
		}
		char c = s[i + 1];
		if (c == q) {
			lit_unit(L, i, i + 2, &c, 1);
			i += 2;
			continue;
		}
		if (q == '\'') {
			lit_unit(L, i, i + 2, s + i, 2);
			i += 2;
			continue;
		}
		/* compose-go's expandEscapes (envfile.c). */
		const char *m = strchr("abfnrtv", c);
		char one;
		if (c && m) {
			one = "\a\b\f\n\r\t\v"[m - "abfnrtv"];
			lit_unit(L, i, i + 2, &one, 1);
			i += 2;
		} else if (c == '\\') {
			lit_unit(L, i, i + 2, "\\", 1);
			i += 2;
		} else if (c == '$') {
			lit_unit(L, i, i + 2, "$$", 2);
			i += 2;
		} else if (c == '0') {
			size_t j = i + 2, nd = 0;
			int v = 0, ok = 1;
			while (nd < 3 && j < L->body1 && s[j] >= '0' && s[j] <= '9') {
				ok &= s[j] <= '7';
				v = v * 8 + (s[j] - '0');
				j++;
				nd++;
			}
			if (nd == 3 && ok && v <= 0xff && v != 0) {
				one = (char)v;
				lit_unit(L, i, j, &one, 1);
			} else {
				lit_unit(L, i, j, s + i, j - i);
			}
			i = j;
		} else {
			lit_unit(L, i, i + 2, s + i, 2);
			i += 2;
		}
	}
	return 0;
}

int literal_decode(const struct srcfile *f, int yaml, size_t start, size_t end, int line,
		      int col, const char *label, struct literal *L, struct diag *d)
{
	if (!label)
		label = "this value";
	if (start > end || end > f->len)
		return diag_at(d, f->display, line, col, "%s: its position is outside the file", label);
	return yaml ? yaml_decode(f, start, end, line, col, label, L, d)
		    : env_decode(f, start, end, line, col, label, L, d);
}

/* --- encoding --- */

/* Encode decoded text for the literal's style; -1 when the style cannot hold it. */
int literal_encode(int yaml, int style, const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (yaml && style == YS_DOUBLE) {
			if (c == '"' || c == '\\')
				buf_addf(out, "\\%c", c);
			else if (c == '\t')
				buf_addstr(out, "\\t");
			else if (c == '\n')
				buf_addstr(out, "\\n");
			else if (c < 0x20 || c == 0x7f)
				buf_addf(out, "\\x%02x", c);
			else
				buf_addch(out, c);
			continue;
		}
		if (!yaml && style == '"') {
			if (c == '"' || c == '\\')
				buf_addf(out, "\\%c", c);
			else if (c == '\n')
				buf_addstr(out, "\\n");
			else if (c == '\r')
				buf_addstr(out, "\\r");
			else
				buf_addch(out, c);
			continue;
		}
		if (c == '\n' || c == '\r')
			return -1;
		if (yaml && style == YS_SINGLE && c == '\'')
			buf_addstr(out, "''");
		else if (!yaml && style == '\'' && c == '\'')
			buf_addstr(out, "\\'");
		else
			buf_addch(out, c);
	}
	return 0;
}

long literal_list_prefix(const struct literal *L)
{
	const char *eq = memchr(L->text.buf, '=', L->text.len);
	return eq ? (long)(eq - L->text.buf) + 1 : -1;
}

/* Compose-level text of a decoded literal into out. */
int literal_compose_text(const struct literal *L, int list_form, const struct srcfile *f, int line,
			int col, struct buf *out, struct diag *d)
{
	if (L->yaml) {
		long k = list_form ? literal_list_prefix(L) : 0;
		if (k < 0)
			return diag_at(d, f->display, line, col, "expected KEY=VALUE in this list entry");
		buf_add(out, L->text.buf + k, L->text.len - (size_t)k);
		return 0;
	}
	if (L->style == '\'') {
		/* Never interpolated: a '$' here is a literal one, "$$" at compose level. */
		for (size_t i = 0; i < L->text.len; i++) {
			if (L->text.buf[i] == '$')
				buf_addch(out, '$');
			buf_addch(out, L->text.buf[i]);
		}
		return 0;
	}
	buf_add(out, L->text.buf, L->text.len);
	return 0;
}

int literal_read(const struct srcfile *f, int yaml, int list_form, size_t start, size_t end,
		       int line, int col, const char *label, struct buf *out, struct diag *d)
{
	struct literal L = { 0 };
	buf_init(&L.text);
	int r = literal_decode(f, yaml, start, end, line, col, label, &L, d);
	if (!r)
		r = literal_compose_text(&L, list_form, f, line, col, out, d);
	literal_release(&L);
	return r;
}


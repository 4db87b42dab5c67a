/*
 * rewrite: byte-exact edits of connection literals (see rewrite.h).
 *
 * A literal is decoded into "units": each unit is a run of source bytes
 * and the decoded bytes it stands for (one character, or one escape
 * sequence such as \" or ''), so decoded offsets map back to source bytes
 * without ever splitting an escape.  An edit compares the decoded text
 * before and after, keeps the common prefix and suffix (widened to whole
 * units) byte for byte, and re-encodes only the middle in the literal's own
 * style.  Whatever the edit produces is checked by parsing the edited file
 * again (libyaml through ydoc, or the env-file parser) and decoding the
 * literal at its new place.
 */
#include "artifacts/rewrite.h"
#include "detect/dsn.h"
#include "stack/envfile.h"
#include "util/fs.h"
#include "util/path.h"
#include "artifacts/secrets.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- literals --- */

struct unit {
	size_t s0, s1; /* source bytes */
	size_t d0, d1; /* decoded bytes */
};

struct literal {
	int yaml;
	int style;            /* YAML: YS_*; env: 0, '\'' or '"' */
	size_t body0, body1;  /* between the quotes, or the one line of a block scalar */
	struct buf text;      /* decoded (YAML: the scalar; env: before interpolation) */
	struct unit *u;
	size_t nu, alloc;
};

static void lit_release(struct literal *L)
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

static int lit_decode(const struct srcfile *f, int yaml, size_t start, size_t end, int line,
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
static int encode(int yaml, int style, const char *s, size_t n, struct buf *out)
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

/* --- edits --- */

static int same_path(const struct srcfile *a, const struct srcfile *b)
{
	return a == b || !strcmp(a->path, b->path);
}

char *rewrite_password_ref(const char *role)
{
	char *v = secrets_var_name(role);
	char *ref = xstrfmt("${%s:?%s must be set}", v, v);
	free(v);
	return ref;
}

/* The length of "KEY=" in a list-form item, or -1. */
static long list_prefix(const struct literal *L)
{
	const char *eq = memchr(L->text.buf, '=', L->text.len);
	return eq ? (long)(eq - L->text.buf) + 1 : -1;
}

/* Compose-level text of a decoded literal into out. */
static int compose_text(const struct literal *L, int list_form, const struct srcfile *f, int line,
			int col, struct buf *out, struct diag *d)
{
	if (L->yaml) {
		long k = list_form ? list_prefix(L) : 0;
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

int rewrite_read_value(const struct srcfile *f, int yaml, int list_form, size_t start, size_t end,
		       int line, int col, const char *label, struct buf *out, struct diag *d)
{
	struct literal L = { 0 };
	buf_init(&L.text);
	int r = lit_decode(f, yaml, start, end, line, col, label, &L, d);
	if (!r)
		r = compose_text(&L, list_form, f, line, col, out, d);
	lit_release(&L);
	return r;
}

/*
 * The smallest run of source bytes to replace so the literal decodes to
 * want: [*s0, *s1) in the file, standing for want[*w0, *w1).
 */
static void window(const struct literal *L, const char *want, size_t wlen, size_t *s0, size_t *s1,
		   size_t *w0, size_t *w1)
{
	const char *old = L->text.buf;
	size_t olen = L->text.len, p = 0, sfx = 0;

	while (p < olen && p < wlen && old[p] == want[p])
		p++;
	while (sfx < olen - p && sfx < wlen - p && old[olen - 1 - sfx] == want[wlen - 1 - sfx])
		sfx++;
	size_t a = p, b = olen - sfx;
	*s0 = *s1 = L->body1;
	for (size_t i = 0; i < L->nu; i++)
		if (L->u[i].d1 > a) {
			a = L->u[i].d0;
			*s0 = L->u[i].s0;
			break;
		}
	for (size_t i = 0; i < L->nu; i++)
		if (L->u[i].d1 >= b && L->u[i].d0 < b) {
			b = L->u[i].d1;
			*s1 = L->u[i].s1;
			break;
		} else if (L->u[i].d0 >= b) {
			*s1 = L->u[i].s0;
			break;
		}
	if (b >= olen)
		*s1 = L->body1;
	if (a >= olen)
		*s0 = L->body1;
	*w0 = a;
	*w1 = wlen - (olen - b);
}

static int edit_conflict(const struct rewrite_edit *e, const struct srcfile *f, size_t start,
			 size_t end)
{
	return same_path(e->file, f) && start < e->end && e->start < end;
}

int rewrite_set_value(struct rewrite *rw, const struct srcfile *f, int yaml, int list_form,
		      size_t start, size_t end, int line, int col, const char *value,
		      const char *label, struct diag *d)
{
	struct literal L = { 0 };
	struct buf raw = BUF_INIT, want = BUF_INIT, text = BUF_INIT;
	int ret = -1, style, whole = 0;

	buf_init(&L.text);
	if (lit_decode(f, yaml, start, end, line, col, label, &L, d) ||
	    compose_text(&L, list_form, f, line, col, &raw, d))
		goto cleanup;
	style = L.style;
	if (!strcmp(raw.buf, value)) {
		ret = 0;
		goto cleanup;
	}
	if (yaml) {
		long k = list_form ? list_prefix(&L) : 0;
		buf_add(&want, L.text.buf, (size_t)k);
		buf_addstr(&want, value);
	} else if (style == '\'') {
		/* Back to literal text; a lone '$' (a reference) needs interpolation. */
		int interp = 0;
		for (const char *c = value; *c; c++) {
			if (c[0] == '$' && c[1] == '$') {
				buf_addch(&want, '$');
				c++;
				continue;
			}
			interp |= *c == '$';
			buf_addch(&want, *c);
		}
		if (interp) {
			buf_reset(&want);
			buf_addstr(&want, value);
			style = '"';
			whole = 1;
			strvec_pushf(&rw->notes, "%s:%d: %s was single-quoted, which compose never "
				     "interpolates; it is now double-quoted so the password reference works",
				     f->display, line, label);
		}
	} else {
		buf_addstr(&want, value);
	}

	struct rewrite_edit e = { 0 };
	e.file = f;
	e.start = start;
	e.end = end;
	e.line = line;
	e.col = col;
	e.yaml = yaml;
	e.style = style;
	e.list_form = list_form;
	if (whole) {
		e.rstart = start;
		e.rend = end;
		buf_addch(&text, '"');
		encode(0, '"', want.buf, want.len, &text);
		buf_addch(&text, '"');
	} else {
		size_t w0, w1;
		window(&L, want.buf, want.len, &e.rstart, &e.rend, &w0, &w1);
		if (encode(yaml, style, want.buf + w0, w1 - w0, &text)) {
			diag_at(d, f->display, line, col, "%s: the new value cannot be written in this "
				"quoting style", label);
			goto cleanup;
		}
	}
	for (size_t i = 0; i < rw->nedits; i++) {
		struct rewrite_edit *o = &rw->edits[i];
		if (!edit_conflict(o, f, start, end))
			continue;
		if (o->start == start && o->end == end && !strcmp(o->want, want.buf)) {
			ret = 0; /* one literal shared by several services: one edit */
			goto cleanup;
		}
		diag_at(d, f->display, line, col, "this literal is shared by %s and %s, which would need "
			"different text (different roles): give them one role in dsnflip.yml, or split "
			"the literal", o->label, label);
		goto cleanup;
	}
	e.text = buf_detach(&text, &e.text_len);
	e.want = buf_detach(&want, NULL);
	e.label = xstrdup(label);
	ALLOC_GROW(rw->edits, rw->nedits + 1, rw->edits_alloc);
	rw->edits[rw->nedits++] = e;
	ret = 0;
cleanup:
	lit_release(&L);
	buf_release(&raw);
	buf_release(&want);
	buf_release(&text);
	return ret;
}

/* --- applying and checking --- */

static const struct ynode *scalar_at(const struct ynode *n, size_t start, int depth)
{
	if (!n || depth > 128)
		return NULL;
	if (n->kind == YN_SCALAR)
		return n->pos.start == start ? n : NULL;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *r;
		if (n->kind == YN_MAP && (r = scalar_at(n->keys[i], start, depth + 1)))
			return r;
		if ((r = scalar_at(n->kind == YN_MAP ? n->vals[i] : n->items[i], start, depth + 1)))
			return r;
	}
	return NULL;
}

static int cmp_edit(const void *a, const void *b)
{
	const struct rewrite_edit *x = *(const struct rewrite_edit *const *)a;
	const struct rewrite_edit *y = *(const struct rewrite_edit *const *)b;
	return x->rstart < y->rstart ? -1 : x->rstart > y->rstart;
}

/* Turn a plain YAML edit into a double-quoted literal (a flow collection needs it). */
static void to_double(struct rewrite *rw, struct rewrite_edit *e)
{
	struct literal L = { 0 };
	struct buf text = BUF_INIT;
	struct diag ignore = DIAG_INIT;

	buf_init(&L.text);
	if (!lit_decode(e->file, 1, e->start, e->end, e->line, e->col, e->label, &L, &ignore)) {
		e->rstart = L.body0;
		e->rend = L.body1;
	}
	buf_addch(&text, '"');
	encode(1, YS_DOUBLE, e->want, strlen(e->want), &text);
	buf_addch(&text, '"');
	free(e->text);
	e->text = buf_detach(&text, &e->text_len);
	e->style = YS_DOUBLE;
	strvec_pushf(&rw->notes, "%s:%d: %s was a plain scalar where \"${...}\" cannot be written "
		     "plain (a flow collection); it is now double-quoted", e->file->display, e->line,
		     e->label);
	lit_release(&L);
	diag_release(&ignore);
}

/*
 * Build one file from its edits and check it: 0 ok, 1 a plain edit must
 * become double-quoted (done; try again), -1 error.
 */
static int build_file(struct rewrite *rw, struct rewrite_file *rf, struct rewrite_edit **v, size_t n,
		      struct diag *d)
{
	const struct srcfile *f = rf->src;
	struct buf out = BUF_INIT;
	size_t at = 0, *nstart = xcalloc(n, sizeof(*nstart)), *nend = xcalloc(n, sizeof(*nend));
	long delta = 0;
	int ret = -1;

	qsort(v, n, sizeof(*v), cmp_edit);
	for (size_t i = 0; i < n; i++) {
		if (i && v[i]->rstart < v[i - 1]->rend) {
			diag_at(d, f->display, v[i]->line, v[i]->col, "overlapping edits (%s and %s)",
				v[i - 1]->label, v[i]->label);
			goto cleanup;
		}
		buf_add(&out, f->data + at, v[i]->rstart - at);
		nstart[i] = (size_t)((long)v[i]->start + delta);
		buf_add(&out, v[i]->text, v[i]->text_len);
		at = v[i]->rend;
		delta += (long)v[i]->text_len - (long)(v[i]->rend - v[i]->rstart);
		nend[i] = (size_t)((long)v[i]->end + delta);
	}
	buf_add(&out, f->data + at, f->len - at);

	struct arena a = ARENA_INIT;
	struct srcfile *nf = srcfile_from(&a, f->display, out.buf, out.len);
	struct diag sub = DIAG_INIT;
	if (v[0]->yaml) {
		struct ylimits lim = YLIMITS_DEFAULT;
		struct ynode **docs = NULL;
		size_t ndocs = 0;
		int again = 0;
		if (ydoc_load_all(&a, nf, &lim, &docs, &ndocs, &sub)) {
			for (size_t i = 0; i < n; i++)
				if (v[i]->style == YS_PLAIN) {
					to_double(rw, v[i]);
					again = 1;
				}
			if (!again)
				diag_at(d, f->display, 0, 0, "the rewritten file does not parse (%s)",
					sub.msg.buf);
			ret = again ? 1 : -1;
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			const struct ynode *node = NULL;
			for (size_t k = 0; k < ndocs && !node; k++)
				node = scalar_at(docs[k], nstart[i], 0);
			int block = v[i]->style == YS_LITERAL || v[i]->style == YS_FOLDED;
			if (!block && (!node || node->len != strlen(v[i]->want) ||
				       memcmp(node->str, v[i]->want, node->len))) {
				if (v[i]->style == YS_PLAIN) {
					to_double(rw, v[i]);
					again = 1;
					continue;
				}
				diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value "
					"does not read back as intended", v[i]->label);
				goto done;
			}
		}
		if (again) {
			ret = 1;
			goto done;
		}
	} else {
		struct envfile ef = ENVFILE_INIT;
		if (envfile_parse(f->display, nf->data, nf->len, &ef, &sub)) {
			diag_at(d, f->display, 0, 0, "the rewritten file does not parse (%s)", sub.msg.buf);
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			const struct envfile_entry *e = NULL;
			for (size_t k = 0; k < ef.nr && !e; k++)
				if (ef.v[k].vstart == nstart[i] && ef.v[k].has_value)
					e = &ef.v[k];
			if (!e || strcmp(e->value, v[i]->want)) {
				envfile_release(&ef);
				diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value "
					"does not read back as intended", v[i]->label);
				goto done;
			}
		}
		envfile_release(&ef);
	}
	/* Our own decoder must agree too (block scalars are checked only here). */
	for (size_t i = 0; i < n; i++) {
		struct literal L = { 0 };
		buf_init(&L.text);
		int bad = lit_decode(nf, v[i]->yaml, nstart[i], nend[i], v[i]->line, v[i]->col, v[i]->label, &L, &sub) ||
			  strcmp(L.text.buf, v[i]->want);
		lit_release(&L);
		if (bad) {
			diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value does not "
				"read back as intended", v[i]->label);
			goto done;
		}
	}
	free(rf->data);
	rf->data = buf_detach(&out, &rf->len);
	ret = 0;
done:
	diag_release(&sub);
	arena_release(&a);
cleanup:
	buf_release(&out);
	free(nstart);
	free(nend);
	return ret;
}

int rewrite_apply(struct rewrite *rw, struct diag *d)
{
	for (size_t i = 0; i < rw->nfiles; i++)
		free(rw->files[i].data);
	rw->nfiles = 0;
	for (size_t i = 0; i < rw->nedits; i++) {
		size_t k;
		for (k = 0; k < rw->nfiles; k++)
			if (same_path(rw->files[k].src, rw->edits[i].file))
				break;
		if (k < rw->nfiles)
			continue;
		ALLOC_GROW(rw->files, rw->nfiles + 1, rw->files_alloc);
		memset(&rw->files[rw->nfiles], 0, sizeof(rw->files[0]));
		rw->files[rw->nfiles++].src = rw->edits[i].file;
	}
	for (size_t k = 0; k < rw->nfiles; k++) {
		struct rewrite_file *rf = &rw->files[k];
		struct rewrite_edit **v = xcalloc(rw->nedits, sizeof(*v));
		size_t n = 0;
		int r;
		for (size_t i = 0; i < rw->nedits; i++)
			if (same_path(rw->edits[i].file, rf->src))
				v[n++] = &rw->edits[i];
		for (int attempt = 0; (r = build_file(rw, rf, v, n, d)) == 1 && attempt < 2; attempt++)
			;
		free(v);
		if (r == 1)
			r = diag_at(d, rf->src->display, 0, 0, "the rewritten file does not parse");
		if (r)
			return -1;
	}
	return 0;
}

const struct rewrite_file *rewrite_file_for(const struct rewrite *rw, const struct srcfile *f)
{
	for (size_t i = 0; i < rw->nfiles; i++)
		if (same_path(rw->files[i].src, f))
			return &rw->files[i];
	return NULL;
}

/* --- from the plan --- */

struct target_ctx {
	struct rewrite *rw;
	const struct plan_service *ps;
	struct diag *d;
};

static void position(const struct origin *o, const char **file, int *line, int *col)
{
	*file = o->pos.file ? o->pos.file->display : "(environment)";
	*line = o->pos.line;
	*col = o->pos.col;
}

static int add_target(struct target_ctx *c, const struct env_entry *e, enum rewrite_kind kind,
		      const char *role, int user, int password)
{
	struct rewrite *rw = c->rw;
	const char *svc = c->ps->name;
	const struct origin *o = &e->origin, *site = o;
	struct diag *d = c->d;
	struct buf raw = BUF_INIT, val = BUF_INIT;
	char *ref = rewrite_password_ref(role), *label = xstrfmt("services.%s.%s", svc, e->key);
	int ret = -1;

	for (size_t i = 0; i < rw->ntargets; i++) {
		struct rewrite_target *t = &rw->targets[i];
		if (strcmp(t->service, svc) || strcmp(t->key, e->key))
			continue;
		if (t->kind == kind && !strcmp(t->role, role)) {
			t->user |= user;
			t->password |= password;
			ret = 0;
		} else {
			diag_err(d, "%s would be rewritten for two roles (%s and %s)", label, t->role, role);
		}
		goto cleanup;
	}
	/* A user or password reached through ${VAR}: replace the reference, never VAR. */
	if (kind != RW_DSN && o->via)
		site = o->via;
	if (site->kind == ORIGIN_PROCESS) {
		if (o->via) {
			const char *file;
			int line, col;
			position(o->via, &file, &line, &col);
			diag_at(d, file, line, col, "%s is ${%s} from the process environment: there is "
				"no file to rewrite; define %s in .env or write the value here, then re-run",
				label, o->var ? o->var : "?", o->var ? o->var : "it");
		} else {
			diag_err(d, "%s comes from the process environment: there is no file to rewrite; "
				 "write it in the compose file or .env, then re-run", label);
		}
		goto cleanup;
	}
	const struct srcfile *f = site->pos.file;
	int yaml = site->kind == ORIGIN_YAML, line = site->pos.line, col = site->pos.col;
	if (rewrite_read_value(f, yaml, site->list_form, site->pos.start, site->pos.end, line, col,
			       label, &raw, d))
		goto cleanup;
	if (kind == RW_DSN) {
		struct diag sub = DIAG_INIT;
		struct dsn check = DSN_INIT;
		int ok = !dsn_rewrite(raw.buf, user ? role : NULL, password ? ref : NULL, &val, &sub) &&
			 !dsn_parse(val.buf, &check, &sub);
		if (ok)
			ok = (!user || (check.user && !strcmp(check.user, role))) &&
			     (!password || (check.password && !strcmp(check.password, ref)));
		dsn_release(&check);
		if (!ok) {
			diag_at(d, f->display, line, col, "%s cannot be rewritten in place: its user and "
				"password are not separable from the references it is built from%s%s",
				label, sub.set ? ": " : "", sub.set ? sub.msg.buf : "");
			diag_release(&sub);
			goto cleanup;
		}
		diag_release(&sub);
	} else {
		buf_addstr(&val, kind == RW_USER ? role : ref);
	}
	if (rewrite_set_value(rw, f, yaml, site->list_form, site->pos.start, site->pos.end, line, col,
			      val.buf, label, d))
		goto cleanup;
	ALLOC_GROW(rw->targets, rw->ntargets + 1, rw->targets_alloc);
	struct rewrite_target *t = &rw->targets[rw->ntargets++];
	memset(t, 0, sizeof(*t));
	t->service = xstrdup(svc);
	t->key = xstrdup(e->key);
	t->role = xstrdup(role);
	t->kind = kind;
	t->user = user;
	t->password = password;
	t->file = f;
	t->line = line;
	t->start = site->pos.start;
	if ((kind == RW_PASSWORD || (kind == RW_DSN && password)) && !strvec_contains(&rw->roles, role))
		strvec_push(&rw->roles, role);
	ret = 0;
cleanup:
	buf_release(&raw);
	buf_release(&val);
	free(ref);
	free(label);
	return ret;
}

static int missing_setting(struct target_ctx *c, const struct plan_conn *pc, const char *what)
{
	const struct origin *o = &pc->entry->origin;
	const char *file;
	int line, col;
	if (o->via)
		o = o->via;
	position(o, &file, &line, &col);
	return diag_at(c->d, file, line, col, "services.%s: the connection set by %s has no %s variable "
		       "(such as DB_%s) for dsnflip to rewrite; it edits values and never adds "
		       "variables: add one, then re-run", c->ps->name, pc->variable, what,
		       !strcmp(what, "user") ? "USER" : "PASSWORD");
}

int rewrite_compute(const struct plan *plan, struct rewrite *rw, struct diag *d)
{
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		struct target_ctx c = { rw, ps, d };
		if (ps->action != ACTION_FLIP)
			continue;
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *pc = &ps->conns[k];
			const char *role = pc->role ? pc->role : ps->role;
			if (!pc->superuser || !role)
				continue;
			if (pc->form == CONN_SPLIT) {
				if (!pc->user_entry)
					return missing_setting(&c, pc, "user");
				if (!pc->password_entry)
					return missing_setting(&c, pc, "password");
				if (add_target(&c, pc->user_entry, RW_USER, role, 1, 0) ||
				    add_target(&c, pc->password_entry, RW_PASSWORD, role, 0, 1))
					return -1;
				continue;
			}
			int user = !pc->user_entry, password = !pc->password_entry;
			if (!pc->entry)
				continue;
			if ((user || password) && add_target(&c, pc->entry, RW_DSN, role, user, password))
				return -1;
			if (pc->user_entry && add_target(&c, pc->user_entry, RW_USER, role, 1, 0))
				return -1;
			if (pc->password_entry && add_target(&c, pc->password_entry, RW_PASSWORD, role, 0, 1))
				return -1;
		}
	}
	return rewrite_apply(rw, d);
}

void rewrite_release(struct rewrite *rw)
{
	for (size_t i = 0; i < rw->ntargets; i++) {
		free(rw->targets[i].service);
		free(rw->targets[i].key);
		free(rw->targets[i].role);
	}
	free(rw->targets);
	for (size_t i = 0; i < rw->nedits; i++) {
		free(rw->edits[i].text);
		free(rw->edits[i].want);
		free(rw->edits[i].label);
	}
	free(rw->edits);
	for (size_t i = 0; i < rw->nfiles; i++)
		free(rw->files[i].data);
	free(rw->files);
	strvec_clear(&rw->roles);
	strvec_clear(&rw->notes);
	memset(rw, 0, sizeof(*rw));
}

/* --- verification --- */

static char *check_password(size_t i)
{
	return xstrfmt("dsnflipcheck%02zu", i);
}


/* The process environment with every referenced <ROLE>_PASSWORD set to its check value. */
static void check_environ(const struct rewrite *rw, char *const *env, struct strvec *out)
{
	for (char *const *e = env; e && *e; e++) {
		int ours = 0;
		for (size_t r = 0; r < rw->roles.nr && !ours; r++) {
			char *v = secrets_var_name(rw->roles.v[r]);
			size_t n = strlen(v);
			ours = !strncmp(*e, v, n) && (*e)[n] == '=';
			free(v);
		}
		if (!ours)
			strvec_push(out, *e);
	}
	for (size_t r = 0; r < rw->roles.nr; r++) {
		char *v = secrets_var_name(rw->roles.v[r]), *pw = check_password(r);
		strvec_pushf(out, "%s=%s", v, pw);
		free(v);
		free(pw);
	}
}

static const char *check_password_of(const struct rewrite *rw, const char *role, char **owned)
{
	for (size_t r = 0; r < rw->roles.nr; r++)
		if (!strcmp(rw->roles.v[r], role))
			return *owned = check_password(r);
	return *owned = NULL;
}

/* Scalars equal, or b is a by the mirror's prefix (an absolute path). */
static int same_scalar(const char *a, const char *b, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strcmp(a, b) || (a[0] == '/' && !strncmp(b, prefix, n) && !strcmp(b + n, a));
}

static int same_node(const struct ynode *a, const struct ynode *b, const char *prefix, int depth,
		     int skip_env)
{
	if (!a || !b)
		return a == b;
	if (depth > 64 || a->kind != b->kind || a->n != b->n)
		return 0;
	if (a->kind == YN_SCALAR)
		return same_scalar(a->str, b->str, prefix);
	for (size_t i = 0; i < a->n; i++) {
		if (a->kind == YN_SEQ) {
			if (!same_node(a->items[i], b->items[i], prefix, depth + 1, 0))
				return 0;
			continue;
		}
		if (!same_node(a->keys[i], b->keys[i], prefix, depth + 1, 0))
			return 0;
		if (skip_env && a->keys[i]->kind == YN_SCALAR && !strcmp(a->keys[i]->str, "environment"))
			continue;
		if (!same_node(a->vals[i], b->vals[i], prefix, depth + 1, 0))
			return 0;
	}
	return 1;
}

static int compare(const struct rewrite *rw, const struct compose_project *was,
		   const struct compose_project *now, const char *prefix, struct diag *d)
{
	size_t found = 0;

	if (was->nservices != now->nservices)
		return diag_err(d, "the rewritten stack has %zu services instead of %zu",
				now->nservices, was->nservices);
	for (size_t i = 0; i < was->nservices; i++) {
		const struct service *a = &was->services[i], *b = &now->services[i];
		if (strcmp(a->name, b->name) || a->enabled != b->enabled ||
		    !same_node(a->node, b->node, prefix, 0, 1))
			return diag_err(d, "the rewrite would change services.%s beyond its connection "
					"settings", a->name);
		if (a->nenv != b->nenv)
			return diag_err(d, "the rewrite would change the environment variables of "
					"services.%s", a->name);
		for (size_t k = 0; k < a->nenv; k++) {
			const struct env_entry *x = &a->env[k], *y = &b->env[k];
			const struct rewrite_target *t = NULL;
			char *want = NULL, *pw = NULL;
			int same;
			if (strcmp(x->key, y->key))
				return diag_err(d, "the rewrite would change the environment variables of "
						"services.%s", a->name);
			for (size_t j = 0; j < rw->ntargets && !t; j++)
				if (!strcmp(rw->targets[j].service, a->name) && !strcmp(rw->targets[j].key, x->key))
					t = &rw->targets[j];
			if (!t) {
				same = (!x->value && !y->value) ||
				       (x->value && y->value && !strcmp(x->value, y->value));
				if (!same)
					return diag_err(d, "the rewrite would also change services.%s.%s, "
							"which is not one of the flipped settings", a->name,
							x->key);
				continue;
			}
			found++;
			check_password_of(rw, t->role, &pw);
			if (t->kind == RW_USER) {
				want = xstrdup(t->role);
			} else if (t->kind == RW_PASSWORD) {
				want = xstrdup(pw ? pw : "");
			} else if (x->value) {
				struct buf w = BUF_INIT;
				struct diag sub = DIAG_INIT;
				if (!dsn_rewrite(x->value, t->user ? t->role : NULL,
						 t->password ? pw : NULL, &w, &sub))
					want = buf_detach(&w, NULL);
				buf_release(&w);
				diag_release(&sub);
			}
			same = want && y->value && !strcmp(want, y->value);
			free(want);
			free(pw);
			if (!same)
				return diag_at(d, t->file->display, t->line, 0, "after the rewrite, "
					       "services.%s.%s is not what the plan intends (role %s with "
					       "its password reference): refusing", a->name, x->key, t->role);
		}
	}
	if (found != rw->ntargets)
		return diag_err(d, "the rewritten stack no longer has every setting the plan flips");
	return 0;
}

int rewrite_verify(const struct rewrite *rw, const struct compose_project *p,
		   const struct compose_opts *opts, struct diag *d)
{
	struct strvec env = STRVEC_INIT, files = STRVEC_INIT, envfiles = STRVEC_INIT, written = STRVEC_INIT;
	struct compose_project *was = NULL, *now = NULL;
	struct compose_opts o1 = *opts, o2 = *opts;
	struct arena a = ARENA_INIT;
	char tmpl[] = "/tmp/dsnflip-verify-XXXXXX";
	const char *tmpdir = getenv("TMPDIR");
	char *root = NULL;
	int ret = -1;

	check_environ(rw, opts->environ, &env);
	o1.environ = env.v;
	o2.environ = env.v;
	if (compose_load(&o1, &was, d))
		goto cleanup;

	root = tmpdir && *tmpdir ? xstrfmt("%s/dsnflip-verify-XXXXXX", tmpdir) : xstrdup(tmpl);
	if (!mkdtemp(root)) {
		diag_fail(d, "cannot create a temporary directory to check the rewrite: %s",
			  strerror(errno));
		free(root);
		root = NULL;
		goto cleanup;
	}
	/* Every file the stack read, edited or not, at <root><absolute path>. */
	for (size_t i = 0; i < p->nsources; i++) {
		const struct srcfile *f = p->sources[i];
		const char *abs = path_absolute(&a, f->path);
		if (strvec_contains(&written, abs))
			continue;
		const struct rewrite_file *rf = rewrite_file_for(rw, f);
		char *dest = xstrfmt("%s%s", root, abs), *dir = path_dirname(&a, dest);
		int r = fs_mkdir_p(dir, 0700, d);
		if (!r && path_write_file(dest, rf ? rf->data : f->data, rf ? rf->len : f->len))
			r = diag_fail(d, "cannot write the copy used to check the rewrite: %s", strerror(errno));
		free(dest);
		if (r)
			goto cleanup;
		strvec_push(&written, abs);
	}
	o2.dir = arena_strfmt(&a, "%s%s", root, p->dir);
	o2.project_name = p->name;
	for (size_t i = 0; i < opts->nfiles; i++)
		strvec_push(&files, opts->files[i][0] == '/' ? arena_strfmt(&a, "%s%s", root, opts->files[i])
							    : opts->files[i]);
	for (size_t i = 0; i < opts->nenv_files; i++)
		strvec_push(&envfiles, opts->env_files[i][0] == '/'
				       ? arena_strfmt(&a, "%s%s", root, opts->env_files[i]) : opts->env_files[i]);
	o2.files = (const char *const *)files.v;
	o2.env_files = (const char *const *)envfiles.v;
	if (compose_load(&o2, &now, d)) {
		struct buf m = BUF_INIT;
		buf_addf(&m, "the rewritten stack does not load: %s", d->msg.buf);
		diag_release(d);
		diag_err(d, "%s", m.buf);
		buf_release(&m);
		goto cleanup;
	}
	ret = compare(rw, was, now, root, d);
cleanup:
	if (root) {
		path_remove_tree(root);
		free(root);
	}
	compose_free(was);
	compose_free(now);
	strvec_clear(&env);
	strvec_clear(&files);
	strvec_clear(&envfiles);
	strvec_clear(&written);
	arena_release(&a);
	return ret;
}

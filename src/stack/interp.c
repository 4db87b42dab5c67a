/*
 * interp: compose variable interpolation of one scalar (see interp.h).
 *
 * A single left-to-right scan; only the text of a default, alternate or
 * message that is actually used is expanded, recursively, up to
 * INTERP_MAX_DEPTH levels.  Where a ${...} ends is decided exactly as
 * compose-go decides it (its regexp plus getFirstBraceClosingIndex), so
 * odd inputs such as "${A:-{x}}" or "${A:-x\ny}" behave as under
 * `docker compose`.
 */
#include "stack/interp.h"
#include "util/mask.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct expander {
	interp_lookup_fn lookup;
	void *ctx;
	const char *file;
	int line, col;
	const char *top; /* the whole scalar, for messages */
	size_t toplen;
	struct interp_result *out;
	struct diag *d;
	unsigned flags;  /* INTERP_* */
	int in_message;  /* expanding a ${VAR:?message}, which is printed */
};

/* What one reference resolved to, for whole_var. */
struct ref_info {
	int from_var;       /* value is the variable's own (set) value */
	const void *origin;
	char *name;         /* owned */
};

static int is_name_start(int c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_op(int c)
{
	return c == '-' || c == '+' || c == '?';
}

/* Append s[0..n) in double quotes, escaped, shortened past max bytes. */
static void add_quoted(struct buf *b, const char *s, size_t n, size_t max)
{
	size_t i, lim = n > max ? max : n;

	buf_addch(b, '"');
	for (i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			buf_addf(b, "\\%c", ch);
		else if (ch == '\n')
			buf_addstr(b, "\\n");
		else if (ch == '\t')
			buf_addstr(b, "\\t");
		else if (ch == '\r')
			buf_addstr(b, "\\r");
		else if (ch < 0x20 || ch == 0x7f)
			buf_addf(b, "\\x%02x", ch);
		else
			buf_addch(b, ch);
	}
	if (lim < n)
		buf_addstr(b, "...");
	buf_addch(b, '"');
}

static int invalid_format(struct expander *e, const char *ref, size_t reflen)
{
	struct buf m = BUF_INIT;

	buf_addstr(&m, "invalid interpolation format for ");
	add_quoted(&m, e->top, e->toplen, 80);
	buf_addstr(&m, ": ");
	add_quoted(&m, ref, reflen, 80);
	diag_at(e->d, e->file, e->line, e->col, "%s", m.buf);
	buf_release(&m);
	return -1;
}

static int too_deep(struct expander *e)
{
	struct buf m = BUF_INIT;

	buf_addstr(&m, "interpolation nested too deeply in ");
	add_quoted(&m, e->top, e->toplen, 80);
	diag_at(e->d, e->file, e->line, e->col, "%s (max %d)", m.buf,
		INTERP_MAX_DEPTH);
	buf_release(&m);
	return -1;
}

/*
 * compose-go's getFirstBraceClosingIndex over s[0..n): count '{' (skipping
 * the character after each) against '}'; the index of the '}' that brings
 * the count back to zero, or -1.
 */
static long first_closing_brace(const char *s, size_t n)
{
	long open = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '}') {
			open--;
			if (open == 0)
				return (long)i;
		}
		if (s[i] == '{') {
			open++;
			i++;
		}
	}
	return -1;
}

static const char *lookup_var(struct expander *e, const char *name,
			      const void **origin)
{
	*origin = NULL;
	const char *v = e->lookup(e->ctx, name, origin);
	/* An error message is printed: a secret-named variable in it shows masked
	 * (a DSN's password is masked with the message itself). */
	if (v && *v && e->in_message && mask_key_is_secret(name, strlen(name)))
		return MASK;
	return v;
}

static void note_unset(struct expander *e, const char *name)
{
	if (!strvec_contains(&e->out->unset, name))
		strvec_push(&e->out->unset, name);
}

static int expand(struct expander *e, const char *s, size_t len, int depth,
		  struct buf *dst, struct ref_info *whole);

/*
 * Expand the ${...} at s[i] (s[i+1] == '{') into dst; *next receives the
 * index just past it.  info gets what it resolved to.
 */
static int expand_braced(struct expander *e, const char *s, size_t len, size_t i,
			 int depth, struct buf *dst, size_t *next,
			 struct ref_info *info)
{
	size_t p = i + 2, q, cstart, close, eol;
	const char *nl;
	const char *v;
	const void *origin;
	int colon = 0, op = 0, ret = 0;
	long k;

	if (p >= len || !is_name_start((unsigned char)s[p]))
		goto invalid;
	for (q = p; q < len && is_name_char((unsigned char)s[q]); q++)
		;
	if (q < len && s[q] == '}') {
		close = q;
		cstart = q;
	} else {
		if (q + 1 < len && s[q] == ':' && is_op(s[q + 1])) {
			colon = 1;
			op = s[q + 1];
			cstart = q + 2;
		} else if (q < len && is_op(s[q])) {
			op = s[q];
			cstart = q + 1;
		} else {
			goto invalid;
		}
		/* The regexp's ".*}": to the last '}' before a newline. */
		nl = memchr(s + cstart, '\n', len - cstart);
		eol = nl ? (size_t)(nl - s) : len;
		for (close = eol; close > cstart && s[close - 1] != '}'; close--)
			;
		if (close == cstart)
			goto invalid;
		close--;
		/* Then cut at the first balanced '}'. */
		k = first_closing_brace(s + i, close - i + 1);
		if (k >= 0)
			close = i + (size_t)k;
	}
	*next = close + 1;

	info->name = xstrndup(s + p, q - p);
	v = lookup_var(e, info->name, &origin);
	if (!op) {
		if (v) {
			buf_addstr(dst, v);
			info->from_var = 1;
			info->origin = origin;
		} else {
			note_unset(e, info->name);
		}
		return 0;
	}
	if (op == '+') {
		if (v && (!colon || *v))
			return expand(e, s + cstart, close - cstart, depth + 1, dst, NULL);
		if (v)
			buf_addstr(dst, v);
		return 0;
	}
	if (v && (!colon || *v)) {
		buf_addstr(dst, v);
		info->from_var = 1;
		info->origin = origin;
		return 0;
	}
	if (op == '-')
		return expand(e, s + cstart, close - cstart, depth + 1, dst, NULL);

	/* op == '?': missing. */
	if ((e->flags & INTERP_SECRETS_OPTIONAL) && interp_name_is_secret(info->name)) {
		if (!strvec_contains(&e->out->unset_secrets, info->name))
			strvec_push(&e->out->unset_secrets, info->name);
		return 0;
	}
	{
		struct buf msg = BUF_INIT;
		int was = e->in_message;
		e->in_message = 1;
		int r = expand(e, s + cstart, close - cstart, depth + 1, &msg, NULL);
		e->in_message = was;
		if (r == 0) {
			if (msg.len)
				diag_at(e->d, e->file, e->line, e->col,
					"required variable %s is missing a value: %s",
					info->name, msg.buf);
			else
				diag_at(e->d, e->file, e->line, e->col,
					"required variable %s is missing a value",
					info->name);
		}
		buf_release(&msg);
		ret = -1;
	}
	return ret;

invalid:
	/* Show the reference up to its '}' or the end of the line. */
	for (q = i + 2; q < len && s[q] != '\n' && s[q] != '}'; q++)
		;
	if (q < len && s[q] == '}')
		q++;
	return invalid_format(e, s + i, q - i);
}

/*
 * Expand s[0..len) into dst at nesting depth `depth`.  When whole is not
 * NULL and s is exactly one reference, *whole describes it.
 */
static int expand(struct expander *e, const char *s, size_t len, int depth,
		  struct buf *dst, struct ref_info *whole)
{
	size_t i = 0, start, next;

	if (depth > INTERP_MAX_DEPTH)
		return too_deep(e);
	while (i < len) {
		struct ref_info info = { 0, NULL, NULL };
		int ret;

		if (s[i] != '$') {
			const char *dollar = memchr(s + i, '$', len - i);
			size_t end = dollar ? (size_t)(dollar - s) : len;
			buf_add(dst, s + i, end - i);
			i = end;
			continue;
		}
		start = i;
		if (i + 1 >= len) {
			buf_addch(dst, '$');
			i++;
			continue;
		}
		if (s[i + 1] == '$') {
			e->out->had_refs = 1;
			buf_addch(dst, '$');
			i += 2;
			continue;
		}
		if (is_name_start((unsigned char)s[i + 1])) {
			const char *v;
			const void *origin;
			for (next = i + 1; next < len &&
			     is_name_char((unsigned char)s[next]); next++)
				;
			e->out->had_refs = 1;
			info.name = xstrndup(s + i + 1, next - i - 1);
			v = lookup_var(e, info.name, &origin);
			if (v) {
				buf_addstr(dst, v);
				info.from_var = 1;
				info.origin = origin;
			} else {
				note_unset(e, info.name);
			}
			ret = 0;
		} else if (s[i + 1] == '{') {
			e->out->had_refs = 1;
			ret = expand_braced(e, s, len, i, depth, dst, &next, &info);
		} else {
			/* "$ ", "$-", "$1", "$}": not a reference. */
			buf_addch(dst, '$');
			i++;
			continue;
		}
		if (ret) {
			free(info.name);
			return -1;
		}
		if (whole && start == 0 && next == len && info.from_var) {
			whole->from_var = 1;
			whole->origin = info.origin;
			whole->name = info.name;
		} else {
			free(info.name);
		}
		i = next;
	}
	return 0;
}

void interp_result_init(struct interp_result *r)
{
	buf_init(&r->value);
	r->whole_var = 0;
	r->var_name = NULL;
	r->var_origin = NULL;
	r->unset.v = NULL;
	r->unset.nr = 0;
	r->unset.alloc = 0;
	r->had_refs = 0;
	r->unset_secrets.v = NULL;
	r->unset_secrets.nr = 0;
	r->unset_secrets.alloc = 0;
}

void interp_result_release(struct interp_result *r)
{
	buf_release(&r->value);
	free(r->var_name);
	strvec_clear(&r->unset);
	strvec_clear(&r->unset_secrets);
	interp_result_init(r);
}

int interp_name_is_secret(const char *name)
{
	static const char word[] = "PASSWORD";
	for (; *name; name++) {
		size_t k = 0;
		while (word[k] && toupper((unsigned char)name[k]) == word[k])
			k++;
		if (!word[k])
			return 1;
	}
	return 0;
}

int interp_expand(const char *s, size_t len, interp_lookup_fn lookup, void *ctx,
		  const char *file, int line, int col, struct interp_result *out,
		  struct diag *d)
{
	return interp_expand_flags(s, len, lookup, ctx, 0, file, line, col, out, d);
}

int interp_expand_flags(const char *s, size_t len, interp_lookup_fn lookup, void *ctx,
			unsigned flags, const char *file, int line, int col,
			struct interp_result *out, struct diag *d)
{
	struct expander e;
	struct ref_info whole = { 0, NULL, NULL };

	interp_result_release(out);
	if (len > INTERP_MAX_LEN)
		return diag_at(d, file, line, col,
			       "value too long to interpolate (%zu bytes, max %d)",
			       len, INTERP_MAX_LEN);
	e.lookup = lookup;
	e.ctx = ctx;
	e.flags = flags;
	e.in_message = 0;
	e.file = file;
	e.line = line;
	e.col = col;
	e.top = s;
	e.toplen = len;
	e.out = out;
	e.d = d;
	if (expand(&e, s, len, 0, &out->value, &whole)) {
		free(whole.name);
		interp_result_release(out);
		return -1;
	}
	if (whole.from_var) {
		out->whole_var = 1;
		out->var_name = whole.name;
		out->var_origin = whole.origin;
	}
	return 0;
}

/*
 * envfile: .env parsing with compose-go's dotenv rules (see envfile.h).
 *
 * The parser walks the bytes once, statement by statement, as compose-go's
 * parser does (so, like it, text after a closing quote on the same line is
 * read as the next statement).  Positions are tracked with a cursor that
 * only moves forward, so line and column cost nothing extra per entry.
 */
#include "stack/envfile.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
	const char *data;
	size_t pos; /* byte offset the line/col below describe */
	int line, col;
};

struct parser {
	const char *display;
	const char *data;
	size_t len;
	struct cursor cur;
	struct diag *d;
};

/* Move the cursor to byte offset pos (forward only, else restart). */
static void cursor_to(struct cursor *c, size_t start, size_t pos)
{
	if (pos < c->pos) {
		c->pos = start;
		c->line = 1;
		c->col = 1;
	}
	for (; c->pos < pos; c->pos++) {
		unsigned char ch = (unsigned char)c->data[c->pos];
		if (ch == '\n') {
			c->line++;
			c->col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			c->col++;
		}
	}
}

static size_t bom_len(const char *data, size_t len)
{
	return len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;
}

static int error_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record "display:line:col: message" for byte offset pos; returns -1. */
static int error_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cursor_to(&p->cur, bom_len(p->data, p->len), pos);
	diag_at(p->d, p->display, p->cur.line, p->cur.col, "%s", msg.buf);
	buf_release(&msg);
	return -1;
}

/*
 * compose-go's isSpace: horizontal space, not a line break (\t \v \f \r,
 * space, U+0085, U+00A0).  Returns its length in bytes at s[0..n), or 0.
 */
static size_t hspace_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];

	if (c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r')
		return 1;
	if (c == 0xc2 && n >= 2 && ((unsigned char)s[1] == 0x85 ||
				    (unsigned char)s[1] == 0xa0))
		return 2;
	return 0;
}

/* Go's unicode.IsSpace, on UTF-8: its length in bytes at s[0..n), or 0. */
static size_t uspace_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == '\n')
		return 1;
	if (hspace_len(s, n))
		return hspace_len(s, n);
	if (n >= 3 && u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80)
		return 3; /* U+1680 */
	if (n >= 3 && u[0] == 0xe2 && u[1] == 0x80 &&
	    (u[2] <= 0x8a || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf) &&
	    u[2] >= 0x80)
		return 3; /* U+2000..200A, 2028, 2029, 202F */
	if (n >= 3 && u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f)
		return 3; /* U+205F */
	if (n >= 3 && u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)
		return 3; /* U+3000 */
	return 0;
}

/* Length of the unicode.IsSpace character ending at s[end) (not before
 * start), or 0. */
static size_t uspace_back(const char *s, size_t start, size_t end)
{
	size_t k;

	for (k = 1; k <= 3 && k <= end - start; k++)
		if (uspace_len(s + end - k, k) == k)
			return k;
	return 0;
}

/* Length of the UTF-8 sequence at s[0..n) (1 for a stray byte). */
static size_t utf8_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t want, i;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		want = 2;
	else if ((c & 0xf0) == 0xe0)
		want = 3;
	else if ((c & 0xf8) == 0xf0)
		want = 4;
	else
		return 1;
	if (want > n)
		return 1;
	for (i = 1; i < want; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			return 1;
	return want;
}

/*
 * May this character be part of a key?  compose-go: letters, digits and
 * _ . - [ ].  Non-ASCII letters are accepted without checking their
 * Unicode category (any well-formed sequence that is not a space).
 */
static int key_char(const char *s, size_t n, size_t *clen)
{
	unsigned char c = (unsigned char)s[0];

	*clen = utf8_len(s, n);
	if (c < 0x80)
		return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		       (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		       c == '-' || c == '[' || c == ']';
	return *clen > 1 && !uspace_len(s, n);
}

/* Append s[0..n) for a message: control characters escaped, shortened. */
static void add_shown(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 60; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			buf_addf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			buf_addf(b, "\\x%02x", ch);
		else
			buf_addch(b, ch);
	}
	if (i < n)
		buf_addstr(b, "...");
}

static size_t line_end(const char *data, size_t len, size_t pos)
{
	const char *nl = memchr(data + pos, '\n', len - pos);
	return nl ? (size_t)(nl - data) : len;
}

/* Double-quoted escapes, as compose-go's expandEscapes. */
static void expand_escapes(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char c = s[i];
		if (c != '\\' || i + 1 >= n) {
			buf_addch(out, c);
			i++;
			continue;
		}
		c = s[i + 1];
		switch (c) {
		case 'a': buf_addch(out, '\a'); break;
		case 'b': buf_addch(out, '\b'); break;
		case 'f': buf_addch(out, '\f'); break;
		case 'n': buf_addch(out, '\n'); break;
		case 'r': buf_addch(out, '\r'); break;
		case 't': buf_addch(out, '\t'); break;
		case 'v': buf_addch(out, '\v'); break;
		case '\\': buf_addch(out, '\\'); break;
		case '"': buf_addch(out, '"'); break;
		case '$': buf_addstr(out, "$$"); break;
		case '0': {
			/* "\0" and up to 3 digits; exactly 3 octal digits
			 * (value <= 0377) make one byte, else kept as is. */
			size_t j = i + 2, nd = 0;
			int v = 0, ok = 1;
			while (nd < 3 && j < n && s[j] >= '0' && s[j] <= '9') {
				if (s[j] > '7')
					ok = 0;
				v = v * 8 + (s[j] - '0');
				j++;
				nd++;
			}
			if (nd == 3 && ok && v <= 0xff && v != 0)
				buf_addch(out, v);
			else
				buf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		default:
			/* Not an escape ("\c" included: Go rejects it). */
			buf_addch(out, '\\');
			i++;
			continue;
		}
		i += 2;
	}
}

/*
 * Read the quoted value at p->data[pos] (the opening quote).  On success
 * *end is just past the closing quote and raw holds the text with \<quote>
 * unescaped (other backslashes kept).
 */
static int read_quoted(struct parser *p, const char *key, size_t pos, struct buf *raw, size_t *end)
{
	char q = p->data[pos];
	size_t i;
	int esc = 0;

	for (i = pos + 1; i < p->len; i++) {
		char c = p->data[i];
		if (esc) {
			esc = 0;
			if (c != q)
				buf_addch(raw, '\\');
			buf_addch(raw, c);
		} else if (c == '\\') {
			esc = 1;
		} else if (c == q) {
			*end = i + 1;
			return 0;
		} else {
			buf_addch(raw, c);
		}
	}
	/* The value is not shown: it may be a password. */
	{
		struct buf k = BUF_INIT;
		add_shown(&k, key, strlen(key));
		error_at(p, pos, "unterminated quoted value for %s (no closing %c before the end "
			 "of the file)", k.buf, q);
		buf_release(&k);
	}
	return -1;
}

static struct envfile_entry *add_entry(struct envfile *ef)
{
	struct envfile_entry *e;

	ALLOC_GROW(ef->v, ef->nr + 1, ef->alloc);
	e = &ef->v[ef->nr++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Set e's line and col from e->vstart. */
static void set_position(struct parser *p, struct envfile_entry *e)
{
	cursor_to(&p->cur, bom_len(p->data, p->len), e->vstart);
	e->line = p->cur.line;
	e->col = p->cur.col;
}

/*
 * Parse one statement starting at *pos (not a space, not a comment) and
 * move *pos past it.
 */
static int parse_statement(struct parser *p, size_t *pos, struct envfile *ef)
{
	const char *data = p->data;
	size_t len = p->len, i = *pos, kstart, kend, vpos, n, clen, sep_end = 0;
	struct envfile_entry *e;
	int has_value = 0;

	/* "export" followed by spaces and more on the line. */
	if (len - i > 6 && !memcmp(data + i, "export", 6) &&
	    (n = hspace_len(data + i + 6, len - i - 6))) {
		size_t j = i + 6;
		while (j < len && (n = hspace_len(data + j, len - j)))
			j += n;
		if (j < len && data[j] != '\n')
			i = j;
	}

	/* The key runs to '=', ':' or the end of the line. */
	kstart = i;
	while (i < len && data[i] != '=' && data[i] != ':' && data[i] != '\n') {
		if ((n = hspace_len(data + i, len - i))) {
			i += n;
			continue;
		}
		if (!key_char(data + i, len - i, &clen)) {
			struct buf ch = BUF_INIT, line = BUF_INIT;
			int ret;
			/* The name up to '=' (the value may be a password). */
			size_t eol = line_end(data, len, kstart), k;
			if (eol > kstart && data[eol - 1] == '\r')
				eol--;
			for (k = i; k < eol && data[k] != '=' && data[k] != ':'; k++)
				;
			add_shown(&ch, data + i, clen);
			add_shown(&line, data + kstart, k - kstart);
			ret = error_at(p, i, "unexpected character \"%s\" in variable name \"%s\"",
				       ch.buf, line.buf);
			buf_release(&ch);
			buf_release(&line);
			return ret;
		}
		i += clen;
	}
	kend = i;
	while (kend > kstart && (n = uspace_back(data, kstart, kend)))
		kend -= n;
	for (n = kstart; n < kend; n++) {
		if (hspace_len(data + n, kend - n)) {
			struct buf key = BUF_INIT;
			int ret;
			add_shown(&key, data + kstart, kend - kstart);
			ret = error_at(p, kstart, "key cannot contain a space: \"%s\"",
				       key.buf);
			buf_release(&key);
			return ret;
		}
	}
	if (kend == kstart)
		return error_at(p, i, "missing variable name before '%c'",
				i < len ? data[i] : '=');

	if (i < len && data[i] != '\n') {
		has_value = 1;
		i++;
		sep_end = i;
		while (i < len && (n = hspace_len(data + i, len - i)))
			i += n;
	}

	e = add_entry(ef);
	e->key = xstrndup(data + kstart, kend - kstart);
	e->has_value = has_value;
	if (!has_value) {
		e->value = xstrdup("");
		e->vstart = e->vend = kend;
		set_position(p, e);
		*pos = i;
		return 0;
	}

	vpos = i;
	if (vpos < len && (data[vpos] == '"' || data[vpos] == '\'')) {
		struct buf raw = BUF_INIT;
		e->quote = data[vpos];
		e->vstart = vpos;
		set_position(p, e);
		if (read_quoted(p, e->key, vpos, &raw, &e->vend)) {
			buf_release(&raw);
			return -1;
		}
		if (e->quote == '"') {
			struct buf v = BUF_INIT;
			expand_escapes(&v, raw.buf, raw.len);
			e->value = buf_detach(&v, NULL);
			buf_release(&raw);
		} else {
			e->value = buf_detach(&raw, NULL);
		}
		*pos = e->vend;
		return 0;
	}

	/* Unquoted: to the end of the line, cut at " #", trailing space
	 * trimmed. */
	{
		size_t eol = line_end(data, len, vpos), end = eol, k;
		for (k = vpos; k + 1 < eol; k++) {
			if (data[k] == ' ' && data[k + 1] == '#') {
				end = k;
				break;
			}
		}
		while (end > vpos && (n = uspace_back(data, vpos, end)))
			end -= n;
		/* An empty value sits right after the '=' (before any "\r"),
		 * where a new value would be written. */
		if (end == vpos)
			vpos = end = sep_end;
		e->vstart = vpos;
		e->vend = end;
		set_position(p, e);
		e->value = xstrndup(data + vpos, end - vpos);
		*pos = eol;
	}
	return 0;
}

int envfile_parse(const char *display, const char *data, size_t len,
		  struct envfile *out, struct diag *d)
{
	struct parser p;
	struct envfile ef = ENVFILE_INIT;
	size_t pos, n;
	const char *nul;

	if (len > ENVFILE_MAX_SIZE)
		return diag_at(d, display, 0, 0,
			       "env file too large (%zu bytes, max %d)", len,
			       ENVFILE_MAX_SIZE);
	p.display = display;
	p.data = data;
	p.len = len;
	p.d = d;
	pos = bom_len(data, len);
	p.cur.data = data;
	p.cur.pos = pos;
	p.cur.line = 1;
	p.cur.col = 1;

	nul = len ? memchr(data, '\0', len) : NULL;
	if (nul)
		return error_at(&p, (size_t)(nul - data), "NUL byte in env file");

	for (;;) {
		/* Skip blank space and whole-line comments. */
		while (pos < len && (n = uspace_len(data + pos, len - pos)))
			pos += n;
		if (pos >= len)
			break;
		if (data[pos] == '#') {
			pos = line_end(data, len, pos);
			continue;
		}
		if (parse_statement(&p, &pos, &ef)) {
			envfile_release(&ef);
			return -1;
		}
	}
	*out = ef;
	return 0;
}

void envfile_release(struct envfile *ef)
{
	size_t i;

	for (i = 0; i < ef->nr; i++) {
		free(ef->v[i].key);
		free(ef->v[i].value);
	}
	free(ef->v);
	ef->v = NULL;
	ef->nr = ef->alloc = 0;
}

const struct envfile_entry *envfile_get(const struct envfile *ef, const char *key)
{
	size_t i;

	for (i = ef->nr; i > 0; i--)
		if (!strcmp(ef->v[i - 1].key, key))
			return &ef->v[i - 1];
	return NULL;
}

int envfile_entry_interpolates(const struct envfile_entry *e)
{
	return e->has_value && e->quote != '\'';
}

/* A value written unquoted must read back as itself: no quote, space, '#', '$', '\\' or break. */
static int plain_value(const char *v)
{
	for (; *v; v++)
		if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') ||
		      strchr("_-.+/=:@%,", *v)))
			return 0;
	return 1;
}

int envfile_set(const char *display, const char *data, size_t len, const char *const *keys,
		const char *const *values, size_t n, const char *header, struct buf *out,
		struct diag *d)
{
	struct envfile ef = ENVFILE_INIT;
	struct span { size_t start, end; size_t k; int bare; } *spans = NULL;
	size_t nspans = 0;
	const char *eol = "\n";
	int ret = -1;

	for (size_t k = 0; k < n; k++)
		if (!plain_value(values[k]))
			return diag_err(d, "%s: the value of %s cannot be written unquoted", display, keys[k]);
	if (envfile_parse(display, data, len, &ef, d))
		return -1;
	const char *nl = memchr(data, '\n', len);
	if (nl && nl > data && nl[-1] == '\r')
		eol = "\r\n";
	spans = xcalloc(n ? n : 1, sizeof(*spans));
	for (size_t k = 0; k < n; k++) {
		const struct envfile_entry *e = envfile_get(&ef, keys[k]);
		if (!e)
			continue;
		/* In file order, so the edits below go front to back. */
		size_t at = nspans++;
		while (at && spans[at - 1].start > e->vstart) {
			spans[at] = spans[at - 1];
			at--;
		}
		spans[at].start = e->vstart;
		spans[at].end = e->vend;
		spans[at].k = k;
		spans[at].bare = !e->has_value;
	}
	size_t from = 0;
	for (size_t i = 0; i < nspans; i++) {
		buf_add(out, data + from, spans[i].start - from);
		if (spans[i].bare)
			buf_addch(out, '=');
		buf_addstr(out, values[spans[i].k]);
		from = spans[i].end;
	}
	buf_add(out, data + from, len - from);
	int appended = 0;
	for (size_t k = 0; k < n; k++) {
		if (envfile_get(&ef, keys[k]))
			continue;
		if (!appended) {
			if (out->len && out->buf[out->len - 1] != '\n')
				buf_addstr(out, eol);
			int has_header = 0;
			for (size_t at = 0; header && at < len && !has_header;) {
				const char *e = memchr(data + at, '\n', len - at);
				size_t end = e ? (size_t)(e - data) : len, body = end - at;
				if (body && data[at + body - 1] == '\r')
					body--;
				has_header = body == strlen(header) && !memcmp(data + at, header, body);
				at = end + 1;
			}
			if (header && !has_header)
				buf_addf(out, "%s%s", header, eol);
			appended = 1;
		}
		buf_addf(out, "%s=%s%s", keys[k], values[k], eol);
	}
	ret = 0;
	free(spans);
	envfile_release(&ef);
	return ret;
}

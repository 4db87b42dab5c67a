/*
 * diag: error messages with their place (see diag.h).
 */
#include "util/diag.h"
#include "util/mask.h"

#include <stdarg.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Append s with control bytes and invalid UTF-8 written as \xNN: a message
 * is one line on a terminal, and the input it quotes (a service name, a
 * key, a value) must not move the cursor, change colours or split it.
 */
static void add_printable(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] >= 0x20 && u[i] < 0x7f) {
			buf_addch(out, u[i++]);
		} else if (u[i] >= 0x80 && (k = utf8_len(u + i, n - i))) {
			buf_add(out, u + i, k);
			i += k;
		} else {
			buf_addf(out, "\\x%02x", u[i++]);
		}
	}
}

static int diag_vset(struct diag *d, int code, const char *file, int line, int col,
		     const char *fmt, va_list ap)
{
	if (d->set)
		return -1;
	d->set = 1;
	d->code = code;
	buf_reset(&d->msg);
	if (file) {
		buf_addstr(&d->msg, file);
		if (line > 0) {
			buf_addf(&d->msg, ":%d", line);
			if (col > 0)
				buf_addf(&d->msg, ":%d", col);
		}
		buf_addstr(&d->msg, ": ");
	}
	/* Messages quote input, and input may hold a password: mask it here, once. */
	struct buf raw = BUF_INIT, masked = BUF_INIT;
	buf_vaddf(&raw, fmt, ap);
	mask_secrets(raw.buf, &masked);
	/* Input errors are one line; an operation's (diag_fail) may carry a
	 * child's multi-line stderr tail, already masked, kept as it is. */
	if (code == EXIT_INPUT)
		add_printable(&d->msg, masked.buf, masked.len);
	else
		buf_add(&d->msg, masked.buf, masked.len);
	buf_release(&raw);
	buf_release(&masked);
	return -1;
}

int diag_at(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_INPUT, file, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_err(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_INPUT, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_fail(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_FAILED, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return -1;
}

void diag_release(struct diag *d)
{
	buf_release(&d->msg);
	d->set = 0;
	d->code = EXIT_INPUT;
}

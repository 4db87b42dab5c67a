/*
 * diag: error messages with their place (see diag.h).
 */
#include "util/diag.h"
#include "util/escape.h"
#include "util/mask.h"

#include <stdarg.h>

/* The message text, masked and escaped for its kind (see below), onto d->msg. */
static void add_text(struct diag *d, int code, const char *fmt, va_list ap)
{
	/* Messages quote input, and input may hold a password: mask it here, once. */
	struct buf raw = BUF_INIT, masked = BUF_INIT;
	buf_vaddf(&raw, fmt, ap);
	mask_secrets(raw.buf, &masked);
	/* Input errors are one line, with the input they quote unable to move
	 * the cursor or split it (esc_text); an operation's (diag_fail) may
	 * have indented continuation lines (a child's output quoted by
	 * esc_quote_lines, one problem per line), kept, and nothing else. */
	if (code == EXIT_INPUT)
		esc_text(masked.buf, &d->msg);
	else
		esc_text_block(masked.buf, &d->msg);
	buf_release(&raw);
	buf_release(&masked);
}

static int diag_vset(struct diag *d, int code, const char *file, int line, int col,
		     const char *key, const char *fmt, va_list ap)
{
	if (d->set)
		return -1;
	d->set = 1;
	d->code = code;
	buf_reset(&d->msg);
	if (file) {
		esc_text(file, &d->msg);
		if (line > 0) {
			buf_addf(&d->msg, ":%d", line);
			if (col > 0)
				buf_addf(&d->msg, ":%d", col);
		}
		buf_addstr(&d->msg, ": ");
	}
	if (key) {
		esc_text(key, &d->msg);
		buf_addstr(&d->msg, ": ");
	}
	add_text(d, code, fmt, ap);
	return -1;
}

int diag_append(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	if (!d->set)
		return -1;
	va_start(ap, fmt);
	add_text(d, d->code, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_at(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_INPUT, file, line, col, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_at_key(struct diag *d, const char *file, int line, int col, const char *key,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_INPUT, file, line, col, key, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_err(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_INPUT, NULL, 0, 0, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_fail(struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vset(d, EXIT_FAILED, NULL, 0, 0, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int diag_take(struct diag *d, struct diag *from)
{
	if (!d->set) {
		d->set = 1;
		d->code = from->code;
		buf_reset(&d->msg);
		buf_add(&d->msg, from->msg.buf, from->msg.len);
	}
	diag_release(from);
	return -1;
}

void diag_release(struct diag *d)
{
	buf_release(&d->msg);
	d->set = 0;
	d->code = EXIT_INPUT;
}

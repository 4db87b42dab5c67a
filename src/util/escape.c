/*
 * escape: output escaping by destination (see escape.h).
 */
#include "util/escape.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Bytes of a sequence at p to show escaped, 0 if none: C0, DEL, C1 (UTF-8
 * C2 80..9F), U+2028/9, and a byte that does not start valid UTF-8 (a
 * terminal would guess at it).
 */
static size_t control_len(const unsigned char *p)
{
	if (*p < 0x20 || *p == 0x7f)
		return 1;
	if (*p >= 0x80 && !utf8_len(p))
		return 1;
	if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
		return 2;
	if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
		return 3;
	return 0;
}

/* Bytes of the ordinary character at p (a whole UTF-8 sequence). */
static size_t char_len(const unsigned char *p)
{
	return *p < 0x80 ? 1 : utf8_len(p);
}

int esc_text_needed(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (control_len(p) || (*p == '\\' && (p[1] == 'x' || p[1] == 'u')))
			return 1;
		p += char_len(p);
	}
	return 0;
}

static void add_control(const unsigned char *p, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	if (n == 3) {
		buf_addstr(out, p[2] == 0xA8 ? "\\u2028" : "\\u2029");
		return;
	}
	unsigned c = n == 2 ? p[1] : p[0]; /* C1: the code point; else the byte */
	buf_addstr(out, "\\x");
	buf_addch(out, hex[c >> 4]);
	buf_addch(out, hex[c & 15]);
}

void esc_text(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = control_len(p);
		if (n) {
			add_control(p, n, out);
			p += n;
			continue;
		}
		/* "\x1b" typed literally must not read as an escaped ESC */
		if (*p == '\\' && (p[1] == 'x' || p[1] == 'u'))
			buf_addch(out, '\\');
		n = char_len(p);
		buf_add(out, p, n);
		p += n;
	}
}

void esc_text_block(const char *s, struct buf *out)
{
	struct buf line = BUF_INIT;
	const char *p = s;
	for (;;) {
		const char *nl = strchr(p, '\n');
		while (nl && nl[1] != ' ')
			nl = strchr(nl + 1, '\n');
		buf_reset(&line);
		buf_add(&line, p, nl ? (size_t)(nl - p) : strlen(p));
		esc_text(line.buf ? line.buf : "", out);
		if (!nl)
			break;
		buf_addch(out, '\n');
		p = nl + 1;
	}
	buf_release(&line);
}

void esc_quote_lines(const char *s, const char *indent, struct buf *out)
{
	struct buf line = BUF_INIT;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "\n");
		buf_reset(&line);
		buf_add(&line, p, n && p[n - 1] == '\r' ? n - 1 : n);
		buf_addch(out, '\n');
		buf_addstr(out, indent);
		esc_text(line.buf ? line.buf : "", out);
		p += n;
		if (*p == '\n')
			p++;
	}
	buf_release(&line);
}

static int md_word_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Values never start a line (each follows "- ", "| " or text, and holds no
 * line break), so block syntax (# - + 1. >) cannot fire: only what acts
 * inline is escaped.  An intraword '_' never opens emphasis (CommonMark),
 * so run_migrations stays readable.
 */
void esc_markdown(const char *s, struct buf *out)
{
	struct buf t = BUF_INIT;
	esc_text(s, &t);
	for (size_t i = 0; i < t.len; i++) {
		char c = t.buf[i];
		int escape = strchr("\\`*[]<>|~&", c) != NULL;
		if (c == '_')
			escape = !(i > 0 && md_word_char(t.buf[i - 1]) && md_word_char(t.buf[i + 1]));
		if (escape)
			buf_addch(out, '\\');
		buf_addch(out, c);
	}
	buf_release(&t);
}

/* Can s be written as a plain YAML scalar and read back as the same string? */
static int yaml_plain_ok(const char *s)
{
	static const char *const special[] = { "", "~", "null", "Null", "NULL", "true", "True",
		"TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on", "On",
		"ON", "off", "Off", "OFF", "y", "Y", "n", "N", NULL };
	size_t n = strlen(s);
	for (const char *const *w = special; *w; w++)
		if (!strcmp(s, *w))
			return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) || s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == ':')
		return 0;
	/* numbers (and things YAML 1.1 reads as numbers or dates) stay strings only quoted */
	if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '+')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (control_len(p) || *p == '\\')
			return 0;
		if (*p >= 0x80) {
			p += char_len(p) - 1;
			continue;
		}
		if (*p == ':' && (p[1] == ' ' || p[1] == '\t'))
			return 0;
		if (*p == '#' && p > (const unsigned char *)s && (p[-1] == ' ' || p[-1] == '\t'))
			return 0;
	}
	return 1;
}

void esc_yaml(const char *s, struct buf *out)
{
	if (yaml_plain_ok(s))
		buf_addstr(out, s);
	else
		esc_yaml_quoted(s, out);
}

void esc_yaml_quoted(const char *s, struct buf *out)
{
	buf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t n = control_len(p);
		if (n) {
			add_control(p, n, out);
			p += n - 1;
			continue;
		}
		if (*p == '"' || *p == '\\')
			buf_addch(out, '\\');
		n = char_len(p);
		buf_add(out, p, n);
		p += n - 1;
	}
	buf_addch(out, '"');
}

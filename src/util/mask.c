/*
 * mask: password masking for printed text (see mask.h).
 */
#include "util/mask.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int stop_char(char c)
{
	return !c || isspace((unsigned char)c) || c == '"' || c == '\'' || c == '`';
}

/* At p (just after "://"): mask "user:PASSWORD@" if present; returns bytes consumed. */
static size_t mask_userinfo(const char *p, struct buf *out)
{
	const char *at = NULL, *colon = NULL, *q;
	for (q = p; !stop_char(*q) && *q != '/' && *q != '?'; q++) {
		if (*q == ':' && !colon)
			colon = q;
		if (*q == '@')
			at = q; /* the last '@' ends the userinfo, as in libpq */
	}
	if (!at || !colon || colon > at)
		return 0;
	buf_add(out, p, (size_t)(colon - p) + 1);
	buf_addstr(out, "****");
	return (size_t)(at - p);
}

void mask_secrets(const char *s, struct buf *out)
{
	const char *p = s;
	while (*p) {
		if (!strncmp(p, "://", 3)) {
			buf_add(out, p, 3);
			p += 3;
			p += mask_userinfo(p, out);
			continue;
		}
		/* password=..., PGPASSWORD=..., &password=... (any case) */
		if (!strncasecmp(p, "password", 8) && (p[8] == '=' || (p[8] == ':' && p[9] == ' '))) {
			size_t n = p[8] == '=' ? 9 : 10;
			buf_add(out, p, n);
			p += n;
			char quote = (*p == '\'' || *p == '"') ? *p : 0;
			if (quote) {
				const char *end = strchr(p + 1, quote);
				buf_addch(out, quote);
				buf_addstr(out, "****");
				if (!end)
					return;
				buf_addch(out, quote);
				p = end + 1;
				continue;
			}
			if (!stop_char(*p) && *p != '&' && *p != ';')
				buf_addstr(out, "****");
			while (!stop_char(*p) && *p != '&' && *p != ';')
				p++;
			continue;
		}
		buf_addch(out, *p++);
	}
}

/*
 * statement: what a statement observe saw in pg_stat_activity does, and
 * how it is shown as evidence.  See statement.h.
 */
#include "running/statement.h"
#include "util/buf.h"
#include "util/mask.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *skip_noise(const char *q)
{
	for (;;) {
		while (isspace((unsigned char)*q) || *q == '(')
			q++;
		if (q[0] == '-' && q[1] == '-') {
			q = strchr(q, '\n');
			if (!q)
				return "";
		} else if (q[0] == '/' && q[1] == '*') {
			const char *e = strstr(q + 2, "*/");
			if (!e)
				return "";
			q = e + 2;
		} else {
			return q;
		}
	}
}

static int word_is(const char *q, const char *w)
{
	size_t n = strlen(w);
	return !strncasecmp(q, w, n) && !isalnum((unsigned char)q[n]) && q[n] != '_';
}

static int has_word(const char *q, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = q; (p = strcasestr(p, w)); p += n)
		if ((p == q || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) &&
		    !isalnum((unsigned char)p[n]) && p[n] != '_')
			return 1;
	return 0;
}

enum stmt_kind stmt_kind(const char *query)
{
	/* DDL, and what needs the owner's rights as DDL does (vacuum, analyze,
	 * refresh materialized view, import foreign schema). */
	static const char *const ddl[] = { "create", "alter", "drop", "comment", "grant", "revoke",
					   "reindex", "cluster", "security", "vacuum", "analyze",
					   "analyse", "refresh", "import", NULL };
	static const char *const write[] = { "insert", "update", "delete", "merge", "truncate", NULL };
	static const char *const read[] = { "select", "table", "values", "fetch", "declare", "show", NULL };
	const char *q = skip_noise(query);
	/* EXPLAIN ANALYZE runs the statement: it is what it explains.  Plain
	 * EXPLAIN runs nothing. */
	if (word_is(q, "explain")) {
		const char *r = q + 7;
		int analyze = 0;
		while (isspace((unsigned char)*r))
			r++;
		if (*r == '(') {
			const char *e = strchr(r, ')');
			if (!e)
				return STMT_OTHER;
			for (const char *w = r; w < e; w++)
				analyze |= word_is(w, "analyze") || word_is(w, "analyse");
			r = e + 1;
		} else {
			for (;;) {
				while (isspace((unsigned char)*r))
					r++;
				if (word_is(r, "analyze") || word_is(r, "analyse"))
					analyze = 1, r += 7;
				else if (word_is(r, "verbose"))
					r += 7;
				else
					break;
			}
		}
		return analyze ? stmt_kind(r) : STMT_OTHER;
	}
	/* A procedure or an anonymous block may write anything (DDL in it
	 * reaches the event trigger on its own). */
	if (word_is(q, "call") || word_is(q, "do") || word_is(q, "lock"))
		return STMT_WRITE;
	for (const char *const *w = ddl; *w; w++)
		if (word_is(q, *w))
			return STMT_DDL;
	for (const char *const *w = write; *w; w++)
		if (word_is(q, *w))
			return STMT_WRITE;
	if (word_is(q, "copy"))
		return has_word(q, "from") && !has_word(q, "to") ? STMT_WRITE : STMT_READ;
	if (word_is(q, "with") || word_is(q, "select")) {
		for (const char *const *w = write; *w; w++)
			if (has_word(q, *w))
				return STMT_WRITE;
		/* SELECT ... INTO t creates a table. */
		return has_word(q, "into") ? STMT_DDL : STMT_READ;
	}
	for (const char *const *w = read; *w; w++)
		if (word_is(q, *w))
			return STMT_READ;
	return STMT_OTHER;
}

char *stmt_evidence(const char *query, size_t max)
{
	struct buf b = BUF_INIT, m = BUF_INIT;
	int sp = 0;
	for (const char *p = skip_noise(query); *p; p++) {
		if (isspace((unsigned char)*p)) {
			sp = 1;
			continue;
		}
		if (sp && b.len)
			buf_addch(&b, ' ');
		sp = 0;
		buf_addch(&b, *p);
	}
	mask_secrets(b.buf, &m);
	buf_release(&b);
	buf_cut(&m, max);
	return buf_detach(&m, NULL);
}


/*
 * sqlquote: SQL identifiers and string literals quoted without a server.
 *
 * The role SQL (sql/dsnflip/<database>.sql) is rendered by `plan`-time
 * commands (`roles sql`, `branch`) that have no connection, so libpq's
 * PQescapeIdentifier/PQescapeLiteral — which need a PGconn for the client
 * encoding and standard_conforming_strings — cannot be used.  These produce
 * the same text PQescapeIdentifier and PQescapeLiteral do: identifiers in
 * double quotes with each " doubled; literals in single quotes with each '
 * doubled, and, when the value holds a backslash, in the escape-string form
 * E'...' with each backslash doubled as well.  That form means the same
 * whether standard_conforming_strings is on or off, so a value can never
 * end its literal early, even where a DBA pastes the SQL into a session
 * that has the setting off (every file dsnflip renders also sets it on).
 * Input must be valid UTF-8 (the files set client_encoding to UTF8), so a
 * malformed byte sequence can never swallow the closing quote on a server
 * with a multi-byte client encoding.
 *
 *   sql_quote_ident("Trips \"2024\"") -> "Trips ""2024"""
 *   sql_quote_literal("O'Brien")      -> 'O''Brien'
 *   sql_quote_literal("C:\\dir")       ->  E'C:\\dir'   (a space first, as libpq writes it)
 *
 * struct sql_quoter lets code that renders SQL take its quoting from the
 * caller: offline these functions, on a live connection libpq's own.
 */
#ifndef DSNFLIP_SQLQUOTE_H
#define DSNFLIP_SQLQUOTE_H

#include "util/buf.h"
#include "util/diag.h"

/* 1 when s is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int sql_valid_utf8(const char *s);
/* Append s as a double-quoted identifier; -1 with d on invalid UTF-8 or an empty name. */
int sql_quote_ident(const char *s, struct buf *out, struct diag *d);
/* Append s as a single-quoted literal (standard_conforming_strings=on); -1 with d on invalid UTF-8. */
int sql_quote_literal(const char *s, struct buf *out, struct diag *d);
/* Quoting functions with their context: sql_offline_quoter, or libpq's on a connection. */
struct sql_quoter {
	int (*ident)(void *ctx, const char *s, struct buf *out, struct diag *d);
	int (*literal)(void *ctx, const char *s, struct buf *out, struct diag *d);
	void *ctx;
};
/* The quoter above (a static object). */
const struct sql_quoter *sql_offline_quoter(void);

/*
 * Append body dollar-quoted with a tag that does not occur in it
 * ($dsnflip$, $dsnflip1$, ...), so any text can be embedded in a DO block.
 */
void sql_dollar_quote(const char *body, struct buf *out);

#endif

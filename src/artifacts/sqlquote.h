/*
 * sqlquote: SQL identifiers and string literals quoted without a server.
 *
 * The role SQL (sql/dsnflip/<database>.sql) is rendered by `plan`-time
 * commands (`roles sql`, `branch`) that have no connection, so libpq's
 * PQescapeIdentifier/PQescapeLiteral — which need a PGconn for the client
 * encoding and standard_conforming_strings — cannot be used.  These produce
 * the same text PQescapeIdentifier does for identifiers, and for literals
 * the form PostgreSQL reads when standard_conforming_strings is on (the
 * default since 9.1, and set explicitly at the top of every file dsnflip
 * renders): '...' with each ' doubled and backslashes taken literally.
 * Input must be valid UTF-8 (the files set client_encoding to UTF8), so a
 * malformed byte sequence can never swallow the closing quote on a server
 * with a multi-byte client encoding.
 *
 *   sql_quote_ident("Trips \"2024\"") -> "Trips ""2024"""
 *   sql_quote_literal("O'Brien\\")    -> 'O''Brien\'
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
/*
 * Append body dollar-quoted with a tag that does not occur in it
 * ($dsnflip$, $dsnflip1$, ...), so any text can be embedded in a DO block.
 */
void sql_dollar_quote(const char *body, struct buf *out);

#endif

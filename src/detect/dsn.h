/*
 * dsn: parse and rewrite PostgreSQL connection strings, byte-exactly.
 *
 * Three forms are understood: URIs (postgres://, postgresql://, with a
 * driver suffix such as postgresql+psycopg2://), JDBC URLs
 * (jdbc:postgresql://host/db?user=..., jdbc:postgresql:db) and libpq
 * key=value strings.  Parsing follows libpq (and pgjdbc for JDBC) closely
 * enough that what dsnflip believes about a connection is what the client
 * will do: later settings win (a ?user= beats the URI userinfo), values are
 * percent-decoded or unquoted.  A rewrite replaces only the user and the
 * password and keeps every other byte, so a flipped compose file differs
 * from the original in exactly those places.
 *
 * The text may be a compose value as written in the file rather than
 * resolved: a ${...} reference (and a $$ escape) is one opaque unit that
 * never splits a field, so postgresql://${PGUSER:-postgres}:${PW}@db/app
 * parses as user and password references, and a rewritten DSN (whose
 * password is a ${...} reference) parses again.  Percent-decoding leaves
 * references as written.
 *
 * Offsets in spans and error messages are byte offsets into the string;
 * error messages give them 1-based.  Error messages never quote text that
 * could be part of a password.
 */
#ifndef DSNFLIP_DSN_H
#define DSNFLIP_DSN_H

#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

/* Longer strings are rejected: nothing legitimate comes close. */
#define DSN_MAX_LEN 8192

enum dsn_form { DSN_URI, DSN_JDBC, DSN_KV };

struct dsn_host {
	char *host; /* decoded, without IPv6 brackets; "" = libpq default */
	int port;   /* 0 when absent; -1 when the port is a ${...} reference */
};

struct dsn_param {
	char *key;   /* decoded */
	char *value; /* decoded */
};

/* Byte offsets [start, end) into the parsed string. */
struct dsn_span {
	size_t start, end;
	int present;
};

struct dsn {
	enum dsn_form form;
	/* As written: "postgresql", "postgres+asyncpg", "jdbc:postgresql"; NULL for KV. */
	char *scheme;
	/*
	 * Decoded; NULL when absent.  Non-NULL exactly when the matching span
	 * is present: "" means written but empty (postgres://:pw@h,
	 * user=''), which libpq treats like absent.  When the value is given
	 * more than once (userinfo and ?user=, or a repeated KV key) this is
	 * the one the client uses: the last.
	 */
	char *user, *password;
	/*
	 * The effective host list: the URI/JDBC netloc, or host= (else
	 * hostaddr=) and port= for KV; a URI ?host=/?port= replaces the
	 * netloc's hosts/ports as in libpq.  A port list of one applies to
	 * every host.  nhosts is 0 when no host or port is given.
	 */
	struct dsn_host *hosts;
	size_t nhosts;
	char *dbname; /* decoded; NULL when absent (an empty URI path is absent) */
	/*
	 * Every query/KV parameter other than user, password and dbname, in
	 * order, duplicates kept (host= and port= are here as well as in
	 * hosts).  JDBC keys without '=' have value "".
	 */
	struct dsn_param *params;
	size_t nparams;
	/*
	 * Raw spans of the effective user / password values: the URI/JDBC
	 * userinfo field, the ?user= / &password= query value (without the
	 * key), or the KV value token including its quotes.
	 */
	struct dsn_span user_span, password_span;
};

#define DSN_INIT { DSN_URI, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, \
		   { 0, 0, 0 }, { 0, 0, 0 } }

/*
 * Does s look like a PostgreSQL connection string at all?  True for a
 * postgres:// or postgresql:// scheme (case-insensitive, optional +driver),
 * for jdbc:postgresql:, and for libpq key=value text whose keywords are all
 * libpq's and include host, hostaddr, dbname or user.  A KV string that
 * breaks off in an unterminated quote counts when the keywords before it
 * qualify (dsn_parse then reports the quote).  Cheap; never allocates.
 */
int dsn_is_candidate(const char *s);

/*
 * Parse s into *out.  Returns 0 and fills *out (the caller releases it
 * with dsn_release) on success; on failure returns -1 with a message in d
 * naming the 1-based byte offset ("bad port at offset 27: expected a
 * number from 1 to 65535"), and leaves *out untouched.  Meant for candidates; anything
 * else fails.  Rejects strings over DSN_MAX_LEN bytes.
 */
int dsn_parse(const char *s, struct dsn *out, struct diag *d);

/* Free everything dsn owns and reset it to DSN_INIT.  Safe on DSN_INIT. */
void dsn_release(struct dsn *dsn);

/*
 * The decoded value of parameter key (case-sensitive), the last one when
 * repeated, or NULL.  Looks only at params: use ->user, ->password and
 * ->dbname for those.  The pointer lives as long as dsn.
 */
const char *dsn_param(const struct dsn *dsn, const char *key);

/*
 * Append to out the text of s with every user value replaced by new_user
 * and every password value by new_password_ref; every other byte stays.
 * All occurrences are replaced (userinfo and ?user=, repeated KV keys) so no
 * stale name is left behind.
 *
 * new_user is a plain role name, encoded as the place needs it: percent-
 * encoded in a URI/JDBC, single-quoted in KV when it needs quoting or the
 * old value was quoted.  new_password_ref is inserted verbatim (a compose
 * reference such as "${APP_PASSWORD:?APP_PASSWORD must be set}"), inside
 * the quotes when the old KV value was quoted.  A value whose decoded
 * text already equals the new one keeps its bytes, so rewriting with the
 * parsed user and password gives s back, and a re-run changes nothing.
 *
 * A missing field is added where the form puts it: URI userinfo
 * ("user:ref@" after "://", ":ref" after a userinfo user), next to the
 * other credential when that one is in the query ("&password=ref" after
 * ?user=..., "user=name&" before password=), at the end of the JDBC query
 * ("?user=name&password=ref", or "&..." when a query exists), and in KV
 * " password=ref" after the user, "user=name " before the password, or
 * " user=name password=ref" after the last token (in front of it when
 * its value is empty or ends in a backslash, which would swallow it).
 *
 * Either argument may be NULL: that field is neither changed nor added.
 * Returns 0, or -1 with d set when s does not parse or the result would be
 * longer than DSN_MAX_LEN (out is unchanged).
 */
int dsn_rewrite(const char *s, const char *new_user, const char *new_password_ref,
		struct buf *out, struct diag *d);

#endif

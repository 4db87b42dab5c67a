/*
 * pgconn: the admin connection and server errors, in one place.
 *
 * Resolves the admin conninfo (--db as a libpq URI or key=value; PG*
 * variables, PGSERVICE and ~/.pgpass are honoured by libpq itself; without
 * --db, derived from the stack when possible, and said so), connects, and
 * turns every libpq failure into a diag carrying the server's message, its
 * SQLSTATE and the object/statement it concerned.  Passwords never appear
 * in a message: conninfo strings are shown with the password masked.
 */
#ifndef DSNFLIP_PGCONN_H
#define DSNFLIP_PGCONN_H

#include <libpq-fe.h>
#include "util/buf.h"
#include "util/diag.h"

struct admin_conninfo;

struct pgconn {
	PGconn *conn;
	char *shown;      /* the conninfo as shown to people: password masked */
	char *derived;    /* non-NULL when derived from the stack: how ("from DATABASE_URL of webhook_receiver") */
	int server_version; /* PQserverVersion */
};

/*
 * Connect as the admin.  conninfo may be NULL: then derived when given
 * (the connection plan/admin derived from the stack; its evidence is
 * recorded in ->derived), else libpq's defaults (PG* variables, as for "").
 * The password goes to libpq in memory only.  Connecting is bounded by
 * connect_timeout (default 10 s).  Returns 0 or -1 with d: EXIT_INPUT for
 * a conninfo libpq cannot parse, EXIT_FAILED for a connection failure,
 * whose message names the masked target and the SQLSTATE (08001 when the
 * server never answered).
 *
 * Every session either function opens is pinned before it is handed back:
 * standard_conforming_strings=on, search_path=pg_catalog, pg_temp and
 * client_encoding=UTF8, whatever the server, database or role defaults say
 * (a database may legally run with standard_conforming_strings=off, and its
 * owner may set its search_path), so quoting and unqualified catalog names
 * mean what dsnflip's SQL says.
 */
int pgconn_open(struct pgconn *pc, const char *conninfo, const struct admin_conninfo *derived,
		struct diag *d);
/* Connect to another database on the same server with the same credentials. */
int pgconn_open_db(struct pgconn *out, const struct pgconn *admin, const char *dbname, struct diag *d);
void pgconn_close(struct pgconn *pc);
/* The port the connection reached (strictly parsed; 5432 when libpq gives none). */
int pgconn_port(const struct pgconn *pc);

/*
 * Run one statement (no parameters) / with text parameters.  On failure:
 * -1 with "what: MESSAGE (SQLSTATE xxxxx)" in d, what naming the object.
 * *out (may be NULL) receives the result, to PQclear.
 */
int pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d);
int pg_execp(struct pgconn *pc, const char *sql, int nparams, const char *const *params,
	     const char *what, PGresult **out, struct diag *d);
/* The SQLSTATE of a failed result ("" if none). */
const char *pg_sqlstate(const PGresult *r);
/*
 * A failed result (or NULL: the connection's error) as pg_exec words it,
 * "what: MESSAGE (SQLSTATE xxxxx)", for results read by hand (pipeline
 * mode).  Clears res; returns -1.
 */
int pg_result_error(struct pgconn *pc, PGresult *res, const char *what, struct diag *d);

/*
 * Append conninfo (URI or key=value) to out as key=value text with every
 * secret (password, sslpassword) shown as ****.  Returns 0, or -1 with d
 * when libpq cannot parse it (the message never quotes the input).
 */
int pgconn_mask_conninfo(const char *conninfo, struct buf *out, struct diag *d);
/* libpq escaping, appended to out; -1 with d on an encoding error. */
int pg_quote_ident(struct pgconn *pc, const char *ident, struct buf *out, struct diag *d);
int pg_quote_literal(struct pgconn *pc, const char *lit, struct buf *out, struct diag *d);

#endif

/*
 * sessions: what pg_stat_activity says about the server's client sessions,
 * read in one place for deploy's watch, status, observe and finish.
 *
 * A sample is every client backend but dsnflip's own, with the columns
 * each of them needs (attribution by client port, the user and whether it
 * is a superuser, what it runs).  Numbers are parsed strictly: a row whose
 * pid or port does not parse is left out, not read as 0.
 */
#ifndef DSNFLIP_SESSIONS_H
#define DSNFLIP_SESSIONS_H

#include <stddef.h>

#include "server/pgconn.h"
#include "util/buf.h"
#include "util/diag.h"

struct pg_session {
	int pid;
	int port;                /* client_port; -1 over a Unix socket */
	const char *pid_text;    /* the pid as the server printed it */
	const char *user;        /* "" when the server shows none */
	int role_known;          /* user is a role in pg_roles (not dropped meanwhile) */
	int super;               /* that role is a superuser */
	const char *addr;        /* client address, "" over a Unix socket */
	const char *app, *db;
	const char *query;       /* the current or last statement, "" when none */
	const char *query_start; /* HH24:MI:SS, "" when none */
	int has_xid;             /* its transaction holds a transaction id (it wrote) */
};

/* A sample: the strings live in the result, released together. */
struct pg_sessions {
	struct pg_session *v;
	size_t nr;
	PGresult *res;
};
#define PG_SESSIONS_INIT { NULL, 0, NULL }

/* Sample pg_stat_activity.  Returns 0, or -1 with d (out is left empty). */
int sessions_sample(struct pgconn *pc, struct pg_sessions *out, struct diag *d);
/*
 * One row of the sample's query, its SESSIONS_COLUMNS columns as text in
 * the query's order (pid, client_port, usename, role known, rolsuper,
 * client address, application_name, datname, query, query_start,
 * holds an xid), into *s (pointing into cols).  Returns 0, or -1 when the
 * pid or the port does not parse.
 */
#define SESSIONS_COLUMNS 11
int sessions_parse_row(const char *const *cols, struct pg_session *s);
void sessions_release(struct pg_sessions *s);

/* The sessions one user holds on the given client ports. */
struct pg_user_sessions {
	char *user;
	int super;
	int n;
};

/*
 * The users of the sessions on client ports ports[0..n) (a container's
 * sockets to the server, runtime.h), most sessions first: *out (malloc'd,
 * release with sessions_users_release) holds *nout rows.  Returns 0, or -1
 * with d.
 */
int sessions_users_on_ports(struct pgconn *pc, const int *ports, size_t n,
			    struct pg_user_sessions **out, size_t *nout, struct diag *d);
void sessions_users_release(struct pg_user_sessions *v, size_t n);

/* ports as a PostgreSQL int[] literal ("{5001,5002}"), for a $1::int[] parameter. */
void sessions_port_array(const int *ports, size_t n, struct buf *out);

#endif

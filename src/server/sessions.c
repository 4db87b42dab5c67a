/*
 * sessions: pg_stat_activity, read once (see sessions.h).
 */
#include "server/sessions.h"
#include "util/num.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Column order is sessions_from_result's. */
#define SQL_SAMPLE \
	"SELECT a.pid::text, coalesce(a.client_port, -1), coalesce(a.usename, ''), " \
	"r.rolname IS NOT NULL, coalesce(r.rolsuper, false), coalesce(host(a.client_addr), ''), " \
	"coalesce(a.application_name, ''), coalesce(a.datname, ''), coalesce(a.query, ''), " \
	"coalesce(to_char(a.query_start, 'HH24:MI:SS'), ''), a.backend_xid IS NOT NULL " \
	"FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.rolname = a.usename " \
	"WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()"

int sessions_parse_row(const char *const *cols, struct pg_session *s)
{
	memset(s, 0, sizeof(*s));
	if (num_parse_int(cols[0], 1, INT_MAX, &s->pid) || num_parse_int(cols[1], -1, 65535, &s->port))
		return -1;
	s->pid_text = cols[0];
	s->user = cols[2];
	s->role_known = !strcmp(cols[3], "t");
	s->super = !strcmp(cols[4], "t");
	s->addr = cols[5];
	s->app = cols[6];
	s->db = cols[7];
	s->query = cols[8];
	s->query_start = cols[9];
	s->has_xid = !strcmp(cols[10], "t");
	return 0;
}

int sessions_sample(struct pgconn *pc, struct pg_sessions *out, struct diag *d)
{
	PGresult *res = NULL;
	memset(out, 0, sizeof(*out));
	if (pg_exec(pc, SQL_SAMPLE, "sampling pg_stat_activity", &res, d)) {
		PQclear(res);
		return -1;
	}
	out->res = res;
	int rows = PQntuples(res);
	if (rows <= 0 || PQnfields(res) != SESSIONS_COLUMNS)
		return 0;
	out->v = xcalloc((size_t)rows, sizeof(*out->v));
	for (int i = 0; i < rows; i++) {
		const char *cols[SESSIONS_COLUMNS];
		for (int k = 0; k < SESSIONS_COLUMNS; k++)
			cols[k] = PQgetvalue(res, i, k);
		if (!sessions_parse_row(cols, &out->v[out->nr]))
			out->nr++;
	}
	return 0;
}

void sessions_release(struct pg_sessions *s)
{
	free(s->v);
	PQclear(s->res);
	memset(s, 0, sizeof(*s));
}

void sessions_port_array(const int *ports, size_t n, struct buf *out)
{
	buf_addch(out, '{');
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%d", i ? "," : "", ports[i]);
	buf_addch(out, '}');
}

int sessions_users_on_ports(struct pgconn *pc, const int *ports, size_t n,
			    struct pg_user_sessions **out, size_t *nout, struct diag *d)
{
	struct buf arr = BUF_INIT;
	PGresult *res = NULL;
	*out = NULL;
	*nout = 0;
	sessions_port_array(ports, n, &arr);
	const char *p[1] = { arr.buf };
	int r = pg_execp(pc,
			 "SELECT coalesce(a.usename, ''), coalesce(r.rolsuper, false), count(*) "
			 "FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.rolname = a.usename "
			 "WHERE a.client_port = ANY($1::int[]) AND a.pid <> pg_backend_pid() "
			 "GROUP BY 1, 2 ORDER BY 3 DESC, 1",
			 1, p, "the service's sessions", &res, d);
	buf_release(&arr);
	if (!r && PQntuples(res) > 0) {
		*out = xcalloc((size_t)PQntuples(res), sizeof(**out));
		for (int i = 0; i < PQntuples(res); i++) {
			struct pg_user_sessions *u = &(*out)[*nout];
			if (num_parse_int(PQgetvalue(res, i, 2), 0, INT_MAX, &u->n))
				continue;
			u->user = xstrdup(PQgetvalue(res, i, 0));
			u->super = !strcmp(PQgetvalue(res, i, 1), "t");
			(*nout)++;
		}
	}
	PQclear(res);
	return r;
}

void sessions_users_release(struct pg_user_sessions *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].user);
	free(v);
}

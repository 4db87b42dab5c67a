/*
 * ts-wrap: dsnflip as if TimescaleDB were installed, for tests/tier-roles.
 *
 * TimescaleDB is not in Debian, so CI cannot install it; the tier builds
 * dsnflip's own main and library with -Wl,--wrap=pg_exec and this file, on
 * a database whose TimescaleDB catalogs are mocks (fixtures/pg/timescale.sql).
 * Only the two places that ask pg_extension about timescaledb are answered
 * with $DSNFLIP_TEST_TSDB_VERSION; every other statement — the TimescaleDB
 * variant of the object query, each ALTER, the jobs block — runs for real,
 * so the server checks the TimescaleDB branches against the catalog shapes
 * POSTGRES.md documents.
 */
#include "server/pgconn.h"

#include <stdlib.h>
#include <string.h>

int __real_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d);
int __wrap_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d);

/* s with every from replaced by to (malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	const char *p;
	while ((p = strstr(s, from))) {
		buf_add(&b, s, (size_t)(p - s));
		buf_addstr(&b, to);
		s = p + strlen(from);
	}
	buf_addstr(&b, s);
	return buf_detach(&b, NULL);
}

int __wrap_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d)
{
	const char *v = getenv("DSNFLIP_TEST_TSDB_VERSION");
	if (!v || !*v)
		return __real_pg_exec(pc, sql, what, out, d);
	struct buf ver = BUF_INIT;
	buf_addf(&ver, "FROM (SELECT '%s'::text AS extversion) AS x", v);
	char *a = replace(sql, "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')", "true");
	char *b = replace(a, "FROM pg_extension WHERE extname = 'timescaledb'", ver.buf);
	int r = __real_pg_exec(pc, b, what, out, d);
	free(a);
	free(b);
	buf_release(&ver);
	return r;
}

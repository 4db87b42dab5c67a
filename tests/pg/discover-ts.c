/*
 * discover-ts: run discover() as if TimescaleDB were installed, against a
 * database whose timescaledb_information views are mocks (TimescaleDB is
 * not in Debian, so CI cannot install it).  Linked with
 * -Wl,--wrap=pg_exec: the one query that asks pg_extension for timescaledb
 * answers with a version; every other statement runs for real, so the
 * TimescaleDB-aware SQL (hypertable and cagg kinds, jobs) is checked by the
 * server.  Prints the facts one per line for tests/pg/test-discover-ts.sh.
 *
 * usage: discover-ts CONNINFO DBNAME
 */
#include "server/discover.h"

#include <stdio.h>
#include <string.h>

int __real_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d);
int __wrap_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d);

int __wrap_pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d)
{
	if (strstr(sql, "FROM pg_catalog.pg_extension WHERE extname = 'timescaledb'"))
		sql = "SELECT '2.14.2'::text AS extversion";
	return __real_pg_exec(pc, sql, what, out, d);
}

int main(int argc, char **argv)
{
	struct pgconn pc;
	struct diag d = DIAG_INIT;
	struct live_facts *lf = NULL;

	if (argc != 3)
		return 2;
	if (pgconn_open(&pc, argv[1], NULL, &d) ||
	    discover(&pc, (const char *const *)argv + 2, 1, &lf, &d)) {
		fprintf(stderr, "discover-ts: %s\n", d.msg.buf);
		return 1;
	}
	const struct live_db *db = &lf->dbs[0];
	printf("queries %d\ntimescaledb %s\n", lf->queries, lf->timescaledb ? lf->timescaledb : "-");
	for (size_t i = 0; i < db->nowned; i++)
		printf("owned %s|%s|%d\n", db->owned[i].kind, db->owned[i].owner, db->owned[i].count);
	for (size_t i = 0; i < db->nkept; i++)
		printf("kept %s|%s|%s\n", db->kept[i].kind, db->kept[i].name, db->kept[i].owner);
	for (size_t i = 0; i < db->nhypertables; i++)
		printf("hypertable %s|%s|%d\n", db->hypertables[i].name, db->hypertables[i].owner,
		       db->hypertables[i].chunks);
	for (size_t i = 0; i < db->ncaggs; i++)
		printf("cagg %s|%s\n", db->caggs[i].name, db->caggs[i].owner);
	for (size_t i = 0; i < db->njobs; i++)
		printf("job %d|%s|%s|%s|%s\n", db->jobs[i].id, db->jobs[i].owner, db->jobs[i].proc,
		       db->jobs[i].hypertable ? db->jobs[i].hypertable : "-", db->jobs[i].custom ? "custom" : "policy");
	live_facts_free(lf);
	pgconn_close(&pc);
	diag_release(&d);
	return 0;
}

/*
 * discover: what the live server says, read cheaply.
 *
 * Fills struct live_facts (plan.h) for `plan --db` and the commands after
 * it: the server's connection limits and version, every role with its
 * superuser flag and connection limit, the sessions now per user and
 * database, and, per database in the plan, the application schemas, who
 * owns what in them (counts per owner and kind; the objects of
 * non-superusers by name, because the plan says they stay), TimescaleDB's
 * version, hypertables, continuous aggregates and jobs.
 *
 * Discovery must stay cheap on a big server (thousands of tables, tens of
 * thousands of chunks): it runs a fixed number of set-based catalog queries
 * (three for the server, two per database, three more per database that
 * has TimescaleDB), never one per object, and aggregates on the server.
 * The TimescaleDB queries run only when pg_extension lists timescaledb.
 */
#ifndef DSNFLIP_DISCOVER_H
#define DSNFLIP_DISCOVER_H

#include "util/buf.h"
#include "util/diag.h"
#include "server/pgconn.h"
#include "plan/plan.h"

/*
 * Read the facts through admin, connecting to each of dbs in turn (with
 * pgconn_open_db; the admin connection itself when it is already on that
 * database).  A database the server does not have is marked missing, not
 * an error.  Returns 0 and *out (free with live_facts_free), or -1 with d
 * naming the query's object and the SQLSTATE (exit code EXIT_FAILED).
 */
int discover(struct pgconn *admin, const char *const *dbs, size_t ndbs,
	     struct live_facts **out, struct diag *d);
void live_facts_free(struct live_facts *lf);

/* The databases the plan's connections name, each once, in plan order. */
void discover_plan_databases(const struct plan *plan, struct strvec *out);

/* The facts for one database, or NULL. */
const struct live_db *live_db(const struct live_facts *lf, const char *name);

#endif

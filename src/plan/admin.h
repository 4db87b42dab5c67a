/*
 * admin: the admin connection a stack gives away, and its evidence.
 *
 * Without --db, dsnflip can reach the server when a client connection in
 * the plan holds the superuser's credentials and points at a server
 * service that publishes its port on this host: the connection is then
 * 127.0.0.1 (or the published host IP) and the published port, with that
 * DSN's user, password and database.  This is where that is decided, from
 * the plan and the stack (stack/ports for the published ports), never by
 * reading compose YAML here; server/pgconn only connects with the result.
 */
#ifndef DSNFLIP_ADMIN_H
#define DSNFLIP_ADMIN_H

#include "plan/plan.h"

struct admin_conninfo {
	char *host, *port, *user, *password, *dbname;  /* libpq keywords' values */
	char *how;  /* the evidence: "derived from DATABASE_URL of api (compose.yml:12) via the published port 5433" */
	char *server; /* the stack's server it reaches (plan_role.server's naming) */
};

/*
 * Derive the admin connection from plan (NULL: none).  Returns 1 with *out
 * filled (release with admin_conninfo_release, which wipes the password),
 * else 0 with *out empty.  Never connects.
 */
int admin_derive(const struct plan *plan, struct admin_conninfo *out);
void admin_conninfo_release(struct admin_conninfo *a);

/*
 * Which of the plan's servers an admin connection to host:port reaches
 * (plan_role.server's naming), or NULL when none can be told: a server
 * service named host (port its 5432), a server service publishing port
 * when host is this machine (localhost, a loopback address), or a host
 * the DSNs name themselves.  The plan's only server when it has one.
 */
const char *admin_server_for(const struct plan *plan, const char *host, int port);

#endif

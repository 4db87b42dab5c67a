/*
 * rolesql: the reviewable SQL for one database, rendered from templates/.
 *
 * sql/dsnflip/<database>.sql is self-contained, idempotent, runnable with
 * `psql -v ON_ERROR_STOP=1 -f` as the superuser, decides at run time from
 * the catalogs what to re-own (TimescaleDB-aware when the extension is
 * present), and holds no password (POSTGRES.md, PRODUCT.md §6).
 *
 * The file is assembled from parts (struct rolesql_parts) that `roles
 * apply` runs itself, so both reach the same end state from the same text:
 * the roles-and-grants block (one transaction), the object classification
 * query (which objects to re-own, keep, or leave) in a plain and a
 * TimescaleDB variant, and the TimescaleDB jobs block.
 *
 * Every name dsnflip writes into the SQL is quoted by sqlquote (there is no
 * server connection when the file is rendered); names that would not survive
 * (invalid UTF-8, longer than 63 bytes, holding the "$dsnflip" dollar-quote
 * tag) are input errors.
 */
#ifndef DSNFLIP_ROLESQL_H
#define DSNFLIP_ROLESQL_H

#include "util/buf.h"
#include "util/diag.h"
#include "artifacts/sqlquote.h"

struct plan;
struct config;

/*
 * The comment (COMMENT ON ROLE) on every role dsnflip manages: one it
 * created, or one dsnflip.yml adopts (roles: NAME: {adopt: true}).  An
 * existing role without it is never changed unless adopted.
 */
#define ROLESQL_MARKER "managed by dsnflip"

#define ROLESQL_LOCK_TIMEOUT_MS 2000
#define ROLESQL_LOCK_ATTEMPTS 3
#define ROLESQL_BACKOFF_MS 200

struct rolesql_opts {
	int lock_timeout_ms;  /* per ALTER ... OWNER; 0: ROLESQL_LOCK_TIMEOUT_MS */
	int lock_attempts;    /* tries per object; 0: ROLESQL_LOCK_ATTEMPTS */
	int backoff_ms;       /* first wait between tries, doubled each time; 0: default */
	/*
	 * How names and values are quoted: NULL for sqlquote (the file), or
	 * libpq's escaping on the connection the parts are sent on (apply).
	 */
	const struct sql_quoter *quote;
};

struct rolesql_parts {
	char *database;
	char *owner;          /* the database's owner role, NULL when the plan has none */
	char *roles_grants;   /* roles + privileges; run inside one transaction */
	/*
	 * SELECT ord, kind, object, owner, action, stmt — one row per object in
	 * the application schemas; action is 'reown' (stmt is its ALTER),
	 * 'owned' (already the owner role's), 'keep' (another owner, or the
	 * keep list) or 'superuser' (no owner role to give it to).
	 */
	char *objects_plain;
	char *objects_tsdb;   /* the same with TimescaleDB's catalogs consulted */
	char *jobs_do;        /* DO block; NULL when there is no owner role */
	char *file;           /* the whole sql/dsnflip/<database>.sql */
};

/* Where a database's SQL goes, relative to the project dir: "sql/dsnflip/<db>.sql"; on a
 * stack with several servers "sql/dsnflip/<server>/<db>.sql" (server non-NULL; malloc'd). */
#define BRANCH_SQL_DIR_PREFIX "sql/dsnflip/"
char *rolesql_file(const char *server, const char *database);

/* Append every database the plan touches to out, once each, in plan order; returns out->nr.
 * There is no cap: each of them gets its SQL. */
size_t rolesql_databases(const struct plan *plan, struct strvec *out);
/* Render the SQL file for one database into out (default options). */
int rolesql_render(const struct plan *plan, const struct config *cfg, const char *database,
		   const char *templates_dir, struct buf *out, struct diag *d);
/*
 * Build every part for one database.  o may be NULL (defaults).  Returns 0
 * and fills *out (free with rolesql_parts_release), or -1 with d.
 */
int rolesql_build(const struct plan *plan, const struct config *cfg, const char *database,
		  const char *templates_dir, const struct rolesql_opts *o,
		  struct rolesql_parts *out, struct diag *d);
void rolesql_parts_release(struct rolesql_parts *p);

#endif

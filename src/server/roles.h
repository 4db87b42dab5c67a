/*
 * roles: `roles check` / `roles apply` — hand a live server over to the
 * planned least-privilege roles (PRODUCT.md §6, POSTGRES.md).
 *
 * Per database, on an admin (superuser) connection, from the same SQL text
 * as sql/dsnflip/<database>.sql (rolesql.h):
 *  1. roles and privileges in one transaction, with each role's password
 *     sent as a SCRAM-SHA-256 verifier computed here (PQencryptPasswordConn)
 *     and only when the role has none yet (salts are random: an existing
 *     verifier cannot be compared, so it is never replaced);
 *  2. ownership object by object, each ALTER in its own short transaction
 *     under lock_timeout, retried with backoff; an object that never gets
 *     its lock is reported in lock_busy, not waited on;
 *  3. TimescaleDB jobs (custom, and policy jobs before 2.25.2), then the
 *     scheduler restarted;
 *  4. verification as each role (SET ROLE) in a transaction rolled back.
 * `check` runs 1-4 in one transaction per database and rolls it back.
 *
 * Before anything changes, on the admin connection, once per run:
 *  - the roles lock: a session-level advisory lock (ROLES_LOCK_KEY) taken
 *    in the maintenance database "postgres" (the admin's own database when
 *    the server has none), exclusive for apply and shared for check, so
 *    one apply runs per cluster at a time and a check never races it; a
 *    second one stops (exit 1) naming the holder's pid, application_name,
 *    user and client address;
 *  - every planned role is checked on the server: one that is a superuser,
 *    has CREATEROLE, REPLICATION or BYPASSRLS, is the admin login or a
 *    predefined role is never touched, nor an existing role without the
 *    marker comment (ROLESQL_MARKER) that dsnflip.yml does not adopt: the
 *    run stops with an input error (exit 2) naming each one;
 *  - every planned setting name must exist in pg_settings and be settable
 *    per role, else an input error at its file:line in dsnflip.yml.
 * The SQL sent is rendered for that connection with libpq's own quoting.
 *
 * What changed is measured, not assumed: a fingerprint of every planned
 * role (attributes, settings, password set or not, every privilege it holds
 * or grants by default in the database) before and after step 1 says which
 * roles were created or altered, so a second apply reports changed = false.
 */
#ifndef DSNFLIP_ROLES_H
#define DSNFLIP_ROLES_H

#include <jansson.h>
#include <stddef.h>
#include "util/buf.h"
#include "util/diag.h"
#include "server/pgconn.h"
#include "artifacts/rolesql.h"

struct plan;
struct config;
struct secrets;

struct roles_opts {
	int check;                 /* one transaction per database, rolled back */
	struct rolesql_opts sql;   /* lock timeout, attempts, backoff */
	/* Called after each object (may be NULL): total is the number to re-own. */
	void (*progress)(void *ctx, const char *database, size_t done, size_t total);
	void *progress_ctx;
	/* The process environment, read only for the DSNFLIP_FAULT seam (roles.c); may be NULL. */
	char *const *environ;
};

struct roles_count {
	char *kind;
	int n;
};

struct roles_kept {
	char *object;
	char *owner;
};

/* A setting found on a managed role that the plan does not have (reset by apply). */
struct roles_reset {
	char *role;
	char *setting;
	char *database;  /* set for this database only (ALTER ROLE ... IN DATABASE); NULL: every database */
};

struct roles_db {
	char *database;
	int changed;
	struct strvec roles_created;
	struct strvec roles_altered;
	struct roles_count *reassigned;
	size_t nreassigned, reassigned_alloc;
	struct roles_kept *kept;
	size_t nkept, kept_alloc;
	int jobs_reowned;
	struct strvec lock_busy;
	int verified;
	struct strvec verify_failures; /* why verified is false, one line each */
	struct strvec passwords_set;   /* roles whose verifier was sent */
	struct roles_reset *reset;     /* drift: settings not in the plan, found before step 1 */
	size_t nreset, reset_alloc;
	char *timescaledb;             /* extension version, NULL without it */
	long elapsed_ms;               /* the ownership step */
	int complete;                  /* every step ran (else an error stopped it) */
};

struct roles_result {
	int check;
	int changed;
	struct roles_db *dbs;
	size_t ndbs, dbs_alloc;
	struct strvec warnings;        /* for people; never a password */
};

/*
 * Run check or apply for every database of the plan.  sec: the project's
 * secrets (apply saves new passwords into it before the transaction that
 * sets them commits; check only uses them in memory).  *out is filled as
 * far as the run got, also on failure (release it with roles_result_release).
 * Returns 0, or -1 with d naming the database, the object, the server's
 * message and SQLSTATE, and what was already done.
 */
int roles_run(struct pgconn *admin, const struct plan *plan, const struct config *cfg,
	      struct secrets *sec, const char *templates_dir, const struct roles_opts *o,
	      struct roles_result *out, struct diag *d);
void roles_result_release(struct roles_result *r);
/*
 * Set role's password on the server as a SCRAM-SHA-256 verifier computed
 * here (PQencryptPasswordConn): the statement, and so the server log, never
 * holds the password.  Returns 0 or -1 with d.
 */
int roles_set_password(struct pgconn *pc, const char *role, const char *password, struct diag *d);
/* PRODUCT.md §6's JSON; the caller json_decref()s it. */
json_t *roles_result_json(const struct roles_result *r);
/* The report for people. */
void roles_result_text(const struct roles_result *r, int color, struct buf *out);

#endif

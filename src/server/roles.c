/*
 * roles: check and apply the planned roles on a live server (see roles.h).
 *
 * The SQL that changes the server is the text of sql/dsnflip/<db>.sql
 * (rolesql.c): the roles-and-grants block is sent as is, and the object
 * classification query it embeds is run here so each ALTER ... OWNER can
 * get its own transaction, lock_timeout and retries.  Only the password
 * step and the verification exist in C alone: the file holds no password,
 * and a DBA verifies by reading it.
 *
 * Passwords: generated into the secrets file (saved before the transaction
 * that uses them commits, so a role never ends up with a password nobody
 * kept), hashed here with PQencryptPasswordConn(..., "scram-sha-256") and
 * sent as a verifier; no message, log line or argv ever holds one.
 *
 * Fault-injection seam (tests/tier-faults), the same one deploy uses
 * (run_fault_point, run.h): with DSNFLIP_FAULT in the environment, apply
 * ends with _exit(137), as if SIGKILLed, nothing flushed or rolled back:
 *   DSNFLIP_FAULT=roles[@DB]  right after the roles-and-grants transaction
 *                             of database DB (of any database) commits;
 *   DSNFLIP_FAULT=reown@N     right after the N-th ownership change (N from
 *                             1, counted over the whole run, every database)
 *                             commits.
 * `check` commits nothing and never stops there.  Only the environment given
 * in roles_opts is read, so it is a seam in the real binary, not a mock.
 */
#include "server/roles.h"
#include "stack/config.h"
#include "plan/plan.h"
#include "util/run.h"
#include "artifacts/secrets.h"
#include "artifacts/sqlquote.h"
#include "util/num.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VERIFY_SHOWN 5  /* failures listed per check before "and N more" */
#define KEPT_SHOWN 12   /* kept objects listed in the text report */

struct ctx {
	struct pgconn *admin;
	const struct plan *plan;
	const struct config *cfg;
	struct secrets *sec;
	const char *tdir;
	const struct roles_opts *o;
	struct rolesql_opts sql;
	struct roles_result *res;
	size_t reowned_run;  /* ownership changes committed in this run (the fault seam) */
};

/* What one database run has done so far, for error messages. */
struct progress {
	int roles_committed;
	size_t reowned, total;
	int jobs_done;
};

struct objrow {
	int ord;
	char *kind, *object, *owner, *action, *stmt, *oid;
};

struct objrows {
	struct objrow *v;
	size_t nr, alloc;
};

static void objrows_release(struct objrows *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		free(r->v[i].kind);
		free(r->v[i].object);
		free(r->v[i].owner);
		free(r->v[i].action);
		free(r->v[i].stmt);
		free(r->v[i].oid);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

/* Text array literal {"a","b"} for a text[] parameter. */
static void text_array(struct buf *out, const char *const *v, size_t n)
{
	buf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addstr(out, i ? ",\"" : "\"");
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(out, '\\');
			buf_addch(out, *p);
		}
		buf_addch(out, '"');
	}
	buf_addch(out, '}');
}

static void count_kind(struct roles_db *rd, const char *kind)
{
	for (size_t i = 0; i < rd->nreassigned; i++)
		if (!strcmp(rd->reassigned[i].kind, kind)) {
			rd->reassigned[i].n++;
			return;
		}
	ALLOC_GROW(rd->reassigned, rd->nreassigned + 1, rd->reassigned_alloc);
	rd->reassigned[rd->nreassigned].kind = xstrdup(kind);
	rd->reassigned[rd->nreassigned].n = 1;
	rd->nreassigned++;
}

static void done_text(const struct ctx *c, const struct progress *pr, struct buf *out)
{
	if (c->o->check) {
		buf_addstr(out, "nothing was changed (check rolls back)");
		return;
	}
	if (!pr->roles_committed) {
		buf_addstr(out, "nothing was changed in this database");
		return;
	}
	buf_addstr(out, "roles and privileges committed");
	if (pr->total)
		buf_addf(out, ", %zu of %zu objects re-owned", pr->reowned, pr->total);
	if (pr->jobs_done)
		buf_addstr(out, ", TimescaleDB jobs updated");
}

/* Fail: "database 'db': what: server message (SQLSTATE); already done: ..." */
static int fail(const struct ctx *c, const char *db, const struct progress *pr, struct diag *why,
		struct diag *d)
{
	struct buf done = BUF_INIT;
	done_text(c, pr, &done);
	diag_fail(d, "database '%s': %s; already done: %s", db, why->msg.buf, done.buf);
	buf_release(&done);
	diag_release(why);
	return -1;
}

/* After a failed statement on pc: leave no transaction (or savepoint) open. */
static void recover(struct pgconn *pc, const char *savepoint)
{
	if (PQtransactionStatus(pc->conn) != PQTRANS_INERROR)
		return;
	struct buf sql = BUF_INIT;
	if (savepoint)
		buf_addf(&sql, "ROLLBACK TO SAVEPOINT %s; RELEASE SAVEPOINT %s", savepoint, savepoint);
	else
		buf_addstr(&sql, "ROLLBACK");
	PQclear(PQexec(pc->conn, sql.buf));
	buf_release(&sql);
}

static int fingerprint(struct pgconn *pc, const struct strvec *roles, char ***out, struct diag *d)
{
	static const char q[] =
		"SELECT r.name, a.oid IS NOT NULL,\n"
		"  md5(concat_ws('|', a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb,\n"
		"      a.rolcanlogin, a.rolreplication, a.rolbypassrls, a.rolconnlimit,\n"
		"      a.rolpassword IS NOT NULL, a.rolvaliduntil, shobj_description(a.oid, 'pg_authid'),\n"
		"      (SELECT string_agg(s.setdatabase || ':' || array_to_string(s.setconfig, ','), ';'\n"
		"              ORDER BY s.setdatabase)\n"
		"         FROM pg_db_role_setting s WHERE s.setrole = a.oid))),\n"
		"  md5(coalesce((SELECT string_agg(x, ',' ORDER BY x) FROM (\n"
		"    SELECT 'D' || e.privilege_type || e.grantor || e.is_grantable FROM pg_database d,\n"
		"           aclexplode(d.datacl) e WHERE d.datname = current_database() AND e.grantee = a.oid\n"
		"    UNION ALL SELECT 'N' || n.oid || e.privilege_type || e.grantor || e.is_grantable\n"
		"      FROM pg_namespace n, aclexplode(n.nspacl) e WHERE e.grantee = a.oid\n"
		"    UNION ALL SELECT 'C' || c.oid || e.privilege_type || e.grantor || e.is_grantable\n"
		"      FROM pg_class c, aclexplode(c.relacl) e WHERE e.grantee = a.oid\n"
		"    UNION ALL SELECT 'A' || da.oid || da.defaclrole || da.defaclobjtype::text || e.grantee\n"
		"           || e.privilege_type || e.grantor\n"
		"      FROM pg_default_acl da, aclexplode(da.defaclacl) e\n"
		"     WHERE e.grantee = a.oid OR da.defaclrole = a.oid) g(x)), ''))\n"
		"FROM unnest($1::text[]) WITH ORDINALITY AS r(name, i)\n"
		"LEFT JOIN pg_authid a ON a.rolname = r.name ORDER BY r.i";
	struct buf arr = BUF_INIT;
	PGresult *res = NULL;
	text_array(&arr, (const char *const *)roles->v, roles->nr);
	const char *params[] = { arr.buf };
	int r = pg_execp(pc, q, 1, params, "reading the planned roles", &res, d);
	buf_release(&arr);
	if (r)
		return -1;
	char **fp = xcalloc(roles->nr, sizeof(*fp));
	for (size_t i = 0; i < roles->nr && (int)i < PQntuples(res); i++)
		fp[i] = strcmp(PQgetvalue(res, (int)i, 1), "t")
			? NULL
			: xstrfmt("%s/%s", PQgetvalue(res, (int)i, 2), PQgetvalue(res, (int)i, 3));
	PQclear(res);
	*out = fp;
	return 0;
}

static void free_fp(char **fp, size_t n)
{
	for (size_t i = 0; fp && i < n; i++)
		free(fp[i]);
	free(fp);
}

/*
 * Passwords for roles that have none, inside the roles transaction.  New
 * ones are generated into the secrets file, which apply saves before any
 * verifier is sent.
 */
static int set_passwords(struct ctx *c, struct pgconn *pc, const struct strvec *roles,
			 struct roles_db *rd, struct diag *d)
{
	struct buf arr = BUF_INIT;
	PGresult *res = NULL;
	int ret = -1, created_any = 0;

	text_array(&arr, (const char *const *)roles->v, roles->nr);
	const char *params[] = { arr.buf };
	if (pg_execp(pc, "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid "
			 "WHERE rolname = ANY($1::text[]) ORDER BY rolname",
		     1, params, "reading which roles have a password", &res, d))
		goto cleanup;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		const char *role = PQgetvalue(res, i, 0);
		int has = !strcmp(PQgetvalue(res, i, 1), "t");
		if (has) {
			if (!secrets_get(c->sec, role))
				strvec_pushf(&c->res->warnings,
					     "role %s already has a password that dsnflip did not generate; "
					     "deploy needs it in the secrets file, or set a new one with \\password",
					     role);
			continue;
		}
		int created = 0;
		if (secrets_ensure(c->sec, role, &created, d))
			goto cleanup;
		created_any |= created;
	}
	if (created_any && !c->o->check && secrets_save(c->sec, d))
		goto cleanup;
	for (int i = 0; i < n; i++) {
		const char *role = PQgetvalue(res, i, 0);
		if (!strcmp(PQgetvalue(res, i, 1), "t"))
			continue;
		if (roles_set_password(pc, role, secrets_get(c->sec, role), d))
			goto cleanup;
		strvec_push(&rd->passwords_set, role);
	}
	ret = 0;
cleanup:
	PQclear(res);
	buf_release(&arr);
	return ret;
}

int roles_set_password(struct pgconn *pc, const char *role, const char *password, struct diag *d)
{
	char *verifier = PQencryptPasswordConn(pc->conn, password, role, "scram-sha-256");
	if (!verifier)
		return diag_fail(d, "hashing the password of role '%s': %s", role, PQerrorMessage(pc->conn));
	struct buf sql = BUF_INIT, what = BUF_INIT;
	struct diag qd = DIAG_INIT;
	buf_addstr(&sql, "ALTER ROLE ");
	int r = pg_quote_ident(pc, role, &sql, &qd);
	buf_addstr(&sql, " PASSWORD ");
	r = r || pg_quote_literal(pc, verifier, &sql, &qd);
	explicit_bzero(verifier, strlen(verifier));
	PQfreemem(verifier);
	buf_addf(&what, "setting the password (SCRAM verifier) of role '%s'", role);
	if (r)
		diag_fail(d, "%s: %s", what.buf, qd.msg.buf);
	else
		r = pg_exec(pc, sql.buf, what.buf, NULL, d);
	explicit_bzero(sql.buf, sql.len);
	buf_release(&sql);
	buf_release(&what);
	diag_release(&qd);
	return r ? -1 : 0;
}

/* Step 1: roles, privileges and passwords, in one transaction (or savepoint). */
static int roles_step(struct ctx *c, struct pgconn *pc, const struct rolesql_parts *parts,
		      const struct strvec *roles, struct roles_db *rd, struct diag *d)
{
	const char *begin = c->o->check ? "SAVEPOINT dsnflip_roles" : "BEGIN";
	for (int attempt = 1;; attempt++) {
		struct diag why = DIAG_INIT;
		int r = pg_exec(pc, begin, "starting the roles transaction", NULL, &why);
		if (!r)
			r = pg_exec(pc, parts->roles_grants, "creating the roles and granting privileges",
				    NULL, &why);
		if (!r)
			r = set_passwords(c, pc, roles, rd, &why);
		if (!r)
			r = pg_exec(pc, c->o->check ? "RELEASE SAVEPOINT dsnflip_roles" : "COMMIT",
				    "committing the roles transaction", NULL, &why);
		if (!r) {
			diag_release(&why);
			return 0;
		}
		/* Leave the transaction (or savepoint) whatever state it is in. */
		if (c->o->check)
			PQclear(PQexec(pc->conn, "ROLLBACK TO SAVEPOINT dsnflip_roles; "
					     "RELEASE SAVEPOINT dsnflip_roles"));
		else
			PQclear(PQexec(pc->conn, "ROLLBACK"));
		strvec_clear(&rd->passwords_set);
		int busy = strstr(why.msg.buf, "SQLSTATE 55P03") || strstr(why.msg.buf, "SQLSTATE 40P01");
		if (!busy || attempt >= c->sql.lock_attempts) {
			diag_fail(d, "%s", why.msg.buf);
			diag_release(&why);
			return -1;
		}
		diag_release(&why);
		sleep_ms((long)c->sql.backoff_ms << (attempt - 1));
	}
}

static int load_objects(struct pgconn *pc, const char *query, struct objrows *rows, struct diag *d)
{
	PGresult *res = NULL;
	if (pg_exec(pc, query, "classifying the objects in the application schemas", &res, d))
		return -1;
	int n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		ALLOC_GROW(rows->v, rows->nr + 1, rows->alloc);
		struct objrow *o = &rows->v[rows->nr];
		enum num_err e = num_parse_int(PQgetvalue(res, i, 0), 0, INT_MAX, &o->ord);
		if (e) {
			PQclear(res);
			return diag_fail(d, "classifying the objects: the server replied with an "
					 "unreadable order number (row %d): %s", i + 1, num_reason(e));
		}
		rows->nr++;
		o->kind = xstrdup(PQgetvalue(res, i, 1));
		o->object = xstrdup(PQgetvalue(res, i, 2));
		o->owner = xstrdup(PQgetvalue(res, i, 3));
		o->action = xstrdup(PQgetvalue(res, i, 4));
		o->stmt = PQgetisnull(res, i, 5) ? NULL : xstrdup(PQgetvalue(res, i, 5));
		o->oid = xstrdup(PQgetvalue(res, i, 6));
	}
	PQclear(res);
	return 0;
}

/*
 * Re-own one object: its own transaction under lock_timeout (apply), or a
 * savepoint in the check transaction.  Returns 0 done, 1 busy after every
 * attempt, -1 another error (in d).
 */
static int reown_one(struct ctx *c, struct pgconn *pc, const struct objrow *o, struct diag *d)
{
	struct buf sql = BUF_INIT, what = BUF_INIT;
	int ret = -1;

	if (c->o->check)
		buf_addf(&sql, "SAVEPOINT dsnflip_obj; %s; RELEASE SAVEPOINT dsnflip_obj", o->stmt);
	else
		buf_addf(&sql, "BEGIN; SET LOCAL lock_timeout = '%dms'; %s; COMMIT", c->sql.lock_timeout_ms,
			 o->stmt);
	buf_addf(&what, "re-owning %s %s", o->kind, o->object);
	for (int attempt = 1;; attempt++) {
		/* pg_exec words every failure the project's way, a lost connection
		 * included ("... (SQLSTATE 08006)"), as roles_step does. */
		struct diag why = DIAG_INIT;
		if (!pg_exec(pc, sql.buf, what.buf, NULL, &why)) {
			ret = 0;
			break;
		}
		recover(pc, c->o->check ? "dsnflip_obj" : NULL);
		int busy = strstr(why.msg.buf, "(SQLSTATE 55P03)") || strstr(why.msg.buf, "(SQLSTATE 40P01)");
		if (!busy) {
			diag_fail(d, "%s%s", why.msg.buf,
				  c->o->check && strstr(why.msg.buf, "(SQLSTATE 53200)")
				  ? " (check holds every object's lock in one transaction: raise "
				    "max_locks_per_transaction for it, or rely on apply, which takes one at a time)"
				  : "");
			diag_release(&why);
			break;
		}
		diag_release(&why);
		if (attempt >= c->sql.lock_attempts) {
			ret = 1;
			break;
		}
		sleep_ms((long)c->sql.backoff_ms << (attempt - 1));
	}
	buf_release(&sql);
	buf_release(&what);
	return ret;
}

/*
 * apply's ownership step, in libpq pipeline mode.  One short transaction
 * per object, as before, but sent REOWN_BATCH at a time without waiting for
 * each: a round trip per object is what made it slow.  Each object is one
 * ALTER followed by a Sync, which the server runs as an implicit
 * transaction of its own (a lock held only as long as its ALTER; an error
 * ends that transaction alone).  The session's lock_timeout bounds every
 * ALTER; objects whose lock was not granted (55P03, 40P01) are tried again
 * after the batches, with backoff, up to lock_attempts passes.
 *
 * synchronous_commit is off for these transactions: re-owning is
 * idempotent and the next apply finishes whatever a crash undid, so no
 * commit needs to wait for its own WAL flush.  Each batch ends with one
 * synchronous commit (a transaction that only takes an xid), which flushes
 * the WAL of every commit before it: what is counted as re-owned (JSON,
 * messages, the fault seam) is only what such a flush acknowledged.
 */
#define REOWN_BATCH 256

struct reown_state {
	struct roles_db *rd;
	struct progress *pr;
	const char *db;
	size_t seen;          /* for the progress bar: done or finally busy */
};

/* N of DSNFLIP_FAULT=reown@N (1 for a bare "reown"), 0 when not armed. */
static size_t reown_fault_at(char *const *env)
{
	for (; env && *env; env++) {
		if (strncmp(*env, "DSNFLIP_FAULT=reown", 19))
			continue;
		const char *v = *env + 19;
		if (!*v)
			return 1;
		if (*v != '@' || v[1] < '1' || v[1] > '9')
			return 0;
		size_t n = 0;
		for (v++; *v >= '0' && *v <= '9' && n < (size_t)1 << 40; v++)
			n = n * 10 + (size_t)(*v - '0');
		return *v ? 0 : n;
	}
	return 0;
}

static int is_busy(const char *state)
{
	return !strcmp(state, "55P03") || !strcmp(state, "40P01");
}

/*
 * Send objects idx[0..n) and read their results.  *busy receives those
 * whose lock was not granted; ok[k] = 1 for each object done.  Returns 0,
 * or -1 with d naming the first object that failed otherwise (the rest of
 * the batch is still read, so what committed is known).
 */
static int reown_batch(struct pgconn *pc, const struct objrows *rows, const size_t *idx, size_t n,
		       char *ok, int *busy_flag, struct diag *d)
{
	PGconn *conn = pc->conn;
	int ret = 0, flushed = 0;
	size_t k = 0;

	if (!PQenterPipelineMode(conn))
		return pg_result_error(pc, NULL, "re-owning objects (entering pipeline mode)", d);
	for (size_t i = 0; i < n; i++)
		if (!PQsendQueryParams(conn, rows->v[idx[i]].stmt, 0, NULL, NULL, NULL, NULL, 0) ||
		    !PQpipelineSync(conn))
			goto lost;
	/* The flush: one synchronous commit after the batch. */
	if (!PQsendQueryParams(conn, "SELECT set_config('synchronous_commit', 'on', true), txid_current()",
			       0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(conn) || PQflush(conn))
		goto lost;
	for (k = 0; k <= n; k++) {
		PGresult *res;
		int seg_ok = 0, nulls = 0;
		/* One segment: its statement's result, NULL, then the Sync's. */
		for (;;) {
			if (!(res = PQgetResult(conn))) {
				if (PQstatus(conn) == CONNECTION_BAD)
					goto lost;
				if (++nulls > 1) {
					/* A second NULL: nothing more is coming (libpq's state is not ours). */
					if (!ret)
						ret = diag_fail(d, "re-owning objects: the pipeline's results ended "
								"early (%zu of %zu)", k, n);
					memset(ok, 0, n);
					return -1;
				}
				continue;
			}
			nulls = 0;
			ExecStatusType st = PQresultStatus(res);
			if (st == PGRES_PIPELINE_SYNC) {
				PQclear(res);
				break;
			}
			if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
				seg_ok = 1;
				PQclear(res);
				continue;
			}
			if (k < n && is_busy(pg_sqlstate(res))) {
				busy_flag[k] = 1;
				PQclear(res);
			} else if (!ret) {
				/* The flush failing leaves the batch unacknowledged: name its last object. */
				const struct objrow *o = &rows->v[idx[k < n ? k : n - 1]];
				struct buf what = BUF_INIT;
				buf_addf(&what, "re-owning %s %s", o->kind, o->object);
				pg_result_error(pc, res, what.buf, d);
				buf_release(&what);
				ret = -1;
			} else {
				PQclear(res);
			}
			if (PQstatus(conn) == CONNECTION_BAD)
				goto lost;
		}
		if (PQstatus(conn) == CONNECTION_BAD)
			goto lost;
		if (k < n)
			ok[k] = (char)seg_ok;
		else
			flushed = seg_ok;
	}
	if (!PQexitPipelineMode(conn) && !ret)
		ret = pg_result_error(pc, NULL, "re-owning objects (leaving pipeline mode)", d);
	/* Without the flush's acknowledgement nothing of this batch is known to be durable. */
	if (!flushed)
		memset(ok, 0, n);
	return ret;
lost:
	if (!ret) {
		const struct objrow *o = &rows->v[idx[k < n ? k : n - 1]];
		struct buf what = BUF_INIT;
		buf_addf(&what, "re-owning %s %s", o->kind, o->object);
		pg_result_error(pc, NULL, what.buf, d);
		buf_release(&what);
	}
	memset(ok, 0, n);
	return -1;
}

/* Re-own every row whose action is reown (apply).  0, or -1 with d. */
static int reown_all(struct ctx *c, struct pgconn *pc, const struct objrows *rows,
		     struct reown_state *st, struct diag *d)
{
	size_t *todo = xcalloc(rows->nr + 1, sizeof(*todo)), ntodo = 0;
	size_t *next = xcalloc(rows->nr + 1, sizeof(*next));
	char *ok = xcalloc(REOWN_BATCH, 1);
	int *busy = xcalloc(REOWN_BATCH, sizeof(*busy));
	size_t fault_at = reown_fault_at(c->o->environ);
	int ret = -1;

	for (size_t i = 0; i < rows->nr; i++)
		if (!strcmp(rows->v[i].action, "reown") && rows->v[i].stmt)
			todo[ntodo++] = i;
	struct buf set = BUF_INIT;
	buf_addf(&set, "SET synchronous_commit = off; SET lock_timeout = '%dms'", c->sql.lock_timeout_ms);
	int r = pg_exec(pc, set.buf, "setting up the ownership step", NULL, d);
	buf_release(&set);
	if (r)
		goto cleanup;
	for (int attempt = 1; ntodo; attempt++) {
		size_t nnext = 0;
		for (size_t at = 0; at < ntodo;) {
			size_t n = ntodo - at < REOWN_BATCH ? ntodo - at : REOWN_BATCH;
			/* The fault seam stops right after the N-th commit: never send past it. */
			if (fault_at > c->reowned_run && fault_at - c->reowned_run < n)
				n = fault_at - c->reowned_run;
			memset(ok, 0, n);
			memset(busy, 0, n * sizeof(*busy));
			int br = reown_batch(pc, rows, todo + at, n, ok, busy, d);
			for (size_t k = 0; k < n; k++) {
				const struct objrow *o = &rows->v[todo[at + k]];
				if (ok[k]) {
					st->pr->reowned++;
					count_kind(st->rd, o->kind);
					char num[24];
					snprintf(num, sizeof(num), "%zu", ++c->reowned_run);
					run_fault_point(c->o->environ, "reown", num);
				} else if (busy[k] && !br) {
					if (attempt < c->sql.lock_attempts) {
						next[nnext++] = todo[at + k];
						continue;
					}
					strvec_pushf(&st->rd->lock_busy, "%s", o->object);
				} else {
					continue;
				}
				st->seen++;
				if (c->o->progress)
					c->o->progress(c->o->progress_ctx, st->db, st->seen, st->pr->total);
			}
			if (br)
				goto cleanup;
			at += n;
		}
		if (!nnext)
			break;
		sleep_ms((long)c->sql.backoff_ms << (attempt - 1));
		memcpy(todo, next, nnext * sizeof(*todo));
		ntodo = nnext;
	}
	ret = pg_exec(pc, "RESET synchronous_commit; RESET lock_timeout", "ending the ownership step", NULL, d);
cleanup:
	free(todo);
	free(next);
	free(ok);
	free(busy);
	return ret;
}

static int jobs_step(struct ctx *c, struct pgconn *pc, const struct rolesql_parts *parts,
		     struct roles_db *rd, struct diag *d)
{
	PGresult *res = NULL;
	if (!parts->jobs_do || !rd->timescaledb)
		return 0;
	if (pg_exec(pc, parts->jobs_do, "re-owning TimescaleDB jobs", NULL, d) ||
	    pg_exec(pc, "SELECT coalesce(current_setting('dsnflip.jobs_reowned', true), '0')",
		    "reading how many jobs were re-owned", &res, d))
		return -1;
	enum num_err e = num_parse_int(PQgetvalue(res, 0, 0), 0, INT_MAX, &rd->jobs_reowned);
	PQclear(res);
	/* The jobs were re-owned; only the count for the report is unreadable. */
	return e ? diag_fail(d, "re-owning TimescaleDB jobs: the count of jobs re-owned is "
			     "unreadable: %s", num_reason(e)) : 0;
}

/* Run one verification statement as role in a savepoint; 0 ok, else the SQLSTATE in state. */
static int try_as(struct pgconn *pc, const char *role, const char *stmt, char state[6],
		  struct buf *msg)
{
	struct buf sql = BUF_INIT;
	struct diag qd = DIAG_INIT;
	buf_addstr(&sql, "SAVEPOINT dsnflip_verify; SET LOCAL ROLE ");
	if (pg_quote_ident(pc, role, &sql, &qd)) {
		snprintf(state, 6, "22021");
		if (msg) {
			buf_reset(msg);
			buf_addstr(msg, qd.msg.buf);
		}
		buf_release(&sql);
		diag_release(&qd);
		return -1;
	}
	buf_addf(&sql, "; %s", stmt);
	PGresult *res = PQexec(pc->conn, sql.buf);
	ExecStatusType st = PQresultStatus(res);
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	snprintf(state, 6, "%s", ok ? "" : pg_sqlstate(res));
	if (!ok && msg) {
		const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		buf_reset(msg);
		buf_addstr(msg, m ? m : "error");
	}
	PQclear(res);
	PQclear(PQexec(pc->conn, "ROLLBACK TO SAVEPOINT dsnflip_verify; RELEASE SAVEPOINT dsnflip_verify"));
	buf_release(&sql);
	diag_release(&qd);
	return ok ? 0 : -1;
}

/* Add the rows of a failure query (one text column) to rd's failures. */
static int collect_failures(struct pgconn *pc, const char *q, int nparams, const char *const *params,
			    struct roles_db *rd, struct diag *d)
{
	PGresult *res = NULL;
	if (pg_execp(pc, q, nparams, params, "verifying privileges", &res, d))
		return -1;
	int n = PQntuples(res);
	for (int i = 0; i < n && i < VERIFY_SHOWN; i++)
		strvec_push(&rd->verify_failures, PQgetvalue(res, i, 0));
	if (n > VERIFY_SHOWN)
		strvec_pushf(&rd->verify_failures, "... and %d more like these", n - VERIFY_SHOWN);
	PQclear(res);
	return 0;
}

static int is_table_kind(const char *k)
{
	return !strcmp(k, "table") || !strcmp(k, "partitioned table") || !strcmp(k, "hypertable");
}

static int is_relation_kind(const char *k)
{
	return is_table_kind(k) || !strcmp(k, "view") || !strcmp(k, "materialized view") ||
	       !strcmp(k, "foreign table") || !strcmp(k, "continuous aggregate");
}

/* Step 4: as each role, in a transaction (or savepoint) that is rolled back. */
static int verify_step(struct ctx *c, struct pgconn *pc, const struct rolesql_parts *parts,
		       struct roles_db *rd, struct diag *d)
{
	struct objrows rows = { 0 };
	struct buf rels = BUF_INIT, schemas = BUF_INIT, msg = BUF_INIT;
	const struct objrow *table = NULL, *owned_table = NULL;
	int ret = -1;
	char state[6];

	if (pg_exec(pc, c->o->check ? "SAVEPOINT dsnflip_verify_all" : "BEGIN",
		    "starting the verification", NULL, d))
		return -1;
	if (!c->o->check) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "SET LOCAL lock_timeout = '%dms'", c->sql.lock_timeout_ms);
		int r = pg_exec(pc, b.buf, "starting the verification", NULL, d);
		buf_release(&b);
		if (r)
			goto cleanup;
	}
	if (load_objects(pc, rd->timescaledb ? parts->objects_tsdb : parts->objects_plain, &rows, d))
		goto cleanup;
	buf_addch(&rels, '{');
	buf_addch(&schemas, '{');
	for (size_t i = 0; i < rows.nr; i++) {
		const struct objrow *o = &rows.v[i];
		if (!strcmp(o->kind, "schema")) {
			buf_addf(&schemas, "%s%s", schemas.len > 1 ? "," : "", o->oid);
		} else if (is_relation_kind(o->kind)) {
			buf_addf(&rels, "%s%s", rels.len > 1 ? "," : "", o->oid);
			if (!table && is_table_kind(o->kind))
				table = o;
			if (!owned_table && is_table_kind(o->kind) && !strcmp(o->action, "owned"))
				owned_table = o;
		}
		if (!strcmp(o->action, "reown") && !strvec_contains(&rd->lock_busy, o->object))
			strvec_pushf(&rd->verify_failures, "%s %s still belongs to %s", o->kind, o->object,
				     o->owner);
	}
	buf_addch(&rels, '}');
	buf_addch(&schemas, '}');

	for (size_t i = 0; i < c->plan->nroles; i++) {
		const struct plan_role *r = &c->plan->roles[i];
		int in = 0;
		for (size_t k = 0; k < r->ndatabases; k++)
			in |= !strcmp(r->databases[k], rd->database);
		if (!in)
			continue;
		const char *params[] = { r->name, rels.buf, schemas.buf };
		if (r->kind == ROLE_OWNER) {
			if (collect_failures(pc,
				"SELECT format('%s cannot create in schema %s', $1::text, n.oid::regnamespace) "
				"FROM pg_namespace n WHERE n.oid = ANY($3::oid[]) "
				"AND NOT has_schema_privilege($1::name, n.oid, 'CREATE') AND $2::oid[] IS NOT NULL ORDER BY 1",
				3, params, rd, d))
				goto cleanup;
			/* Typical migrations, as itself, in every application schema. */
			for (size_t k = 0; k < rows.nr; k++) {
				const struct objrow *s = &rows.v[k];
				if (strcmp(s->kind, "schema"))
					continue;
				struct buf stmt = BUF_INIT;
				/* A name no application uses; rolled back whatever happens. */
				unsigned tag = (unsigned)getpid() ^ (unsigned)run_now_ms();
				buf_addf(&stmt, "CREATE TABLE %s.dsnflip_verify_%08x (id int PRIMARY KEY, note text); "
					 "ALTER TABLE %s.dsnflip_verify_%08x ADD COLUMN extra int; "
					 "CREATE INDEX dsnflip_verify_%08x_i ON %s.dsnflip_verify_%08x (note)",
					 s->object, tag, s->object, tag, tag, s->object, tag);
				if (try_as(pc, r->name, stmt.buf, state, &msg))
					strvec_pushf(&rd->verify_failures,
						     "%s cannot create, alter and index a table in schema %s: %s "
						     "(SQLSTATE %s)", r->name, s->object, msg.buf, state);
				buf_release(&stmt);
			}
			if (owned_table) {
				struct buf stmt = BUF_INIT;
				PGresult *res = NULL;
				const char *p[] = { owned_table->oid };
				if (pg_execp(pc, "SELECT format('COMMENT ON TABLE %s IS %L', $1::oid::regclass, "
						 "obj_description($1::oid, 'pg_class'))",
					     1, p, "verifying ownership", &res, d))
					goto cleanup;
				buf_addstr(&stmt, PQgetvalue(res, 0, 0));
				PQclear(res);
				if (try_as(pc, r->name, stmt.buf, state, &msg) && strcmp(state, "55P03"))
					strvec_pushf(&rd->verify_failures, "%s cannot alter %s, which it owns: %s "
						     "(SQLSTATE %s)", r->name, owned_table->object, msg.buf, state);
				buf_release(&stmt);
			}
		} else if (r->kind == ROLE_READER) {
			if (collect_failures(pc,
				"SELECT * FROM ("
				"SELECT format('%s cannot read %s', $1::text, c.oid::regclass) FROM pg_class c "
				"WHERE c.oid = ANY($2::oid[]) AND NOT has_table_privilege($1::name, c.oid, 'SELECT') "
				"UNION ALL "
				"SELECT format('%s can write %s', $1::text, c.oid::regclass) FROM pg_class c "
				"WHERE c.oid = ANY($2::oid[]) AND c.relkind IN ('r', 'p') "
				"AND has_table_privilege($1::name, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) x "
				"ORDER BY 1",
				2, params, rd, d))
				goto cleanup;
			if (table) {
				struct buf stmt = BUF_INIT;
				buf_addf(&stmt, "SELECT 1 FROM %s LIMIT 0", table->object);
				if (try_as(pc, r->name, stmt.buf, state, &msg))
					strvec_pushf(&rd->verify_failures, "%s cannot read %s: %s (SQLSTATE %s)",
						     r->name, table->object, msg.buf, state);
				buf_reset(&stmt);
				buf_addf(&stmt, "DELETE FROM %s WHERE false", table->object);
				if (!try_as(pc, r->name, stmt.buf, state, &msg))
					strvec_pushf(&rd->verify_failures, "%s can delete from %s", r->name,
						     table->object);
				else if (strcmp(state, "42501"))
					strvec_pushf(&rd->verify_failures, "%s: deleting from %s failed with %s, "
						     "not 42501 insufficient_privilege: %s", r->name,
						     table->object, state, msg.buf);
				buf_release(&stmt);
			}
		} else {
			if (collect_failures(pc,
				"SELECT * FROM ("
				"SELECT format('%s cannot read and write %s', $1::text, c.oid::regclass) FROM pg_class c "
				"WHERE c.oid = ANY($2::oid[]) AND c.relkind IN ('r', 'p') "
				"AND NOT (has_table_privilege($1::name, c.oid, 'SELECT') "
				"AND has_table_privilege($1::name, c.oid, 'INSERT') "
				"AND has_table_privilege($1::name, c.oid, 'UPDATE') "
				"AND has_table_privilege($1::name, c.oid, 'DELETE')) "
				"UNION ALL "
				"SELECT format('%s cannot use sequence %s', $1::text, c.oid::regclass) FROM pg_class c "
				"WHERE c.relnamespace = ANY($3::oid[]) AND c.relkind = 'S' "
				"AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege($1::name, c.oid, 'USAGE') "
				"ELSE false END) x ORDER BY 1",
				3, params, rd, d))
				goto cleanup;
			if (table) {
				struct buf stmt = BUF_INIT;
				buf_addf(&stmt, "SELECT 1 FROM %s LIMIT 0; DELETE FROM %s WHERE false",
					 table->object, table->object);
				if (try_as(pc, r->name, stmt.buf, state, &msg))
					strvec_pushf(&rd->verify_failures, "%s cannot write %s: %s (SQLSTATE %s)",
						     r->name, table->object, msg.buf, state);
				buf_release(&stmt);
			}
		}
	}
	rd->verified = rd->verify_failures.nr == 0;
	ret = 0;
cleanup:
	PQclear(PQexec(pc->conn, c->o->check ? "ROLLBACK TO SAVEPOINT dsnflip_verify_all; "
					       "RELEASE SAVEPOINT dsnflip_verify_all"
					     : "ROLLBACK"));
	objrows_release(&rows);
	buf_release(&rels);
	buf_release(&schemas);
	buf_release(&msg);
	return ret;
}

/* libpq's quoting on the connection the rendered SQL is sent on. */
static int live_ident(void *ctx, const char *s, struct buf *out, struct diag *d)
{
	return pg_quote_ident(ctx, s, out, d);
}

static int live_literal(void *ctx, const char *s, struct buf *out, struct diag *d)
{
	return pg_quote_literal(ctx, s, out, d);
}

static const struct plan_role *find_role(const struct plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nroles; i++)
		if (!strcmp(plan->roles[i].name, name))
			return &plan->roles[i];
	return NULL;
}

static int planned_setting(const struct plan_role *r, const char *key)
{
	for (size_t k = 0; r && k < r->nsettings; k++)
		if (!strcmp(r->settings[k].key, key))
			return 1;
	return 0;
}

/* Drift: settings on the planned roles that the plan does not have (for this database or all). */
static int read_drift(struct ctx *c, struct pgconn *pc, const struct strvec *roles, struct roles_db *rd,
		      struct diag *d)
{
	struct buf arr = BUF_INIT;
	PGresult *res = NULL;
	text_array(&arr, (const char *const *)roles->v, roles->nr);
	const char *params[] = { arr.buf };
	int r = pg_execp(pc,
		"SELECT a.rolname, d.datname, split_part(c.cfg, '=', 1)\n"
		"  FROM pg_db_role_setting s JOIN pg_roles a ON a.oid = s.setrole\n"
		"  LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c(cfg)\n"
		" WHERE a.rolname = ANY ($1::text[]) AND (s.setdatabase = 0 OR d.datname = current_database())\n"
		" ORDER BY 1, 2 NULLS FIRST, 3",
		1, params, "reading the planned roles' settings", &res, d);
	buf_release(&arr);
	if (r)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *role = PQgetvalue(res, i, 0), *key = PQgetvalue(res, i, 2);
		int per_db = !PQgetisnull(res, i, 1);
		if (!per_db && planned_setting(find_role(c->plan, role), key))
			continue;
		ALLOC_GROW(rd->reset, rd->nreset + 1, rd->reset_alloc);
		struct roles_reset *e = &rd->reset[rd->nreset++];
		e->role = xstrdup(role);
		e->setting = xstrdup(key);
		e->database = per_db ? xstrdup(PQgetvalue(res, i, 1)) : NULL;
	}
	PQclear(res);
	return 0;
}

static int run_db(struct ctx *c, const char *db, struct roles_db *rd, struct diag *d)
{
	struct pgconn pc = { 0 };
	struct rolesql_parts parts = { 0 };
	struct strvec roles = STRVEC_INIT;
	struct objrows rows = { 0 };
	struct progress pr = { 0 };
	struct diag why = DIAG_INIT;
	char **before = NULL, **after = NULL;
	PGresult *res = NULL;
	int ret = -1;

	rd->database = xstrdup(db);
	for (size_t i = 0; i < c->plan->nroles; i++)
		for (size_t k = 0; k < c->plan->roles[i].ndatabases; k++)
			if (!strcmp(c->plan->roles[i].databases[k], db))
				strvec_push(&roles, c->plan->roles[i].name);
	if (pgconn_open_db(&pc, c->admin, db, d))
		goto cleanup;
	/* What the SQL's NOTICEs say for psql, the report says here. */
	if (pg_exec(&pc, "SET client_min_messages = warning", "setting up the session", NULL, &why))
		goto failed;
	/* The SQL sent here is quoted by libpq for this very connection. */
	struct sql_quoter quoter = { live_ident, live_literal, &pc };
	struct rolesql_opts so = c->sql;
	so.quote = &quoter;
	if (rolesql_build(c->plan, c->cfg, db, c->tdir, &so, &parts, d))
		goto cleanup;
	if (pg_exec(&pc, "SELECT rolsuper, current_user FROM pg_roles WHERE rolname = current_user",
		    "checking the admin role", &res, &why))
		goto failed;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t")) {
		diag_fail(d, "database '%s': the admin connection (%s) is not a superuser; "
			  "roles %s needs one (POSTGRES.md: only a superuser can re-own another "
			  "superuser's objects)", db, pc.shown, c->o->check ? "check" : "apply");
		goto cleanup;
	}
	PQclear(res);
	res = NULL;
	if (pg_exec(&pc, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
		    "looking for TimescaleDB", &res, &why))
		goto failed;
	if (PQntuples(res))
		rd->timescaledb = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	if (c->o->check) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "BEGIN; SET LOCAL lock_timeout = '%dms'; SET LOCAL dsnflip.dry_run = 'on'",
			 c->sql.lock_timeout_ms);
		int r = pg_exec(&pc, b.buf, "starting the check transaction", NULL, &why);
		buf_release(&b);
		if (r)
			goto failed;
	}

	/* 1. Roles, privileges, passwords; settings the plan does not have are reset. */
	if (read_drift(c, &pc, &roles, rd, &why) || fingerprint(&pc, &roles, &before, &why) ||
	    roles_step(c, &pc, &parts, &roles, rd, &why))
		goto failed;
	pr.roles_committed = 1;
	if (!c->o->check)
		run_fault_point(c->o->environ, "roles", db);
	if (fingerprint(&pc, &roles, &after, &why))
		goto failed;
	for (size_t i = 0; i < roles.nr; i++) {
		if (!before[i] && after[i])
			strvec_push(&rd->roles_created, roles.v[i]);
		else if (before[i] && after[i] && strcmp(before[i], after[i]))
			strvec_push(&rd->roles_altered, roles.v[i]);
	}

	/* 2. Ownership, object by object. */
	if (load_objects(&pc, rd->timescaledb ? parts.objects_tsdb : parts.objects_plain, &rows, &why))
		goto failed;
	for (size_t i = 0; i < rows.nr; i++) {
		const struct objrow *o = &rows.v[i];
		if (!strcmp(o->action, "reown") && o->stmt)
			pr.total++;
		else if (!strcmp(o->action, "keep")) {
			ALLOC_GROW(rd->kept, rd->nkept + 1, rd->kept_alloc);
			rd->kept[rd->nkept].object = xstrdup(o->object);
			rd->kept[rd->nkept].owner = xstrdup(o->owner);
			rd->nkept++;
		}
	}
	long long t0 = run_now_ms();
	size_t seen = 0;
	if (!c->o->check) {
		struct reown_state st = { rd, &pr, db, 0 };
		if (reown_all(c, &pc, &rows, &st, &why))
			goto failed;
	}
	for (size_t i = 0; c->o->check && i < rows.nr; i++) {
		const struct objrow *o = &rows.v[i];
		if (strcmp(o->action, "reown") || !o->stmt)
			continue;
		int r = reown_one(c, &pc, o, &why);
		if (r < 0)
			goto failed;
		if (r == 1)
			strvec_pushf(&rd->lock_busy, "%s", o->object);
		else {
			pr.reowned++;
			count_kind(rd, o->kind);
			if (!c->o->check) {
				char n[24];
				snprintf(n, sizeof(n), "%zu", ++c->reowned_run);
				run_fault_point(c->o->environ, "reown", n);
			}
		}
		seen++;
		if (c->o->progress)
			c->o->progress(c->o->progress_ctx, db, seen, pr.total);
	}
	rd->elapsed_ms = run_now_ms() - t0;

	/* 3. TimescaleDB jobs. */
	if (jobs_step(c, &pc, &parts, rd, &why))
		goto failed;
	pr.jobs_done = rd->jobs_reowned > 0;

	/* 4. Verification as each role. */
	if (verify_step(c, &pc, &parts, rd, &why))
		goto failed;

	if (c->o->check && pg_exec(&pc, "ROLLBACK", "rolling the check back", NULL, &why))
		goto failed;
	rd->changed = rd->roles_created.nr || rd->roles_altered.nr || pr.reowned || rd->jobs_reowned;
	rd->complete = 1;
	ret = 0;
	goto cleanup;
failed:
	fail(c, db, &pr, &why, d);
cleanup:
	if (ret && pc.conn && PQtransactionStatus(pc.conn) != PQTRANS_IDLE)
		PQclear(PQexec(pc.conn, "ROLLBACK"));
	PQclear(res);
	free_fp(before, roles.nr);
	free_fp(after, roles.nr);
	objrows_release(&rows);
	strvec_clear(&roles);
	rolesql_parts_release(&parts);
	pgconn_close(&pc);
	diag_release(&why);
	return ret;
}

/*
 * The one key of the roles lock ("dsnflip" in ASCII).  Advisory locks are
 * per database, so every run takes it in the same one: the maintenance
 * database "postgres", which initdb creates and createdb and pg_dumpall
 * connect to by default.
 */
#define ROLES_LOCK_KEY "28274415673043312"
#define ROLES_LOCK_DB "postgres"

static int take_lock(struct ctx *c, struct pgconn *lock, struct diag *d)
{
	struct diag tmp = DIAG_INIT;
	PGresult *res = NULL;
	const char *params[] = { ROLES_LOCK_KEY };
	const char *what = c->o->check ? "roles check" : "roles apply";

	if (pgconn_open_db(lock, c->admin, ROLES_LOCK_DB, &tmp)) {
		if (!strstr(tmp.msg.buf, "(SQLSTATE 3D000)")) {
			diag_fail(d, "taking the roles lock: %s", tmp.msg.buf);
			diag_release(&tmp);
			return -1;
		}
		diag_release(&tmp);
		strvec_pushf(&c->res->warnings, "the server has no database '%s': the lock that keeps two "
			     "roles applies apart is taken in database '%s', so only runs connecting there "
			     "see it", ROLES_LOCK_DB, PQdb(c->admin->conn));
		if (pgconn_open_db(lock, c->admin, PQdb(c->admin->conn), d))
			return -1;
	}
	/* What pg_stat_activity shows a second run. */
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "SET application_name = 'dsnflip %s'", what);
	int r = pg_exec(lock, sql.buf, "taking the roles lock", NULL, d);
	buf_release(&sql);
	if (r)
		return -1;
	if (pg_execp(lock, c->o->check ? "SELECT pg_try_advisory_lock_shared($1::bigint)"
				       : "SELECT pg_try_advisory_lock($1::bigint)",
		     1, params, "taking the roles lock", &res, d))
		return -1;
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = NULL;
	if (pg_execp(lock,
		"SELECT l.pid, l.mode, coalesce(regexp_replace(a.application_name, '[[:cntrl:]]', '?', 'g'), ''),\n"
		"       coalesce(a.usename::text, ''), coalesce(host(a.client_addr), 'a local socket'),\n"
		"       coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?')\n"
		"  FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid\n"
		" WHERE l.locktype = 'advisory' AND l.granted\n"
		"   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())\n"
		"   AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid\n"
		"   AND l.objsubid = 1\n"
		" ORDER BY a.backend_start, l.pid LIMIT 3",
		1, params, "reading who holds the roles lock", &res, d))
		return -1;
	struct buf who = BUF_INIT;
	int nheld = PQntuples(res), apply_holds = 0;
	for (int i = 0; i < nheld; i++) {
		apply_holds |= !strcmp(PQgetvalue(res, i, 1), "ExclusiveLock");
		buf_addf(&who, "%spid %s (application_name '%s', user %s, from %s, connected since %s)",
			 i ? "; " : "", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
			 PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
	}
	diag_fail(d, "another dsnflip %s is running on this server and holds the roles lock "
		  "(pg_advisory_lock %s in database '%s'): %s; one roles apply per cluster at a time, "
		  "and a check does not run during one: wait for it to finish, then run this again",
		  apply_holds || !nheld ? "roles apply" : "roles check", ROLES_LOCK_KEY, PQdb(lock->conn),
		  nheld ? who.buf : "it ended just now");
	buf_release(&who);
	PQclear(res);
	return -1;
}

/*
 * Roles dsnflip must never change, and existing roles it does not manage:
 * checked on the server before anything is sent.  Input error (exit 2).
 */
static int guard_roles(struct ctx *c, struct diag *d)
{
	struct strvec names = STRVEC_INIT;
	struct buf arr = BUF_INIT, why = BUF_INIT;
	PGresult *res = NULL;
	int ret = -1;

	for (size_t i = 0; i < c->plan->nroles; i++)
		strvec_push(&names, c->plan->roles[i].name);
	text_array(&arr, (const char *const *)names.v, names.nr);
	const char *params[] = { arr.buf, ROLESQL_MARKER };
	if (pg_execp(c->admin,
		"SELECT r.name, a.oid IS NOT NULL,\n"
		"       concat_ws(', ', CASE WHEN a.rolsuper THEN 'SUPERUSER' END,\n"
		"                 CASE WHEN a.rolcreaterole THEN 'CREATEROLE' END,\n"
		"                 CASE WHEN a.rolreplication THEN 'REPLICATION' END,\n"
		"                 CASE WHEN a.rolbypassrls THEN 'BYPASSRLS' END),\n"
		"       coalesce(a.oid < 16384, false) OR r.name ~ '^pg_',\n"
		"       r.name IN (current_user::text, session_user::text),\n"
		"       shobj_description(a.oid, 'pg_authid') IS NOT DISTINCT FROM $2\n"
		"  FROM unnest($1::text[]) WITH ORDINALITY AS r(name, i)\n"
		"  LEFT JOIN pg_roles a ON a.rolname = r.name ORDER BY r.i",
		2, params, "checking the planned roles on the server", &res, d))
		goto cleanup;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0), *attrs = PQgetvalue(res, i, 2);
		int exists = !strcmp(PQgetvalue(res, i, 1), "t");
		const struct config_role *cr = config_role(c->cfg, name);
		size_t before = why.len;
		if (why.len)
			buf_addstr(&why, "; ");
		if (!strcmp(PQgetvalue(res, i, 4), "t"))
			buf_addf(&why, "role %s is the admin login dsnflip connects as", name);
		else if (!strcmp(PQgetvalue(res, i, 3), "t"))
			buf_addf(&why, "role %s is predefined by PostgreSQL", name);
		else if (exists && *attrs)
			buf_addf(&why, "role %s has %s on the server: dsnflip never alters such a role "
				 "(map its services to another role in dsnflip.yml)", name, attrs);
		else if (exists && strcmp(PQgetvalue(res, i, 5), "t") && !(cr && cr->adopt))
			buf_addf(&why, "role %s already exists and dsnflip did not create it (it has no "
				 "'%s' comment): to let dsnflip manage it (LOGIN NOSUPERUSER, its connection "
				 "limit, settings and grants), add 'roles: {%s: {adopt: true}}' to dsnflip.yml",
				 name, ROLESQL_MARKER, name);
		else
			buf_setlen(&why, before);
	}
	if (why.len) {
		diag_err(d, "refusing to %s (nothing was changed): %s", c->o->check ? "check" : "apply",
			 why.buf);
		goto cleanup;
	}
	ret = 0;
cleanup:
	PQclear(res);
	strvec_clear(&names);
	buf_release(&arr);
	buf_release(&why);
	return ret;
}

/* Where dsnflip.yml gives role r the setting key (the value that wins), or NULL. */
static const struct config_kv *setting_source(const struct config *cfg, const struct plan_role *r,
					       const char *key)
{
	const struct config_role *cr = config_role(cfg, r->name);
	for (size_t i = 0; cr && i < cr->nsettings; i++)
		if (!strcmp(cr->settings[i].key, key))
			return &cr->settings[i];
	for (size_t i = 0; cfg && r->kind == ROLE_READER && i < cfg->nreader_settings; i++)
		if (!strcmp(cfg->reader_settings[i].key, key))
			return &cfg->reader_settings[i];
	for (size_t i = 0; cfg && i < cfg->nsettings; i++)
		if (!strcmp(cfg->settings[i].key, key))
			return &cfg->settings[i];
	return NULL;
}

/* Every planned setting must exist on this server and be settable per role. */
static int check_settings(struct ctx *c, struct diag *d)
{
	struct strvec keys = STRVEC_INIT;
	struct buf arr = BUF_INIT;
	PGresult *res = NULL;
	int ret = -1;

	for (size_t i = 0; i < c->plan->nroles; i++)
		for (size_t k = 0; k < c->plan->roles[i].nsettings; k++)
			if (!strvec_contains(&keys, c->plan->roles[i].settings[k].key))
				strvec_push(&keys, c->plan->roles[i].settings[k].key);
	if (!keys.nr)
		return 0;
	text_array(&arr, (const char *const *)keys.v, keys.nr);
	const char *params[] = { arr.buf };
	if (pg_execp(c->admin,
		"SELECT k.name, s.context, current_setting('server_version')\n"
		"  FROM unnest($1::text[]) WITH ORDINALITY AS k(name, i)\n"
		"  LEFT JOIN pg_settings s ON s.name = k.name\n"
		" WHERE s.name IS NULL OR s.context NOT IN ('user', 'superuser') ORDER BY k.i",
		1, params, "checking the planned settings against pg_settings", &res, d))
		goto cleanup;
	if (!PQntuples(res)) {
		ret = 0;
		goto cleanup;
	}
	const char *key = PQgetvalue(res, 0, 0), *version = PQgetvalue(res, 0, 2);
	int missing = PQgetisnull(res, 0, 1);
	const struct plan_role *r = NULL;
	for (size_t i = 0; i < c->plan->nroles && !r; i++)
		if (planned_setting(&c->plan->roles[i], key))
			r = &c->plan->roles[i];
	const struct config_kv *src = r && c->cfg ? setting_source(c->cfg, r, key) : NULL;
	struct buf msg = BUF_INIT;
	if (missing)
		buf_addf(&msg, "setting '%s' does not exist on this server (PostgreSQL %s, pg_settings)",
			 key, version);
	else
		buf_addf(&msg, "setting '%s' cannot be set for a role on this server (its context is "
			 "'%s' in pg_settings)", key, PQgetvalue(res, 0, 1));
	if (src && c->cfg->path)
		diag_at(d, c->cfg->path, src->pos.line, src->pos.col, "%s; nothing was changed", msg.buf);
	else
		diag_err(d, "role %s: %s (a dsnflip default: see README \"Role settings\"); nothing was "
			 "changed", r ? r->name : "?", msg.buf);
	buf_release(&msg);
cleanup:
	PQclear(res);
	strvec_clear(&keys);
	buf_release(&arr);
	return ret;
}

int roles_run(struct pgconn *admin, const struct plan *plan, const struct config *cfg,
	      struct secrets *sec, const char *templates_dir, const struct roles_opts *o,
	      struct roles_result *out, struct diag *d)
{
	struct strvec dbv = STRVEC_INIT;
	size_t n = rolesql_databases(plan, &dbv);
	char **dbs = dbv.v;
	struct ctx c = { admin, plan, cfg, sec, templates_dir, o, o->sql, out, 0 };

	if (c.sql.lock_timeout_ms <= 0)
		c.sql.lock_timeout_ms = ROLESQL_LOCK_TIMEOUT_MS;
	if (c.sql.lock_attempts <= 0)
		c.sql.lock_attempts = ROLESQL_LOCK_ATTEMPTS;
	if (c.sql.backoff_ms <= 0)
		c.sql.backoff_ms = ROLESQL_BACKOFF_MS;
	out->check = o->check;
	struct pgconn lock = { 0 };
	int ret = -1;
	if (!n) {
		diag_err(d, "the plan has no role to create (no service flips or is held)");
		goto done;
	}
	if (take_lock(&c, &lock, d) || guard_roles(&c, d) || check_settings(&c, d))
		goto done;
	for (size_t i = 0; i < n; i++) {
		ALLOC_GROW(out->dbs, out->ndbs + 1, out->dbs_alloc);
		struct roles_db *rd = &out->dbs[out->ndbs++];
		memset(rd, 0, sizeof(*rd));
		int r = run_db(&c, dbs[i], rd, d);
		out->changed |= rd->changed;
		if (r)
			goto done;
	}
	ret = 0;
done:
	/* Closing the session releases the lock. */
	pgconn_close(&lock);
	strvec_clear(&dbv);
	return ret;
}

void roles_result_release(struct roles_result *r)
{
	for (size_t i = 0; i < r->ndbs; i++) {
		struct roles_db *rd = &r->dbs[i];
		free(rd->database);
		strvec_clear(&rd->roles_created);
		strvec_clear(&rd->roles_altered);
		for (size_t k = 0; k < rd->nreassigned; k++)
			free(rd->reassigned[k].kind);
		free(rd->reassigned);
		for (size_t k = 0; k < rd->nkept; k++) {
			free(rd->kept[k].object);
			free(rd->kept[k].owner);
		}
		free(rd->kept);
		strvec_clear(&rd->lock_busy);
		strvec_clear(&rd->verify_failures);
		strvec_clear(&rd->passwords_set);
		for (size_t k = 0; k < rd->nreset; k++) {
			free(rd->reset[k].role);
			free(rd->reset[k].setting);
			free(rd->reset[k].database);
		}
		free(rd->reset);
		free(rd->timescaledb);
	}
	free(r->dbs);
	strvec_clear(&r->warnings);
	memset(r, 0, sizeof(*r));
}

static json_t *strs(const struct strvec *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->nr; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

json_t *roles_result_json(const struct roles_result *r)
{
	json_t *root = json_object(), *dbs = json_array();
	json_object_set_new(root, "changed", json_boolean(r->changed));
	for (size_t i = 0; i < r->ndbs; i++) {
		const struct roles_db *rd = &r->dbs[i];
		json_t *o = json_object(), *re = json_object(), *kept = json_array();
		json_object_set_new(o, "database", json_string(rd->database));
		json_object_set_new(o, "changed", json_boolean(rd->changed));
		json_object_set_new(o, "roles_created", strs(&rd->roles_created));
		json_object_set_new(o, "roles_altered", strs(&rd->roles_altered));
		for (size_t k = 0; k < rd->nreassigned; k++)
			json_object_set_new(re, rd->reassigned[k].kind, json_integer(rd->reassigned[k].n));
		json_object_set_new(o, "reassigned", re);
		for (size_t k = 0; k < rd->nkept; k++) {
			json_t *e = json_object();
			json_object_set_new(e, "object", json_string(rd->kept[k].object));
			json_object_set_new(e, "owner", json_string(rd->kept[k].owner));
			json_array_append_new(kept, e);
		}
		json_object_set_new(o, "kept", kept);
		json_object_set_new(o, "jobs_reowned", json_integer(rd->jobs_reowned));
		json_object_set_new(o, "lock_busy", strs(&rd->lock_busy));
		json_object_set_new(o, "verified", json_boolean(rd->verified));
		json_t *reset = json_array();
		for (size_t k = 0; k < rd->nreset; k++) {
			json_t *e = json_object();
			json_object_set_new(e, "role", json_string(rd->reset[k].role));
			json_object_set_new(e, "setting", json_string(rd->reset[k].setting));
			if (rd->reset[k].database)
				json_object_set_new(e, "database", json_string(rd->reset[k].database));
			json_array_append_new(reset, e);
		}
		json_object_set_new(o, "settings_reset", reset);
		json_array_append_new(dbs, o);
	}
	json_object_set_new(root, "databases", dbs);
	return root;
}

static void list(struct buf *out, const char *label, const struct strvec *v)
{
	if (!v->nr)
		return;
	buf_addf(out, "  %-19s", label);
	for (size_t i = 0; i < v->nr; i++)
		buf_addf(out, "%s%s", i ? ", " : "", v->v[i]);
	buf_addch(out, '\n');
}

void roles_result_text(const struct roles_result *r, int color, struct buf *out)
{
	const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
	const char *red = color ? "\033[31m" : "", *green = color ? "\033[32m" : "";
	const char *yellow = color ? "\033[33m" : "";

	for (size_t i = 0; i < r->ndbs; i++) {
		const struct roles_db *rd = &r->dbs[i];
		size_t total = 0;
		for (size_t k = 0; k < rd->nreassigned; k++)
			total += (size_t)rd->reassigned[k].n;
		buf_addf(out, "%sdatabase %s%s%s%s\n", bold, rd->database, reset,
			 rd->timescaledb ? " (TimescaleDB " : "", rd->timescaledb ? rd->timescaledb : "");
		if (rd->timescaledb) {
			/* close the parenthesis opened above */
			buf_setlen(out, out->len - 1);
			buf_addstr(out, ")\n");
		}
		list(out, r->check ? "would create" : "created", &rd->roles_created);
		list(out, r->check ? "would alter" : "altered", &rd->roles_altered);
		list(out, r->check ? "would set password" : "password set", &rd->passwords_set);
		for (size_t k = 0; k < rd->nreset; k++) {
			const struct roles_reset *e = &rd->reset[k];
			buf_addf(out, "  %-19s%s %s", k ? "" : r->check ? "would reset" : "reset", e->role,
				 e->setting);
			if (e->database)
				buf_addf(out, " (set for database %s only: it would override the plan)\n",
					 e->database);
			else
				buf_addstr(out, " (not in dsnflip.yml)\n");
		}
		if (rd->nreassigned) {
			buf_addf(out, "  %-19s", r->check ? "would re-own" : "re-owned");
			for (size_t k = 0; k < rd->nreassigned; k++)
				buf_addf(out, "%s%d %s", k ? ", " : "", rd->reassigned[k].n, rd->reassigned[k].kind);
			if (rd->elapsed_ms > 0)
				buf_addf(out, " (%zu in %.1f s, %.0f/s)", total, rd->elapsed_ms / 1000.0,
					 total * 1000.0 / (double)rd->elapsed_ms);
			buf_addch(out, '\n');
		}
		if (rd->jobs_reowned)
			buf_addf(out, "  %-19s%d TimescaleDB job(s)\n", "jobs re-owned", rd->jobs_reowned);
		for (size_t k = 0; k < rd->nkept && k < KEPT_SHOWN; k++)
			buf_addf(out, "  %-19s%s (owner %s)\n", k ? "" : "kept", rd->kept[k].object,
				 rd->kept[k].owner);
		if (rd->nkept > KEPT_SHOWN)
			buf_addf(out, "  %-19s... and %zu more (--format json lists them all)\n", "",
				 rd->nkept - KEPT_SHOWN);
		if (rd->lock_busy.nr) {
			buf_addf(out, "  %sbusy%s               ", yellow, reset);
			for (size_t k = 0; k < rd->lock_busy.nr; k++)
				buf_addf(out, "%s%s", k ? ", " : "", rd->lock_busy.v[k]);
			buf_addstr(out, " (never got the lock; still the superuser's: run `dsnflip roles apply` again)\n");
		}
		if (rd->complete)
			buf_addf(out, "  %-19s%s%s%s\n", "verified", rd->verified ? green : red,
			 rd->verified ? "yes: each role can do what it needs, and the reader cannot write" : "NO",
			 reset);
		for (size_t k = 0; k < rd->verify_failures.nr; k++)
			buf_addf(out, "    %s%s%s\n", red, rd->verify_failures.v[k], reset);
		if (!rd->complete)
			buf_addf(out, "  %sstopped by an error (below)%s\n", red, reset);
		else if (!rd->changed)
			buf_addf(out, "  %s\n", r->check ? "no change needed" : "no change (already as planned)");
	}
	int complete = 1;
	for (size_t i = 0; i < r->ndbs; i++)
		complete &= r->dbs[i].complete;
	if (r->check)
		buf_addstr(out, "check: everything above was rolled back; nothing was changed\n");
	else if (complete)
		buf_addf(out, "%s\n", r->changed ? "applied" : "nothing to change");
}

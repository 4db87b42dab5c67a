/*
 * preflight: before deploy moves anything (see preflight.h).
 */
#include "running/preflight.h"
#include "artifacts/secrets.h"
#include "util/mask.h"
#include "util/num.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_role(struct deploy_ctx *dc, const struct plan_role *r, struct buf *problems)
{
	PGresult *res = NULL;
	struct diag sub = DIAG_INIT;
	const char *p[1] = { r->name };
	int ok = 0;
	if (pg_execp(&dc->pc,
		     "SELECT r.rolcanlogin, r.rolsuper, r.rolconnlimit, "
		     "coalesce((SELECT array_to_string(s.setconfig, E'\\n') FROM pg_db_role_setting s "
		     "WHERE s.setrole = r.oid AND s.setdatabase = 0), '') "
		     "FROM pg_roles r WHERE r.rolname = $1",
		     1, p, r->name, &res, &sub)) {
		buf_addf(problems, "\n  %s: %s", r->name, sub.msg.buf);
		goto out;
	}
	if (PQntuples(res) == 0) {
		buf_addf(problems, "\n  role %s does not exist (run 'dsnflip roles apply')", r->name);
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't')
		buf_addf(problems, "\n  role %s cannot log in (NOLOGIN)", r->name);
	if (PQgetvalue(res, 0, 1)[0] == 't')
		buf_addf(problems, "\n  role %s is a superuser", r->name);
	int limit;
	if (num_parse_int(PQgetvalue(res, 0, 2), -1, INT_MAX, &limit))
		buf_addf(problems, "\n  role %s: the server reported an unreadable connection limit",
			 r->name);
	else if (limit != r->connection_limit)
		buf_addf(problems, "\n  role %s has CONNECTION LIMIT %d, the plan says %d "
				   "(run 'dsnflip roles apply')", r->name, limit, r->connection_limit);
	const char *cfg = PQgetvalue(res, 0, 3);
	for (size_t i = 0; i < r->nsettings; i++) {
		char *want = xstrfmt("%s=%s", r->settings[i].key, r->settings[i].value);
		const char *at = cfg;
		int found = 0, key_found = 0;
		size_t klen = strlen(r->settings[i].key);
		while (*at) {
			size_t n = strcspn(at, "\n");
			if (n == strlen(want) && !strncmp(at, want, n))
				found = 1;
			if (n > klen && !strncmp(at, r->settings[i].key, klen) && at[klen] == '=')
				key_found = 1;
			at += n;
			if (*at)
				at++;
		}
		if (!found)
			buf_addf(problems, "\n  role %s: %s is %s on the server, the plan says %s", r->name,
				 r->settings[i].key, key_found ? "different" : "not set", r->settings[i].value);
		free(want);
	}
	ok = 1;
out:
	PQclear(res);
	diag_release(&sub);
	return ok;
}

/* Log in as the role with its password, from here (PQconnectdbParams: never argv). */
static void check_login(struct deploy_ctx *dc, const struct plan_role *r, struct buf *problems)
{
	const char *pw = secrets_get(dc->sec, r->name);
	if (!pw) {
		buf_addf(problems, "\n  no password for %s in the secrets file (run 'dsnflip roles apply')",
			 r->name);
		return;
	}
	const char *db = r->ndatabases ? r->databases[0] : "postgres";
	const char *kw[] = { "host", "port", "dbname", "user", "password", "connect_timeout",
			     "application_name", "sslmode", NULL };
	const char *sslmode = NULL;
	PQconninfoOption *opts = PQconninfo(dc->pc.conn);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "sslmode"))
			sslmode = o->val;
	const char *val[] = { PQhost(dc->pc.conn), PQport(dc->pc.conn), db, r->name, pw, "10",
			      "dsnflip-preflight", sslmode ? sslmode : "prefer", NULL };
	PGconn *c = PQconnectdbParams(kw, val, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		struct buf m = BUF_INIT;
		mask_secrets(PQerrorMessage(c), &m);
		while (m.len && m.buf[m.len - 1] == '\n')
			buf_setlen(&m, m.len - 1);
		buf_addf(problems, "\n  %s cannot log in to %s on %s:%s: %s", r->name, db,
			 PQhost(dc->pc.conn), PQport(dc->pc.conn), m.buf);
		buf_release(&m);
	}
	PQfinish(c);
	PQconninfoFree(opts);
}

int deploy_preflight(struct deploy_ctx *dc, const struct plan_service **todo, size_t ntodo,
		     struct diag *d)
{
	struct buf problems = BUF_INIT;
	struct strvec seen = STRVEC_INIT;
	int ret = -1;

	for (size_t i = 0; i < ntodo; i++) {
		const char *merged = deploy_merged_role(dc, todo[i]->name);
		if (merged) {
			/* Not in this plan's roles (the checkout's plan skips it): log in only. */
			struct plan_role tmp;
			const char *db = todo[i]->conns[0].database ? todo[i]->conns[0].database : "postgres";
			memset(&tmp, 0, sizeof(tmp));
			tmp.name = merged;
			tmp.databases = &db;
			tmp.ndatabases = 1;
			if (!strvec_contains(&seen, merged)) {
				strvec_push(&seen, merged);
				check_login(dc, &tmp, &problems);
			}
			continue;
		}
		/* Deploy checks roles and watches sessions on the server the admin
		 * connection reaches: a connection to another server is not its to cut over. */
		const struct plan *pl = dc->s.plan;
		for (size_t k = 0; pl->nservers > 1 && k < todo[i]->nconns; k++) {
			const struct plan_role *cr = todo[i]->conns[k].role ? plan_role(pl, todo[i]->conns[k].role) : NULL;
			if (cr && !plan_same_server(cr->server, pl->live_server))
				buf_addf(&problems, "\n  %s: %s connects to server %s (role %s), not the one the admin "
					 "connection reaches (%s): deploy checks and watches one server; apply that "
					 "server's roles (roles apply --server %s) and cut this service over by hand "
					 "(the runbook)", todo[i]->name, todo[i]->conns[k].variable,
					 plan_server_label(cr->server), cr->name, plan_server_label(pl->live_server),
					 plan_server_label(cr->server));
		}
		const struct plan_role *r = deploy_role_of(dc->s.plan, todo[i]->role);
		if (!r) {
			buf_addf(&problems, "\n  %s: the plan has no role for it", todo[i]->name);
			continue;
		}
		if (strvec_contains(&seen, r->name))
			continue;
		strvec_push(&seen, r->name);
		if (check_role(dc, r, &problems))
			check_login(dc, r, &problems);
	}
	/* The CLI loads the stack with the override as it will be, or says why it cannot tell. */
	{
		struct diag sub = DIAG_INIT;
		if (driver_check_config(&dc->rt, &sub))
			buf_addf(&problems, "\n  the %s CLI does not load the stack: %s",
				 strcmp(dc->rt.ops->name, "swarm") ? "compose" : "docker stack", sub.msg.buf);
		else if (sub.msg.len)
			deploy_say(dc, "  not checked: %s", sub.msg.buf);
		diag_release(&sub);
	}
	for (size_t i = 0; i < ntodo; i++) {
		struct container *cts = NULL;
		size_t n = 0;
		struct diag sub = DIAG_INIT;
		const struct journal_service *js = journal_get(dc->j, todo[i]->name, 0);
		/* Resuming a service a crash left half-recreated: it is recreated next anyway. */
		if (js && js->state == JS_IN_FLIGHT)
			continue;
		if (deploy_containers(dc, todo[i]->name, &cts, &n, &sub)) {
			buf_addf(&problems, "\n  %s: %s", todo[i]->name, sub.msg.buf);
		} else {
			int up = 0;
			for (size_t k = 0; k < n; k++)
				up |= cts[k].running ||
				      (todo[i]->cls == CLASS_MIGRATOR && !strcmp(cts[k].status, "exited") &&
				       cts[k].exit_code == 0);
			if (!up)
				buf_addf(&problems, "\n  %s is not up (%s): start the stack first", todo[i]->name,
					 n ? cts[0].status : "no container");
		}
		free(cts);
		diag_release(&sub);
	}
	if (problems.len)
		diag_fail(d, "pre-flight failed, nothing was changed:%s", problems.buf);
	else
		ret = 0;
	buf_release(&problems);
	strvec_clear(&seen);
	return ret;
}


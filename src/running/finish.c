/*
 * finish: prove, rotate, report.  See finish.h.
 */
#include "running/finish.h"
#include "running/attrib.h"
#include "util/fs.h"
#include "artifacts/secrets.h"
#include "server/roles.h"
#include "artifacts/sqlquote.h"
#include "server/sessions.h"
#include "util/num.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_MS 500
#define DEFAULT_WINDOW_S 10

struct session_seen {
	int pid;
	char *user, *addr, *app, *db;
	int port;
	int super;
	char *service;          /* attributed, or NULL: outside the stack */
	char cid[16];
	int server;             /* from the database server's own container */
};

struct role_row {
	const char *name;
	int live, peak, limit;  /* limit -1: none */
	int exists;
};

struct fin {
	struct deploy_ctx *dc;
	struct strvec problems;
	struct strvec flipped;
	struct session_seen *ss;
	size_t nss, ss_alloc;
	struct role_row *roles;
	size_t nroles;
	int super_live, super_peak;
	char *role;             /* the admin's role: the superuser rotated */
	char *old_pw;           /* what libpq logged in with, when it had one */
	json_t *holders;
	struct buf holders_text;
	struct strvec unreadable; /* containers whose sockets could not be read (attrib.h) */
};

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, n) && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int strict_int(const char *s, int *out)
{
	return num_parse_int(s, -1, 1000000000, out) ? -1 : 0;
}

/* 1. The plan: every service that was on a superuser is flipped now. */
static void prove_plan(struct fin *f)
{
	const struct plan *plan = f->dc->s.plan;
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		int su = 0;
		for (size_t k = 0; k < ps->nconns; k++)
			su |= ps->conns[k].superuser;
		if (!su)
			continue;
		const struct journal_service *js = journal_get(f->dc->j, ps->name, 0);
		if (ps->action == ACTION_HOLD) {
			strvec_pushf(&f->problems, "%s is held on the superuser (%s): settle its class, then "
				     "deploy it", ps->name, ps->reason ? ps->reason : "unconfirmed");
		} else if (js && js->state == JS_FLIPPED) {
			strvec_push(&f->flipped, ps->name);
		} else {
			strvec_pushf(&f->problems, "%s still connects as the superuser per the plan (deploy: %s)",
				     ps->name, js ? journal_state_name(js->state) : "not deployed");
		}
	}
	for (size_t i = 0; i < f->dc->merged.nr; i++)
		strvec_push(&f->flipped, f->dc->merged.v[i]);
}

static struct session_seen *seen(struct fin *f, int pid)
{
	for (size_t i = 0; i < f->nss; i++)
		if (f->ss[i].pid == pid)
			return &f->ss[i];
	return NULL;
}

/* One sample of pg_stat_activity. */
static int sample(struct fin *f, struct attrib *at, struct diag *d)
{
	struct pg_sessions now = PG_SESSIONS_INIT;
	if (sessions_sample(&f->dc->pc, &now, d))
		return -1;
	attrib_refresh(at);
	for (size_t i = 0; i < at->unreadable.nr; i++)
		if (!strvec_contains(&f->unreadable, at->unreadable.v[i]))
			strvec_push(&f->unreadable, at->unreadable.v[i]);
	int super_now = 0;
	for (size_t r = 0; r < f->nroles; r++)
		f->roles[r].live = 0;
	for (size_t i = 0; i < now.nr; i++) {
		const struct pg_session *x = &now.v[i];
		int pid = x->pid, port = x->port;
		if (!x->role_known)
			continue;
		const char *user = x->user;
		int super = x->super;
		super_now += super;
		for (size_t r = 0; r < f->nroles; r++)
			if (!strcmp(f->roles[r].name, user))
				f->roles[r].live++;
		struct session_seen *s = seen(f, pid);
		if (!s) {
			ALLOC_GROW(f->ss, f->nss + 1, f->ss_alloc);
			s = &f->ss[f->nss++];
			memset(s, 0, sizeof(*s));
			s->pid = pid;
			s->user = xstrdup(user);
			s->addr = xstrdup(x->addr);
			s->port = port;
			s->app = xstrdup(x->app);
			s->db = xstrdup(x->db);
			s->super = super;
		}
		if (!s->service) {
			const char *cid = NULL;
			const char *svc = attrib_service(at, port, &cid);
			if (svc) {
				s->service = xstrdup(svc);
				snprintf(s->cid, sizeof(s->cid), "%.12s", cid ? cid : "");
			}
		}
	}
	if (super_now > f->super_peak)
		f->super_peak = super_now;
	f->super_live = super_now;
	for (size_t r = 0; r < f->nroles; r++)
		if (f->roles[r].live > f->roles[r].peak)
			f->roles[r].peak = f->roles[r].live;
	sessions_release(&now);
	return 0;
}

/*
 * A service of the stack that is the database server, not an application:
 * not in the plan (detection leaves servers out), and either named as the
 * host of some connection or configured like the postgres images
 * (POSTGRES_PASSWORD, POSTGRES_USER, PGDATA).
 */
static int is_server_service(struct deploy_ctx *dc, const char *name)
{
	const struct plan *plan = dc->s.plan;
	const struct service *s = compose_service(dc->s.project, name);
	if (!s || plan_service(plan, name))
		return 0;
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++)
			if (plan->services[i].conns[k].host && !strcmp(plan->services[i].conns[k].host, name))
				return 1;
	return service_env(s, "POSTGRES_PASSWORD") || service_env(s, "POSTGRES_USER") ||
	       service_env(s, "PGDATA");
}

/* 2 and 3: the window, and the limits. */
static int prove_window(struct fin *f, int window_s, struct diag *d)
{
	struct deploy_ctx *dc = f->dc;
	struct attrib at = ATTRIB_INIT;
	struct diag sub = DIAG_INIT;
	int ret = -1;

	f->nroles = dc->s.plan->nroles;
	f->roles = xcalloc(f->nroles ? f->nroles : 1, sizeof(*f->roles));
	for (size_t i = 0; i < f->nroles; i++) {
		f->roles[i].name = dc->s.plan->roles[i].name;
		f->roles[i].limit = -1;
	}
	if (attrib_snapshot(&at, &dc->rt, dc->s.project, dc->s.plan, pgconn_port(&dc->pc), &sub)) {
		/* Without the containers nothing can be attributed: not a proof. */
		strvec_pushf(&f->problems, "the stack's containers could not be listed, so sessions "
			     "cannot be attributed: %s", sub.msg.buf);
		ret = 0;
		goto out;
	}
	if (dc->tty)
		fprintf(stderr, "finish: watching sessions for %d s\n", window_s);
	long long end = run_now_ms() + (long long)window_s * 1000;
	for (int n = 0; n < window_s * 1000 / SAMPLE_MS + 1; n++) {
		/* Containers started during the window (a cron job, a scaled
		 * service) are the stack's too: list them again every 2 s. */
		if (n && n % 4 == 0) {
			attrib_release(&at);
			if (attrib_snapshot(&at, &dc->rt, dc->s.project, dc->s.plan, pgconn_port(&dc->pc),
					    &sub)) {
				strvec_pushf(&f->problems, "the stack's containers could not be listed again "
					     "during the window, so sessions cannot be attributed: %s",
					     sub.msg.buf);
				ret = 0;
				goto out;
			}
		}
		if (sample(f, &at, d))
			goto out;
		if (deploy_signalled(dc)) {
			diag_fail(d, "interrupted: nothing was changed");
			goto out;
		}
		if (run_now_ms() >= end)
			break;
		struct timespec ts = { 0, SAMPLE_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* A container whose sockets cannot be read holds sessions that look
	 * "outside the stack": an app still on the superuser would pass. */
	for (size_t i = 0; i < f->unreadable.nr; i++) {
		const char *u = f->unreadable.v[i];
		size_t n = strcspn(u, " ");
		char *svc = xstrndup(u, n);
		if (!is_server_service(dc, svc))
			strvec_pushf(&f->problems, "the sockets of %s could not be read from this host%s, "
				     "so its sessions cannot be attributed: a superuser session of it "
				     "would look like one from outside the stack", u,
				     geteuid() ? " (dsnflip is not running as root)" : "");
		free(svc);
	}
	for (size_t i = 0; i < f->nss; i++) {
		struct session_seen *s = &f->ss[i];
		if (!s->super || !s->service)
			continue;
		if (is_server_service(dc, s->service)) {
			/* The server's own container (a healthcheck, a backup job in it): not an app. */
			s->server = 1;
			continue;
		}
		strvec_pushf(&f->problems, "%s (container %s) has a superuser session: pid %d as %s "
			     "from %s:%d, application_name '%s'%s", s->service, s->cid, s->pid, s->user,
			     s->addr, s->port, s->app, plan_service(dc->s.plan, s->service) ? ""
			     : " (dsnflip found no connection in its configuration)");
	}
	/* The limits as the server has them now. */
	for (size_t i = 0; i < f->nroles; i++) {
		PGresult *res = NULL;
		const char *p[1] = { f->roles[i].name };
		if (pg_execp(&dc->pc, "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1", 1, p,
			     f->roles[i].name, &res, d)) {
			PQclear(res);
			goto out;
		}
		if (PQntuples(res) && !strict_int(PQgetvalue(res, 0, 0), &f->roles[i].limit))
			f->roles[i].exists = 1;
		PQclear(res);
		const struct role_row *r = &f->roles[i];
		int used = 0;
		for (size_t k = 0; k < dc->s.plan->roles[i].nservices; k++)
			used |= strvec_contains(&f->flipped, dc->s.plan->roles[i].services[k]);
		if (!r->exists && used)
			strvec_pushf(&f->problems, "role %s does not exist on the server", r->name);
		else if (r->limit >= 0 && r->peak > r->limit)
			strvec_pushf(&f->problems, "role %s is over its limit: %d sessions at the peak, "
				     "limit %d", r->name, r->peak, r->limit);
		else if (r->limit >= 0 && r->live > r->limit)
			strvec_pushf(&f->problems, "role %s is over its limit: %d sessions, limit %d",
				     r->name, r->live, r->limit);
	}
	ret = 0;
out:
	attrib_release(&at);
	diag_release(&sub);
	return ret;
}

/* A connection like the admin's (same target) with another password. */
static PGconn *connect_with(struct pgconn *admin, const char *password)
{
	PQconninfoOption *opts = PQconninfo(admin->conn);
	const char *keys[64], *vals[64];
	size_t n = 0;
	for (PQconninfoOption *o = opts; o && o->keyword && n < 60; o++) {
		if (!o->val || !strcmp(o->keyword, "password") || !strcmp(o->keyword, "passfile"))
			continue;
		keys[n] = o->keyword;
		vals[n] = o->val;
		n++;
	}
	keys[n] = "password";
	vals[n++] = password;
	/* No password file: only the password given may succeed. */
	keys[n] = "passfile";
	vals[n++] = "/dev/null";
	keys[n] = NULL;
	vals[n] = NULL;
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	PQconninfoFree(opts);
	return c;
}

static int whoami(struct fin *f, struct diag *d)
{
	PGresult *res = NULL;
	if (pg_exec(&f->dc->pc, "SELECT current_user, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user",
		    "the admin role", &res, d))
		return -1;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 1), "t")) {
		strvec_pushf(&f->problems, "the admin connection's role %s is not a superuser: finish "
			     "rotates the superuser's password, so connect as it (--db)",
			     PQntuples(res) ? PQgetvalue(res, 0, 0) : "?");
	}
	f->role = xstrdup(PQntuples(res) ? PQgetvalue(res, 0, 0) : "postgres");
	PQclear(res);
	const char *pw = PQpass(f->dc->pc.conn);
	if (pw && *pw)
		f->old_pw = xstrdup(pw);
	return 0;
}

static void holder(struct fin *f, const char *where, const char *why)
{
	for (size_t i = 0; i < json_array_size(f->holders); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(f->holders, i), "where")), where))
			return;
	json_array_append_new(f->holders, json_pack("{s:s, s:s}", "where", where, "note", why));
	buf_addf(&f->holders_text, "  - %s: %s\n", where, why);
}

/* Split one .pgpass line into its 5 fields (\: and \\ escapes); 0 on success. */
static int pgpass_fields(const char *line, struct strvec *out)
{
	struct buf cur = BUF_INIT;
	for (const char *p = line;; p++) {
		if (*p == '\\' && p[1]) {
			buf_addch(&cur, *++p);
		} else if (*p == ':' || !*p) {
			strvec_push(out, cur.buf);
			buf_reset(&cur);
			if (!*p)
				break;
		} else {
			buf_addch(&cur, *p);
		}
	}
	buf_release(&cur);
	return out->nr == 5 ? 0 : -1;
}

static void find_holders(struct fin *f)
{
	struct deploy_ctx *dc = f->dc;
	const struct compose_project *p = dc->s.project;

	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		int server = !plan_service(dc->s.plan, s->name);
		for (size_t k = 0; k < s->nenv; k++) {
			const struct env_entry *e = &s->env[k];
			int has_old = f->old_pw && strstr(e->value, f->old_pw);
			int server_pw = server && !strcmp(e->key, "POSTGRES_PASSWORD");
			if (!has_old && !server_pw)
				continue;
			struct buf where = BUF_INIT, at = BUF_INIT;
			origin_describe(&e->origin, &at);
			buf_addf(&where, "services.%s.environment.%s (%s)", s->name, e->key, at.buf);
			holder(f, where.buf, server_pw
			       ? "the server image reads POSTGRES_PASSWORD only at initdb: it does not "
				 "change the password now, and no longer is it"
			       : strvec_contains(&f->flipped, s->name)
				 ? "the old password, no longer used by this service (it is flipped)"
				 : "the old password: anything still using it will fail to log in");
			buf_release(&where);
			buf_release(&at);
		}
	}
	for (size_t i = 0; f->old_pw && i < p->nvars; i++)
		if (strstr(p->vars[i].value, f->old_pw) && p->vars[i].origin.kind != ORIGIN_PROCESS) {
			struct buf where = BUF_INIT, at = BUF_INIT;
			origin_describe(&p->vars[i].origin, &at);
			buf_addf(&where, "%s (%s)", p->vars[i].name, at.buf);
			holder(f, where.buf, "the old password");
			buf_release(&where);
			buf_release(&at);
		}
	/* An admin's password file. */
	const char *pf = env_get(dc->o->environ, "PGPASSFILE");
	char *path = pf ? xstrdup(pf) : env_get(dc->o->environ, "HOME")
			 ? xstrfmt("%s/.pgpass", env_get(dc->o->environ, "HOME")) : NULL;
	char *data = path ? read_file(path, NULL) : NULL;
	int lineno = 0;
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		struct strvec fl = STRVEC_INIT;
		if (line[0] != '#' && !pgpass_fields(line, &fl) &&
		    (!strcmp(fl.v[3], f->role) || !strcmp(fl.v[3], "*")) &&
		    (!f->old_pw || !strcmp(fl.v[4], f->old_pw))) {
			struct buf where = BUF_INIT;
			buf_addf(&where, "%s:%d (%s:%s:%s:%s)", path, lineno, fl.v[0], fl.v[1], fl.v[2], fl.v[3]);
			holder(f, where.buf, f->old_pw ? "the old password: update it from the new "
					     "password file" : "a password for the superuser (maybe the old one)");
			buf_release(&where);
		}
		for (size_t k = 0; k < fl.nr; k++)
			explicit_bzero(fl.v[k], strlen(fl.v[k]));
		strvec_clear(&fl);
	}
	if (data) {
		explicit_bzero(data, strlen(data));
		free(data);
	}
	free(path);
}

/* The rotation.  Returns 0 (proved), -1 with d. */
static int rotate(struct fin *f, json_t *out, struct buf *text, char **admin_addr, struct diag *d)
{
	struct deploy_ctx *dc = f->dc;
	char pw[SECRETS_PASSWORD_LEN + 1];
	char *old_verifier = NULL;
	char *newpath = xstrfmt("%s/superuser.env.new", dc->dir);
	char *path = xstrfmt("%s/superuser.env", dc->dir);
	char *var = secrets_var_name(f->role);
	struct buf content = BUF_INIT;
	PGconn *proof = NULL;
	int ret = -1, altered = 0;

	if (secrets_random(pw, "the superuser", d))
		goto out;
	{
		PGresult *res = NULL;
		const char *p[1] = { f->role };
		if (pg_execp(&dc->pc, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", 1, p,
			     "the superuser's current verifier", &res, d)) {
			PQclear(res);
			goto out;
		}
		if (PQntuples(res) && !PQgetisnull(res, 0, 0))
			old_verifier = xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	/* Kept before it is set: a crash after the ALTER must not lose it. */
	buf_addf(&content, "# dsnflip finish: the new password of superuser %s (0600; never commit it)\n"
		 "%s=%s\n", f->role, var, pw);
	if (fs_mkdir_p(dc->dir, 0700, d) ||
	    fs_write_atomic(newpath, content.buf, content.len, 0600, d))
		goto out;
	run_fault_point(dc->o->environ, "finish-before-alter", NULL);
	if (roles_set_password(&dc->pc, f->role, pw, d))
		goto restore;
	altered = 1;
	run_fault_point(dc->o->environ, "finish-after-alter", NULL);
	proof = connect_with(&dc->pc, pw);
	/* DSNFLIP_FAULT=finish-proof-fails: the proof fails as a refused login would. */
	if (run_fault_armed(dc->o->environ, "finish-proof-fails", NULL)) {
		diag_fail(d, "the new password was set but a new connection with it failed: "
			  "DSNFLIP_FAULT=finish-proof-fails");
		goto restore;
	}
	if (PQstatus(proof) != CONNECTION_OK) {
		diag_fail(d, "the new password was set but a new connection with it failed: %s",
			  PQerrorMessage(proof));
		goto restore;
	}
	{
		PGresult *res = PQexec(proof, "SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE "
				       "rolname = current_user), coalesce(host(inet_client_addr()), '')");
		int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			 !strcmp(PQgetvalue(res, 0, 0), f->role) && !strcmp(PQgetvalue(res, 0, 1), "t");
		if (ok && *PQgetvalue(res, 0, 2))
			*admin_addr = xstrdup(PQgetvalue(res, 0, 2));
		PQclear(res);
		if (!ok) {
			diag_fail(d, "the new connection did not prove the new password (not %s as a superuser)",
				  f->role);
			goto restore;
		}
	}
	if (rename(newpath, path)) {
		diag_fail(d, "the new password works and is kept in %s, but renaming it to %s failed: %s",
			  newpath, path, strerror(errno));
		goto out;
	}
	int old_refused = -1;   /* unknown: libpq logged in without a password we saw */
	if (f->old_pw) {
		PGconn *old = connect_with(&dc->pc, f->old_pw);
		old_refused = PQstatus(old) != CONNECTION_OK;
		PQfinish(old);
	}
	json_object_set_new(out, "role", json_string(f->role));
	json_object_set_new(out, "password_file", json_string(path));
	json_object_set_new(out, "proved", json_true());
	json_object_set_new(out, "old_password_refused", old_refused < 0 ? json_null() : json_boolean(old_refused));
	buf_addf(text, "rotated: the password of superuser %s, sent as a SCRAM verifier; proved by a new "
		 "connection with it\n  kept in %s (0600, %s=...)\n", f->role, path, var);
	buf_addf(text, "  the old password: %s\n", old_refused < 0 ? "not known to dsnflip (not tried)"
		 : old_refused ? "refused now" : "STILL ACCEPTED (check pg_hba.conf: trust/peer?)");
	{
		char now[32];
		iso_now(now);
		json_t *rec = json_pack("{s:s, s:s, s:s}", "finished_at", now, "role", f->role,
					"password_file", path);
		char *js = json_dumps(rec, JSON_INDENT(2));
		char *rpath = xstrfmt("%s/finish.json", dc->dir);
		struct diag sub = DIAG_INIT;
		if (fs_write_atomic(rpath, js, strlen(js), 0600, &sub))
			fprintf(stderr, "dsnflip: the rotation is done but %s could not be written: %s\n",
				rpath, sub.msg.buf);
		diag_release(&sub);
		free(rpath);
		free(js);
		json_decref(rec);
	}
	ret = 0;
	goto out;
restore:
	if (altered) {
		struct diag sub = DIAG_INIT;
		struct buf sql = BUF_INIT;
		int r = -1;
		if (old_verifier) {
			buf_addstr(&sql, "ALTER ROLE ");
			r = sql_quote_ident(f->role, &sql, &sub) || (buf_addstr(&sql, " PASSWORD "), 0) ||
			    sql_quote_literal(old_verifier, &sql, &sub) ||
			    pg_exec(&dc->pc, sql.buf, "restoring the old password", NULL, &sub);
		}
		if (r) /* d holds why the proof failed: say both */
			diag_append(d, "; putting the old password back failed too (%s): the superuser's "
				    "password is now the new one, kept in %s",
				    old_verifier ? sub.msg.buf : "it had none", newpath);
		else
			unlink(newpath);
		explicit_bzero(sql.buf, sql.len);
		buf_release(&sql);
		diag_release(&sub);
	} else {
		unlink(newpath);
	}
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(content.buf, content.len);
	buf_release(&content);
	if (old_verifier) {
		explicit_bzero(old_verifier, strlen(old_verifier));
		free(old_verifier);
	}
	PQfinish(proof);
	free(newpath);
	free(path);
	free(var);
	return ret;
}

static void pg_hba(const char *role, const char *admin_addr, struct buf *out)
{
	buf_addf(out, "# dsnflip: %s only locally and from the admin's address; put these lines above\n"
		 "# the general rules, reload (SELECT pg_reload_conf()), and keep a session open\n"
		 "# while you check that you can still log in.\n", role);
	buf_addf(out, "local   all  %-12s                    scram-sha-256\n", role);
	buf_addf(out, "host    all  %-12s 127.0.0.1/32       scram-sha-256\n", role);
	buf_addf(out, "host    all  %-12s ::1/128            scram-sha-256\n", role);
	if (admin_addr && strcmp(admin_addr, "127.0.0.1") && strcmp(admin_addr, "::1")) {
		char *net = xstrfmt("%s/%s", admin_addr, strchr(admin_addr, ':') ? "128" : "32");
		buf_addf(out, "host    all  %-12s %-18s scram-sha-256\n", role, net);
		free(net);
	}
	buf_addf(out, "host    all  %-12s 0.0.0.0/0          reject\n", role);
	buf_addf(out, "host    all  %-12s ::/0               reject\n", role);
}

int finish_run(struct deploy_ctx *dc, struct diag *err)
{
	struct fin f = { .dc = dc };
	struct diag d = DIAG_INIT;
	struct buf text = BUF_INIT;
	json_t *root = json_object(), *rot = json_object();
	char *admin_addr = NULL;
	int code = EXIT_FAILED, window = dc->o->window ? dc->window_s : DEFAULT_WINDOW_S;
	int old_still_accepted = 0; /* rotated, but the old password still logs in */

	f.holders = json_array();
	sigprocmask(SIG_BLOCK, &dc->sigs, NULL);
	if (journal_unfinished(dc->j))
		strvec_push(&f.problems, "a deploy or rollback is unfinished: run `dsnflip deploy --resume` "
			    "or `dsnflip rollback` first");
	prove_plan(&f);
	if (whoami(&f, &d) || prove_window(&f, window, &d))
		goto failed;

	json_t *probs = json_array(), *outside = json_array(), *stack = json_array(), *roles = json_array();
	for (size_t i = 0; i < f.problems.nr; i++)
		json_array_append_new(probs, json_string(f.problems.v[i]));
	for (size_t i = 0; i < f.nss; i++) {
		const struct session_seen *s = &f.ss[i];
		if (!s->super)
			continue;
		json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:s, s:s}", "pid", s->pid, "user", s->user,
				      "client_addr", s->addr, "client_port", s->port, "application_name",
				      s->app, "database", s->db);
		if (s->service) {
			json_object_set_new(o, "service", json_string(s->service));
			json_object_set_new(o, "container", json_string(s->cid));
		}
		if (s->server)
			json_object_set_new(o, "server_container", json_true());
		json_array_append_new(s->service && !s->server ? stack : outside, o);
	}
	for (size_t i = 0; i < f.nroles; i++)
		json_array_append_new(roles, json_pack("{s:s, s:i, s:i, s:o}", "name", f.roles[i].name,
						       "live", f.roles[i].live, "peak", f.roles[i].peak,
						       "limit", f.roles[i].limit < 0 ? json_null()
								: json_integer(f.roles[i].limit)));
	json_array_append_new(roles, json_pack("{s:s, s:i, s:i, s:n, s:b}", "name", f.role, "live",
					       f.super_live, "peak", f.super_peak, "limit", "superuser", 1));
	json_object_set_new(root, "complete", json_boolean(!f.problems.nr));
	json_object_set_new(root, "problems", probs);
	json_object_set_new(root, "window_seconds", json_integer(window));
	json_object_set_new(root, "superuser_sessions_from_stack", stack);
	json_object_set_new(root, "superuser_sessions_outside_stack", outside);
	json_t *unr = json_array();
	for (size_t i = 0; i < f.unreadable.nr; i++)
		json_array_append_new(unr, json_string(f.unreadable.v[i]));
	json_object_set_new(root, "unreadable_containers", unr);
	json_object_set_new(root, "roles", roles);

	buf_addf(&text, "finish: project %s, superuser %s\n", dc->s.project->name, f.role);
	buf_addf(&text, "proof (%d s window):\n", window);
	buf_addf(&text, "  plan: %zu service%s flipped off the superuser\n", f.flipped.nr,
		 f.flipped.nr == 1 ? "" : "s");
	buf_addf(&text, "  superuser sessions from the stack's containers: %zu\n", json_array_size(stack));
	for (size_t i = 0; i < f.nss; i++)
		if (f.ss[i].super && f.ss[i].server)
			buf_addf(&text, "  from the server's own container (%s): pid %d as %s, application_name '%s'\n",
				 f.ss[i].service, f.ss[i].pid, f.ss[i].user, f.ss[i].app);
	for (size_t i = 0; i < f.nss; i++)
		if (f.ss[i].super && !f.ss[i].service)
			buf_addf(&text, "  outside the stack: pid %d as %s from %s%s%d, application_name '%s' "
				 "(no container of the stack holds that port)\n", f.ss[i].pid, f.ss[i].user,
				 *f.ss[i].addr ? f.ss[i].addr : "local socket", *f.ss[i].addr ? ":" : "",
				 f.ss[i].port, f.ss[i].app);
	if (f.problems.nr) {
		buf_addstr(&text, "\nnot complete, nothing was changed:\n");
		for (size_t i = 0; i < f.problems.nr; i++)
			buf_addf(&text, "  - %s\n", f.problems.v[i]);
		code = EXIT_FAILED;
		goto print;
	}
	if (rotate(&f, rot, &text, &admin_addr, &d))
		goto failed;
	/* The old password still logs in (pg_hba trust, another auth method):
	 * the move is not finished, whatever else went right. */
	old_still_accepted = json_is_false(json_object_get(rot, "old_password_refused"));
	json_object_set_new(root, "rotated", rot);
	rot = NULL;
	find_holders(&f);
	buf_addstr(&text, "still holds the old password:\n");
	if (!f.holders_text.len)
		buf_addstr(&text, "  nothing dsnflip can see\n");
	buf_add(&text, f.holders_text.buf, f.holders_text.len);
	json_object_set_new(root, "old_password_holders", f.holders);
	f.holders = NULL;
	code = EXIT_OK;
	if (old_still_accepted) {
		buf_addf(&text, "\nnot complete: the server still accepts the old password of %s (the new "
				"one is in place and proved); make pg_hba.conf ask for a password "
				"(scram-sha-256) on the lines that let it in\n", f.role);
		json_object_set_new(root, "complete", json_false());
		code = EXIT_FAILED;
	}
print:
	buf_addf(&text, "\nbudget re-check (window %d s):\n  %-20s %5s %5s %s\n", window, "ROLE", "LIVE",
		 "PEAK", "LIMIT");
	for (size_t i = 0; i < f.nroles; i++) {
		const struct role_row *r = &f.roles[i];
		buf_addf(&text, "  %-20s %5d %5d ", r->name, r->live, r->peak);
		if (!r->exists)
			buf_addstr(&text, "(no such role)\n");
		else if (r->limit < 0)
			buf_addstr(&text, "unlimited\n");
		else
			buf_addf(&text, "%d%s\n", r->limit, r->peak > r->limit ? "  OVER" : "");
	}
	buf_addf(&text, "  %-20s %5d %5d superuser\n", f.role, f.super_live, f.super_peak);
	if (code == EXIT_OK || old_still_accepted) {
		struct buf hba = BUF_INIT;
		pg_hba(f.role, admin_addr, &hba);
		buf_addstr(&text, "\nsuggested pg_hba.conf fragment (dsnflip applies nothing):\n");
		buf_add(&text, hba.buf, hba.len);
		json_object_set_new(root, "pg_hba_suggestion", json_string(hba.buf));
		buf_release(&hba);
	}
	deploy_print(dc, root, &text);
	goto out;
failed:
	diag_fail(err, "finish: %s", d.msg.buf);
	err->code = code = d.code ? d.code : EXIT_FAILED;
out:
	json_decref(root);
	json_decref(rot);
	json_decref(f.holders);
	buf_release(&f.holders_text);
	buf_release(&text);
	for (size_t i = 0; i < f.nss; i++) {
		free(f.ss[i].user);
		free(f.ss[i].addr);
		free(f.ss[i].app);
		free(f.ss[i].db);
		free(f.ss[i].service);
	}
	free(f.ss);
	free(f.roles);
	free(f.role);
	if (f.old_pw) {
		explicit_bzero(f.old_pw, strlen(f.old_pw));
		free(f.old_pw);
	}
	free(admin_addr);
	strvec_clear(&f.problems);
	strvec_clear(&f.unreadable);
	strvec_clear(&f.flipped);
	diag_release(&d);
	return code;
}

int finish_recorded(const char *dir, char **when, char **role)
{
	char *path = xstrfmt("%s/finish.json", dir);
	json_t *root = json_load_file(path, 0, NULL);
	free(path);
	const char *w = json_string_value(json_object_get(root, "finished_at"));
	const char *r = json_string_value(json_object_get(root, "role"));
	int ok = w && r;
	if (ok) {
		*when = xstrdup(w);
		*role = xstrdup(r);
	}
	json_decref(root);
	return ok;
}

/*
 * observe: watch held services on the server and class them.  See observe.h.
 */
#include "running/observe.h"
#include "running/attrib.h"
#include "running/statement.h"
#include "util/fs.h"
#include "server/discover.h"
#include "util/mask.h"
#include "util/num.h"
#include "util/path.h"
#include "server/sessions.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_WINDOW_S 600
#define PORT_POLL_MS 100
#define SAMPLE_MS 500
#define FETCH_MS 1000
#define RESNAP_MS 5000
#define SETTLE_MS 5000         /* a restarted service running this long is up */
#define START_GRACE_MS 60000   /* ... and must be up within this */
#define RECREATE_MS (5 * 60 * 1000)
#define EVIDENCE_MAX 8
#define STMT_MAX 160

static const char install_sql[] =
	"CREATE SCHEMA dsnflip_observe;\n"
	"REVOKE ALL ON SCHEMA dsnflip_observe FROM PUBLIC;\n"
	"CREATE TABLE dsnflip_observe.ddl_log (id bigserial PRIMARY KEY,"
	" at timestamptz NOT NULL DEFAULT clock_timestamp(), event text, session_user_name text,"
	" backend_pid int, client_addr text, client_port int, application_name text,"
	" command_tag text, object_type text, object_identity text);\n"
	"CREATE FUNCTION dsnflip_observe.record() RETURNS event_trigger LANGUAGE plpgsql\n"
	"SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $dsnflip$\n"
	"DECLARE r record;\n"
	"BEGIN\n"
	"  IF TG_EVENT = 'sql_drop' THEN\n"
	"    FOR r IN SELECT object_type, object_identity FROM pg_event_trigger_dropped_objects() WHERE original LOOP\n"
	"      INSERT INTO dsnflip_observe.ddl_log (event, session_user_name, backend_pid, client_addr,\n"
	"        client_port, application_name, command_tag, object_type, object_identity)\n"
	"      VALUES (TG_EVENT, session_user, pg_backend_pid(), host(inet_client_addr()), inet_client_port(),\n"
	"        current_setting('application_name', true), TG_TAG, r.object_type, r.object_identity);\n"
	"    END LOOP;\n"
	"  ELSE\n"
	"    FOR r IN SELECT command_tag, object_type, object_identity FROM pg_event_trigger_ddl_commands() LOOP\n"
	"      INSERT INTO dsnflip_observe.ddl_log (event, session_user_name, backend_pid, client_addr,\n"
	"        client_port, application_name, command_tag, object_type, object_identity)\n"
	"      VALUES (TG_EVENT, session_user, pg_backend_pid(), host(inet_client_addr()), inet_client_port(),\n"
	"        current_setting('application_name', true), r.command_tag, r.object_type, r.object_identity);\n"
	"    END LOOP;\n"
	"    IF NOT FOUND AND TG_TAG NOT LIKE 'DROP %' THEN\n"
	"      INSERT INTO dsnflip_observe.ddl_log (event, session_user_name, backend_pid, client_addr,\n"
	"        client_port, application_name, command_tag)\n"
	"      VALUES (TG_EVENT, session_user, pg_backend_pid(), host(inet_client_addr()), inet_client_port(),\n"
	"        current_setting('application_name', true), TG_TAG);\n"
	"    END IF;\n"
	"  END IF;\n"
	"EXCEPTION WHEN OTHERS THEN\n"
	"  NULL; -- recording must never break the application's DDL\n"
	"END\n"
	"$dsnflip$;\n"
	"REVOKE ALL ON FUNCTION dsnflip_observe.record() FROM PUBLIC;\n"
	"CREATE EVENT TRIGGER dsnflip_observe_ddl ON ddl_command_end EXECUTE PROCEDURE dsnflip_observe.record();\n"
	"CREATE EVENT TRIGGER dsnflip_observe_drop ON sql_drop EXECUTE PROCEDURE dsnflip_observe.record();\n";

/* Triggers first: the application's DDL never meets a trigger whose function is gone. */
static const char *const uninstall_sql[] = {
	"DROP EVENT TRIGGER IF EXISTS dsnflip_observe_ddl",
	"DROP EVENT TRIGGER IF EXISTS dsnflip_observe_drop",
	"DROP SCHEMA IF EXISTS dsnflip_observe CASCADE",
};

static const char *const object_names[] = {
	"event trigger dsnflip_observe_ddl", "event trigger dsnflip_observe_drop",
	"function dsnflip_observe.record()", "table dsnflip_observe.ddl_log", "schema dsnflip_observe",
};

struct obs_db {
	char *name;
	struct pgconn pc;
	int open, installed;
	char *backend_pid;
	long long last_id;
};

struct port_seen {
	int port;
	const char *service;   /* borrowed from the plan */
	long long last_ms;
};

struct obs_svc {
	const struct plan_service *ps;
	struct strvec ddl, writes, reads;
	int nddl, nwrites, nreads;
	struct strvec pids;    /* sessions seen */
	/* --restart */
	int restart_state;     /* 0 none, 1 queued, 2 recreating, 3 supervising, 4 done, 5 failed */
	struct child rc;
	long long phase_ms;
	struct container *cts;
	size_t ncts;
	int base_restarts[8];
	struct logstream ls[8];
	size_t nls;
	char *failure;
	char *rollback;        /* what the rollback did */
	int rolled_back;
	long long restart_from, restart_to; /* the server's clock, ms: recreate .. settled */
};

/* A DDL row not attributed yet: its session's port may show up in a later poll. */
struct pending_ddl {
	int port;
	long long at_ms;       /* the server's clock */
	char *pid, *ev, *addr, *app, *db;
	const char *service;   /* attributed to a service not observed */
};

struct obs {
	struct deploy_ctx *dc;
	struct pending_ddl *pend;
	size_t npend, pend_alloc;
	struct obs_db *dbs;
	size_t ndbs;
	struct obs_svc *svcs;
	size_t nsvcs;
	struct attrib at;
	struct port_seen *hist;
	size_t nhist, hist_alloc;
	struct strvec pidsvc;  /* "pid\tservice" */
	json_t *unattributed;
	/* Containers whose sockets could not be read in some sample (attrib.h),
	 * and their services: short of migrator, those are not settled. */
	struct strvec unreadable, unreadable_svcs;
	char *journal_path;
	int server_port;
	int restart;
	struct obs_svc *restarting;
	long long last_resnap;
	const char *config_path;
};

/* --- the journal entry ------------------------------------------------- */

static int journal_write(struct obs *o, const char *state, struct diag *d)
{
	char now[32], host[256] = "";
	iso_now(now);
	gethostname(host, sizeof(host) - 1);
	json_t *root = json_object(), *dbs = json_array(), *objs = json_array();
	for (size_t i = 0; i < o->ndbs; i++)
		json_array_append_new(dbs, json_string(o->dbs[i].name));
	for (size_t i = 0; i < sizeof(object_names) / sizeof(object_names[0]); i++)
		json_array_append_new(objs, json_string(object_names[i]));
	json_object_set_new(root, "operation", json_string("observe"));
	json_object_set_new(root, "state", json_string(state));
	json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(root, "host", json_string(host));
	json_object_set_new(root, "updated", json_string(now));
	json_object_set_new(root, "databases", dbs);
	json_object_set_new(root, "objects", objs);
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int r = fs_mkdir_p(o->dc->dir, 0700, d) || fs_write_atomic(o->journal_path, s, strlen(s), 0600, d);
	free(s);
	json_decref(root);
	return r ? -1 : 0;
}

int observe_leftover(const char *dir, char **since, long *pid)
{
	char *path = xstrfmt("%s/observe.json", dir);
	json_t *root = json_load_file(path, 0, NULL);
	free(path);
	int ok = json_is_object(root);
	if (ok) {
		const char *u = json_string_value(json_object_get(root, "updated"));
		*since = xstrdup(u ? u : "?");
		*pid = (long)json_integer_value(json_object_get(root, "pid"));
	}
	json_decref(root);
	return ok;
}

/* --- installing and removing -------------------------------------------- */

static int db_open(struct obs *o, struct obs_db *db, struct diag *d)
{
	if (db->open)
		return 0;
	if (pgconn_open_db(&db->pc, &o->dc->pc, db->name, d))
		return -1;
	db->open = 1;
	PGresult *res = NULL;
	/* "drop cascades to ..." notices are dsnflip's own business. */
	if (pg_exec(&db->pc, "SET client_min_messages TO warning", "connecting", NULL, d) ||
	    pg_exec(&db->pc, "SELECT pg_backend_pid()", "connecting", &res, d)) {
		PQclear(res);
		return -1;
	}
	db->backend_pid = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Remove every dsnflip_observe object of one database; how many existed in *found. */
static int db_uninstall(struct obs *o, struct obs_db *db, int *found, struct diag *d)
{
	PGresult *res = NULL;
	if (db_open(o, db, d))
		return -1;
	if (found) {
		if (pg_exec(&db->pc,
			    "SELECT (SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'dsnflip\\_observe\\_%') "
			    "+ (SELECT count(*) FROM pg_namespace WHERE nspname = 'dsnflip_observe')",
			    "looking for dsnflip_observe objects", &res, d)) {
			PQclear(res);
			return -1;
		}
		if (num_parse_int(PQgetvalue(res, 0, 0), 0, INT_MAX, found) != NUM_OK)
			*found = 1; /* unreadable: assume something is left, so cleanup runs */
		PQclear(res);
	}
	for (size_t i = 0; i < sizeof(uninstall_sql) / sizeof(uninstall_sql[0]); i++) {
		struct buf what = BUF_INIT;
		buf_addf(&what, "removing dsnflip_observe in database %s", db->name);
		int r = pg_exec(&db->pc, uninstall_sql[i], what.buf, NULL, d);
		buf_release(&what);
		if (r)
			return -1;
	}
	db->installed = 0;
	return 0;
}

static int db_install(struct obs *o, struct obs_db *db, struct diag *d)
{
	struct buf what = BUF_INIT;
	int r;
	if (db_open(o, db, d))
		return -1;
	buf_addf(&what, "installing the observing event trigger in database %s", db->name);
	/* One transaction: all of it or nothing. */
	r = pg_exec(&db->pc, "BEGIN", what.buf, NULL, d) ||
	    pg_exec(&db->pc, install_sql, what.buf, NULL, d) ||
	    pg_exec(&db->pc, "COMMIT", what.buf, NULL, d);
	if (r) {
		struct diag ignore = DIAG_INIT;
		pg_exec(&db->pc, "ROLLBACK", "rollback", NULL, &ignore);
		diag_release(&ignore);
	} else {
		db->installed = 1;
	}
	buf_release(&what);
	return r ? -1 : 0;
}

static void db_close_all(struct obs *o)
{
	for (size_t i = 0; i < o->ndbs; i++) {
		if (o->dbs[i].open)
			pgconn_close(&o->dbs[i].pc);
		o->dbs[i].open = 0;
	}
}

/*
 * Remove what an earlier observe left (observe.json) and, with all_dbs,
 * any dsnflip_observe object in every database of the plan.  Prints what
 * it removed.  Returns 0, or -1 with d (the journal entry is kept).
 */
static int cleanup_leftovers(struct obs *o, int all_dbs, json_t *report, struct diag *d)
{
	struct strvec names = STRVEC_INIT;
	json_t *root = json_load_file(o->journal_path, 0, NULL);
	size_t i;
	json_t *v;
	int had_journal = json_is_object(root), ret = -1;
	json_array_foreach(json_object_get(root, "databases"), i, v)
		if (json_is_string(v) && !strvec_contains(&names, json_string_value(v)))
			strvec_push(&names, json_string_value(v));
	if (had_journal && !o->dc->o->quiet)
		fprintf(stderr, "dsnflip: removing what an observe (pid %lld, %s) left in %zu database%s\n",
			(long long)json_integer_value(json_object_get(root, "pid")),
			json_string_value(json_object_get(root, "updated")) ? json_string_value(json_object_get(root, "updated")) : "?", names.nr,
			names.nr == 1 ? "" : "s");
	if (all_dbs) {
		struct strvec plan_dbs = STRVEC_INIT;
		discover_plan_databases(o->dc->s.plan, &plan_dbs);
		for (size_t k = 0; k < plan_dbs.nr; k++)
			if (!strvec_contains(&names, plan_dbs.v[k]))
				strvec_push(&names, plan_dbs.v[k]);
		strvec_clear(&plan_dbs);
	}
	json_t *removed = json_array(), *checked = json_array();
	for (size_t k = 0; k < names.nr; k++) {
		struct obs_db db = { .name = names.v[k] };
		int found = 0;
		int r = db_uninstall(o, &db, &found, d);
		if (db.open)
			pgconn_close(&db.pc);
		free(db.backend_pid);
		if (r) {
			/* A database that is gone holds nothing of ours. */
			if (strstr(d->msg.buf, "3D000")) {
				diag_release(d);
				continue;
			}
			goto out;
		}
		json_array_append_new(checked, json_string(names.v[k]));
		if (found)
			json_array_append_new(removed, json_string(names.v[k]));
	}
	if (had_journal && unlink(o->journal_path) && errno != ENOENT) {
		diag_fail(d, "removing %s: %s", o->journal_path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (report) {
		json_object_set_new(report, "checked", checked);
		json_object_set_new(report, "removed_from", removed);
		json_object_set_new(report, "earlier_run", json_boolean(had_journal));
	} else {
		json_decref(checked);
		json_decref(removed);
	}
	json_decref(root);
	strvec_clear(&names);
	return ret;
}

/* --- attribution --------------------------------------------------------- */

static void hist_merge(struct obs *o)
{
	long long now = run_now_ms();
	attrib_refresh(&o->at);
	for (size_t i = 0; i < o->at.nports; i++) {
		int port = o->at.ports[i].port;
		const char *svc = o->at.cts[o->at.ports[i].ct].service;
		size_t k;
		for (k = 0; k < o->nhist; k++)
			if (o->hist[k].port == port)
				break;
		if (k == o->nhist) {
			ALLOC_GROW(o->hist, o->nhist + 1, o->hist_alloc);
			o->nhist++;
		}
		o->hist[k].port = port;
		const struct plan_service *ps = plan_service(o->dc->s.plan, svc);
		o->hist[k].service = ps ? ps->name : NULL;
		o->hist[k].last_ms = now;
	}
	for (size_t i = 0; i < o->at.unreadable.nr; i++)
		if (!strvec_contains(&o->unreadable, o->at.unreadable.v[i]))
			strvec_push(&o->unreadable, o->at.unreadable.v[i]);
	for (size_t i = 0; i < o->at.unreadable_services.nr; i++)
		if (!strvec_contains(&o->unreadable_svcs, o->at.unreadable_services.v[i]))
			strvec_push(&o->unreadable_svcs, o->at.unreadable_services.v[i]);
}

static int resnapshot(struct obs *o)
{
	struct diag sub = DIAG_INIT;
	attrib_release(&o->at);
	int r = attrib_snapshot(&o->at, &o->dc->rt, o->dc->s.project, o->dc->s.plan, o->server_port,
				&sub);
	diag_release(&sub);
	hist_merge(o);
	return r;
}

static struct obs_svc *svc_by_name(struct obs *o, const char *name)
{
	for (size_t i = 0; name && i < o->nsvcs; i++)
		if (!strcmp(o->svcs[i].ps->name, name))
			return &o->svcs[i];
	return NULL;
}

static const char *port_service(struct obs *o, int port)
{
	for (size_t k = 0; port > 0 && k < o->nhist; k++)
		if (o->hist[k].port == port)
			return o->hist[k].service;
	return NULL;
}

static const char *pid_service(struct obs *o, const char *pid)
{
	size_t n = strlen(pid);
	for (size_t i = 0; i < o->pidsvc.nr; i++)
		if (!strncmp(o->pidsvc.v[i], pid, n) && o->pidsvc.v[i][n] == '\t')
			return o->pidsvc.v[i] + n + 1;
	return NULL;
}

static void add_ev(struct strvec *v, int *n, char *text)
{
	(*n)++;
	if (v->nr < EVIDENCE_MAX && !strvec_contains(v, text))
		strvec_push(v, text);
	free(text);
}

/* --- sampling ---------------------------------------------------------- */

static int is_own_pid(struct obs *o, const char *pid)
{
	for (size_t i = 0; i < o->ndbs; i++)
		if (o->dbs[i].backend_pid && !strcmp(o->dbs[i].backend_pid, pid))
			return 1;
	return 0;
}

static int sample(struct obs *o, struct diag *d)
{
	struct pg_sessions now = PG_SESSIONS_INIT;
	if (sessions_sample(&o->dc->pc, &now, d))
		return -1;
	for (size_t i = 0; i < now.nr; i++) {
		const char *pid = now.v[i].pid_text;
		if (is_own_pid(o, pid))
			continue;
		int port = now.v[i].port;
		const char *name = port_service(o, port);
		if (!name)
			name = pid_service(o, pid);
		struct obs_svc *s = svc_by_name(o, name);
		if (!name)
			continue;
		if (!pid_service(o, pid))
			strvec_pushf(&o->pidsvc, "%s\t%s", pid, name);
		if (!s)
			continue;
		if (!strvec_contains(&s->pids, pid))
			strvec_push(&s->pids, pid);
		const char *q = now.v[i].query;
		enum stmt_kind k = stmt_kind(q);
		char *text = stmt_evidence(q, STMT_MAX);
		const char *user = now.v[i].user;
		char *ev = xstrfmt("%s %s (as %s, pid %s)", now.v[i].query_start, text, user, pid);
		free(text);
		if (k == STMT_DDL)
			add_ev(&s->ddl, &s->nddl, ev);
		else if (k == STMT_WRITE)
			add_ev(&s->writes, &s->nwrites, ev);
		else if (now.v[i].has_xid) {
			add_ev(&s->writes, &s->nwrites,
			       xstrfmt("%s (its transaction holds a transaction id: it wrote)", ev));
			free(ev);
		} else if (k == STMT_READ)
			add_ev(&s->reads, &s->nreads, ev);
		else
			free(ev);
	}
	sessions_release(&now);
	return 0;
}

static int fetch_ddl(struct obs *o, struct obs_db *db, struct diag *d)
{
	char last[32];
	PGresult *res = NULL;
	if (!db->installed)
		return 0;
	snprintf(last, sizeof(last), "%lld", db->last_id);
	const char *p[1] = { last };
	if (pg_execp(&db->pc,
		     "SELECT id, to_char(at, 'HH24:MI:SS'), event, coalesce(session_user_name, ''), "
		     "coalesce(backend_pid, 0)::text, coalesce(client_addr, ''), coalesce(client_port, -1), "
		     "coalesce(application_name, ''), coalesce(command_tag, ''), coalesce(object_type, ''), "
		     "coalesce(object_identity, ''), (extract(epoch FROM at) * 1000)::bigint "
		     "FROM dsnflip_observe.ddl_log WHERE id > $1::bigint ORDER BY id",
		     1, p, "reading the observed DDL", &res, d)) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		long long id, at_ms = 0;
		int port = 0;
		/* A row whose id does not parse cannot advance the cursor: stop here
		 * and read it again next time, rather than restart from 0. */
		if (num_parse_ll(PQgetvalue(res, i, 0), 0, LLONG_MAX, &id) != NUM_OK)
			break;
		db->last_id = id;
		if (*PQgetvalue(res, i, 6) && num_parse_int(PQgetvalue(res, i, 6), 0, 65535, &port) != NUM_OK)
			port = 0;
		if (num_parse_ll(PQgetvalue(res, i, 11), 0, LLONG_MAX, &at_ms) != NUM_OK)
			at_ms = 0;
		const char *pid = PQgetvalue(res, i, 4);
		const char *name = port_service(o, port);
		if (!name)
			name = pid_service(o, pid);
		const char *obj = PQgetvalue(res, i, 10);
		int drop = !strcmp(PQgetvalue(res, i, 2), "sql_drop");
		char *ev = xstrfmt("%s %s %s%s (as %s, pid %s, database %s)", PQgetvalue(res, i, 1),
				   PQgetvalue(res, i, 8), *obj ? obj : "(no object changed)",
				   drop ? ", dropped" : "", PQgetvalue(res, i, 3), pid, db->name);
		ALLOC_GROW(o->pend, o->npend + 1, o->pend_alloc);
		struct pending_ddl *pd = &o->pend[o->npend++];
		pd->port = port;
		pd->at_ms = at_ms;
		pd->pid = xstrdup(pid);
		pd->ev = ev;
		pd->addr = xstrdup(PQgetvalue(res, i, 5));
		pd->app = xstrdup(PQgetvalue(res, i, 7));
		pd->db = xstrdup(db->name);
		pd->service = NULL;
		(void)name;
	}
	PQclear(res);
	return 0;
}

/*
 * Attribute pending DDL rows to the services whose sockets held their
 * port (or whose session had their pid); with final, the rest is
 * reported as not of the observed services.
 */
static void attribute_pending(struct obs *o, int final)
{
	size_t kept = 0;
	for (size_t i = 0; i < o->npend; i++) {
		struct pending_ddl *pd = &o->pend[i];
		const char *name = port_service(o, pd->port);
		if (!name)
			name = pid_service(o, pd->pid);
		struct obs_svc *s = svc_by_name(o, name);
		if (!name && final) {
			/* A session that ended before its port was seen: during a restart
			 * (one at a time) it was that service's start-up. */
			for (size_t k = 0; k < o->nsvcs && !s; k++)
				if (o->svcs[k].restart_from && pd->at_ms >= o->svcs[k].restart_from - 500 &&
				    pd->at_ms <= (o->svcs[k].restart_to ? o->svcs[k].restart_to : pd->at_ms) + 500)
					s = &o->svcs[k];
			if (s) {
				char *ev = xstrfmt("%s [by time: during its restart; the session ended before "
						   "its port was seen]", pd->ev);
				free(pd->ev);
				pd->ev = ev;
			}
		}
		if (s) {
			add_ev(&s->ddl, &s->nddl, pd->ev);
			pd->ev = NULL;
		} else if (final) {
			json_array_append_new(o->unattributed,
					      json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "ddl", pd->ev,
							"client_addr", pd->addr, "service", name ? name : "",
							"client_port", pd->port, "application_name", pd->app,
							"database", pd->db));
		} else {
			o->pend[kept++] = *pd;
			continue;
		}
		free(pd->ev);
		free(pd->pid);
		free(pd->addr);
		free(pd->app);
		free(pd->db);
	}
	o->npend = kept;
}

/* --- --restart ------------------------------------------------------------ */

static void on_log(void *ctx, const char *line)
{
	struct obs_svc *s = ((void **)ctx)[0];
	struct deploy_ctx *dc = ((void **)ctx)[1];
	const char *sp = strchr(line, ' ');
	const char *text = sp ? sp + 1 : line;
	const char *pat = failpat_match(&dc->pats, text);
	if (pat && !s->failure) {
		struct buf m = BUF_INIT;
		mask_secrets(text, &m);
		s->failure = xstrfmt("log line matches /%s/: %s", pat, m.buf);
		buf_release(&m);
	}
}

static void stop_streams(struct obs_svc *s)
{
	for (size_t i = 0; i < s->nls; i++)
		logstream_stop(&s->ls[i]);
	s->nls = 0;
	free(s->cts);
	s->cts = NULL;
	s->ncts = 0;
}

static void start_supervising(struct obs *o, struct obs_svc *s)
{
	struct strvec ids = STRVEC_INIT;
	struct diag sub = DIAG_INIT;
	stop_streams(s);
	if (!driver_tasks(&o->dc->rt, s->ps->name, &ids, &sub))
		for (size_t i = 0; i < ids.nr && s->ncts < 8; i++) {
			s->cts = xrealloc(s->cts, (s->ncts + 1) * sizeof(*s->cts));
			if (driver_inspect(&o->dc->rt, ids.v[i], &s->cts[s->ncts], &sub))
				continue;
			s->base_restarts[s->ncts] = s->cts[s->ncts].restart_count;
			if (!driver_logs_start(&o->dc->rt, &s->ls[s->nls], ids.v[i], NULL, &sub))
				s->nls++;
			s->ncts++;
		}
	if (!s->ncts)
		s->failure = xstrfmt("no container of %s after recreating it", s->ps->name);
	strvec_clear(&ids);
	diag_release(&sub);
	resnapshot(o);
}

/* One supervision step; returns 1 when the service settled (up, or done), -1 failed, 0 not yet. */
static int supervise(struct obs *o, struct obs_svc *s)
{
	void *ctx[2] = { s, o->dc };
	struct diag sub = DIAG_INIT;
	int all_up = 1, all_done = 1;
	for (size_t i = 0; i < s->nls; i++)
		logstream_poll(&s->ls[i], 0, on_log, ctx);
	for (size_t i = 0; i < s->ncts && !s->failure; i++) {
		struct container *ct = &s->cts[i];
		if (driver_inspect(&o->dc->rt, ct->id, ct, &sub)) {
			s->failure = xstrfmt("cannot inspect container %.12s: %s", ct->id, sub.msg.buf);
			break;
		}
		if (ct->restart_count > s->base_restarts[i])
			s->failure = xstrfmt("restarted (%d restarts)", ct->restart_count);
		else if (!ct->running && ct->exit_code != 0 && strcmp(ct->status, "created"))
			s->failure = xstrfmt("exited with code %d", ct->exit_code);
		else if (!strcmp(ct->health, "unhealthy"))
			s->failure = xstrdup("unhealthy");
		if (!ct->running || (ct->health[0] && strcmp(ct->health, "healthy")))
			all_up = 0;
		if (!(!ct->running && !strcmp(ct->status, "exited") && ct->exit_code == 0))
			all_done = 0;
	}
	diag_release(&sub);
	if (s->failure)
		return -1;
	long long now = run_now_ms();
	if (all_done)
		return 1;
	if (all_up && now - s->phase_ms >= SETTLE_MS)
		return 1;
	if (!all_up && now - s->phase_ms >= START_GRACE_MS) {
		s->failure = xstrfmt("not running within %d s", START_GRACE_MS / 1000);
		return -1;
	}
	return 0;
}

/* The server's clock in ms (0 when it cannot say). */
static long long server_ms(struct obs *o)
{
	PGresult *res = NULL;
	struct diag d = DIAG_INIT;
	long long v = 0;
	if (!pg_exec(&o->dc->pc, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
		     "the server's clock", &res, &d))
		if (num_parse_ll(PQgetvalue(res, 0, 0), 0, LLONG_MAX, &v) != NUM_OK)
			v = 0;
	PQclear(res);
	diag_release(&d);
	return v;
}

/* Advance the restart of one service at a time. */
static void restart_step(struct obs *o)
{
	struct obs_svc *s = o->restarting;
	struct diag d = DIAG_INIT;
	if (!s) {
		for (size_t i = 0; i < o->nsvcs && !s; i++)
			if (o->svcs[i].restart_state == 1)
				s = &o->svcs[i];
		if (!s)
			return;
		o->restarting = s;
		s->restart_from = server_ms(o);
		if (!o->dc->o->quiet)
			fprintf(stderr, "dsnflip: observe: recreating %s on its unchanged DSN\n", s->ps->name);
		if (driver_restart_start(&o->dc->rt, s->ps->name, RECREATE_MS, &s->rc, &d)) {
			s->failure = xstrdup(d.msg.buf);
			s->restart_state = 5;
			s->restart_to = server_ms(o);
			o->restarting = NULL;
		} else {
			s->restart_state = 2;
			s->phase_ms = run_now_ms();
		}
		diag_release(&d);
		return;
	}
	if (s->restart_state == 2) {
		if (!run_poll(&s->rc)) {
			/* compose is creating it: catch the new container's ports early. */
			if (run_now_ms() - s->phase_ms > 300 && run_now_ms() - o->last_resnap >= 500) {
				o->last_resnap = run_now_ms();
				resnapshot(o);
			}
			return;
		}
		int r = run_finish(&s->rc, &d);
		child_release(&s->rc);
		if (r) {
			s->failure = xstrdup(d.msg.buf);
			s->restart_state = 5;
		} else {
			start_supervising(o, s);
			s->restart_state = s->failure ? 5 : 3;
		}
		diag_release(&d);
		if (s->restart_state == 5) {
			s->restart_to = server_ms(o);
			o->restarting = NULL;
		}
		return;
	}
	if (s->restart_state == 3) {
		int r = supervise(o, s);
		if (r == 0)
			return;
		s->restart_state = r > 0 ? 4 : 5;
		if (r < 0 && !s->rolled_back) {
			/* The rollback: the same config again, and is it up? */
			s->rolled_back = 1;
			char *why = s->failure;
			s->failure = NULL;
			if (!o->dc->o->quiet)
				fprintf(stderr, "dsnflip: observe: %s failed after the restart (%s); recreating it "
					"on the same config\n", s->ps->name, why);
			if (driver_restart(&o->dc->rt, s->ps->name, RECREATE_MS, &d)) {
				s->rollback = xstrfmt("recreating it again failed: %s", d.msg.buf);
			} else {
				s->phase_ms = run_now_ms();
				start_supervising(o, s);
				int rr = 0;
				while (!s->failure && !(rr = supervise(o, s))) {
					struct timespec ts = { 0, 200 * 1000000L };
					nanosleep(&ts, NULL);
				}
				s->rollback = rr > 0 ? xstrdup("recreated on the same config: up again")
						     : xstrfmt("recreated on the same config: still failing (%s)",
							       s->failure ? s->failure : "?");
				free(s->failure);
			}
			s->failure = why;
			diag_release(&d);
		}
		stop_streams(s);
		s->restart_to = server_ms(o);
		o->restarting = NULL;
	}
}

/* --- results ---------------------------------------------------------------- */

/* DDL rows no container of the stack held the port of (an admin, or a session too short to see). */
static size_t unknown_ddl(const struct obs *o)
{
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(o->unattributed); i++) {
		const char *svc = json_string_value(json_object_get(json_array_get(o->unattributed, i), "service"));
		n += !svc || !*svc;
	}
	return n;
}

/*
 * DDL seen: migrator; else writes: writer; else reads: reader; else
 * unsettled.  DDL that could not be attributed may be any observed
 * service's, so then nothing short of migrator is settled: saying
 * "writer" for a service whose migration slipped by would break it.  The
 * same for a service with a container whose sockets could not be read.
 */
static enum svc_class observed_class(const struct obs *o, const struct obs_svc *s, int *settled)
{
	*settled = 1;
	if (s->nddl)
		return CLASS_MIGRATOR;
	/* Some of its containers' sessions were not seen: what they ran may be
	 * more than what the others did. */
	if (unknown_ddl(o) || strvec_contains(&o->unreadable_svcs, s->ps->name)) {
		*settled = 0;
		return CLASS_UNCONFIRMED;
	}
	if (s->nwrites)
		return CLASS_WRITER;
	if (s->nreads)
		return CLASS_READER;
	*settled = 0;
	return CLASS_UNCONFIRMED;
}

static void snippet(struct obs *o, int window_s, struct buf *out)
{
	char now[32];
	iso_now(now);
	buf_addf(out, "# dsnflip observe, %s, window %d s: classes from what each service was seen doing\n",
		 now, window_s);
	buf_addstr(out, "services:\n");
	for (size_t i = 0; i < o->nsvcs; i++) {
		int settled;
		const struct obs_svc *s = &o->svcs[i];
		enum svc_class c = observed_class(o, s, &settled);
		if (!settled)
			continue;
		buf_addf(out, "  %s:\n    class: %s  # %d %s seen\n", s->ps->name, class_name(c),
			 c == CLASS_MIGRATOR ? s->nddl : c == CLASS_WRITER ? s->nwrites : s->nreads,
			 c == CLASS_MIGRATOR ? "DDL statement(s)" : c == CLASS_WRITER ? "write(s)" : "read(s)");
	}
}

/*
 * Add the classes to dsnflip.yml: a new file holds the snippet; an existing
 * one gets the service lines under its services: key (or a new key) — and
 * only when the result loads with exactly those classes, else nothing is
 * written.  Returns 0 (*path_out set), 1 refused (why in *why), -1 with d.
 */
static int write_config(struct obs *o, const char *snip, char **path_out, struct buf *why, struct diag *d)
{
	struct deploy_ctx *dc = o->dc;
	struct arena a = ARENA_INIT;
	char *path = o->config_path ? arena_strdup(&a, o->config_path)
				     : path_join(&a, dc->s.project->dir, "dsnflip.yml");
	struct buf text = BUF_INIT;
	int ret = 1;
	size_t len = 0;
	char *old = path_exists(path) ? read_file(path, &len) : NULL;

	if (path_exists(path) && !old) {
		ret = diag_fail(d, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!old) {
		buf_addstr(&text, snip);
	} else {
		const char *svc_lines = strstr(snip, "services:\n");
		svc_lines = svc_lines ? svc_lines + strlen("services:\n") : "";
		for (size_t i = 0; i < o->nsvcs; i++) {
			const struct config_service *cs = config_service(dc->s.config, o->svcs[i].ps->name);
			int settled;
			observed_class(o, &o->svcs[i], &settled);
			if (cs && settled) {
				buf_addf(why, "%s already has an entry in %s: add the class by hand", o->svcs[i].ps->name, path);
				goto out;
			}
		}
		/* Under an existing block-style "services:" at column 0, else a new one. */
		const char *at = NULL;
		for (const char *p = old; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, "services:", 9) && (p[9] == '\n' || p[9] == ' ' || p[9] == '\r' || p[9] == '#')) {
				at = strchr(p, '\n');
				break;
			}
		if (at) {
			buf_add(&text, old, (size_t)(at - old) + 1);
			buf_addstr(&text, svc_lines);
			buf_addstr(&text, at + 1);
		} else {
			buf_addstr(&text, old);
			if (len && old[len - 1] != '\n')
				buf_addch(&text, '\n');
			buf_addstr(&text, "services:\n");
			buf_addstr(&text, svc_lines);
		}
	}
	/* Load the candidate: it must parse and give exactly the observed classes. */
	{
		char *tmp = xstrfmt("%s/dsnflip.yml.candidate", dc->dir);
		struct config *cfg = NULL;
		struct diag sub = DIAG_INIT;
		int ok = !fs_mkdir_p(dc->dir, 0700, &sub) &&
			 !fs_write_atomic(tmp, text.buf, text.len, 0600, &sub) &&
			 !config_load(tmp, "dsnflip.yml", &cfg, &sub);
		for (size_t i = 0; ok && i < o->nsvcs; i++) {
			int settled;
			enum svc_class c = observed_class(o, &o->svcs[i], &settled);
			const struct config_service *cs = config_service(cfg, o->svcs[i].ps->name);
			if (settled && (!cs || !cs->cls || strcmp(cs->cls, class_name(c))))
				ok = 0;
		}
		if (!ok)
			buf_addf(why, "the merged %s would not load with the observed classes%s%s: add the "
				 "snippet by hand", path, sub.set ? ": " : "", sub.msg.buf);
		config_free(cfg);
		diag_release(&sub);
		unlink(tmp);
		free(tmp);
		if (!ok)
			goto out;
	}
	if (fs_write_atomic(path, text.buf, text.len, 0644, d)) {
		ret = -1;
		goto out;
	}
	*path_out = xstrdup(path);
	ret = 0;
out:
	free(old);
	buf_release(&text);
	arena_release(&a);
	return ret;
}

static json_t *strvec_json(const struct strvec *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->nr; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static void render(struct obs *o, int window_s, const char *snip, const char *written,
		   const char *not_written, json_t *root, struct buf *text)
{
	json_t *svcs = json_array();
	buf_addf(text, "observe: project %s, window %d s, database%s", o->dc->s.project->name, window_s,
		 o->ndbs == 1 ? "" : "s");
	for (size_t i = 0; i < o->ndbs; i++)
		buf_addf(text, " %s", o->dbs[i].name);
	buf_addstr(text, "\n\n");
	for (size_t i = 0; i < o->nsvcs; i++) {
		const struct obs_svc *s = &o->svcs[i];
		int settled;
		enum svc_class c = observed_class(o, s, &settled);
		const char *cls = settled ? class_name(c) : "unsettled";
		json_t *js = json_object();
		json_object_set_new(js, "name", json_string(s->ps->name));
		json_object_set_new(js, "class", json_string(cls));
		json_object_set_new(js, "planned_class", json_string(class_name(s->ps->cls)));
		json_object_set_new(js, "sessions", json_integer((json_int_t)s->pids.nr));
		json_object_set_new(js, "ddl", strvec_json(&s->ddl));
		json_object_set_new(js, "writes", strvec_json(&s->writes));
		json_object_set_new(js, "reads", strvec_json(&s->reads));
		if (s->restart_state) {
			json_t *r = json_object();
			json_object_set_new(r, "ok", json_boolean(s->restart_state == 4));
			json_object_set_new(r, "failure", s->failure ? json_string(s->failure) : json_null());
			json_object_set_new(r, "rollback", s->rollback ? json_string(s->rollback) : json_null());
			json_object_set_new(js, "restart", r);
		}
		json_array_append_new(svcs, js);

		buf_addf(text, "  %-20s %-10s", s->ps->name, cls);
		if (c == CLASS_MIGRATOR)
			buf_addf(text, " DDL seen (%d)\n", s->nddl);
		else if (c == CLASS_WRITER)
			buf_addf(text, " writes seen (%d), no DDL\n", s->nwrites);
		else if (c == CLASS_READER)
			buf_addf(text, " only reads seen (%d) in %d s: a rare write would not show\n", s->nreads, window_s);
		else if (unknown_ddl(o) && (s->nwrites || s->nreads))
			buf_addstr(text, " DDL from a session dsnflip could not attribute (below) may be its own\n");
		else if (strvec_contains(&o->unreadable_svcs, s->ps->name))
			buf_addstr(text, " a container of it could not be read (below): what it ran is not known\n");
		else
			buf_addf(text, " nothing seen: %s\n", s->pids.nr ? "its sessions ran nothing to go by"
				 : "no session of it in the window (run longer, or with --restart)");
		const struct strvec *lists[] = { &s->ddl, &s->writes, &s->reads };
		const char *labels[] = { "ddl", "write", "read" };
		for (size_t l = 0; l < 3; l++)
			for (size_t k = 0; k < lists[l]->nr; k++)
				buf_addf(text, "      %-5s %s\n", labels[l], lists[l]->v[k]);
		if (s->restart_state == 5)
			buf_addf(text, "      restart FAILED: %s%s%s\n", s->failure ? s->failure : "?",
				 s->rollback ? "; " : "", s->rollback ? s->rollback : "");
		else if (s->restart_state == 4)
			buf_addstr(text, "      restarted on its unchanged DSN: up\n");
	}
	if (json_array_size(o->unattributed)) {
		buf_addstr(text, "\nDDL from sessions not of the observed services:\n");
		for (size_t i = 0; i < json_array_size(o->unattributed); i++) {
			json_t *u = json_array_get(o->unattributed, i);
			const char *svc = json_string_value(json_object_get(u, "service"));
			buf_addf(text, "  %s [%s]\n", json_string_value(json_object_get(u, "ddl")),
				 svc && *svc ? svc : "outside the stack");
		}
	}
	if (o->unreadable.nr) {
		buf_addstr(text, "\nWARNING: the sockets of these containers could not be read, so their "
			   "sessions were not attributed (what they ran is missing above):\n");
		for (size_t i = 0; i < o->unreadable.nr; i++)
			buf_addf(text, "  %s\n", o->unreadable.v[i]);
	}
	buf_addstr(text, "\nremoved from every database: the event triggers, the function, the table\n");
	buf_addf(text, "\ndsnflip.yml snippet%s:\n%s", written ? "" : " (--write-config writes it)", snip);
	if (written)
		buf_addf(text, "written to %s\n", written);
	if (not_written)
		buf_addf(text, "not written: %s\n", not_written);
	json_object_set_new(root, "window_seconds", json_integer(window_s));
	json_object_set_new(root, "services", svcs);
	json_object_set_new(root, "unattributed_ddl", json_incref(o->unattributed));
	json_t *unr = json_array();
	for (size_t i = 0; i < o->unreadable.nr; i++)
		json_array_append_new(unr, json_string(o->unreadable.v[i]));
	json_object_set_new(root, "unreadable_containers", unr);
	json_object_set_new(root, "config_snippet", json_string(snip));
	json_object_set_new(root, "config_written", written ? json_string(written) : json_null());
}

static int in_args(const struct deploy_opts *o, const char *name)
{
	return strvec_contains(&o->args, name);
}

int observe_run(struct deploy_ctx *dc, const struct observe_opts *oo, struct diag *err)
{
	struct obs o = { .dc = dc, .config_path = oo->config_path };
	struct diag d = DIAG_INIT, cleanup_d = DIAG_INIT;
	json_t *root = json_object(), *cleanup = json_object();
	struct buf text = BUF_INIT, snip = BUF_INIT, notw = BUF_INIT;
	char *written = NULL;
	int code = EXIT_FAILED, window = dc->o->window ? dc->window_s : DEFAULT_WINDOW_S;
	int kept = 0; /* the remove step left objects behind */
	const struct plan *plan = dc->s.plan;

	o.journal_path = xstrfmt("%s/observe.json", dc->dir);
	o.unattributed = json_array();
	o.restart = oo->restart;
	o.server_port = pgconn_port(&dc->pc);
	sigprocmask(SIG_BLOCK, &dc->sigs, NULL);

	/* What an earlier run left goes first, whatever this run does. */
	if (cleanup_leftovers(&o, oo->cleanup, cleanup, &cleanup_d)) {
		diag_fail(err, "observe: cleaning up an earlier run failed: %s; its objects may still be "
			       "installed: %s is kept, run `dsnflip observe --cleanup`",
			  cleanup_d.msg.buf, o.journal_path);
		goto out;
	}
	if (oo->cleanup) {
		json_t *rem = json_object_get(cleanup, "removed_from");
		if (dc->s.format == FORMAT_JSON) {
			char *s = json_dumps(cleanup, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("%s\n", s);
			free(s);
		} else {
			printf("observe --cleanup: %zu database%s checked; dsnflip_observe objects removed from %zu%s",
			       json_array_size(json_object_get(cleanup, "checked")),
			       json_array_size(json_object_get(cleanup, "checked")) == 1 ? "" : "s",
			       json_array_size(rem), json_array_size(rem) ? ":" : "");
			for (size_t i = 0; i < json_array_size(rem); i++)
				printf(" %s", json_string_value(json_array_get(rem, i)));
			printf("\n");
		}
		code = EXIT_OK;
		goto out;
	}

	/* The services: as named, else the held ones. */
	for (size_t i = 0; i < dc->o->args.nr; i++)
		if (!plan_service(plan, dc->o->args.v[i])) {
			diag_err(err, "observe: no service '%s' connects to PostgreSQL in this stack",
				 dc->o->args.v[i]);
			code = EXIT_INPUT;
			goto out;
		}
	o.svcs = xcalloc(plan->nservices ? plan->nservices : 1, sizeof(*o.svcs));
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (dc->o->args.nr ? in_args(dc->o, ps->name) : ps->action == ACTION_HOLD) {
			o.svcs[o.nsvcs].ps = ps;
			o.svcs[o.nsvcs].restart_state = o.restart ? 1 : 0;
			o.nsvcs++;
		}
	}
	if (!o.nsvcs) {
		printf("observe: no service is held; name the services to observe\n");
		code = EXIT_OK;
		goto out;
	}
	{
		/* The databases they use, each once. */
		struct strvec names = STRVEC_INIT;
		for (size_t i = 0; i < o.nsvcs; i++)
			for (size_t k = 0; k < o.svcs[i].ps->nconns; k++) {
				const char *db = o.svcs[i].ps->conns[k].database;
				if (db && !strvec_contains(&names, db))
					strvec_push(&names, db);
			}
		o.dbs = xcalloc(names.nr + 1, sizeof(*o.dbs));
		for (size_t i = 0; i < names.nr; i++)
			o.dbs[o.ndbs++].name = xstrdup(names.v[i]);
		strvec_clear(&names);
	}
	if (!o.ndbs) {
		diag_fail(&d, "the observed services name no database");
		goto failed;
	}

	/* The journal entry before anything is installed. */
	if (journal_write(&o, "installing", &d))
		goto failed;
	for (size_t i = 0; i < o.ndbs; i++)
		if (db_install(&o, &o.dbs[i], &d))
			goto remove;
	run_fault_point(dc->o->environ, "observe-installed", NULL);
	if (journal_write(&o, "installed", &d))
		goto remove;
	resnapshot(&o);
	if (!dc->o->quiet)
		fprintf(stderr, "dsnflip: observe: watching %zu service%s for %d s (Ctrl-C stops and removes "
			"everything)\n", o.nsvcs, o.nsvcs == 1 ? "" : "s", window);

	long long start = run_now_ms(), end = start + (long long)window * 1000;
	long long last_sample = 0, last_fetch = 0, last_snap = start;
	for (int guard = 0; guard < 100000000; guard++) {
		long long now = run_now_ms();
		hist_merge(&o);
		if (now - last_sample >= SAMPLE_MS) {
			last_sample = now;
			if (sample(&o, &d))
				goto remove;
		}
		if (now - last_fetch >= FETCH_MS) {
			last_fetch = now;
			for (size_t i = 0; i < o.ndbs; i++)
				if (fetch_ddl(&o, &o.dbs[i], &d))
					goto remove;
			attribute_pending(&o, 0);
		}
		if (now - last_snap >= RESNAP_MS) {
			last_snap = now;
			resnapshot(&o);
		}
		if (o.restart)
			restart_step(&o);
		if (deploy_signalled(dc)) {
			diag_fail(&d, "interrupted");
			goto remove;
		}
		int restarts_left = 0;
		for (size_t i = 0; i < o.nsvcs; i++)
			restarts_left |= o.svcs[i].restart_state >= 1 && o.svcs[i].restart_state <= 3;
		/* The window, and every restart seen through (bounded by their own grace). */
		if (now >= end && !restarts_left)
			break;
		struct timespec ts = { 0, PORT_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	/* What happened last, then remove. */
	if (sample(&o, &d))
		goto remove;
	for (size_t i = 0; i < o.ndbs; i++)
		if (fetch_ddl(&o, &o.dbs[i], &d))
			goto remove;
	hist_merge(&o);
	attribute_pending(&o, 1);
	code = EXIT_OK;
remove:
	{
		struct diag ud = DIAG_INIT;
		struct buf left = BUF_INIT;
		for (size_t i = 0; i < o.ndbs; i++)
			if (db_uninstall(&o, &o.dbs[i], NULL, &ud)) {
				buf_addf(&left, "%sremoving the event trigger from %s failed: %s",
					 left.len ? "; " : "", o.dbs[i].name, ud.msg.buf);
				diag_release(&ud);
			}
		if (left.len) {
			/* Why the watch stopped comes first, then what it could not remove. */
			if (d.set)
				buf_addf(&d.msg, "; then %s", left.buf);
			else
				diag_fail(&d, "%s", left.buf);
			buf_addf(&d.msg, "; %s is kept: run `dsnflip observe --cleanup`", o.journal_path);
			kept = 1;
			code = EXIT_FAILED;
		} else if (unlink(o.journal_path) && errno != ENOENT) {
			fprintf(stderr, "dsnflip: observe: removing %s: %s\n", o.journal_path, strerror(errno));
		}
		buf_release(&left);
		diag_release(&ud);
	}
	if (code != EXIT_OK)
		goto failed;
	snippet(&o, window, &snip);
	if (oo->write_config) {
		int r = write_config(&o, snip.buf, &written, &notw, &d);
		if (r < 0)
			goto failed;
	}
	for (size_t i = 0; i < o.nsvcs; i++)
		if (o.svcs[i].restart_state == 5)
			code = EXIT_FAILED;
	render(&o, window, snip.buf, written, notw.len ? notw.buf : NULL, root, &text);
	deploy_print(dc, root, &text);
	goto out;
failed:
	diag_fail(err, "observe: %s%s", d.set ? d.msg.buf : "failed",
		  dc->interrupted && !kept ? "; everything it installed was removed" : "");
	code = EXIT_FAILED;
out:
	for (size_t i = 0; i < o.nsvcs; i++) {
		struct obs_svc *s = &o.svcs[i];
		if (s->restart_state == 2) {
			run_kill(&s->rc, 2000);
			child_release(&s->rc);
		}
		stop_streams(s);
		strvec_clear(&s->ddl);
		strvec_clear(&s->writes);
		strvec_clear(&s->reads);
		strvec_clear(&s->pids);
		free(s->failure);
		free(s->rollback);
	}
	free(o.svcs);
	attribute_pending(&o, 1);
	free(o.pend);
	db_close_all(&o);
	for (size_t i = 0; i < o.ndbs; i++) {
		free(o.dbs[i].name);
		free(o.dbs[i].backend_pid);
	}
	free(o.dbs);
	attrib_release(&o.at);
	free(o.hist);
	strvec_clear(&o.pidsvc);
	json_decref(o.unattributed);
	strvec_clear(&o.unreadable);
	strvec_clear(&o.unreadable_svcs);
	json_decref(root);
	json_decref(cleanup);
	free(o.journal_path);
	free(written);
	buf_release(&text);
	buf_release(&snip);
	buf_release(&notw);
	diag_release(&d);
	diag_release(&cleanup_d);
	return code;
}

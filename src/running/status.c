/*
 * status: what every service really runs as now, from docker and the
 * server — not only from the journal.  A service's user is read from its
 * live sessions (attributed by TCP source port, see runtime.h); when it has
 * none at the moment, from the DSN its container was started with.
 */
#include "running/status.h"
#include "running/watch.h"
#include "util/num.h"
#include "detect/dsn.h"
#include "running/finish.h"
#include "running/observe.h"
#include "server/sessions.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_for(const struct plan_service *ps, const struct journal_service *js)
{
	if (ps && ps->action == ACTION_HOLD)
		return "held";
	if (!js)
		return "pending";
	if (js->state == JS_FLIPPED)
		return "flipped";
	if (js->state == JS_IN_FLIGHT || js->state == JS_ROLLING_BACK)
		return "in_flight";
	if (js->state == JS_ROLLED_BACK || js->state == JS_FAILED)
		return "rolled_back";
	return "pending";
}

/* The user the container was configured with for its first connection (malloc'd) or NULL. */
static char *configured_user(struct deploy_ctx *dc, const struct plan_service *ps, const char *id)
{
	char *user = NULL;
	for (size_t k = 0; k < ps->nconns && !user; k++)
		user = watch_conn_user(dc, &ps->conns[k], id);
	return user;
}

/* The user most of the container's live sessions use (malloc'd) or NULL. */
static char *session_user(struct deploy_ctx *dc, const struct plan_service *ps,
			  const struct container *ct)
{
	int port = 5432, *ports = NULL;
	size_t n = 0;
	char *user = NULL;
	for (size_t k = 0; k < ps->nconns; k++)
		if (ps->conns[k].port > 0) {
			port = ps->conns[k].port;
			break;
		}
	if (!dc->have_pg || driver_client_ports(&dc->rt, ct, port, &ports, &n) || !n) {
		free(ports);
		return NULL;
	}
	struct pg_user_sessions *users = NULL;
	size_t nusers = 0;
	struct diag sub = DIAG_INIT;
	/* Most sessions first; a session the server shows no user for says nothing. */
	if (!sessions_users_on_ports(&dc->pc, ports, n, &users, &nusers, &sub))
		for (size_t i = 0; i < nusers && !user; i++)
			if (*users[i].user)
				user = xstrdup(users[i].user);
	sessions_users_release(users, nusers);
	diag_release(&sub);
	free(ports);
	return user;
}

/*
 * One Swarm task: what it connects as (its live sessions when it runs on
 * this node, else the DSN it was configured with), into tasks and a line.
 */
static void task_line(struct deploy_ctx *dc, const struct plan_service *ps, const struct container *ct,
		      json_t *tasks, struct buf *lines)
{
	char *user = ct->running ? session_user(dc, ps, ct) : NULL;
	const char *how = "";
	if (!user && (user = configured_user(dc, ps, ct->id)))
		how = " (configured; no live session)";
	json_array_append_new(tasks, json_pack("{s:s, s:s, s:o}", "id", ct->id, "state",
					       ct->status, "connects_as",
					       user ? json_string(user) : json_null()));
	buf_addf(lines, "%-20s   task %.12s %-8s connects as %s%s\n", "", ct->id, ct->status,
		 user ? user : "-", how);
	free(user);
}

static void bar(struct buf *out, int n, int limit, int color)
{
	int width = 20, fill = limit > 0 ? (n * width + limit - 1) / limit : 0;
	if (fill > width)
		fill = width;
	buf_addch(out, '[');
	if (color)
		buf_addstr(out, n > limit ? "\033[31m" : n * 10 >= limit * 8 ? "\033[33m" : "\033[32m");
	for (int i = 0; i < width; i++)
		buf_addstr(out, i < fill ? "#" : "-");
	if (color)
		buf_addstr(out, "\033[0m");
	buf_addch(out, ']');
}

int status_run(struct deploy_ctx *dc)
{
	const struct plan *plan = dc->s.plan;
	json_t *root = json_object(), *svcs = json_array(), *roles = json_array();
	struct buf text = BUF_INIT;
	struct strvec on_super = STRVEC_INIT;
	int superuser_connections = 0;
	char *server_shown = NULL; /* host:port of the admin connection, when there is one */

	buf_addf(&text, "project %s", dc->s.project->name);
	{
		struct buf how = BUF_INIT;
		driver_describe(&dc->rt, &how);
		if (how.len)
			buf_addf(&text, " (%s)", how.buf);
		buf_release(&how);
	}
	int swarm = dc->rt.ops && !strcmp(dc->rt.ops->name, "swarm");
	if (dc->swarm_services.nr && !swarm)
		buf_addf(&text, "; it runs as a Docker Swarm stack (%zu service(s)): the compose driver "
			 "sees none of its tasks, so RUNNING and CONNECTS AS below are not Swarm's",
			 dc->swarm_services.nr);
	if (dc->j->updated)
		buf_addf(&text, "; journal: %s at %s", dc->j->operation ? dc->j->operation : "deploy",
			 dc->j->updated);
	buf_addf(&text, "\n\n%-20s %-12s %-8s %s\n", "SERVICE", "STATE", "RUNNING", "CONNECTS AS");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		const struct journal_service *js = journal_get(dc->j, ps->name, 0);
		if (ps->action == ACTION_SKIP && !js)
			continue;
		struct strvec ids = STRVEC_INIT;
		struct diag sub = DIAG_INIT;
		int running = 0;
		char *user = NULL;
		const char *how = "";
		json_t *tasks = swarm ? json_array() : NULL;
		struct buf tlines = BUF_INIT;
		if (!driver_tasks(&dc->rt, ps->name, &ids, &sub)) {
			for (size_t k = 0; k < ids.nr; k++) {
				struct container ct;
				if (driver_inspect(&dc->rt, ids.v[k], &ct, &sub))
					continue;
				running |= ct.running;
				if (!user && ct.running)
					user = session_user(dc, ps, &ct);
				if (swarm)
					task_line(dc, ps, &ct, tasks, &tlines);
			}
			if (!user && ids.nr) {
				user = configured_user(dc, ps, ids.v[0]);
				how = user ? " (configured; no live session)" : "";
			}
		}
		const char *state = state_for(ps, js);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(ps->name));
		json_object_set_new(o, "state", json_string(state));
		json_object_set_new(o, "connects_as", user ? json_string(user) : json_null());
		json_object_set_new(o, "running", json_boolean(running));
		if (tasks)
			json_object_set_new(o, "tasks", tasks);
		json_array_append_new(svcs, o);
		buf_addf(&text, "%-20s %-12s %-8s %s%s\n", ps->name, state, running ? "yes" : "no",
			 user ? user : "-", how);
		if (tlines.len)
			buf_add(&text, tlines.buf, tlines.len);
		buf_release(&tlines);
		if (user && running) {
			for (size_t k = 0; k < ps->nconns; k++)
				if (ps->conns[k].superuser && ps->conns[k].user &&
				    !strcmp(ps->conns[k].user, user)) {
					strvec_push(&on_super, ps->name);
					break;
				}
		}
		if (js && js->detail && strcmp(state, "flipped"))
			buf_addf(&text, "%-20s   last failure: %s\n", "", js->detail);
		free(user);
		strvec_clear(&ids);
		diag_release(&sub);
	}
	buf_addf(&text, "\n%-20s %s\n", "ROLE", "CONNECTIONS / LIMIT");
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		int n = 0, limit = r->connection_limit;
		if (dc->have_pg) {
			PGresult *res = NULL;
			struct diag sub = DIAG_INIT;
			const char *p[1] = { r->name };
			if (!pg_execp(&dc->pc,
				      "SELECT (SELECT count(*) FROM pg_stat_activity WHERE usename = $1), "
				      "(SELECT rolconnlimit FROM pg_roles WHERE rolname = $1)",
				      1, p, r->name, &res, &sub)) {
				num_parse_int(PQgetvalue(res, 0, 0), 0, INT_MAX, &n);
				if (!PQgetisnull(res, 0, 1))
					num_parse_int(PQgetvalue(res, 0, 1), -1, INT_MAX, &limit);
			}
			PQclear(res);
			diag_release(&sub);
		}
		json_array_append_new(roles, json_pack("{s:s, s:i, s:i}", "name", r->name, "connections", n,
						       "limit", limit));
		buf_addf(&text, "%-20s ", r->name);
		if (dc->tty || dc->o->color) {
			bar(&text, n, limit, dc->o->color);
			buf_addch(&text, ' ');
		}
		if (limit < 0)
			buf_addf(&text, "%d / unlimited\n", n);
		else
			buf_addf(&text, "%d / %d\n", n, limit);
	}
	/* Counted on the admin connection's server only: a count that could not
	 * be taken is "unknown", never 0 (JSON: superuser_connections_known). */
	int super_known = 0;
	if (dc->have_pg) {
		PGresult *res = NULL;
		struct diag sub = DIAG_INIT;
		if (!pg_exec(&dc->pc,
			     "SELECT count(*) FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename "
			     "WHERE r.rolsuper AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()",
			     "superuser sessions", &res, &sub))
			super_known = num_parse_int(PQgetvalue(res, 0, 0), 0, INT_MAX,
						    &superuser_connections) == NUM_OK;
		const char *host = PQhost(dc->pc.conn);
		server_shown = xstrfmt("%s:%d", host && *host ? host : "local socket", pgconn_port(&dc->pc));
		if (super_known)
			buf_addf(&text, "\nsuperuser connections on %s: %d", server_shown, superuser_connections);
		else
			buf_addf(&text, "\nsuperuser connections on %s: unknown (%s)", server_shown,
				 sub.set ? sub.msg.buf : "the count did not read");
		PQclear(res);
		diag_release(&sub);
	} else {
		buf_addstr(&text, "\nsuperuser connections: unknown (no server)");
	}
	/* The plan's roles may be on servers this connection is not. */
	if (dc->s.plan->nservers > 1)
		buf_addf(&text, " (the plan's roles are on %zu servers; only this one was asked: "
			 "run status with --db for each)", dc->s.plan->nservers);
	if (on_super.nr) {
		buf_addstr(&text, "; still on the superuser:");
		for (size_t i = 0; i < on_super.nr; i++)
			buf_addf(&text, " %s", on_super.v[i]);
	}
	buf_addch(&text, '\n');
	{
		char *when = NULL, *who = NULL;
		if (finish_recorded(dc->dir, &when, &who)) {
			buf_addf(&text, "finish: ran at %s (the password of superuser %s was rotated)\n", when, who);
			json_object_set_new(root, "finish", json_pack("{s:s, s:s}", "finished_at", when, "role", who));
		} else {
			buf_addstr(&text, "finish: not run\n");
			json_object_set_new(root, "finish", json_null());
		}
		free(when);
		free(who);
		long pid = 0;
		if (observe_leftover(dc->dir, &when, &pid)) {
			buf_addf(&text, "observe: objects installed by pid %ld (%s) may still be in the databases: "
				 "run `dsnflip observe --cleanup`\n", pid, when);
			json_object_set_new(root, "observe_leftover", json_pack("{s:s, s:i}", "since", when,
										"pid", (json_int_t)pid));
			free(when);
		}
	}
	json_object_set_new(root, "services", svcs);
	json_object_set_new(root, "roles", roles);
	/* null, not 0, when it could not be counted: a 0 would read as "none left". */
	json_object_set_new(root, "superuser_connections",
			    super_known ? json_integer(superuser_connections) : json_null());
	json_object_set_new(root, "superuser_connections_known", json_boolean(super_known));
	json_object_set_new(root, "server", server_shown ? json_string(server_shown) : json_null());
	json_object_set_new(root, "swarm_stack", json_boolean(dc->swarm_services.nr > 0));
	deploy_print(dc, root, &text);
	json_decref(root);
	buf_release(&text);
	strvec_clear(&on_super);
	free(server_shown);
	return EXIT_OK;
}

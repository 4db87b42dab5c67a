/*
 * watch: one service watched through its cutover window (see watch.h).
 */
#include "running/watch.h"
#include "detect/dsn.h"
#include "util/escape.h"
#include "util/mask.h"
#include "util/num.h"
#include "util/run.h"
#include "server/sessions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <time.h>

#define START_GRACE_S 60      /* for the container to be running/healthy */
#define EVIDENCE_LINES 12

char *watch_conn_user(struct deploy_ctx *dc, const struct plan_conn *pc, const char *id)
{
	char *user = NULL, *v = NULL;
	struct diag sub = DIAG_INIT;
	if (pc->form == CONN_SPLIT) {
		if (pc->user_entry && !driver_task_env(&dc->rt, id, pc->user_entry->key, &v, &sub))
			user = v ? xstrdup(v) : NULL;
	} else if (pc->entry && !driver_task_env(&dc->rt, id, pc->entry->key, &v, &sub) && v) {
		struct dsn dsn = DSN_INIT;
		if (!dsn_parse(v, &dsn, &sub) && dsn.user && *dsn.user)
			user = xstrdup(dsn.user);
		dsn_release(&dsn);
		if (!user && pc->user_entry) {
			memset(v, 0, strlen(v));
			free(v);
			v = NULL;
			if (!driver_task_env(&dc->rt, id, pc->user_entry->key, &v, &sub) && v)
				user = xstrdup(v);
		}
	}
	if (v) {
		memset(v, 0, strlen(v));
		free(v);
	}
	diag_release(&sub);
	return user;
}

void watch_task_users(struct deploy_ctx *dc, const struct plan_service *ps, const char *id,
		      struct buf *out)
{
	for (size_t k = 0; k < ps->nconns; k++) {
		const struct plan_conn *pc = &ps->conns[k];
		const struct env_entry *e = pc->form == CONN_SPLIT ? pc->user_entry : pc->entry;
		if (!e || !pc->flip)
			continue;
		char *user = watch_conn_user(dc, pc, id);
		buf_addf(out, "%s%s=%s", out->len ? " " : "", e->key, user ? user : "?");
		free(user);
	}
}

void watch_init(struct watch *w, const struct plan_service *ps)
{
	memset(w, 0, sizeof(*w));
	w->ps = ps;
	w->server_port = 5432;
	for (size_t k = 0; k < ps->nconns; k++)
		if (ps->conns[k].port > 0) {
			w->server_port = ps->conns[k].port;
			break;
		}
}

void watch_release(struct watch *w)
{
	strvec_clear(&w->evidence);
	free(w->reason);
	for (size_t i = 0; i < w->ntail; i++)
		free(w->tail[i]);
}

static void tail_add(struct watch *w, const char *line)
{
	struct buf b = BUF_INIT, m = BUF_INIT;
	mask_secrets(line, &m);
	esc_text(m.buf ? m.buf : "", &b);
	buf_release(&m);
	if (w->ntail == sizeof(w->tail) / sizeof(w->tail[0])) {
		free(w->tail[0]);
		memmove(w->tail, w->tail + 1, (w->ntail - 1) * sizeof(w->tail[0]));
		w->ntail--;
	}
	w->tail[w->ntail++] = buf_detach(&b, NULL);
}

/*
 * Evidence is another program's output (a log line, a child's message):
 * masked, then each of its lines escaped (esc_text) into an entry of its
 * own, so none can move the cursor or break the report's lines.
 */
void watch_evidence(struct watch *w, const char *text)
{
	struct buf b = BUF_INIT, e = BUF_INIT;
	mask_secrets(text, &b);
	for (const char *p = b.buf ? b.buf : ""; *p && w->evidence.nr < EVIDENCE_LINES;) {
		size_t n = strcspn(p, "\n");
		buf_reset(&e);
		buf_add(&e, p, n && p[n - 1] == '\r' ? n - 1 : n);
		struct buf x = BUF_INIT;
		esc_text(e.buf ? e.buf : "", &x);
		if (x.len)
			strvec_push(&w->evidence, x.buf);
		buf_release(&x);
		p += n;
		if (*p)
			p++;
	}
	buf_release(&b);
	buf_release(&e);
}

void watch_fail(struct watch *w, long long event_ms, const char *fmt, ...)
{
	va_list ap;
	struct buf b = BUF_INIT;
	if (w->reason)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	w->reason = buf_detach(&b, NULL);
	w->detect_ms = deploy_real_ms();
	w->event_ms = event_ms ? event_ms : w->detect_ms;
}

struct line_ctx {
	struct deploy_ctx *dc;
	struct watch *w;
};

static void on_line(void *vctx, const char *line)
{
	struct line_ctx *lc = vctx;
	const char *text = line;
	long long ts = runtime_parse_ts(line);
	const char *sp = strchr(line, ' ');
	if (ts && sp)
		text = sp + 1;
	if (lc->dc->o->verbose) {
		struct buf b = BUF_INIT, e = BUF_INIT;
		mask_secrets(text, &b);
		esc_text(b.buf ? b.buf : "", &e);
		fprintf(stderr, "  | %s\n", e.buf ? e.buf : "");
		buf_release(&b);
		buf_release(&e);
	}
	const char *pat = failpat_match(&lc->dc->pats, text);
	tail_add(lc->w, text);
	if (pat)
		lc->w->matched = 1;
	if (pat && !lc->w->reason) {
		watch_fail(lc->w, ts, "log line matches /%s/", pat);
		watch_evidence(lc->w, text);
	} else if (pat) {
		watch_evidence(lc->w, text);
	}
}

/* Sessions as the superuser / as the role among the container's connections. */
static void check_sessions(struct deploy_ctx *dc, struct watch *w, const struct container *ct)
{
	int *ports = NULL;
	size_t nports = 0;
	if (!dc->have_pg)
		return;
	if (w->role) {
		PGresult *res = NULL;
		struct diag sub = DIAG_INIT;
		const char *p[1] = { w->role };
		if (!pg_execp(&dc->pc, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", 1, p,
			      "sessions of the role", &res, &sub)) {
			int n = 0;
			num_parse_int(PQgetvalue(res, 0, 0), 0, INT_MAX, &n);
			if (n > w->role_sessions_max)
				w->role_sessions_max = n;
			if (w->role_limit > 0 && n > w->role_limit)
				watch_fail(w, 0, "%d sessions as %s, over its connection limit %d", n, w->role,
				     w->role_limit);
		}
		PQclear(res);
		diag_release(&sub);
	}
	if (driver_client_ports(&dc->rt, ct, w->server_port, &ports, &nports) || !nports) {
		free(ports);
		return;
	}
	struct pg_user_sessions *users = NULL;
	size_t nusers = 0;
	struct diag sub = DIAG_INIT;
	if (!sessions_users_on_ports(&dc->pc, ports, nports, &users, &nusers, &sub)) {
		for (size_t i = 0; i < nusers; i++) {
			const char *user = users[i].user;
			int super = users[i].super, n = users[i].n;
			if (w->role && !strcmp(user, w->role) && n > w->own_role_sessions)
				w->own_role_sessions = n;
			if (super) {
				w->own_super_sessions = n;
				if (w->role)
					watch_fail(w, 0, "%s still has %d session(s) as the superuser %s",
					     w->ps->name, n, user);
			}
		}
	}
	sessions_users_release(users, nusers);
	free(ports);
	diag_release(&sub);
}

/*
 * The current containers of the service: inspect them all.  A container
 * that cannot be inspected is left out only when it is gone (removed
 * between the listing and the inspect: no longer listed); any other
 * failure fails the call, naming it, because a container dsnflip cannot
 * see is not one it may call up, down or on the new role.
 */
int deploy_containers(struct deploy_ctx *dc, const char *svc, struct container **out,
			      size_t *n, struct diag *d)
{
	struct strvec ids = STRVEC_INIT;
	int ret = 0;
	*out = NULL;
	*n = 0;
	if (driver_tasks(&dc->rt, svc, &ids, d)) {
		strvec_clear(&ids);
		return -1;
	}
	if (ids.nr)
		*out = xcalloc(ids.nr, sizeof(**out));
	for (size_t i = 0; i < ids.nr && !ret; i++) {
		struct diag sub = DIAG_INIT;
		if (!driver_inspect(&dc->rt, ids.v[i], &(*out)[*n], &sub)) {
			(*n)++;
		} else {
			struct strvec now = STRVEC_INIT;
			struct diag relist = DIAG_INIT;
			if (driver_tasks(&dc->rt, svc, &now, &relist) || strvec_contains(&now, ids.v[i]))
				ret = diag_fail(d, "container %.12s cannot be inspected: %s", ids.v[i],
						sub.msg.buf);
			strvec_clear(&now);
			diag_release(&relist);
		}
		diag_release(&sub);
	}
	strvec_clear(&ids);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

static void describe_state(const struct container *ct, struct buf *out)
{
	buf_addf(out, "container %.12s: %s", ct->id, ct->status);
	if (!ct->running)
		buf_addf(out, ", exit code %d", ct->exit_code);
	buf_addf(out, ", restarts %d", ct->restart_count);
	if (ct->health[0])
		buf_addf(out, ", health %s", ct->health);
}

/*
 * Watch a freshly recreated service: first until it runs (or is healthy
 * when it has a healthcheck), then for window_s.  Returns 0 when it passed,
 * -1 with w->reason set when it failed, 1 when interrupted.
 */
int watch_service(struct deploy_ctx *dc, struct watch *w, int window_s, int settle_ms)
{
	const char *svc = w->ps->name;
	struct container *cts = NULL;
	size_t ncts = 0;
	struct logstream *ls = NULL;   /* one per container: every replica is watched */
	size_t nls = 0;
	int *base_restarts = NULL;
	struct diag sub = DIAG_INIT;
	struct line_ctx lc = { dc, w };
	int migrator = w->ps->cls == CLASS_MIGRATOR;
	int ret = -1;
	long long start = run_now_ms(), window_end = 0, last_inspect = 0, last_pg = 0;
	long long start_deadline = start + (long long)(START_GRACE_S + window_s) * 1000;

	if (deploy_containers(dc, svc, &cts, &ncts, &sub) || !ncts) {
		watch_fail(w, 0, "no container of %s after recreating it%s%s", svc, sub.set ? ": " : "",
		     sub.msg.buf);
		goto out;
	}
	ls = xcalloc(ncts, sizeof(*ls));
	base_restarts = xcalloc(ncts, sizeof(*base_restarts));
	for (size_t i = 0; i < ncts; i++) {
		base_restarts[i] = cts[i].restart_count;
		/* A replica whose logs cannot be followed would be watched only
		 * in part: a failure pattern in them would go unseen. */
		if (driver_logs_start(&dc->rt, &ls[nls], cts[i].id, NULL, &sub)) {
			watch_fail(w, 0, "cannot follow the logs of container %.12s of %s (%zu of %zu "
				   "containers followed): %s", cts[i].id, svc, nls, ncts, sub.msg.buf);
			goto out;
		}
		nls++;
	}
	for (;;) {
		long long now = run_now_ms();
		for (size_t i = 0; i < nls; i++)
			logstream_poll(&ls[i], i + 1 == nls ? 150 : 0, on_line, &lc);
		if (!nls)
			poll(NULL, 0, 150);
		if (deploy_signalled(dc)) {
			ret = 1;
			goto out;
		}
		if (w->reason)
			break;
		now = run_now_ms();
		if (now - last_inspect >= 400) {
			last_inspect = now;
			int all_up = 1, all_done = 1;
			for (size_t i = 0; i < ncts; i++) {
				struct container *ct = &cts[i];
				if (driver_inspect(&dc->rt, ct->id, ct, &sub)) {
					watch_fail(w, 0, "cannot inspect container %.12s of %s (gone, or the Docker daemon does not answer): %s", ct->id, svc, sub.msg.buf);
					break;
				}
				struct buf st = BUF_INIT;
				describe_state(ct, &st);
				if (ct->restart_count > base_restarts[i])
					watch_fail(w, 0, "%s restarted (%s)", svc, st.buf);
				else if (!ct->running && ct->exit_code != 0 && strcmp(ct->status, "created"))
					watch_fail(w, runtime_parse_ts(ct->finished_at), "%s exited with code %d (%s)", svc,
					     ct->exit_code, st.buf);
				else if (!strcmp(ct->health, "unhealthy"))
					watch_fail(w, 0, "%s is unhealthy (%s)", svc, st.buf);
				else if (!ct->running && !strcmp(ct->status, "exited") && !migrator)
					watch_fail(w, runtime_parse_ts(ct->finished_at), "%s exited during the window (%s)",
					     svc, st.buf);
				buf_release(&st);
				if (!ct->running || (ct->health[0] && strcmp(ct->health, "healthy")))
					all_up = 0;
				if (!(!ct->running && !strcmp(ct->status, "exited") && ct->exit_code == 0))
					all_done = 0;
			}
			if (w->reason)
				break;
			if (migrator && all_done) {
				/* One-shot: drain the rest of its logs, then it got through. */
				for (int k = 0; k < 10; k++)
					for (size_t i = 0; i < nls; i++)
						logstream_poll(&ls[i], 50, on_line, &lc);
				if (w->reason)
					break;
				w->done_early = 1;
				w->up_ms = deploy_real_ms();
				ret = 0;
				goto out;
			}
			if (!window_end && all_up) {
				window_end = now + (long long)window_s * 1000;
				w->up_ms = deploy_real_ms();
			}
			if (!window_end && now > start_deadline) {
				watch_fail(w, 0, "%s did not become %s within %d s", svc,
				     cts[0].health[0] ? "healthy" : "running", START_GRACE_S + window_s);
				break;
			}
		}
		if (dc->have_pg && window_end && now - last_pg >= 1000) {
			last_pg = now;
			for (size_t i = 0; i < ncts; i++)
				check_sessions(dc, w, &cts[i]);
			if (w->reason)
				break;
		}
		if (window_end) {
			long long left = window_end - now;
			if (settle_ms && now - (window_end - (long long)window_s * 1000) >= settle_ms) {
				ret = 0;
				goto out;
			}
			if (left <= 0) {
				ret = 0;
				goto out;
			}
			if (w->role)
				deploy_progress(dc, svc, "watching", "%2llds left  %s sessions: %d (limit %d)",
					 (left + 999) / 1000, w->role, w->own_role_sessions, w->role_limit);
			else
				deploy_progress(dc, svc, "verifying", "%2llds", (left + 999) / 1000);
		} else {
			deploy_progress(dc, svc, "starting", "%llds", (now - start) / 1000);
		}
	}
	ret = w->reason ? -1 : 0;
out:
	if (w->reason) {
		/* The lines that explain an exit often arrive just after it: drain briefly. */
		long long until = run_now_ms() + 700;
		while (nls && run_now_ms() < until)
			for (size_t i = 0; i < nls; i++)
				logstream_poll(&ls[i], 50, on_line, &lc);
		if (!w->matched)
			for (size_t i = 0; i < w->ntail; i++)
				watch_evidence(w, w->tail[i]);
		for (size_t i = 0; i < ncts; i++) {
			struct buf st = BUF_INIT;
			describe_state(&cts[i], &st);
			watch_evidence(w, st.buf);
			buf_release(&st);
		}
	}
	for (size_t i = 0; i < nls; i++)
		logstream_stop(&ls[i]);
	free(ls);
	free(base_restarts);
	free(cts);
	diag_release(&sub);
	return ret;
}


/*
 * watch: one service through its cutover window.
 *
 * After a service is recreated on its new role (or back on its old DSN),
 * deploy watches it: its containers must be running (and healthy, when
 * they have a health check) within a grace period, then stay so for the
 * window, with no log line matching a failure pattern ("password
 * authentication failed", "permission denied for ...", "must be owner of
 * ...", the config's own), and with the server seeing sessions as the role
 * rather than the superuser.  The first failure is the reason, with the
 * masked lines that explain it as evidence and the time it was seen.
 */
#ifndef DSNFLIP_WATCH_H
#define DSNFLIP_WATCH_H

#include "running/deploy.h"

struct watch {
	const struct plan_service *ps;
	const char *role;          /* the role it should connect as, or NULL (rollback) */
	int role_limit;
	int server_port;
	struct strvec evidence;    /* masked lines */
	char *reason;
	long long event_ms;        /* realtime of the failing line / exit */
	long long detect_ms;       /* realtime when dsnflip saw it */
	int role_sessions_max;     /* sessions of the role seen at once (whole server) */
	int own_role_sessions;     /* sessions attributed to the service as the role */
	int own_super_sessions;
	int done_early;            /* a one-shot migrator exited 0 */
	long long up_ms;           /* realtime when it was running (healthy) or done */
	char *tail[4];             /* the last log lines (masked), for evidence */
	size_t ntail;
	int matched;               /* a log line matched a failure pattern */
};

void watch_init(struct watch *w, const struct plan_service *ps);
/* The user one connection of task/container id is configured with (malloc'd), or NULL. */
char *watch_conn_user(struct deploy_ctx *dc, const struct plan_conn *pc, const char *id);
/*
 * "VAR=user ..." for every connection deploy switches, as task id is
 * configured (the journal's previous spec; users only, never a password).
 */
void watch_task_users(struct deploy_ctx *dc, const struct plan_service *ps, const char *id,
		      struct buf *out);
void watch_release(struct watch *w);
/* The first failure is the reason (event_ms: when it happened, 0: now). */
void watch_fail(struct watch *w, long long event_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line of evidence (masked; the first few are kept). */
void watch_evidence(struct watch *w, const char *line);
/*
 * Watch w->ps's containers for window_s seconds once up (settle_ms: how
 * long they must stay up when the window is 0, as after a rollback).
 * Returns 0 when it held, 1 when it failed (w->reason, w->evidence), -1
 * with d when it could not watch at all.
 */
int watch_service(struct deploy_ctx *dc, struct watch *w, int window_s, int settle_ms);

#endif

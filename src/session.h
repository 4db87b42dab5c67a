/*
 * session: what every command starts from — the stack, its config and the
 * plan, loaded from the global options in one place so that `plan`,
 * `branch`, `roles` and `deploy` can never disagree about the stack — and
 * the one place that decides whether a command may connect to the server
 * (--db, a connection derived from the stack, or --offline: never).
 */
#ifndef DSNFLIP_SESSION_H
#define DSNFLIP_SESSION_H

#include "cli.h"
#include "plan/plan.h"
#include "plan/report.h"
#include "server/pgconn.h"

/* A loaded stack with its config and plan. */
struct session {
	struct compose_project *project;
	struct config *config;
	struct plan *plan;
	enum report_format format;
	struct live_facts *live;  /* the live server's facts (--db or derived), or NULL: offline */
};

/* The compose loader's options from the global options (-C, -f, -p, ...). */
void cli_compose_opts(const struct cli *cli, struct compose_opts *co);
/*
 * Load stack, config and plan as the options say; unless --offline, read
 * the live server into the plan (--db, or a connection derived from the
 * stack; a derived one that fails leaves the plan offline, said in a
 * warning).  Returns 0 or -1 with d.
 */
int session_open(const struct cli *cli, struct session *s, struct diag *d);
/* session_open, changed as so says (NULL: not at all). */
struct session_opts {
	int offline;           /* never read the server (whatever --db says) */
	int own_format;        /* the command parses --format itself */
	unsigned interp_flags; /* INTERP_* for the compose loader */
	int all_profiles;      /* without --profile, every profile is active */
	const char *dir;       /* instead of -C (the caller maps -f and --env-file) */
	const char *config;    /* instead of --config's path (messages keep --config's) */
};
int session_open_with(const struct cli *cli, const struct session_opts *so, struct session *s,
		      struct diag *d);
void session_close(struct session *s);

enum admin_need {
	ADMIN_REQUIRED,  /* roles check/apply, deploy: no server, no command */
	ADMIN_OPTIONAL,  /* status: without the server it shows what Docker says */
};
/*
 * Open the admin connection for cli->command, or decide not to: the only
 * place --offline is honoured after loading.  Returns 1 with *pc open; 0
 * without a connection (--offline, or ADMIN_OPTIONAL and the server could
 * not be reached: then d says why, else d is unset); -1 with d
 * (ADMIN_REQUIRED: EXIT_INPUT under --offline, else the connection's
 * error).
 */
int session_admin(const struct cli *cli, const struct session *s, enum admin_need need,
		  struct pgconn *pc, struct diag *d);

/*
 * deploy, rollback and status: open the session, the deploy context (flags:
 * DEPLOY_*) and the admin connection as need says (-1: none at all).  On
 * success the caller runs the command and then calls session_deploy_close.
 * Returns 0, or -1 with d (everything already closed).
 */
struct deploy_ctx;
struct deploy_opts;
int session_deploy_open(const struct cli *cli, struct session *s, struct deploy_opts *o,
			struct deploy_ctx *dc, int flags, int need, struct diag *d);
void session_deploy_close(struct session *s, struct deploy_ctx *dc);

#endif

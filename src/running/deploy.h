/*
 * deploy: the staged cutover, its rollback and the truthful status
 * (PRODUCT.md §7).  cmd-deploy.c, cmd-rollback.c and cmd-status.c parse
 * options and call in here.
 *
 * How one service is switched without editing the user's files: dsnflip
 * writes a compose override file in its state directory
 * ($XDG_STATE_HOME/dsnflip/<project>/override.yml, 0600) that sets, for
 * every service currently switched, its DSN variables to the new DSN —
 * computed with dsn_rewrite from the resolved old value (user -> role,
 * password -> ${<ROLE>_PASSWORD:?...}; split settings: the user variable ->
 * role, the password variable -> the reference).  The file holds only
 * references, never a password; compose runs with the stack's files plus
 * `-f override.yml` and gets the passwords in its environment.  Rolling a
 * service back removes it from the override and recreates it, so it runs
 * exactly what the user's files say again.  The override is a function of
 * the journal, so every step can be redone after a crash.
 */
#ifndef DSNFLIP_DEPLOY_H
#define DSNFLIP_DEPLOY_H

#include <signal.h>

#include "cli.h"
#include "running/journal.h"
#include "server/pgconn.h"
#include "running/runtime.h"

struct secrets;

struct deploy_ctx {
	struct cli *cli;
	struct session s;
	int session_open;
	struct runtime rt;
	int have_runtime;
	struct journal *j;
	struct lock lock;
	struct secrets *sec;
	struct pgconn pc;
	int have_pg;
	struct failpats pats;
	char *dir;            /* the state directory */
	char *override_path;
	int window_s;
	int tty;              /* progress on stderr */
	sigset_t sigs;        /* SIGINT, SIGTERM: blocked, polled */
	int interrupted;
	/*
	 * Services the checkout already flips (the branch was merged): their
	 * effective DSN uses the role the committed plan (dsnflip.plan.json)
	 * gave them.  No override is needed; deploy recreates and watches them.
	 */
	struct strvec merged, merged_roles;
};

/* What opening needs. */
enum {
	DEPLOY_NEED_PG = 1,       /* the admin connection (deploy, status) */
	DEPLOY_NEED_COMPOSE = 2,  /* a working compose CLI (deploy, rollback) */
	DEPLOY_LOCK = 4,          /* take the lock (deploy, rollback) */
	DEPLOY_SOFT_PG = 8,       /* status: go on without the server */
};

/* Load the session, state dir, journal, secrets, runtime as flags say.  -1 with d. */
int deploy_open(struct deploy_ctx *dc, struct cli *cli, int flags, struct diag *d);
void deploy_close(struct deploy_ctx *dc);

/* The commands (cmd-deploy.c, cmd-rollback.c, cmd-status.c). */
int cmd_deploy(struct cli *cli);
int cmd_rollback(struct cli *cli);
int cmd_status(struct cli *cli);
int cmd_finish(struct cli *cli);
int cmd_observe(struct cli *cli);

/* `deploy [SERVICE...] [--window] [--resume]`: the exit code. */
int deploy_run(struct deploy_ctx *dc);
/* `rollback SERVICE...|--all`: the exit code. */
int rollback_run(struct deploy_ctx *dc);
/* `status [--format json]`: the exit code. */
int status_run(struct deploy_ctx *dc);

/*
 * The override file's text for the services the journal marks in_override
 * (exposed for tests).  Returns 0, or -1 with d when a DSN cannot be
 * rewritten.
 */
int deploy_render_override(const struct plan *plan, const struct journal *j, struct buf *out,
			   struct diag *d);

#endif

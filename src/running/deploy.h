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

#include "plan/plan.h"
#include "plan/report.h"
#include "stack/config.h"
#include "running/journal.h"
#include "running/override.h"
#include "server/pgconn.h"
#include "running/driver.h"

struct secrets;
struct json_t;

/* What deploy, rollback and status are told by the command line. */
struct deploy_opts {
	const char *command;        /* "deploy", "rollback", "status": the lock says who holds it */
	struct strvec args;         /* SERVICE... (a view: not owned) */
	int all, resume, quiet, verbose, color;
	const char *window;         /* --window, or NULL: the config's, else 30 s */
	const char *compose_cmd;
	const char *driver;         /* --driver: "compose", "swarm", or NULL: by what the engine runs */
	const char *const *env_files, *const *profiles; /* passed on to compose */
	size_t nenv_files, nprofiles;
	char *const *environ;
};

/* The loaded stack the commands work on (owned by the caller). */
struct deploy_stack {
	const struct compose_project *project;
	const struct config *config;
	const struct plan *plan;
	enum report_format format;
};

struct deploy_ctx {
	const struct deploy_opts *o;
	struct deploy_stack s;
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
	/*
	 * The stack's services on Docker Swarm (the engine is a manager and
	 * they carry com.docker.stack.namespace=<project>).  The compose
	 * driver must not touch such a stack: `compose up` would start second
	 * copies beside Swarm's tasks.  deploy and rollback refuse; status
	 * says so.
	 */
	struct strvec swarm_services;
};

/* What opening needs. */
enum {
	DEPLOY_NEED_COMPOSE = 2,  /* a working compose CLI (deploy, rollback) */
	DEPLOY_LOCK = 4,          /* take the lock (deploy, rollback) */
};

/*
 * Open the state dir, journal, secrets and runtime for the stack st as
 * flags say.  The admin connection is the caller's to give (dc->pc and
 * dc->have_pg, opened by the session, which alone decides --offline);
 * deploy_close closes it.  -1 with d.
 */
int deploy_open(struct deploy_ctx *dc, const struct deploy_opts *o, const struct deploy_stack *st,
		int flags, struct diag *d);
void deploy_close(struct deploy_ctx *dc);

/* Shared by deploy's parts (watch.c, preflight.c). */
/* SIGINT/SIGTERM arrived (they are blocked and polled). */
int deploy_signalled(struct deploy_ctx *dc);
/* The command's result on stdout: root as JSON with --format json, else text. */
void deploy_print(const struct deploy_ctx *dc, struct json_t *root, const struct buf *text);
/* A line for the operator on stdout (masked); nothing with -q. */
void deploy_say(struct deploy_ctx *dc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One progress line on a terminal: service, phase, the window counting down. */
void deploy_progress(struct deploy_ctx *dc, const char *svc, const char *phase, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The inspected containers of svc (free with runtime's container release). */
int deploy_containers(struct deploy_ctx *dc, const char *svc, struct container **out, size_t *n,
		      struct diag *d);
/* The role a merged checkout already gives the service, or NULL. */
const char *deploy_merged_role(const struct deploy_ctx *dc, const char *name);
const struct plan_role *deploy_role_of(const struct plan *plan, const char *name);
/* Wall-clock milliseconds (docker's log and exit times are wall-clock). */
long long deploy_real_ms(void);

/* `deploy [SERVICE...] [--window] [--resume]`: the exit code; err (empty on entry) holds what to print. */
int deploy_run(struct deploy_ctx *dc, struct diag *err);
/*
 * `rollback SERVICE...|--all`: the exit code; err (empty on entry) holds
 * what to print last (a service that fails to go back is said as it
 * happens, and the others still go back).
 */
int rollback_run(struct deploy_ctx *dc, struct diag *err);

#endif

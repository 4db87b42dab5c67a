/*
 * plan: the model every command after `plan` consumes.
 *
 * A plan says, for every service that connects to PostgreSQL, what it is
 * (migrator, writer, reader, unconfirmed), what dsnflip will do with it
 * (flip, hold, skip) and why (evidence with file:line), which role it moves
 * to, the roles with their connection limits and settings, the connection
 * budget, and the cutover order.  It is plain data in its own arena; JSON in
 * and out of it goes through plan_json.c only.
 *
 * Building a plan is two steps: detect.c finds connections and classes from
 * the compose project (and the config), then plan_build() (plan.c) assigns
 * roles, limits, the budget and the order, using live server facts when the
 * caller has them (struct live_facts, filled by the pg module).
 */
#ifndef DSNFLIP_PLAN_H
#define DSNFLIP_PLAN_H

#include "detect/model.h"

/* Facts from the live server (filled by the pg module for `--db`). */
struct live_role {
	const char *name;
	int superuser;
	int can_login;
	int connection_limit;   /* -1 = none */
	int sessions;           /* live sessions now */
	int peak;               /* the highest count observed, if known */
	/* What makes dsnflip never alter it ("SUPERUSER, BYPASSRLS", "predefined"), or NULL. */
	const char *protected_by;
	int managed;            /* carries dsnflip's marker comment (created or adopted by it) */
};
/* Objects of one kind in one database owned by one role (discover.c). */
struct live_owned {
	const char *kind;       /* "schema", "table", "hypertable", "view", "continuous aggregate", ... */
	const char *owner;
	int owner_superuser;
	int count;
};
/* One named object: a kept object, a hypertable, a continuous aggregate. */
struct live_object {
	const char *kind;
	const char *name;       /* schema.name as the catalogs spell it (not quoted) */
	const char *owner;
	int chunks;             /* hypertables: chunk count */
};
/* A TimescaleDB background job. */
struct live_job {
	int id;
	const char *owner;
	const char *proc;       /* schema.name of the job's procedure */
	const char *hypertable; /* schema.name, or NULL */
	int custom;             /* added with add_job (not a policy) */
};
/* Sessions now, per user and database (pg_stat_activity). */
struct live_sessions {
	const char *user;
	const char *database;
	int count;
};
/* The facts of one database in the plan. */
struct live_db {
	const char *name;
	int missing;            /* the server has no such database */
	const char **schemas;   /* application schemas */
	size_t nschemas;
	struct live_owned *owned;
	size_t nowned;
	struct live_object *kept;   /* objects owned by non-superusers, stay with them */
	size_t nkept;
	const char *timescaledb;    /* extension version in this database, or NULL */
	struct live_object *hypertables;
	size_t nhypertables;
	struct live_object *caggs;
	size_t ncaggs;
	struct live_job *jobs;      /* id >= 1000 only: internal jobs are left alone */
	size_t njobs;
};
struct live_facts {
	int max_connections;
	int superuser_reserved;
	int reserved;
	const char *version;
	const char *timescaledb;
	struct live_role *roles;
	size_t nroles;
	int superuser_sessions;
	/* Added by discover.c. */
	int server_version_num;
	struct live_sessions *sessions;
	size_t nsessions;
	struct live_db *dbs;
	size_t ndbs;
	const char *derived;    /* the admin connection was derived from the stack: how */
	const char *admin_user; /* the role the admin connection runs as */
	/*
	 * Which of the stack's servers this is (plan_role.server's naming), set
	 * by the caller before plan_build; NULL: not known (then, on a stack
	 * whose connections reach several servers, no connection is decided
	 * live and the plan blocks asking for --server).
	 */
	const char *server;
	int queries;            /* statements discovery ran */
	long elapsed_ms;        /* wall time of discovery */
	size_t objects;         /* application objects seen (all databases) */
	struct arena arena;     /* owns everything above */
};


/*
 * Build the plan for a loaded project.  cfg and live may be NULL.  Returns
 * 0 and *out (free with plan_free), or -1 with d set for input errors (a
 * DSN that does not parse, a config naming an unknown service, ...).
 */
int plan_build(const struct compose_project *p, const struct config *cfg,
	       const struct live_facts *live, const struct plan_opts *opts,
	       struct plan **out, struct diag *d);
void plan_free(struct plan *plan);

/*
 * The plan as one server sees it: *view is plan with only the roles on
 * server (all of them when the plan has one server), for what runs per
 * server (roles sql, the branch's SQL files, roles check/apply).  It
 * borrows everything else from plan, which must outlive it; release it
 * with plan_view_release, never plan_free.
 */
void plan_view_server(const struct plan *plan, const char *server, struct plan *view);
void plan_view_release(struct plan *view);


#endif

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

#include <stddef.h>
#include "util/arena.h"
#include "util/buf.h"
#include "stack/compose.h"
#include "util/diag.h"
#include "util/strmap.h"

struct config;

/*
 * A pool size hint (POOL_SIZE=, pool_max_conns=, ...) is a whole number from
 * 1 to PostgreSQL's ceiling on max_connections: a value outside that cannot
 * be a real pool, and keeping it bounded keeps the budget arithmetic far
 * from int overflow.
 */
#define POOL_HINT_MAX 262143
/*
 * The databases one plan may touch.  The role SQL, the runbook and `roles`
 * keep them in arrays of this size (rolesql_databases()), so a plan over it
 * is refused when it is built instead of the 257th database silently
 * getting no SQL.
 */
#define PLAN_MAX_DATABASES 256

enum svc_class { CLASS_MIGRATOR, CLASS_WRITER, CLASS_READER, CLASS_UNCONFIRMED };
enum svc_action { ACTION_FLIP, ACTION_HOLD, ACTION_SKIP };
enum role_kind { ROLE_OWNER, ROLE_WRITER, ROLE_READER };
enum conn_form { CONN_URI, CONN_JDBC, CONN_KV, CONN_SPLIT };

const char *class_name(enum svc_class c);
const char *action_name(enum svc_action a);
const char *role_kind_name(enum role_kind k);
int class_parse(const char *s, enum svc_class *out);

struct evidence_item {
	const char *file; /* relative to the project dir */
	int line;
	const char *text;
	const char *kind; /* "command", "entrypoint", "dockerfile", "script", "image", "config", "dsn", ... */
};

struct plan_conn {
	const char *variable;   /* the env var holding the DSN, or the user variable (split) */
	enum conn_form form;
	const char *host;
	int port;
	const char *database;
	const char *user;       /* NULL: libpq default */
	int superuser;
	const char *role;       /* planned role, or NULL */
	/* Where the user and password literally live (the branch edits there). */
	const struct env_entry *entry;          /* the DSN value (URI/JDBC/KV) */
	const struct env_entry *user_entry;     /* split settings: user variable */
	const struct env_entry *password_entry; /* split or separate PGPASSWORD */
	const char *defined_file;
	int defined_line;
	int pool_hint;          /* from the DSN itself (pool_max_conns, ...), 0 if none */
	int read_only;          /* default_transaction_read_only in the DSN options */
	const struct env_entry *read_only_via; /* ... or in this variable (PGOPTIONS) */
};

struct plan_service {
	const struct service *svc;
	const char *name;
	enum svc_class cls;
	enum svc_action action;
	const char *reason;
	struct evidence_item *evidence;
	size_t nevidence, evidence_alloc;
	struct plan_conn *conns;
	size_t nconns, conns_alloc;
	int pool;               /* connections one replica may open */
	const char *pool_source;/* "DB_POOL_SIZE=8", "default", "config", ... */
	int order_hint;         /* from the config; 0 = none */
	const char *role;       /* the role it flips to */
	const char *role_override; /* from the config */
	int limit_override;     /* from the config; 0 = none */
	int observed_peak;      /* live: sessions seen for its user, 0 = unknown */
	int shared_literal;     /* one of its DSN literals is shared with another service */
};

struct role_setting {
	const char *key;
	const char *value;
};

struct plan_role {
	const char *name;
	enum role_kind kind;
	const char **databases;
	size_t ndatabases;
	int connection_limit;
	const char *limit_source;
	const char **services;
	size_t nservices;
	struct role_setting *settings;
	size_t nsettings;
	int shared_origin;      /* services share one literal */
	int held;               /* prepared for held services only */
};

struct budget_row {
	const char *role;
	int limit;              /* -1: unlimited (existing role without a limit) */
	const char *source;     /* "plan" or "existing" */
};

struct plan_server {
	int max_connections;
	int superuser_reserved;
	int reserved;           /* reserved_connections (PG16+) */
	int headroom;
	const char *source;     /* "live", "offline" or "config" */
	const char *version;    /* live only */
	const char *timescaledb;/* live: extension version, or NULL */
	const char *derived;    /* live through a connection derived from the stack: how */
};

struct plan_kept {
	const char *database;
	const char *kind;
	const char *object;     /* schema.name */
	const char *owner;
};

struct plan_budget {
	int available;
	int planned;
	int ok;
	struct budget_row *rows;
	size_t nrows;
	int superuser_sessions; /* live */
};

/* Facts from the live server (filled by the pg module for `--db`). */
struct live_role {
	const char *name;
	int superuser;
	int can_login;
	int connection_limit;   /* -1 = none */
	int sessions;           /* live sessions now */
	int peak;               /* the highest count observed, if known */
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
	int queries;            /* statements discovery ran */
	long elapsed_ms;        /* wall time of discovery */
	size_t objects;         /* application objects seen (all databases) */
	struct arena arena;     /* owns everything above */
};

struct plan {
	struct arena arena;
	const struct compose_project *project;
	const char *project_name;
	struct plan_server server;
	struct plan_service *services;
	size_t nservices, services_alloc;
	struct plan_role *roles;
	size_t nroles, roles_alloc;
	struct plan_budget budget;
	const char **order;
	size_t norder;
	struct strvec warnings;
	int blocking;           /* a warning that makes `plan` exit 3 */
	/* Live: objects in the application schemas that stay with their (non-superuser) owner. */
	struct plan_kept *kept;
	size_t nkept;
	struct strmap service_index; /* name -> index + 1, built after detection */
	struct strmap role_index;    /* name -> index + 1 */
};

/* Options that shape a plan beyond the stack and the config. */
struct plan_opts {
	const char *const *assume; /* "SERVICE=CLASS" from --assume */
	size_t nassume;
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

const struct plan_service *plan_service(const struct plan *plan, const char *name);
const struct plan_role *plan_role(const struct plan *plan, const char *name);

/* detect.c: connections, classes and evidence (the first half of plan_build). */
int detect_services(struct plan *plan, const struct config *cfg,
		    const struct plan_opts *opts, struct diag *d);
void plan_add_evidence(struct plan *plan, struct plan_service *ps, const char *file, int line,
		       const char *text, const char *kind);
void plan_warn(struct plan *plan, int blocking, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

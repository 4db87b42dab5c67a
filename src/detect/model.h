/*
 * model: the plan's data, shared by the stages that fill it.
 *
 * detect fills the services, their connections, classes and evidence;
 * plan (plan.c) adds the roles, limits, the budget, the order and each
 * connection's flip; everything after reads it.  It is plain data in its
 * own arena: nothing here does I/O, and JSON in and out of it goes
 * through plan/plan_json only.  It lives in the detect stage, the first
 * that fills it, so no earlier stage ever needs a later one.
 */
#ifndef DSNFLIP_MODEL_H
#define DSNFLIP_MODEL_H

#include <stddef.h>
#include "util/arena.h"
#include "util/buf.h"
#include "stack/compose.h"
#include "util/diag.h"
#include "util/strmap.h"

struct config;
struct image_source;

/*
 * A pool size hint (POOL_SIZE=, pool_max_conns=, ...) is a whole number from
 * 1 to PostgreSQL's ceiling on max_connections: a value outside that cannot
 * be a real pool, and keeping it bounded keeps the budget arithmetic far
 * from int overflow.
 */
#define POOL_HINT_MAX 262143

enum svc_class { CLASS_MIGRATOR, CLASS_WRITER, CLASS_READER, CLASS_UNCONFIRMED };
enum svc_action { ACTION_FLIP, ACTION_HOLD, ACTION_SKIP };
enum role_kind { ROLE_OWNER, ROLE_WRITER, ROLE_READER };
/*
 * CONN_ARG: a DSN passed in the command's arguments (--database-url=...);
 * CONN_UNKNOWN: the service talks to a server (its environment names the
 * server's host and a user, or it depends_on the server) but its connection
 * cannot be read.  Neither can be rewritten by branch.
 */
enum conn_form { CONN_URI, CONN_JDBC, CONN_KV, CONN_SPLIT, CONN_ARG, CONN_UNKNOWN };

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

/*
 * A value after the flip, at compose level: parts joined by the password
 * reference (nparts is one more than the references it holds; one part:
 * no reference).  Who writes it picks the reference's wording: the branch
 * "${ROLE_PASSWORD:?ROLE_PASSWORD must be set}", deploy's override the same
 * with why dsnflip passes it (flip_text_render, plan/flip.h).
 */
struct flip_text {
	const char **parts;
	size_t nparts;
};

/* What a site holds. */
enum flip_kind {
	FLIP_URI, FLIP_KV, FLIP_JDBC,   /* a whole connection string */
	FLIP_USER, FLIP_PASSWORD,       /* split settings, or PGUSER/PGPASSWORD beside a DSN */
};

/* One literal `branch` edits: bytes [start, end) of file. */
struct flip_site {
	enum flip_kind kind;
	const char *key;          /* the service's variable it sets */
	const struct srcfile *file;
	int line, col;
	size_t start, end;
	int yaml, list_form;      /* a YAML scalar (list form: "- KEY=..."), else an env-file value */
	int reference;            /* the site is a "${VAR}" reference: VAR itself (shared,
	                             often with the server) is left alone */
	int in_default;           /* the DSN is the default of "${VAR:-...}" */
	int user, password;       /* a DSN: its user / password is rewritten */
	struct flip_text text;    /* the literal's compose-level text after the flip */
	const char *label;        /* "services.api.DATABASE_URL", for messages */
};

/* One variable of the service after the flip: what deploy's override sets. */
struct flip_setting {
	const char *key;
	struct flip_text value;   /* from the value the service gets now, $ escaped as $$ */
};

/* A connection's switch to its role, worked out once (plan/flip.c). */
struct plan_flip {
	const char *role;
	const char *password_var; /* ROLE_PASSWORD */
	struct flip_site *sites;
	size_t nsites;
	struct flip_setting *settings;
	size_t nsettings;
	/* NULL, or why `branch` cannot make it and what to do ("file:line:col: ...");
	 * plan reports it as a blocking warning. */
	const char *blocked;
	/* NULL, or a site's file git does not track: why ("git ignores it"); branch
	 * leaves that file out and the runbook gives the line to change by hand. */
	const char *untracked;
	const char *untracked_file;
	/* Other services whose value is one of these literals ("cron, worker"), or NULL. */
	const char *shared_with;
};

struct plan_conn {
	const char *variable;   /* the env var holding the DSN, or the user variable (split) */
	enum conn_form form;
	const char *host;
	int port;
	const char *database;
	const char *user;       /* NULL: libpq default */
	int superuser;
	/*
	 * How `superuser` was decided: "name" (postgres, or libpq's default
	 * user), "server_env" (the server's image family and environment),
	 * "config" (listed under superusers: in dsnflip.yml),
	 * "live" (the server's rolsuper), "unknown" (offline, the server or its
	 * users cannot be identified: superuser is 0 but not known, a blocking
	 * warning asks for --db).
	 */
	const char *superuser_by;
	const char *server;     /* the service name of the server it points at, or NULL */
	const char *role;       /* planned role, or NULL */
	/* Where the user and password literally live (the branch edits there). */
	const struct env_entry *entry;          /* the DSN value (URI/JDBC/KV) */
	const struct env_entry *user_entry;     /* split settings: user variable */
	const struct env_entry *password_entry; /* split or separate PGPASSWORD */
	const char *defined_file;
	int defined_line;
	/*
	 * The password it sends (the DSN's, else PGPASSWORD's or the split
	 * password variable's), NULL when none; dsn_password: the DSN itself
	 * holds one.  In memory only: never printed, never in the JSON.
	 */
	const char *password;
	int dsn_password;
	int pool_hint;          /* from the DSN itself (pool_max_conns, ...), 0 if none */
	int read_only;          /* default_transaction_read_only in the DSN options */
	const struct env_entry *read_only_via; /* ... or in this variable (PGOPTIONS) */
	struct plan_flip *flip; /* flipped (a superuser connection of a flipped service): its switch */
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
	const char *class_reason; /* why its class (reason says why its action) */
	const char *migrations_dir; /* unconfirmed only because its build context ships this directory */
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
	/*
	 * The server it is created on: the stack's server service its
	 * connections point at, else the host they name, NULL when they name
	 * none.  A service connecting to two servers has a role on each; names
	 * stay unique across servers (the second server's takes its name).
	 */
	const char *server;
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
	int max_connections;    /* the figures it was computed from */
	const char *source;     /* "live", "offline" or "config" */
	const char *server;     /* whose budget (plan_role.server) */
};

/* A PostgreSQL server of the stack, as detect recognised it. */
struct plan_dbserver {
	const char *name;       /* the service */
	const char *why;        /* "image postgres:16", "db/Dockerfile: FROM postgis/postgis", ... */
	const char **superusers;
	size_t nsuperusers;
	int superusers_known;   /* every superuser of it is listed */
};

struct plan {
	struct arena arena;
	const struct compose_project *project;
	const char *project_name;
	struct plan_server server;
	struct plan_service *services;
	size_t nservices, services_alloc;
	struct plan_dbserver *db_servers;
	size_t ndb_servers, db_servers_alloc;
	struct plan_role *roles;
	size_t nroles, roles_alloc;
	/* The primary server's budget: the live one's with --db, else the first's. */
	struct plan_budget budget;
	/* One budget per server the roles are on (budget is one of them). */
	struct plan_budget *budgets;
	size_t nbudgets;
	/* The servers the roles are on, in plan order (an entry may be NULL: no host). */
	const char **servers;
	size_t nservers;
	/* With live facts: the server they describe (NULL: not live, or the only one). */
	const char *live_server;
	const char **order;
	size_t norder;
	struct strvec warnings;
	int blocking;           /* a warning that makes `plan` exit 3 */
	/* Live: objects in the application schemas that stay with their (non-superuser) owner. */
	struct plan_kept *kept;
	size_t nkept;
	struct strmap service_index; /* name -> index + 1, built after detection */
	struct strmap role_index;    /* name -> index + 1 */
	struct strmap warning_index; /* plan_warn: each text said once (a large stack says thousands) */
};

/*
 * Whether git tracks a file (given by the caller, which may open the
 * repository; the plan itself never does): 1 committed, 0 not (*why: "git
 * ignores it", "not committed"), -1 unknown (no repository).
 */
typedef int (*plan_tracked_fn)(void *ctx, const struct srcfile *f, const char **why);

/* Options that shape a plan beyond the stack and the config. */
struct plan_opts {
	const char *const *assume; /* "SERVICE=CLASS" from --assume */
	size_t nassume;
	plan_tracked_fn tracked;   /* NULL: not known */
	void *tracked_ctx;
	/* Where images can be read (detect/imagescan.h), or NULL: not at all. */
	const struct image_source *images;
};

const struct plan_service *plan_service(const struct plan *plan, const char *name);
/* Are two plan_role.server values the same server (NULL: the unnamed one)? */
int plan_same_server(const char *a, const char *b);
/* How a server is named to a user: "db", or "(no host)" for NULL. */
const char *plan_server_label(const char *server);
/* Does the role belong to the server (always, when the plan has one server)? */
int plan_role_on(const struct plan *plan, const struct plan_role *r, const char *server);
const struct plan_role *plan_role(const struct plan *plan, const char *name);

/* Add evidence to ps (text masked); record a warning (once; blocking: plan exits 3). */
void plan_add_evidence(struct plan *plan, struct plan_service *ps, const char *file, int line,
		       const char *text, const char *kind);
void plan_warn(struct plan *plan, int blocking, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

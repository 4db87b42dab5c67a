/*
 * config: dsnflip.yml, the operator's decisions where detection cannot know.
 *
 *   headroom: 2                  # admin connections kept free
 *   window: 30s                  # deploy watch window
 *   server:                      # when there is no live server to ask
 *     max_connections: 100
 *     superuser_reserved_connections: 3
 *     reserved_connections: 0
 *   services:
 *     gateway: {class: writer, role: gateway_app, connection_limit: 15, order: 1}
 *   roles:
 *     dashboard_app: {connection_limit: 8, settings: {statement_timeout: 30s}}
 *     legacy_app: {adopt: true}   # an existing role dsnflip did not create
 *   defaults:
 *     settings: {idle_session_timeout: 1h}          # every role
 *     reader_settings: {statement_timeout: 60s}     # readers only
 *   keep: [reporting.v_trips]    # objects that stay with their owner
 *   patterns:
 *     migration: ["bin/migrate-db"]
 *     failure: ["relation .* does not exist"]
 *   superusers: [admin]          # roles that are superusers besides postgres
 *                                # and the server image's POSTGRES_USER
 *   lint:
 *     disable: [held-unsettled]  # `dsnflip lint` rules not to report
 *   allow_paths: [/srv/shared/db.env]  # files outside the repository it may read
 *
 * Unknown keys are errors naming file:line:col, so a typo never silently
 * changes a production plan.
 */
#ifndef DSNFLIP_CONFIG_H
#define DSNFLIP_CONFIG_H

#include <stddef.h>
#include "util/arena.h"
#include "util/buf.h"
#include "util/diag.h"
#include "stack/ydoc.h"

struct config_service {
	const char *name;
	struct ypos pos;
	const char *cls;        /* "migrator", "writer", "reader" or NULL */
	struct ypos cls_pos;
	const char *role;
	int connection_limit;   /* 0 = not set */
	int order;              /* 0 = not set */
};

struct config_kv {
	const char *key;
	const char *value;
	struct ypos pos;        /* of the key, for errors found later (on the server) */
};

struct config_role {
	const char *name;
	struct ypos pos;
	int connection_limit;
	struct config_kv *settings;
	size_t nsettings;
	int adopt;              /* the role exists, dsnflip did not create it: manage it anyway */
};

struct config_name {
	const char *name;
	struct ypos pos;
};

/* A place in the config file, for errors found after it loaded. */
struct config_pos {
	int line, col;
};

struct config {
	struct arena arena;
	const char *path;       /* display path, NULL when there is no config */
	int headroom;           /* -1 = default */
	int window_seconds;     /* -1 = default */
	int max_connections, superuser_reserved, reserved; /* -1 = not set */
	struct config_service *services;
	size_t nservices;
	struct config_role *roles;
	size_t nroles;
	struct config_kv *settings;        /* every role */
	size_t nsettings;
	struct config_kv *reader_settings; /* readers */
	size_t nreader_settings;
	const char **keep;
	size_t nkeep;
	const char **migration_patterns;
	struct config_pos *migration_pattern_pos; /* where each is written, for messages */
	size_t nmigration_patterns;
	const char **failure_patterns;
	size_t nfailure_patterns;
	const char **superusers;           /* known superusers (besides postgres) */
	size_t nsuperusers;
	struct config_name *lint_disable;  /* lint rule ids not to report */
	size_t nlint_disable;
	/* Files or directories outside the repository that the stack may
	 * reference (env_file, include, extends, Dockerfiles, scripts): absolute,
	 * relative ones resolved against the config file's directory. */
	const char **allow_paths;
	size_t nallow_paths;
};

/* Load path (display names it in messages).  Returns 0 or -1 with file:line:col. */
int config_load(const char *path, const char *display, struct config **out, struct diag *d);
/* An empty config (every value at its default). */
struct config *config_empty(void);
void config_free(struct config *c);
const struct config_service *config_service(const struct config *c, const char *name);
const struct config_role *config_role(const struct config *c, const char *name);
/* Parse "30s", "5min", "2m", "1h", "250ms" into seconds (ms rounded up); -1 if bad. */
int parse_duration(const char *s);

#endif

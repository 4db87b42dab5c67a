/*
 * compose: load a Docker Compose project the way `docker compose` (v2) does.
 *
 * Discovery, COMPOSE_FILE, the project name, .env and --env-file,
 * interpolation, several -f files merged, `extends`, `include`, profiles,
 * env_file and environment.  The result is the effective configuration of
 * every service, and for every environment value its origin: the file and
 * byte span where its literal text lives (a compose file, an anchor, an
 * extends base, an env_file or .env), because the branch command edits the
 * value there and nowhere else.
 */
#ifndef DSNFLIP_COMPOSE_H
#define DSNFLIP_COMPOSE_H

#include <stddef.h>
#include "util/arena.h"
#include "util/buf.h"
#include "util/diag.h"
#include "stack/ydoc.h"

enum origin_kind {
	ORIGIN_YAML,    /* a scalar in a compose file */
	ORIGIN_ENVFILE, /* a value in an env_file or .env */
	ORIGIN_PROCESS, /* the process environment: no file to edit */
};

struct origin {
	enum origin_kind kind;
	struct ypos pos;           /* the literal's span (YAML, ENVFILE) */
	const char *raw;           /* the literal text at pos before interpolation */
	int list_form;             /* YAML "- KEY=VALUE": pos spans the whole item */
	int quote;                 /* ENVFILE: 0, '\'' or '"' */
	const struct origin *via;  /* the whole-value "${VAR}" reference (written elsewhere)
	                              through which this literal was reached, or NULL */
	const char *var;           /* with via: the variable's name */
};

struct env_entry {
	const char *key;
	const char *value; /* never NULL: a bare key with nothing to inherit is left out */
	struct origin origin;
};

/*
 * command: or entrypoint: as written (the loader has checked it is a string
 * or a list of strings): the string form, which a shell runs, or the list
 * form (exec).
 */
struct service_cmd {
	const char *shell;         /* the string form, else NULL */
	const char *const *argv;   /* the list form's items, else NULL */
	size_t argc;
	struct ypos pos;           /* where the value is written */
};

struct service {
	const char *name;
	struct ypos name_pos;
	size_t order;              /* position in file order */
	const struct ynode *node;  /* effective (merged, interpolated) definition */
	const char *image;
	struct ypos image_pos;
	int has_build;
	const char *build_context; /* relative to the project dir; NULL if remote */
	const char *dockerfile;    /* relative to the project dir */
	struct ypos build_pos;
	const struct service_cmd *command;    /* NULL when absent (or null) */
	const struct service_cmd *entrypoint;
	struct env_entry *env;
	size_t nenv;
	int replicas;              /* deploy.replicas or scale; 1 by default */
	int publishes_ports;
	const char *network_mode;
	int enabled;               /* its profiles are active */
	const char *const *profiles;
	size_t nprofiles;
	const char *extends_from;  /* "service" or "file:service" when extended */
};

struct project_var {
	const char *name;
	const char *value;
	struct origin origin;
};

struct compose_project {
	struct arena arena;
	const char *name;
	const char *dir;           /* absolute project directory: the first compose file's */
	const char **files;        /* the compose files given/discovered, relative to dir */
	size_t nfiles;
	struct srcfile **sources;  /* every file read (compose, extends, include, env) */
	size_t nsources, sources_alloc;
	struct service *services;
	size_t nservices;
	struct project_var *vars;  /* the project environment: .env < process */
	size_t nvars, vars_alloc;
	struct strvec warnings;    /* "file:line:col: path: variable 'X' is not set, using \"\"", ... */
	/* What the stack may read: files below root (the git work tree holding
	 * the project directory, else the project directory itself; real path)
	 * or below an allow_paths entry of dsnflip.yml (real paths). */
	const char *root;
	int root_is_repo;
	const char **allow;
	size_t nallow;
	struct compose_memo *memo; /* compose_path_allowed's answers, per path */
};

struct compose_opts {
	const char *dir;            /* -C: where compose would run (-f, COMPOSE_FILE, --env-file
	                               and discovery start here); NULL = "." */
	const char *const *files;   /* -f, in order */
	size_t nfiles;
	const char *project_name;   /* -p */
	const char *const *env_files; /* --env-file, in order */
	size_t nenv_files;
	const char *const *profiles;  /* --profile */
	size_t nprofiles;
	char *const *environ;       /* the process environment ("K=V"); NULL = none */
	const char *config_path;    /* --config: where allow_paths is read; NULL = the
	                               project directory's dsnflip.yml */
	struct ylimits limits;
	unsigned interp_flags;      /* INTERP_* (stack/interp.h): lint reads a stack whose
	                               password references are unset (SECRETS_OPTIONAL) */
	int all_profiles;           /* no --profile: every service is enabled, whatever
	                               COMPOSE_PROFILES says (lint checks them all) */
};
#define COMPOSE_OPTS_INIT { .limits = YLIMITS_DEFAULT }

/* Load the project; *out is freed with compose_free().  Errors name file:line:col. */
int compose_load(const struct compose_opts *opts, struct compose_project **out, struct diag *d);
void compose_free(struct compose_project *p);

const struct service *compose_service(const struct compose_project *p, const char *name);
const struct env_entry *service_env(const struct service *s, const char *key);
/* The variable from the project environment, or NULL. */
const struct project_var *compose_var(const struct compose_project *p, const char *name);
/*
 * May the stack read abs?  Yes when its real path is below p->root or an
 * allow_paths entry, or when it does not resolve (then reading it fails on
 * its own, with its own message).  The files named on the command line
 * (-f, --env-file) are never asked about: the operator chose them.
 */
int compose_path_allowed(const struct compose_project *p, const char *abs);
/* "file:line" of an origin, or "environment" for the process. */
void origin_describe(const struct origin *o, struct buf *out);

#endif

/*
 * cli: the parsed command line and the session every command starts from.
 *
 * Global options (as docker compose spells them) may appear before or after
 * the command name; command options are parsed into the same struct and
 * each command checks that it only got the ones it takes.
 */
#ifndef DSNFLIP_CLI_H
#define DSNFLIP_CLI_H

#include "util/buf.h"
#include "stack/compose.h"
#include "stack/config.h"
#include "util/diag.h"
#include "plan/plan.h"
#include "plan/report.h"

struct cli {
	const char *dir;          /* -C */
	struct strvec files;      /* -f */
	const char *project;      /* -p */
	struct strvec env_files;  /* --env-file */
	struct strvec profiles;   /* --profile */
	const char *config;       /* --config */
	const char *db;           /* --db */
	int offline;              /* --offline: never read the server, even when derivable */
	const char *format;       /* --format */
	int quiet, verbose;
	struct strvec assume;     /* --assume SERVICE=CLASS */
	const char *name;         /* branch --name */
	const char *base;         /* branch --base */
	int force;                /* branch --force */
	const char *window;       /* deploy --window */
	int resume;               /* deploy --resume */
	int all;                  /* rollback --all */
	const char *compose_cmd;  /* deploy --compose-cmd */
	const char *lock_timeout; /* roles --lock-timeout */
	const char *fail_on;      /* lint --fail-on */
	struct strvec args;       /* positional arguments after the command */
	const char *command;
	char *const *environ;     /* the process environment */
	int color;                /* stdout is a terminal and NO_COLOR is unset */
	unsigned seen;            /* which command options were given (CLI_OPT_*) */
};

enum {
	CLI_OPT_FORMAT = 1u << 0, CLI_OPT_ASSUME = 1u << 1, CLI_OPT_NAME = 1u << 2,
	CLI_OPT_BASE = 1u << 3, CLI_OPT_FORCE = 1u << 4, CLI_OPT_WINDOW = 1u << 5,
	CLI_OPT_RESUME = 1u << 6, CLI_OPT_ALL = 1u << 7, CLI_OPT_COMPOSE_CMD = 1u << 8,
	CLI_OPT_LOCK_TIMEOUT = 1u << 9, CLI_OPT_FAIL_ON = 1u << 10,
};

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
/* Load stack, config and plan as the options say.  Returns 0 or -1 with d. */
int session_open(const struct cli *cli, struct session *s, struct diag *d);
/* session_open, changed as so says (NULL: not at all). */
struct session_opts {
	int offline;           /* never read the server */
	int own_format;        /* the command parses --format itself */
	unsigned interp_flags; /* INTERP_* for the compose loader */
	const char *dir;       /* instead of -C (files, env files: mapped by the caller) */
	const char *config;    /* instead of --config's path (messages keep --config's) */
};
int session_open_with(const struct cli *cli, const struct session_opts *so, struct session *s,
		      struct diag *d);
void session_close(struct session *s);
/* Reject command options the command does not take (allowed: CLI_OPT_* mask). */
int cli_check_options(const struct cli *cli, unsigned allowed, struct diag *d);

int cmd_plan(struct cli *cli);
int cmd_config(struct cli *cli);
int cmd_help(struct cli *cli);
int cmd_roles(struct cli *cli);
int cmd_branch(struct cli *cli);
int cmd_lint(struct cli *cli);

#endif

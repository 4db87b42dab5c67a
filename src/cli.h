/*
 * cli: the parsed command line.
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

struct cli {
	const char *dir;          /* -C */
	struct strvec files;      /* -f */
	const char *project;      /* -p */
	struct strvec env_files;  /* --env-file */
	struct strvec profiles;   /* --profile */
	const char *config;       /* --config */
	const char *db;           /* --db */
	int offline;              /* --offline: never read the server, even when derivable */
	int no_engine;            /* --no-engine: never read images on the Docker engine */
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
	const char *driver;       /* deploy/rollback/status --driver compose|swarm */
	const char *lock_timeout; /* roles --lock-timeout */
	int restart;              /* observe --restart */
	int cleanup;              /* observe --cleanup */
	int write_config;         /* observe --write-config */
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
	CLI_OPT_LOCK_TIMEOUT = 1u << 9, CLI_OPT_FAIL_ON = 1u << 10, CLI_OPT_RESTART = 1u << 11,
	CLI_OPT_CLEANUP = 1u << 12, CLI_OPT_WRITE_CONFIG = 1u << 13, CLI_OPT_DRIVER = 1u << 14,
};

/* Reject command options the command does not take (allowed: CLI_OPT_* mask). */
int cli_check_options(const struct cli *cli, unsigned allowed, struct diag *d);

/*
 * The one place a command's failure is printed ("dsnflip: MESSAGE" on
 * stderr) and its exit code chosen (d->code).  Releases d.
 */
int cli_fail(struct diag *d);
/* The same for a command that chose its code itself: prints d when set; returns code. */
int cli_finish(int code, struct diag *d);

/* The commands (src/cmd/cmd-*.c), each returning its exit code. */
int cmd_plan(struct cli *cli);
int cmd_config(struct cli *cli);
int cmd_help(struct cli *cli);
int cmd_roles(struct cli *cli);
int cmd_branch(struct cli *cli);
int cmd_deploy(struct cli *cli);
int cmd_rollback(struct cli *cli);
int cmd_status(struct cli *cli);
int cmd_observe(struct cli *cli);
int cmd_finish(struct cli *cli);
int cmd_lint(struct cli *cli);

#endif

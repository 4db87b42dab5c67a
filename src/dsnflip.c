/*
 * dsnflip: main and the command table.
 *
 * Parses the global and command options into a struct cli, finds the
 * command and runs it.  Commands return the exit code (PRODUCT.md §1):
 * 0 ok, 1 an operation failed, 2 usage or input error, 3 plan over budget.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

struct command {
	const char *name;
	int (*fn)(struct cli *cli);
	const char *usage;
	const char *help;
};

static const struct command commands[] = {
	{ "plan", cmd_plan, "plan [--format text|json|markdown] [--assume SERVICE=CLASS]...",
	  "read the stack (and the live server with --db) and print the plan; writes nothing" },
	{ "config", cmd_config, "config [--format text|json]",
	  "print the effective stack with the origin of every environment value (secrets masked)" },
	{ "deploy", cmd_deploy, "deploy [SERVICE...] [--window 30s] [--resume] [--driver compose|swarm] [--compose-cmd CMD]",
	  "switch services to their new roles one at a time, rolling back any that fails" },
	{ "rollback", cmd_rollback, "rollback SERVICE...|--all [--driver compose|swarm] [--compose-cmd CMD]",
	  "put services back on their old DSN (recreated, verified healthy)" },
	{ "status", cmd_status, "status [--format text|json] [--driver compose|swarm]",
	  "what every service really connects as, connections per role, superuser sessions left" },
	{ "branch", cmd_branch, "branch [--name B] [--base REV] [--force] [--format text|json] [--assume SERVICE=CLASS]...",
	  "commit the flip (rewritten files, role SQL, runbook, plan) as one commit on branch B "
	  "(default dsnflip/off-superuser); never touches the work tree, the index or HEAD" },
	{ "roles", cmd_roles, "roles sql [DATABASE] | roles check | roles apply [--format text|json] [--lock-timeout 2s]",
	  "the role SQL per database; check it on the server (rolled back); apply it" },
	{ "observe", cmd_observe,
	  "observe [SERVICE...] [--window 10m] [--restart] [--cleanup] [--write-config] [--format text|json]",
	  "watch what held services do on the server (DDL, writes, reads) and class them; "
	  "removes everything it installed" },
	{ "finish", cmd_finish, "finish [--window 10s] [--format text|json]",
	  "prove no service uses the superuser any more, then rotate its password (SCRAM verifier, "
	  "proved by a new connection); budget re-check; pg_hba.conf suggestion" },
	{ "lint", cmd_lint, "lint [--format text|json|sarif|github] [--fail-on error|warning|note] [--base REV]",
	  "check the stack offline for what puts it (back) on the superuser; for CI and code review" },
	{ "help", cmd_help, "help [COMMAND]", "show usage" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_usage[] =
	"usage: dsnflip [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
	"\n"
	"global options:\n"
	"  -C DIR              the compose project directory (default .)\n"
	"  -f FILE             a compose file (repeatable; default COMPOSE_FILE or discovery)\n"
	"  -p NAME             the project name\n"
	"  --env-file FILE     an env file instead of .env (repeatable)\n"
	"  --profile NAME      activate a profile (repeatable)\n"
	"  --config FILE       dsnflip.yml (default DIR/dsnflip.yml when present)\n"
	"  --db CONNINFO       the admin connection (libpq URI or key=value)\n"
	"  --offline           never read the server nor the images (no --db, nothing derived)\n"
	"  --no-engine         never read images on the Docker engine\n"
	"  -q, -v              quieter, more verbose\n"
	"\n"
	"commands:\n";

static void usage(FILE *fp)
{
	fputs(global_usage, fp);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].help);
	fputs("\nexit codes: 0 ok, 1 an operation failed (lint: findings), 2 usage or input error, "
	      "3 plan: budget exceeded or a blocking warning\n", fp);
}

int cmd_help(struct cli *cli)
{
	if (cli->args.nr) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (!strcmp(commands[i].name, cli->args.v[0])) {
				printf("usage: dsnflip %s\n\n%s\n", commands[i].usage, commands[i].help);
				return EXIT_OK;
			}
		fprintf(stderr, "dsnflip: no command '%s'\n", cli->args.v[0]);
		return EXIT_INPUT;
	}
	usage(stdout);
	return EXIT_OK;
}

int cli_check_options(const struct cli *cli, unsigned allowed, struct diag *d)
{
	static const char *const names[] = { "--format", "--assume", "--name", "--base", "--force",
					     "--window", "--resume", "--all", "--compose-cmd",
					     "--lock-timeout", "--fail-on", "--restart", "--cleanup", "--write-config",
					     "--driver" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((cli->seen & (1u << i)) && !(allowed & (1u << i)))
			return diag_err(d, "'%s' does not take %s", cli->command, names[i]);
	return 0;
}

int cli_finish(int code, struct diag *d)
{
	if (d->set)
		fprintf(stderr, "dsnflip: %s\n", d->msg.buf);
	diag_release(d);
	return code;
}

int cli_fail(struct diag *d)
{
	if (!d->set)
		diag_fail(d, "failed");
	return cli_finish(d->code ? d->code : EXIT_FAILED, d);
}

/* "--opt=value" or "--opt value"; returns the value or NULL (error printed). */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (a[n] == '=')
		return a + n + 1;
	if (name[1] != '-' && a[n]) /* -Cdir */
		return a + n;
	if (*i + 1 >= argc) {
		fprintf(stderr, "dsnflip: %s needs a value\n", name);
		return NULL;
	}
	return argv[++*i];
}

static int is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return 0;
	return a[n] == '\0' || a[n] == '=' || (name[1] != '-' && a[n]);
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				strvec_push(&cli->args, argv[i]);
			break;
		}
#define VALUE(name) ((v = opt_value(argc, argv, &i, name)) != NULL)
		if (is_opt(a, "-C")) {
			if (!VALUE("-C")) return -1;
			cli->dir = v;
		} else if (is_opt(a, "-f")) {
			if (!VALUE("-f")) return -1;
			strvec_push(&cli->files, v);
		} else if (is_opt(a, "-p")) {
			if (!VALUE("-p")) return -1;
			cli->project = v;
		} else if (is_opt(a, "--env-file")) {
			if (!VALUE("--env-file")) return -1;
			strvec_push(&cli->env_files, v);
		} else if (is_opt(a, "--profile")) {
			if (!VALUE("--profile")) return -1;
			strvec_push(&cli->profiles, v);
		} else if (is_opt(a, "--config")) {
			if (!VALUE("--config")) return -1;
			cli->config = v;
		} else if (is_opt(a, "--db")) {
			if (!VALUE("--db")) return -1;
			cli->db = v;
		} else if (is_opt(a, "--format")) {
			if (!VALUE("--format")) return -1;
			cli->format = v;
			cli->seen |= CLI_OPT_FORMAT;
		} else if (is_opt(a, "--assume")) {
			if (!VALUE("--assume")) return -1;
			strvec_push(&cli->assume, v);
			cli->seen |= CLI_OPT_ASSUME;
		} else if (is_opt(a, "--name")) {
			if (!VALUE("--name")) return -1;
			cli->name = v;
			cli->seen |= CLI_OPT_NAME;
		} else if (is_opt(a, "--base")) {
			if (!VALUE("--base")) return -1;
			cli->base = v;
			cli->seen |= CLI_OPT_BASE;
		} else if (is_opt(a, "--window")) {
			if (!VALUE("--window")) return -1;
			cli->window = v;
			cli->seen |= CLI_OPT_WINDOW;
		} else if (is_opt(a, "--compose-cmd")) {
			if (!VALUE("--compose-cmd")) return -1;
			cli->compose_cmd = v;
			cli->seen |= CLI_OPT_COMPOSE_CMD;
		} else if (is_opt(a, "--driver")) {
			if (!VALUE("--driver")) return -1;
			cli->driver = v;
			cli->seen |= CLI_OPT_DRIVER;
		} else if (is_opt(a, "--fail-on")) {
			if (!VALUE("--fail-on")) return -1;
			cli->fail_on = v;
			cli->seen |= CLI_OPT_FAIL_ON;
		} else if (is_opt(a, "--lock-timeout")) {
			if (!VALUE("--lock-timeout")) return -1;
			cli->lock_timeout = v;
			cli->seen |= CLI_OPT_LOCK_TIMEOUT;
		} else if (!strcmp(a, "--offline")) {
			cli->offline = 1;
		} else if (!strcmp(a, "--no-engine")) {
			cli->no_engine = 1;
		} else if (!strcmp(a, "--force")) {
			cli->force = 1;
			cli->seen |= CLI_OPT_FORCE;
		} else if (!strcmp(a, "--restart")) {
			cli->restart = 1;
			cli->seen |= CLI_OPT_RESTART;
		} else if (!strcmp(a, "--cleanup")) {
			cli->cleanup = 1;
			cli->seen |= CLI_OPT_CLEANUP;
		} else if (!strcmp(a, "--write-config")) {
			cli->write_config = 1;
			cli->seen |= CLI_OPT_WRITE_CONFIG;
		} else if (!strcmp(a, "--resume")) {
			cli->resume = 1;
			cli->seen |= CLI_OPT_RESUME;
		} else if (!strcmp(a, "--all")) {
			cli->all = 1;
			cli->seen |= CLI_OPT_ALL;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cli->quiet = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cli->verbose = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			if (!cli->command)
				cli->command = "help";
			else {
				strvec_push(&cli->args, cli->command);
				cli->command = "help";
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "dsnflip: unknown option '%s'\n", a);
			return -1;
		} else if (!cli->command) {
			cli->command = a;
		} else {
			strvec_push(&cli->args, a);
		}
#undef VALUE
	}
	return 0;
}

static void cli_release(struct cli *cli)
{
	strvec_clear(&cli->files);
	strvec_clear(&cli->env_files);
	strvec_clear(&cli->profiles);
	strvec_clear(&cli->assume);
	strvec_clear(&cli->args);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int code = EXIT_INPUT;

	cli.environ = environ;
	cli.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (parse_args(argc, argv, &cli))
		goto out;
	if (!cli.command) {
		usage(stderr);
		goto out;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, cli.command)) {
			code = commands[i].fn(&cli);
			goto out;
		}
	fprintf(stderr, "dsnflip: '%s' is not a command; see 'dsnflip help'\n", cli.command);
out:
	cli_release(&cli);
	return code;
}

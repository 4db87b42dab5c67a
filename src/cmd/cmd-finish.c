/*
 * cmd-finish: `dsnflip finish [--window 10s] [--format text|json]` — prove
 * that no service of the stack uses the superuser any more, then rotate the
 * superuser's password (finish.c does the work).  Exit 1, nothing changed,
 * when the proof fails.
 */
#include "session.h"
#include "running/finish.h"

int cmd_finish(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct deploy_opts o;
	struct deploy_ctx dc;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_WINDOW | CLI_OPT_COMPOSE_CMD | CLI_OPT_DRIVER, &d) ||
	    (cli->args.nr && diag_err(&d, "'finish' takes no arguments (got '%s')", cli->args.v[0])) ||
	    session_deploy_open(cli, &s, &o, &dc, DEPLOY_LOCK, ADMIN_REQUIRED, &d))
		return cli_fail(&d);
	int code = finish_run(&dc, &d);
	session_deploy_close(&s, &dc);
	return cli_finish(code, &d);
}

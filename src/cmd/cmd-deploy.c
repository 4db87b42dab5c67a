/*
 * cmd-deploy: `dsnflip deploy [SERVICE...] [--window 30s] [--resume]
 * [--compose-cmd CMD]` — the staged cutover with automatic rollback
 * (deploy.c does the work).
 */
#include "session.h"
#include "running/deploy.h"

int cmd_deploy(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct deploy_opts o;
	struct deploy_ctx dc;

	if (cli_check_options(cli, CLI_OPT_WINDOW | CLI_OPT_RESUME | CLI_OPT_COMPOSE_CMD | CLI_OPT_DRIVER, &d) ||
	    session_deploy_open(cli, &s, &o, &dc, DEPLOY_NEED_COMPOSE | DEPLOY_LOCK, ADMIN_REQUIRED, &d))
		return cli_fail(&d);
	int code = deploy_run(&dc, &d);
	session_deploy_close(&s, &dc);
	return cli_finish(code, &d);
}

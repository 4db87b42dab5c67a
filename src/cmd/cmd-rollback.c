/*
 * cmd-rollback: `dsnflip rollback SERVICE...|--all` — put services back on
 * their old DSN: out of dsnflip's override, recreated, verified healthy.
 * Needs compose, not the server.
 */
#include "session.h"
#include "running/deploy.h"

int cmd_rollback(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct deploy_opts o;
	struct deploy_ctx dc;

	if (cli_check_options(cli, CLI_OPT_ALL | CLI_OPT_COMPOSE_CMD | CLI_OPT_DRIVER, &d) ||
	    session_deploy_open(cli, &s, &o, &dc, DEPLOY_NEED_COMPOSE | DEPLOY_LOCK, -1, &d))
		return cli_fail(&d);
	int code = rollback_run(&dc, &d);
	session_deploy_close(&s, &dc);
	return cli_finish(code, &d);
}

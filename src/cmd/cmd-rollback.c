/*
 * cmd-rollback: `dsnflip rollback SERVICE...|--all` — put services back on
 * their old DSN: out of dsnflip's override, recreated, verified healthy.
 * Needs compose, not the server.
 */
#include "running/deploy.h"

#include <stdio.h>

int cmd_rollback(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct deploy_ctx dc = { 0 };
	int code;

	if (cli_check_options(cli, CLI_OPT_ALL | CLI_OPT_COMPOSE_CMD, &d) ||
	    deploy_open(&dc, cli, DEPLOY_NEED_COMPOSE | DEPLOY_LOCK, &d)) {
		fprintf(stderr, "dsnflip: %s\n", d.msg.buf);
		code = d.code;
		deploy_close(&dc);
		diag_release(&d);
		return code;
	}
	code = rollback_run(&dc);
	deploy_close(&dc);
	diag_release(&d);
	return code;
}

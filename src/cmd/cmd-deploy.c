/*
 * cmd-deploy: `dsnflip deploy [SERVICE...] [--window 30s] [--resume]
 * [--compose-cmd CMD]` — the staged cutover with automatic rollback
 * (deploy.c does the work).
 */
#include "running/deploy.h"

#include <stdio.h>

int cmd_deploy(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct deploy_ctx dc = { 0 };
	int code;

	if (cli_check_options(cli, CLI_OPT_WINDOW | CLI_OPT_RESUME | CLI_OPT_COMPOSE_CMD, &d) ||
	    deploy_open(&dc, cli, DEPLOY_NEED_PG | DEPLOY_NEED_COMPOSE | DEPLOY_LOCK, &d)) {
		fprintf(stderr, "dsnflip: %s\n", d.msg.buf);
		code = d.code;
		deploy_close(&dc);
		diag_release(&d);
		return code;
	}
	code = deploy_run(&dc);
	deploy_close(&dc);
	diag_release(&d);
	return code;
}

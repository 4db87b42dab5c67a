/*
 * cmd-finish: `dsnflip finish [--window 10s] [--format text|json]` — prove
 * that no service of the stack uses the superuser any more, then rotate the
 * superuser's password (finish.c does the work).  Exit 1, nothing changed,
 * when the proof fails.
 */
#include "running/finish.h"

#include <stdio.h>

int cmd_finish(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct deploy_ctx dc = { 0 };
	int code;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_WINDOW | CLI_OPT_COMPOSE_CMD, &d) ||
	    (cli->args.nr && diag_err(&d, "'finish' takes no arguments (got '%s')", cli->args.v[0])) ||
	    deploy_open(&dc, cli, DEPLOY_NEED_PG | DEPLOY_LOCK, &d)) {
		fprintf(stderr, "dsnflip: %s\n", d.msg.buf);
		code = d.code;
		deploy_close(&dc);
		diag_release(&d);
		return code;
	}
	code = finish_run(&dc);
	deploy_close(&dc);
	diag_release(&d);
	return code;
}

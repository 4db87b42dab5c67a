/*
 * cmd-status: `dsnflip status [--format text|json]` — what every service
 * really connects as, connections per role against its limit, superuser
 * sessions left, and the journal's state.  Writes nothing; takes no lock.
 */
#include "running/deploy.h"

#include <stdio.h>

int cmd_status(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct deploy_ctx dc = { 0 };
	int code;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_COMPOSE_CMD, &d) ||
	    (cli->args.nr && diag_err(&d, "'status' takes no arguments (got '%s')", cli->args.v[0])) ||
	    deploy_open(&dc, cli, DEPLOY_SOFT_PG, &d)) {
		fprintf(stderr, "dsnflip: %s\n", d.msg.buf);
		code = d.code;
		deploy_close(&dc);
		diag_release(&d);
		return code;
	}
	code = status_run(&dc);
	deploy_close(&dc);
	diag_release(&d);
	return code;
}

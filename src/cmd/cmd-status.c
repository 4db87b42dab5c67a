/*
 * cmd-status: `dsnflip status [--format text|json]` — what every service
 * really connects as, connections per role against its limit, superuser
 * sessions left, and the journal's state.  Writes nothing; takes no lock.
 */
#include "session.h"
#include "running/status.h"

int cmd_status(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct deploy_opts o;
	struct deploy_ctx dc;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_COMPOSE_CMD | CLI_OPT_DRIVER, &d) ||
	    (cli->args.nr && diag_err(&d, "'status' takes no arguments (got '%s')", cli->args.v[0])) ||
	    session_deploy_open(cli, &s, &o, &dc, 0, ADMIN_OPTIONAL, &d))
		return cli_fail(&d);
	int code = status_run(&dc);
	session_deploy_close(&s, &dc);
	return code;
}

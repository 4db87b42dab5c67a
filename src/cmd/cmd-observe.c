/*
 * cmd-observe: `dsnflip observe [SERVICE...] [--window 10m] [--restart]
 * [--cleanup] [--write-config] [--format text|json]` — watch what held
 * services really do on the server and class them (observe.c does the
 * work).  Exit 1 when a restarted service failed or the cleanup could not
 * finish (it says how to finish it).
 */
#include "session.h"
#include "running/observe.h"

int cmd_observe(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct deploy_opts o;
	struct deploy_ctx dc;
	struct observe_opts oo = { cli->restart, cli->cleanup, cli->write_config, cli->config };

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_WINDOW | CLI_OPT_RESTART | CLI_OPT_CLEANUP |
				   CLI_OPT_WRITE_CONFIG | CLI_OPT_COMPOSE_CMD | CLI_OPT_DRIVER, &d) ||
	    (cli->cleanup && (cli->restart || cli->write_config || cli->args.nr) &&
	     diag_err(&d, "observe --cleanup only removes what an earlier observe left; it takes no "
		      "services, --restart or --write-config")) ||
	    session_deploy_open(cli, &s, &o, &dc, DEPLOY_LOCK | (cli->restart ? DEPLOY_NEED_COMPOSE : 0),
				ADMIN_REQUIRED, &d))
		return cli_fail(&d);
	int code = observe_run(&dc, &oo, &d);
	session_deploy_close(&s, &dc);
	return cli_finish(code, &d);
}

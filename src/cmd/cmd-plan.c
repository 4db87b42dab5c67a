/*
 * cmd-plan: `dsnflip plan` — read the stack (and the server) and print the
 * plan.  Writes nothing.  Exit 3 when the budget is exceeded or a warning
 * blocks the plan (the plan is still printed, so the reason is visible).
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_plan(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct buf out = BUF_INIT;
	int code;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_ASSUME, &d) ||
	    (cli->args.nr && diag_err(&d, "'plan' takes no arguments (got '%s')", cli->args.v[0])) ||
	    session_open(cli, &s, &d))
		return cli_fail(&d);
	struct report_opts ro = { .color = cli->color, .verbose = cli->verbose };
	switch (s.format) {
	case FORMAT_JSON:
		report_json_write(s.plan, stdout);
		break;
	case FORMAT_MARKDOWN:
		report_markdown(s.plan, &out);
		break;
	default:
		report_text(s.plan, &ro, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	code = s.plan->blocking || !s.plan->budget.ok ? EXIT_BUDGET : EXIT_OK;
	buf_release(&out);
	session_close(&s);
	return code;
}

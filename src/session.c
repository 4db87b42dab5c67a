/*
 * session: what every command starts from — the stack, its config and the
 * plan, loaded from the global options in one place so that `plan`,
 * `branch`, `roles` and `deploy` can never disagree about the stack.
 */
#include "cli.h"
#include "path.h"

#include <string.h>

int cli_check_options(const struct cli *cli, unsigned allowed, struct diag *d)
{
	static const char *const names[] = { "--format", "--assume", "--name", "--base", "--force",
					     "--window", "--resume", "--all", "--compose-cmd" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((cli->seen & (1u << i)) && !(allowed & (1u << i)))
			return diag_err(d, "'%s' does not take %s", cli->command, names[i]);
	return 0;
}

int session_open(const struct cli *cli, struct session *s, struct diag *d)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct plan_opts po = { 0 };

	memset(s, 0, sizeof(*s));
	s->format = FORMAT_TEXT;
	if (cli->format && report_format_parse(cli->format, &s->format))
		return diag_err(d, "--format must be text, json or markdown, not '%s'", cli->format);
	co.dir = cli->dir;
	co.files = (const char *const *)cli->files.v;
	co.nfiles = cli->files.nr;
	co.project_name = cli->project;
	co.env_files = (const char *const *)cli->env_files.v;
	co.nenv_files = cli->env_files.nr;
	co.profiles = (const char *const *)cli->profiles.v;
	co.nprofiles = cli->profiles.nr;
	co.environ = cli->environ;
	if (compose_load(&co, &s->project, d))
		return -1;

	if (cli->config) {
		if (config_load(cli->config, cli->config, &s->config, d))
			goto fail;
	} else {
		struct arena tmp = ARENA_INIT;
		char *def = path_join(&tmp, s->project->dir, "dsnflip.yml");
		int r = 0;
		if (path_exists(def))
			r = config_load(def, "dsnflip.yml", &s->config, d);
		else
			s->config = config_empty();
		arena_release(&tmp);
		if (r)
			goto fail;
	}
	po.assume = (const char *const *)cli->assume.v;
	po.nassume = cli->assume.nr;
	/* The live server's facts arrive with `--db` (roles issue); offline otherwise. */
	if (plan_build(s->project, s->config, NULL, &po, &s->plan, d))
		goto fail;
	return 0;
fail:
	session_close(s);
	return -1;
}

void session_close(struct session *s)
{
	plan_free(s->plan);
	config_free(s->config);
	compose_free(s->project);
	memset(s, 0, sizeof(*s));
}

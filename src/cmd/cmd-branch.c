/*
 * cmd-branch: `dsnflip branch [--name B] [--base REV] [--force]` — commit
 * the plan's artifacts as one commit on branch B, without touching the work
 * tree, the index or HEAD (branch.c does the work).  Prints the branch, the
 * commit, the files and the next steps; `--format json` for tools.
 */
#include "artifacts/branch.h"
#include "session.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void print_json(const struct branch_result *r)
{
	json_t *root = json_object(), *files = json_array(), *left = json_array(), *notes = json_array();
	json_object_set_new(root, "branch", json_string(r->branch));
	json_object_set_new(root, "commit", json_string(r->commit));
	json_object_set_new(root, "tree", json_string(r->tree));
	json_object_set_new(root, "base", json_string(r->base_id));
	json_object_set_new(root, "replaced", json_boolean(r->replaced));
	for (size_t i = 0; i < r->files.nr; i++)
		json_array_append_new(files, json_pack("{s:s, s:s}", "path", r->files.v[i], "what",
						       r->what.v[i]));
	json_object_set_new(root, "files", files);
	for (size_t i = 0; i < r->nleft_out; i++)
		json_array_append_new(left, json_pack("{s:s, s:s}", "file", r->left_out[i].file, "why",
						      r->left_out[i].why));
	json_object_set_new(root, "not_committed", left);
	for (size_t i = 0; i < r->notes.nr; i++)
		json_array_append_new(notes, json_string(r->notes.v[i]));
	json_object_set_new(root, "notes", notes);
	json_object_set_new(root, "secrets_file", json_string(r->secrets_path));
	json_object_set_new(root, "new_passwords", json_integer(r->new_passwords));
	json_object_set_new(root, "env_written", json_boolean(r->env_written));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(root);
}

static void print_text(const struct branch_result *r)
{
	printf("dsnflip branch: %s %s at %.12s (from %s %.12s)\n",
	       r->replaced ? "replaced branch" : "created branch", r->branch, r->commit, r->base_name,
	       r->base_id);
	printf("  commit %s\n  tree   %s\n\nfiles in the commit\n", r->commit, r->tree);
	for (size_t i = 0; i < r->files.nr; i++)
		printf("  %-40s %s\n", r->files.v[i], r->what.v[i]);
	if (r->nleft_out) {
		printf("\nnot in the commit (edit by hand at cutover: see the runbook)\n");
		for (size_t i = 0; i < r->nleft_out; i++)
			printf("  %s: %s\n", r->left_out[i].file, r->left_out[i].why);
	}
	if (r->notes.nr) {
		printf("\nnotes\n");
		for (size_t i = 0; i < r->notes.nr; i++)
			printf("  - %s\n", r->notes.v[i]);
	}
	printf("\npasswords\n  %d new; all kept in %s (0600), never in git\n", r->new_passwords,
	       r->secrets_path);
	if (r->env_written)
		printf("  also added at the end of .env (git ignores it)\n");
	else if (r->env_ignored)
		printf("  .env already holds them (git ignores it)\n");
	else
		printf("  not written to .env: git does not ignore it\n");
	printf("\nnext steps\n"
	       "  1. review:           git show %s\n"
	       "  2. create the roles: dsnflip roles check --db ADMIN_DSN, then dsnflip roles apply --db ADMIN_DSN\n"
	       "  3. merge it, then:   dsnflip deploy   (or follow the runbook by hand)\n",
	       r->branch);
}

int cmd_branch(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct branch_result res;
	struct compose_opts co = COMPOSE_OPTS_INIT;
	int code;

	memset(&res, 0, sizeof(res));
	if (cli_check_options(cli, CLI_OPT_NAME | CLI_OPT_BASE | CLI_OPT_FORCE | CLI_OPT_FORMAT |
				   CLI_OPT_ASSUME, &d) ||
	    (cli->args.nr && diag_err(&d, "'branch' takes no arguments (got '%s')", cli->args.v[0])) ||
	    (cli->format && strcmp(cli->format, "text") && strcmp(cli->format, "json") &&
	     diag_err(&d, "--format must be text or json for 'branch', not '%s'", cli->format)) ||
	    session_open(cli, &s, &d))
		return cli_fail(&d);
	cli_compose_opts(cli, &co);
	struct branch_opts bo = { cli->name, cli->base, cli->force, &co, cli->environ };
	struct branch_stack bs = { s.project, s.config, s.plan };
	if (branch_run(&bs, &bo, &res, &d)) {
		code = cli_fail(&d);
	} else {
		if (s.format == FORMAT_JSON)
			print_json(&res);
		else if (!cli->quiet)
			print_text(&res);
		code = EXIT_OK;
	}
	diag_release(&d);
	branch_result_release(&res);
	session_close(&s);
	return code;
}

/*
 * cmd-roles: `dsnflip roles sql [DATABASE]`, `roles check`, `roles apply`.
 *
 *   sql    prints sql/dsnflip/<database>.sql (every database of the plan,
 *          or the one named), from the same plan `branch` commits; writes
 *          nothing
 *   check  runs it on the server (--db) inside one transaction per
 *          database, verifies as each role, rolls back; writes nothing
 *   apply  the same, committed; new passwords go to the secrets file
 *
 * Exit: 0 done (and verified); 1 a server error, a failed verification, or
 * objects left busy (run apply again); 2 usage or input error.
 */
#include "session.h"
#include "util/run.h"
#include "server/pgconn.h"
#include "server/roles.h"
#include "artifacts/rolesql.h"
#include "artifacts/secrets.h"
#include "artifacts/template.h"
#include "util/num.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bar {
	int on, color;
	long last_ms;
	size_t last_done;
};

/* Draw the ownership progress bar on stderr (a terminal only). */
static void progress(void *ctx, const char *db, size_t done, size_t total)
{
	struct bar *b = ctx;
	long long t = run_now_ms();
	if (!b->on || (done != total && t - b->last_ms < 100))
		return;
	b->last_ms = t;
	int width = 30, n = total ? (int)(done * (size_t)width / total) : width;
	fprintf(stderr, "\r%sre-owning in %s [", b->color ? "\033[K\033[1m" : "", db);
	for (int i = 0; i < width; i++)
		fputs(i < n ? "#" : ".", stderr);
	fprintf(stderr, "] %zu/%zu%s    ", done, total, b->color ? "\033[0m" : "");
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* "2s", "500ms", "1min", "1.5s" -> milliseconds (1 ms to 1 h); -1 if bad. */
static int parse_ms(const char *s)
{
	size_t n = strspn(s, "0123456789.");
	const char *unit = s + n;
	long long milli, mul;
	while (*unit == ' ')
		unit++;
	mul = !*unit || !strcmp(unit, "ms") ? 1 : !strcmp(unit, "s") ? 1000
	    : !strcmp(unit, "min") ? 60000 : !strcmp(unit, "h") ? 3600000 : -1;
	if (mul < 0 || num_parse_millin(s, n, 3600000000LL, &milli))
		return -1;
	/* milli is thousandths of the unit; round to whole milliseconds. */
	if (milli * mul > 3600000LL * 1000 || milli * mul < 1000)
		return -1;
	return (int)((milli * mul + 500) / 1000);
}


static int roles_sql(struct cli *cli, const struct rolesql_opts *ro)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct buf out = BUF_INIT;
	struct strvec dbs = STRVEC_INIT;
	char *tdir = NULL;
	int code = EXIT_OK;

	if (cli_check_options(cli, CLI_OPT_LOCK_TIMEOUT, &d))
		return cli_fail(&d);
	if (cli->args.nr > 2) {
		diag_err(&d, "'roles sql' takes at most one database (got '%s')", cli->args.v[2]);
		return cli_fail(&d);
	}
	/* The same plan as `branch` commits: live when the server is reachable (limits
	 * raised to observed peaks), offline with --offline or when it is not. */
	if (session_open(cli, &s, &d))
		return cli_fail(&d);
	tdir = template_dir(cli->environ);
	/* Per server (one view each): a stack with two servers has two sets of roles. */
	size_t nsv = s.plan->nservers ? s.plan->nservers : 1, n = 0;
	const char *want = cli->args.nr == 2 ? cli->args.v[1] : NULL;
	for (size_t j = 0; j < nsv && !d.set; j++) {
		struct plan view;
		plan_view_server(s.plan, s.plan->nservers ? s.plan->servers[j] : NULL, &view);
		strvec_clear(&dbs);
		rolesql_databases(&view, &dbs);
		for (size_t i = 0; i < dbs.nr && !d.set; i++) {
			struct rolesql_parts p;
			if (want && strcmp(want, dbs.v[i]))
				continue;
			if (rolesql_build(&view, s.config, dbs.v[i], tdir, ro, &p, &d))
				break;
			if (n++)
				buf_addch(&out, '\n');
			buf_addstr(&out, p.file);
			rolesql_parts_release(&p);
		}
		plan_view_release(&view);
	}
	if (!d.set && !n && !s.plan->nroles)
		diag_err(&d, "the plan has no role to create (no service flips or is held)");
	else if (!d.set && !n && want) {
		/* rolesql names the databases there are */
		struct rolesql_parts p;
		if (!rolesql_build(s.plan, s.config, want, tdir, ro, &p, &d))
			rolesql_parts_release(&p);
	}
	if (d.set)
		code = cli_fail(&d);
	else
		fwrite(out.buf, 1, out.len, stdout);
	free(tdir);
	strvec_clear(&dbs);
	buf_release(&out);
	session_close(&s);
	return code;
}

static int roles_live(struct cli *cli, int check, const struct rolesql_opts *ro)
{
	struct diag d = DIAG_INIT;
	struct session s;
	struct pgconn pc = { 0 };
	struct secrets *sec = NULL;
	struct roles_result res = { 0 };
	struct bar bar = { 0 };
	struct buf out = BUF_INIT;
	char *tdir = NULL, *spath = NULL;
	int code = EXIT_OK, failed;

	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_LOCK_TIMEOUT, &d))
		return cli_fail(&d);
	if (cli->args.nr > 1) {
		diag_err(&d, "'roles %s' takes no arguments (got '%s')", cli->args.v[0], cli->args.v[1]);
		return cli_fail(&d);
	}
	if (session_open(cli, &s, &d))
		return cli_fail(&d);
	if (s.format == FORMAT_MARKDOWN) {
		diag_err(&d, "'roles %s' prints text or json, not markdown", cli->args.v[0]);
		session_close(&s);
		return cli_fail(&d);
	}
	spath = secrets_path(s.plan->project_name, cli->environ);
	if (secrets_load(spath, &sec, &d) || session_admin(cli, &s, ADMIN_REQUIRED, &pc, &d) < 0) {
		code = cli_fail(&d);
		goto cleanup;
	}
	if (pc.derived && !cli->quiet)
		fprintf(stderr, "dsnflip: admin connection %s\n", pc.derived);
	tdir = template_dir(cli->environ);
	bar.on = isatty(STDERR_FILENO) && !cli->quiet;
	bar.color = bar.on && !getenv("NO_COLOR");
	struct roles_opts o = { .check = check, .sql = *ro, .progress = progress, .progress_ctx = &bar,
			   .environ = cli->environ };
	/* Only the roles of the server the admin connection reaches. */
	struct plan view;
	json_t *others = json_array();
	struct buf left = BUF_INIT;
	if (s.plan->nservers > 1 && !s.plan->live_server) {
		struct buf list = BUF_INIT;
		for (size_t i = 0; i < s.plan->nservers; i++)
			buf_addf(&list, "%s%s", i ? ", " : "", plan_server_label(s.plan->servers[i]));
		diag_err(&d, "the plan's roles are on several servers (%s) and dsnflip cannot tell which "
			 "one the admin connection reaches: name it with --server NAME; nothing was changed",
			 list.buf);
		buf_release(&list);
		json_decref(others);
		code = cli_fail(&d);
		goto cleanup;
	}
	plan_view_server(s.plan, s.plan->live_server, &view);
	for (size_t i = 0; i < s.plan->nservers; i++) {
		const char *sv = s.plan->servers[i];
		if (plan_same_server(sv, s.plan->live_server))
			continue;
		json_t *names = json_array();
		struct buf list = BUF_INIT;
		for (size_t k = 0; k < s.plan->nroles; k++)
			if (plan_same_server(s.plan->roles[k].server, sv)) {
				json_array_append_new(names, json_string(s.plan->roles[k].name));
				buf_addf(&list, "%s%s", list.len ? ", " : "", s.plan->roles[k].name);
			}
		json_array_append_new(others, json_pack("{s:s?, s:o}", "server", sv, "roles", names));
		buf_addf(&left, "dsnflip: roles %s are for server %s, not the one the admin connection "
			 "reaches: left alone (run 'roles %s' with --db for that server and --server %s)\n",
			 list.buf, plan_server_label(sv), cli->args.v[0], plan_server_label(sv));
		buf_release(&list);
	}
	failed = roles_run(&pc, &view, s.config, sec, tdir, &o, &res, &d);
	plan_view_release(&view);

	if (s.format == FORMAT_JSON) {
		json_t *j = roles_result_json(&res);
		if (s.plan->nservers > 1) {
			json_object_set_new(j, "server", s.plan->live_server ? json_string(s.plan->live_server)
									     : json_null());
			json_object_set(j, "other_servers", others);
		}
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		buf_addstr(&out, text);
		buf_addch(&out, '\n');
		free(text);
		json_decref(j);
	} else {
		roles_result_text(&res, cli->color, &out);
	}
	json_decref(others);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	if (!cli->quiet)
		fputs(left.buf ? left.buf : "", stderr);
	buf_release(&left);
	for (size_t i = 0; i < res.warnings.nr && !cli->quiet; i++)
		fprintf(stderr, "dsnflip: warning: %s\n", res.warnings.v[i]);
	if (failed) {
		code = cli_fail(&d);
		goto cleanup;
	}
	for (size_t i = 0; i < res.ndbs; i++) {
		const struct roles_db *rd = &res.dbs[i];
		if (rd->lock_busy.nr) {
			fprintf(stderr, "dsnflip: database '%s': %zu object(s) never got their lock (%s first); "
				"%s\n", rd->database, rd->lock_busy.nr, rd->lock_busy.v[0],
				check ? "the check could not take them" : "run 'dsnflip roles apply' again");
			code = EXIT_FAILED;
		}
		if (!rd->verified) {
			fprintf(stderr, "dsnflip: database '%s': verification failed: %s\n", rd->database,
				rd->verify_failures.nr ? rd->verify_failures.v[0] : "(no detail)");
			code = EXIT_FAILED;
		}
	}
cleanup:
	roles_result_release(&res);
	secrets_free(sec);
	pgconn_close(&pc);
	free(spath);
	free(tdir);
	buf_release(&out);
	session_close(&s);
	return code;
}

int cmd_roles(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct rolesql_opts ro = { 0 };
	const char *sub = cli->args.nr ? cli->args.v[0] : NULL;

	if (cli->lock_timeout && (ro.lock_timeout_ms = parse_ms(cli->lock_timeout)) < 0) {
		diag_err(&d, "--lock-timeout must be a duration such as 2s or 500ms (at most 1h), not '%s'",
			 cli->lock_timeout);
		return cli_fail(&d);
	}
	if (sub && !strcmp(sub, "sql"))
		return roles_sql(cli, &ro);
	if (sub && (!strcmp(sub, "check") || !strcmp(sub, "apply")))
		return roles_live(cli, !strcmp(sub, "check"), &ro);
	diag_err(&d, "'roles' needs one of: sql [DATABASE], check, apply%s%s%s", sub ? " (not '" : "",
		 sub ? sub : "", sub ? "')" : "");
	return cli_fail(&d);
}

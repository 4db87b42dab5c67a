/*
 * cmd-lint: `dsnflip lint [--format text|json|sarif|github] [--fail-on SEV]
 * [--base REV]` — the stack checked offline (plan/lint.c's rules), for CI
 * and code review.  Never connects to anything.
 *
 * The stack is read as `plan` reads it, except that an unset required
 * password reference (${X_PASSWORD:?...}, what a flipped repository holds)
 * is not an error: CI has no role passwords.  Whether a file is tracked
 * (literal-password) is git's answer for HEAD and the index; outside a
 * repository every file counts.  With --base, the stack at REV is read from
 * git's objects into a scratch tree (files git does not track, an ignored
 * .env, are the same in both: they are the environment, not the change) and
 * only findings REV does not have are reported.
 *
 * Exit: 0 nothing at or above --fail-on (default error), 1 something, 2 an
 * input error (nothing reported).
 */
#include "cli.h"
#include "session.h"
#include "artifacts/gitops.h"
#include "plan/lint.h"
#include "plan/lint_out.h"
#include "stack/interp.h"
#include "util/fs.h"
#include "util/path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lint_format { LF_TEXT, LF_JSON, LF_SARIF, LF_GITHUB };

/* HEAD and the index say what is tracked; the answer for each file is kept. */
struct tracked {
	struct gitrepo *repo;  /* NULL: no repository, everything counts */
	int have_head;
	const struct strvec *untracked; /* base run: the files copied in from the work tree */
};

static int tracked_fn(void *ctx, const struct srcfile *f)
{
	struct tracked *t = ctx;
	struct arena a = ARENA_INIT;
	const char *abs = path_absolute(&a, f->path);
	int r = 1;

	if (t->untracked) {
		r = !strvec_contains(t->untracked, path_normalize(&a, abs));
	} else if (t->repo && t->have_head) {
		struct diag ignore = DIAG_INIT;
		struct gitpath gp;
		char *rel = gitrepo_relpath(t->repo, abs);
		r = rel && !gitrepo_path(t->repo, rel, f->data, f->len, &gp, &ignore) &&
		    (gp.in_base || gp.in_index);
		free(rel);
		diag_release(&ignore);
	}
	arena_release(&a);
	return r;
}

static const struct session_opts lint_session = {
	.offline = 1, .own_format = 1, .interp_flags = INTERP_SECRETS_OPTIONAL,
	/* A service behind a profile is still code someone deploys: lint reads
	 * them all unless --profile narrows it (and then says what it left). */
	.all_profiles = 1,
};

/*
 * Where path (absolute or relative to the current directory) is in the
 * scratch tree: the work tree's files at root + the work tree's real path
 * (as the export wrote them), anything outside it at root + its own path.
 */
static const char *mirror(struct arena *a, struct gitrepo *repo, const char *root, const char *path,
			  int is_dir)
{
	const char *abs = path_absolute(a, path);
	/* A directory is resolved as the directory of its "." entry. */
	char *rel = gitrepo_relpath(repo, is_dir ? arena_strfmt(a, "%s/.", abs) : abs);
	const char *m = rel ? path_normalize(a, arena_strfmt(a, "%s%s/%s", root, gitrepo_workdir(repo), rel))
			    : arena_strfmt(a, "%s%s", root, abs);
	free(rel);
	return m;
}

/* -f and --env-file for the scratch tree: absolute ones mirrored, relative ones kept (to -C). */
static void map_paths(struct arena *a, struct gitrepo *repo, const struct strvec *in,
		      const char *root, struct strvec *out)
{
	for (size_t i = 0; i < in->nr; i++)
		strvec_push(out, in->v[i][0] == '/' ? mirror(a, repo, root, in->v[i], 0) : in->v[i]);
}

/*
 * The findings the stack had at rev, into base.  A base that does not load
 * (it did not exist yet, it was broken) has none: everything is new, and
 * stderr says why.
 */
static int lint_base(const struct cli *cli, const struct session *now, struct tracked *t,
		     const struct lint_opts *lo, const char *rev, struct lint_report *base,
		     struct diag *d)
{
	struct gitrepo *repo = NULL;
	struct arena a = ARENA_INIT;
	struct strvec untracked = STRVEC_INIT;
	const char *tmp = getenv("TMPDIR");
	char *root = xstrfmt("%s/dsnflip-lint-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int made = 0, ret = -1;

	if (gitrepo_open(now->project->dir, &repo, d) || gitrepo_set_base(repo, rev, d))
		goto out;
	if (!mkdtemp(root)) {
		diag_fail(d, "cannot create a temporary directory for --base: %s", strerror(errno));
		goto out;
	}
	made = 1;
	const char *tree = arena_strfmt(&a, "%s%s", root, gitrepo_workdir(repo));
	if (fs_mkdir_p(tree, 0700, d) || gitrepo_export_base(repo, tree, d))
		goto out;
	/* What git does not track comes from the work tree, as it is. */
	for (size_t i = 0; i < now->project->nsources; i++) {
		const struct srcfile *f = now->project->sources[i];
		if (tracked_fn(t, f))
			continue;
		const char *dest = mirror(&a, repo, root, f->path, 0);
		if (fs_mkdir_p(path_dirname(&a, dest), 0700, d))
			goto out;
		if (path_write_file(dest, f->data, f->len)) {
			diag_fail(d, "cannot write '%s': %s", dest, strerror(errno));
			goto out;
		}
		strvec_push(&untracked, dest);
	}

	struct cli bcli = *cli;
	struct strvec files = STRVEC_INIT, envs = STRVEC_INIT;
	struct session_opts so = lint_session;
	struct session bs;
	struct diag why = DIAG_INIT;
	map_paths(&a, repo, &cli->files, root, &files);
	map_paths(&a, repo, &cli->env_files, root, &envs);
	bcli.files = files;
	bcli.env_files = envs;
	so.dir = mirror(&a, repo, root, cli->dir ? cli->dir : ".", 1);
	if (cli->config)
		so.config = mirror(&a, repo, root, cli->config, 0);
	if (session_open_with(&bcli, &so, &bs, &why)) {
		fprintf(stderr, "dsnflip lint: the stack at %s does not load, so every finding counts "
			"as new: %s\n", rev, why.msg.buf);
		ret = 0;
	} else {
		struct tracked bt = { .untracked = &untracked };
		struct lint_opts blo = *lo;
		blo.tracked = tracked_fn;
		blo.tracked_ctx = &bt;
		struct diag ignore = DIAG_INIT;
		if (lint_run(bs.plan, bs.config, &blo, base, &ignore))
			fprintf(stderr, "dsnflip lint: at %s: %s; every finding counts as new\n", rev,
				ignore.msg.buf);
		diag_release(&ignore);
		session_close(&bs);
		ret = 0;
	}
	diag_release(&why);
	strvec_clear(&files);
	strvec_clear(&envs);
out:
	if (made)
		path_remove_tree(root);
	free(root);
	strvec_clear(&untracked);
	gitrepo_free(repo);
	arena_release(&a);
	return ret;
}

static int parse_lint_options(const struct cli *cli, enum lint_format *fmt,
			      enum lint_severity *fail_on, struct diag *d)
{
	static const char *const names[] = { "text", "json", "sarif", "github" };
	if (cli_check_options(cli, CLI_OPT_FORMAT | CLI_OPT_BASE | CLI_OPT_FAIL_ON, d))
		return -1;
	if (cli->args.nr)
		return diag_err(d, "'lint' takes no arguments (got '%s')", cli->args.v[0]);
	if (cli->db)
		return diag_err(d, "'lint' works offline: it takes no --db");
	*fmt = LF_TEXT;
	if (cli->format) {
		size_t i = 0;
		while (i < 4 && strcmp(names[i], cli->format))
			i++;
		if (i == 4)
			return diag_err(d, "--format must be text, json, sarif or github, not '%s'",
					cli->format);
		*fmt = (enum lint_format)i;
	}
	*fail_on = LINT_ERROR;
	if (cli->fail_on && lint_severity_parse(cli->fail_on, fail_on))
		return diag_err(d, "--fail-on must be error, warning or note, not '%s'", cli->fail_on);
	return 0;
}

int cmd_lint(struct cli *cli)
{
	struct diag d = DIAG_INIT, ignore = DIAG_INIT;
	struct session s = { 0 };
	struct lint_report rep = LINT_REPORT_INIT, base = LINT_REPORT_INIT;
	struct tracked t = { 0 };
	struct buf out = BUF_INIT;
	struct arena a = ARENA_INIT;
	enum lint_format fmt = LF_TEXT;
	enum lint_severity fail_on = LINT_ERROR;
	int opened = 0, code;

	if (parse_lint_options(cli, &fmt, &fail_on, &d) ||
	    session_open_with(cli, &lint_session, &s, &d))
		goto fail;
	opened = 1;
	struct lint_opts lo = { .tracked = tracked_fn, .tracked_ctx = &t, .path_prefix = "" };
	if (!gitrepo_open(s.project->dir, &t.repo, &ignore)) {
		/* "HEAD" by name: CI checks a pull request out on a detached HEAD. */
		t.have_head = !gitrepo_set_base(t.repo, "HEAD", &ignore);
		char *rel = gitrepo_relpath(t.repo, arena_strfmt(&a, "%s/.", s.project->dir));
		if (rel) {
			const char *pre = path_normalize(&a, rel);
			lo.path_prefix = strcmp(pre, ".") ? pre : "";
		}
		free(rel);
	} else if (cli->base) {
		diag_err(&d, "--base needs the stack in a git repository: %s", ignore.msg.buf);
		goto fail;
	}
	if (lint_run(s.plan, s.config, &lo, &rep, &d))
		goto fail;
	if (cli->base) {
		if (lint_base(cli, &s, &t, &lo, cli->base, &base, &d))
			goto fail;
		lint_subtract(&rep, &base);
	}
	switch (fmt) {
	case LF_JSON: lint_write_json(&rep, cli->base, &out); break;
	case LF_SARIF: lint_write_sarif(&rep, &out); break;
	case LF_GITHUB: lint_write_github(&rep, &out); break;
	default: lint_write_text(&rep, cli->base, &out);
	}
	fwrite(out.buf, 1, out.len, stdout);
	code = lint_count_at_least(&rep, fail_on) ? EXIT_FAILED : EXIT_OK;
	goto done;
fail:
	/* Nothing was checked: never 1, which means "findings". */
	code = cli_finish(EXIT_INPUT, &d);
done:
	buf_release(&out);
	lint_report_release(&rep);
	lint_report_release(&base);
	gitrepo_free(t.repo);
	if (opened)
		session_close(&s);
	diag_release(&d);
	diag_release(&ignore);
	arena_release(&a);
	return code;
}

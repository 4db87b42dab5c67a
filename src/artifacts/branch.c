/*
 * branch: the artifacts of `dsnflip branch` and the order of its writes
 * (see branch.h).
 */
#include "artifacts/branch.h"
#include "artifacts/dotenv.h"
#include "artifacts/runbook.h"
#include "artifacts/gitops.h"
#include "artifacts/mirror.h"
#include "util/path.h"
#include "plan/plan_json.h"
#include "plan/report.h"
#include "artifacts/rolesql.h"
#include "artifacts/secrets.h"
#include "artifacts/template.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* --- the run --- */

static void add_file(struct strvec *paths, struct strvec *what, struct buf *datas, size_t *lens,
		     size_t *n, const char *path, const char *w, const char *data, size_t len)
{
	strvec_push(paths, path);
	strvec_push(what, w);
	buf_init(&datas[*n]);
	buf_add(&datas[*n], data, len);
	lens[*n] = len;
	(*n)++;
}

/* The project directory relative to the work tree: "" or "dir/" */
static char *project_prefix(struct gitrepo *repo, const char *dir)
{
	char *probe = xstrfmt("%s/x", dir), *rel = gitrepo_relpath(repo, probe);
	free(probe);
	if (!rel)
		return NULL;
	rel[strlen(rel) - 1] = '\0';
	return rel;
}

/* A work-tree path (rel) as seen from the project directory (prefix "" or "dir/"). */
static char *from_project(const char *prefix, const char *rel)
{
	size_t n = strlen(prefix);
	if (!strncmp(rel, prefix, n))
		return xstrdup(rel + n);
	struct buf b = BUF_INIT;
	for (const char *c = prefix; *c; c++)
		if (*c == '/')
			buf_addstr(&b, "../");
	buf_addstr(&b, rel);
	return buf_detach(&b, NULL);
}

/* The edited lines of a file left out of the commit. */
static void left_out_lines(struct branch_left_out *lo, const struct rewrite *rw,
			   const struct rewrite_file *rf)
{
	for (size_t i = 0; i < rw->ntargets; i++) {
		const struct rewrite_target *t = &rw->targets[i];
		if (strcmp(t->file->path, rf->src->path))
			continue;
		struct branch_line *bl = NULL;
		for (size_t k = 0; k < lo->nlines; k++)
			if (lo->lines[k].line == t->line)
				bl = &lo->lines[k];
		if (!bl) {
			lo->lines = xrealloc(lo->lines, (lo->nlines + 1) * sizeof(*lo->lines));
			bl = &lo->lines[lo->nlines++];
			memset(bl, 0, sizeof(*bl));
			bl->line = t->line;
			/* The line as it is after the edit (edits never add or remove lines). */
			const char *p = rf->data, *end = rf->data + rf->len;
			for (int l = 1; l < t->line && p < end; l++) {
				const char *nl = memchr(p, '\n', (size_t)(end - p));
				p = nl ? nl + 1 : end;
			}
			const char *e = memchr(p, '\n', (size_t)(end - p));
			size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
			while (n && p[n - 1] == '\r')
				n--;
			bl->text = xstrndup(p, n);
			bl->keys = xstrdup(t->key);
			bl->services = xstrdup(t->service);
			continue;
		}
		if (!strstr(bl->keys, t->key)) {
			char *k = xstrfmt("%s, %s", bl->keys, t->key);
			free(bl->keys);
			bl->keys = k;
		}
		if (!strstr(bl->services, t->service)) {
			char *s = xstrfmt("%s, %s", bl->services, t->service);
			free(bl->services);
			bl->services = s;
		}
	}
}

static char *committed_plan_text(const struct plan *plan, const struct branch_left_out *lo, size_t nlo)
{
	json_t *root = plan_to_json(plan), *w = json_object_get(root, "warnings");
	for (size_t i = 0; w && i < nlo; i++)
		for (size_t k = 0; k < lo[i].nlines; k++) {
			char *msg = xstrfmt("%s:%d: %s for %s is in %s, which git does not track (%s): "
					    "this branch does not change it; edit it by hand as %s says",
					    lo[i].file, lo[i].lines[k].line, lo[i].lines[k].keys,
					    lo[i].lines[k].services, lo[i].file, lo[i].why, BRANCH_RUNBOOK_PATH);
			json_array_append_new(w, json_string(msg));
			free(msg);
		}
	struct buf t = BUF_INIT;
	plan_json_text(root, &t);
	json_decref(root);
	return buf_detach(&t, NULL);
}

int branch_run(const struct branch_stack *s, const struct branch_opts *o, struct branch_result *out,
	       struct diag *d)
{
	const struct plan *plan = s->plan;
	const struct compose_project *p = s->project;
	struct gitrepo *repo = NULL;
	struct rewrite rw = REWRITE_INIT;
	struct secrets *sec = NULL;
	struct strvec paths = STRVEC_INIT, changed = STRVEC_INIT, seen = STRVEC_INIT,
		      envvars = STRVEC_INIT, dbv = STRVEC_INIT;
	struct buf *datas = NULL, text = BUF_INIT, runbook = BUF_INIT, msg = BUF_INIT;
	size_t *lens = NULL, nfiles = 0, cap;
	struct arena a = ARENA_INIT;
	char *prefix = NULL, *tdir = NULL, *dotenv_rel = NULL, *secrets_shown = NULL;
	int exists = 0, ret = -1;

	memset(out, 0, sizeof(*out));
	out->branch = xstrdup(o->name ? o->name : BRANCH_DEFAULT_NAME);

	/* Refusals first: nothing below writes until every check has passed. */
	if (gitrepo_open(p->dir, &repo, d) || gitrepo_set_base(repo, o->base, d) ||
	    gitrepo_check_branch(repo, out->branch, o->force, &exists, d) ||
	    gitrepo_check_identity(repo, d))
		goto cleanup;
	out->replaced = exists;
	out->base_name = xstrdup(gitrepo_base_name(repo));
	out->base_id = xstrdup(gitrepo_base_id(repo));
	if (!branch_count_flips(plan)) {
		diag_err(d, "nothing to flip: no service both connects as a superuser and has a settled "
			 "class (see 'dsnflip plan')");
		goto cleanup;
	}
	/* A flip that cannot be made says why in its own words (the plan blocks on it too). */
	for (size_t i = 0; i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++) {
			const struct plan_flip *fl = plan->services[i].conns[k].flip;
			if (plan->services[i].action == ACTION_FLIP && fl && fl->blocked) {
				diag_err(d, "%s", fl->blocked);
				goto cleanup;
			}
		}
	if (plan->blocking) {
		diag_err(d, "the plan has a blocking warning: run 'dsnflip plan', resolve it, then re-run");
		goto cleanup;
	}
	if (!plan->budget.ok) {
		diag_err(d, "the plan needs %d connections but only %d are available: raise "
			 "max_connections or lower the limits in dsnflip.yml first ('dsnflip plan')",
			 plan->budget.planned, plan->budget.available);
		goto cleanup;
	}
	if (rewrite_compute(plan, &rw, d) || rewrite_verify(&rw, p, o->compose, d))
		goto cleanup;
	prefix = project_prefix(repo, p->dir);
	if (!prefix) {
		diag_err(d, "the project directory is outside the repository at %s", gitrepo_workdir(repo));
		goto cleanup;
	}

	/* One SQL file per server and database (a database name may be on two servers). */
	size_t nsv = plan->nservers ? plan->nservers : 1, npairs = 0;
	for (size_t j = 0; j < nsv; j++) {
		struct plan view;
		struct strvec one = STRVEC_INIT;
		plan_view_server(plan, plan->nservers ? plan->servers[j] : NULL, &view);
		npairs += rolesql_databases(&view, &one);
		strvec_clear(&one);
		plan_view_release(&view);
	}
	rolesql_databases(plan, &dbv);
	cap = rw.nfiles + npairs + 2;
	datas = xcalloc(cap, sizeof(*datas));
	lens = xcalloc(cap, sizeof(*lens));

	/* The rewritten files: committed if tracked and unchanged from the base. */
	for (size_t i = 0; i < rw.nfiles; i++) {
		const struct rewrite_file *rf = &rw.files[i];
		const char *abs = path_absolute(&a, rf->src->path);
		char *rel = gitrepo_relpath(repo, abs);
		struct gitpath gp;
		if (!rel) {
			diag_err(d, "%s is outside the repository at %s: dsnflip can commit only files "
				 "inside it", rf->src->display, gitrepo_workdir(repo));
			goto cleanup;
		}
		strvec_push(&seen, abs);
		int r = gitrepo_path(repo, rel, rf->src->data, rf->src->len, &gp, d);
		if (!r && gp.symlink)
			r = diag_err(d, "%s is a symbolic link in git: dsnflip does not rewrite through "
				     "links; rewrite the file it points to", rf->src->display);
		else if (!r && gp.in_base && !gp.same)
			r = diag_err(d, "%s differs from %s (uncommitted changes?): dsnflip commits only "
				     "what it checked; commit or stash the changes, or pick --base",
				     rf->src->display, out->base_name);
		else if (!r && !gp.in_base && gp.in_index)
			r = diag_err(d, "%s is staged but not committed: commit it first",
				     rf->src->display);
		if (r) {
			free(rel);
			goto cleanup;
		}
		if (gp.in_base) {
			char *shown = from_project(prefix, rel);
			add_file(&paths, &out->what, datas, lens, &nfiles, rel, "rewritten connections",
				 rf->data, rf->len);
			strvec_push(&changed, shown);
			free(shown);
		} else {
			out->left_out = xrealloc(out->left_out, (out->nleft_out + 1) * sizeof(*out->left_out));
			struct branch_left_out *lo = &out->left_out[out->nleft_out++];
			memset(lo, 0, sizeof(*lo));
			lo->file = xstrdup(rf->src->display);
			lo->why = xstrdup(gp.ignored ? "git ignores it" : "it is not committed");
			left_out_lines(lo, &rw, rf);
		}
		free(rel);
	}
	/* Every other file the stack reads must be at the base as it is here. */
	for (size_t i = 0; i < p->nsources; i++) {
		const struct srcfile *f = p->sources[i];
		const char *abs = path_absolute(&a, f->path);
		struct gitpath gp;
		if (strvec_contains(&seen, abs))
			continue;
		strvec_push(&seen, abs);
		char *rel = gitrepo_relpath(repo, abs);
		if (!rel)
			continue;
		int r = gitrepo_path(repo, rel, f->data, f->len, &gp, d);
		free(rel);
		if (!r && gp.in_base && !gp.same)
			r = diag_err(d, "%s differs from %s (uncommitted changes?): the branch would hold a "
				     "different stack from the one dsnflip checked; commit or stash the "
				     "changes, or pick --base", f->display, out->base_name);
		if (r)
			goto cleanup;
	}

	/* The passwords: outside the repository, never in git. */
	out->secrets_path = secrets_path(p->name, o->environ);
	{
		char *rel = NULL, *dir = path_dirname(&a, out->secrets_path);
		const char *wd = gitrepo_workdir(repo);
		size_t n = strlen(wd);
		while (dir && !path_is_dir(dir) && strcmp(dir, "/"))
			dir = path_dirname(&a, dir);
		rel = dir ? gitrepo_relpath(repo, path_join(&a, dir, "x")) : NULL;
		if (rel || (!strncmp(out->secrets_path, wd, n) && out->secrets_path[n] == '/')) {
			free(rel);
			diag_err(d, "the secrets file %s would be inside the repository: set XDG_STATE_HOME "
				 "to a directory outside it", out->secrets_path);
			goto cleanup;
		}
	}
	if (secrets_load(out->secrets_path, &sec, d))
		goto cleanup;
	for (size_t i = 0; i < plan->nroles; i++) {
		int created = 0;
		if (secrets_ensure(sec, plan->roles[i].name, &created, d))
			goto cleanup;
		out->new_passwords += created;
	}

	/* .env: only when git ignores it (and does not track it). */
	{
		struct gitpath gp = { 0 };
		const char *env_abs = path_join(&a, p->dir, ".env");
		dotenv_rel = gitrepo_relpath(repo, env_abs);
		if (dotenv_rel && gitrepo_path(repo, dotenv_rel, "", 0, &gp, d))
			goto cleanup;
		struct stat st;
		/* Never through a symlink: the file written must be the one git ignores. */
		out->env_ignored = dotenv_rel && gp.ignored && !gp.in_base && !gp.in_index &&
				   (lstat(env_abs, &st) || S_ISREG(st.st_mode));
	}

	/* The artifacts. */
	tdir = template_dir(o->environ);
	for (size_t j = 0; j < nsv; j++) {
		const char *server = plan->nservers ? plan->servers[j] : NULL;
		struct plan view;
		struct strvec one = STRVEC_INIT;
		int bad = 0;
		plan_view_server(plan, server, &view);
		rolesql_databases(&view, &one);
		for (size_t i = 0; i < one.nr && !bad; i++) {
			char *file = rolesql_file(plan->nservers > 1 ? plan_server_label(server) : NULL, one.v[i]);
			char *rel = xstrfmt("%s%s", prefix, file);
			free(file);
			buf_reset(&text);
			if (strvec_contains(&paths, rel)) {
				diag_err(d, "databases %s and another both map to %s: rename one", one.v[i], rel);
				bad = 1;
			} else if (rolesql_render(&view, s->config, one.v[i], tdir, &text, d)) {
				bad = 1;
			} else {
				char *what = plan->nservers > 1
					? xstrfmt("role SQL for database %s on server %s", one.v[i], plan_server_label(server))
					: xstrfmt("role SQL for database %s", one.v[i]);
				add_file(&paths, &out->what, datas, lens, &nfiles, rel, what, text.buf, text.len);
				free(what);
			}
			free(rel);
		}
		strvec_clear(&one);
		plan_view_release(&view);
		if (bad)
			goto cleanup;
	}
	secrets_shown = secrets_shown_path(p->name, o->environ);
	struct branch_doc doc = { s, &rw, BRANCH_SQL_DIR, out->left_out, out->nleft_out, &changed,
				  out->env_ignored, secrets_shown };
	if (branch_runbook(&doc, tdir, &runbook, d))
		goto cleanup;
	char *rel = xstrfmt("%s%s", prefix, BRANCH_RUNBOOK_PATH);
	add_file(&paths, &out->what, datas, lens, &nfiles, rel, "the runbook", runbook.buf, runbook.len);
	free(rel);
	char *json = committed_plan_text(plan, out->left_out, out->nleft_out);
	rel = xstrfmt("%s%s", prefix, PLAN_JSON_FILE);
	add_file(&paths, &out->what, datas, lens, &nfiles, rel, "the plan", json, strlen(json));
	free(rel);
	free(json);
	branch_message(&doc, &msg);
	for (size_t i = 0; i < rw.notes.nr; i++)
		strvec_push(&out->notes, rw.notes.v[i]);

	/* The writes: the secrets file, the commit, then .env. */
	if (secrets_save(sec, d))
		goto cleanup;
	struct gitfile *gf = xcalloc(nfiles, sizeof(*gf));
	for (size_t i = 0; i < nfiles; i++) {
		gf[i].path = paths.v[i];
		gf[i].data = datas[i].buf;
		gf[i].len = lens[i];
	}
	int r = gitrepo_commit(repo, out->branch, o->force, gf, nfiles, msg.buf, out->commit, out->tree, d);
	free(gf);
	if (r)
		goto cleanup;
	for (size_t i = 0; i < nfiles; i++)
		strvec_push(&out->files, paths.v[i]);
	if (out->env_ignored && rw.roles.nr) {
		const char **vals = xcalloc(rw.roles.nr, sizeof(*vals));
		size_t nv = 0;
		for (size_t i = 0; i < rw.roles.nr; i++) {
			const char *pw = secrets_get(sec, rw.roles.v[i]);
			if (!pw)
				continue;
			char *var = secrets_var_name(rw.roles.v[i]);
			strvec_push(&envvars, var);
			free(var);
			vals[nv++] = pw;
		}
		int w = dotenv_set_passwords(path_join(&a, p->dir, ".env"), (const char *const *)envvars.v, vals, nv,
				     &out->env_written, d);
		free(vals);
		if (w)
			goto cleanup;
	}
	ret = 0;
cleanup:
	free(secrets_shown);
	for (size_t i = 0; i < envvars.nr; i++)
		explicit_bzero(envvars.v[i], strlen(envvars.v[i]));
	strvec_clear(&envvars);
	for (size_t i = 0; datas && i < nfiles; i++)
		buf_release(&datas[i]);
	free(datas);
	free(lens);
	buf_release(&text);
	buf_release(&runbook);
	buf_release(&msg);
	strvec_clear(&paths);
	strvec_clear(&changed);
	strvec_clear(&dbv);
	strvec_clear(&seen);
	secrets_free(sec);
	rewrite_release(&rw);
	gitrepo_free(repo);
	arena_release(&a);
	free(prefix);
	free(tdir);
	free(dotenv_rel);
	return ret;
}

void branch_result_release(struct branch_result *r)
{
	free(r->branch);
	free(r->base_name);
	free(r->base_id);
	strvec_clear(&r->files);
	strvec_clear(&r->what);
	for (size_t i = 0; i < r->nleft_out; i++) {
		for (size_t k = 0; k < r->left_out[i].nlines; k++) {
			free(r->left_out[i].lines[k].keys);
			free(r->left_out[i].lines[k].services);
			free(r->left_out[i].lines[k].text);
		}
		free(r->left_out[i].lines);
		free(r->left_out[i].file);
		free(r->left_out[i].why);
	}
	free(r->left_out);
	strvec_clear(&r->notes);
	free(r->secrets_path);
	memset(r, 0, sizeof(*r));
}

/*
 * mirror: the check that a rewrite changes exactly what the plan intends
 * (see mirror.h): the edited stack is written into a private temporary
 * directory at the same absolute paths, loaded again, and compared with the
 * original service by service.
 */
#include "artifacts/mirror.h"
#include "artifacts/secrets.h"
#include "detect/dsn.h"
#include "stack/service.h"
#include "util/fs.h"
#include "util/path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *check_password(size_t i)
{
	return xstrfmt("dsnflipcheck%02zu", i);
}


/* The process environment with every referenced <ROLE>_PASSWORD set to its check value. */
static void check_environ(const struct rewrite *rw, char *const *env, struct strvec *out)
{
	for (char *const *e = env; e && *e; e++) {
		int ours = 0;
		for (size_t r = 0; r < rw->roles.nr && !ours; r++) {
			char *v = secrets_var_name(rw->roles.v[r]);
			size_t n = strlen(v);
			ours = !strncmp(*e, v, n) && (*e)[n] == '=';
			free(v);
		}
		if (!ours)
			strvec_push(out, *e);
	}
	for (size_t r = 0; r < rw->roles.nr; r++) {
		char *v = secrets_var_name(rw->roles.v[r]), *pw = check_password(r);
		strvec_pushf(out, "%s=%s", v, pw);
		free(v);
		free(pw);
	}
}

static const char *check_password_of(const struct rewrite *rw, const char *role, char **owned)
{
	for (size_t r = 0; r < rw->roles.nr; r++)
		if (!strcmp(rw->roles.v[r], role))
			return *owned = check_password(r);
	return *owned = NULL;
}

static int compare(const struct rewrite *rw, const struct compose_project *was,
		   const struct compose_project *now, const char *prefix, struct diag *d)
{
	size_t found = 0;

	if (was->nservices != now->nservices)
		return diag_err(d, "the rewritten stack has %zu services instead of %zu",
				now->nservices, was->nservices);
	for (size_t i = 0; i < was->nservices; i++) {
		const struct service *a = &was->services[i], *b = &now->services[i];
		if (strcmp(a->name, b->name) || a->enabled != b->enabled ||
		    !service_same_definition(a, b, prefix))
			return diag_err(d, "the rewrite would change services.%s beyond its connection "
					"settings", a->name);
		if (a->nenv != b->nenv)
			return diag_err(d, "the rewrite would change the environment variables of "
					"services.%s", a->name);
		for (size_t k = 0; k < a->nenv; k++) {
			const struct env_entry *x = &a->env[k], *y = &b->env[k];
			const struct rewrite_target *t = NULL;
			char *want = NULL, *pw = NULL;
			int same;
			if (strcmp(x->key, y->key))
				return diag_err(d, "the rewrite would change the environment variables of "
						"services.%s", a->name);
			for (size_t j = 0; j < rw->ntargets && !t; j++)
				if (!strcmp(rw->targets[j].service, a->name) && !strcmp(rw->targets[j].key, x->key))
					t = &rw->targets[j];
			if (!t) {
				same = (!x->value && !y->value) ||
				       (x->value && y->value && !strcmp(x->value, y->value));
				if (!same)
					return diag_err(d, "the rewrite would also change services.%s.%s, "
							"which is not one of the flipped settings", a->name,
							x->key);
				continue;
			}
			found++;
			check_password_of(rw, t->role, &pw);
			if (t->kind == RW_USER) {
				want = xstrdup(t->role);
			} else if (t->kind == RW_PASSWORD) {
				want = xstrdup(pw ? pw : "");
			} else if (x->value) {
				struct buf w = BUF_INIT;
				struct diag sub = DIAG_INIT;
				if (!dsn_rewrite(x->value, t->user ? t->role : NULL,
						 t->password ? pw : NULL, &w, &sub))
					want = buf_detach(&w, NULL);
				buf_release(&w);
				diag_release(&sub);
			}
			same = want && y->value && !strcmp(want, y->value);
			free(want);
			free(pw);
			if (!same)
				return diag_at(d, t->file->display, t->line, 0, "after the rewrite, "
					       "services.%s.%s is not what the plan intends (role %s with "
					       "its password reference): refusing", a->name, x->key, t->role);
		}
	}
	if (found != rw->ntargets)
		return diag_err(d, "the rewritten stack no longer has every setting the plan flips");
	return 0;
}

int rewrite_verify(const struct rewrite *rw, const struct compose_project *p,
		   const struct compose_opts *opts, struct diag *d)
{
	struct strvec env = STRVEC_INIT, files = STRVEC_INIT, envfiles = STRVEC_INIT, written = STRVEC_INIT;
	struct compose_project *was = NULL, *now = NULL;
	struct compose_opts o1 = *opts, o2 = *opts;
	struct arena a = ARENA_INIT;
	char tmpl[] = "/tmp/dsnflip-verify-XXXXXX";
	const char *tmpdir = getenv("TMPDIR");
	char *root = NULL;
	int ret = -1;

	check_environ(rw, opts->environ, &env);
	o1.environ = env.v;
	o2.environ = env.v;
	if (compose_load(&o1, &was, d))
		goto cleanup;

	root = tmpdir && *tmpdir ? xstrfmt("%s/dsnflip-verify-XXXXXX", tmpdir) : xstrdup(tmpl);
	if (!mkdtemp(root)) {
		diag_fail(d, "cannot create a temporary directory to check the rewrite: %s",
			  strerror(errno));
		free(root);
		root = NULL;
		goto cleanup;
	}
	/* Every file the stack read, edited or not, at <root><absolute path>. */
	for (size_t i = 0; i < p->nsources; i++) {
		const struct srcfile *f = p->sources[i];
		const char *abs = path_absolute(&a, f->path);
		if (strvec_contains(&written, abs))
			continue;
		const struct rewrite_file *rf = rewrite_file_for(rw, f);
		char *dest = xstrfmt("%s%s", root, abs), *dir = path_dirname(&a, dest);
		int r = fs_mkdir_p(dir, 0700, d);
		if (!r && path_write_file(dest, rf ? rf->data : f->data, rf ? rf->len : f->len))
			r = diag_fail(d, "cannot write the copy used to check the rewrite: %s", strerror(errno));
		free(dest);
		if (r)
			goto cleanup;
		strvec_push(&written, abs);
	}
	o2.dir = arena_strfmt(&a, "%s%s", root, p->dir);
	o2.project_name = p->name;
	for (size_t i = 0; i < opts->nfiles; i++)
		strvec_push(&files, opts->files[i][0] == '/' ? arena_strfmt(&a, "%s%s", root, opts->files[i])
							    : opts->files[i]);
	for (size_t i = 0; i < opts->nenv_files; i++)
		strvec_push(&envfiles, opts->env_files[i][0] == '/'
				       ? arena_strfmt(&a, "%s%s", root, opts->env_files[i]) : opts->env_files[i]);
	o2.files = (const char *const *)files.v;
	o2.env_files = (const char *const *)envfiles.v;
	if (compose_load(&o2, &now, d)) {
		struct buf m = BUF_INIT;
		buf_addf(&m, "the rewritten stack does not load: %s", d->msg.buf);
		diag_release(d);
		diag_err(d, "%s", m.buf);
		buf_release(&m);
		goto cleanup;
	}
	ret = compare(rw, was, now, root, d);
cleanup:
	if (root) {
		path_remove_tree(root);
		free(root);
	}
	compose_free(was);
	compose_free(now);
	strvec_clear(&env);
	strvec_clear(&files);
	strvec_clear(&envfiles);
	strvec_clear(&written);
	arena_release(&a);
	return ret;
}

/*
 * fuzz_rewrite: the rewrite path `branch` takes — load, plan, compute the
 * byte edits, splice them, and the reload check (rewrite_verify).
 *
 * The input is a small project: the first section is compose.yml; each
 * further section starts with a line "===NAME" and is the file NAME
 * (relative, [A-Za-z0-9._/-], no "..": .env, common.yml, env/app.env).
 * A section named dsnflip.yml is the config the plan is built with.
 *
 * Besides crashes and sanitizer errors, a finding is an inconsistent
 * result, checked here independently of mirror.c:
 *  - a spliced file differs from its original outside the recorded edits,
 *    or the edits overlap or fall outside the file;
 *  - rewrite_verify accepts a rewrite whose stack, loaded again with each
 *    <ROLE>_PASSWORD set, does not connect every target as its role with
 *    its password reference, moves a host or database, or changes any
 *    other environment value.
 * Each is reported with abort(), which libFuzzer records as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/mirror.h"
#include "artifacts/rewrite.h"
#include "artifacts/secrets.h"
#include "detect/dsn.h"
#include "plan/plan.h"
#include "stack/compose.h"
#include "stack/config.h"
#include "util/fs.h"
#include "util/path.h"

#define FINDING(...) (fprintf(stderr, "fuzz_rewrite finding: " __VA_ARGS__), fputc('\n', stderr), abort())

static int safe_name(const char *s, size_t n)
{
	if (!n || n > 64 || s[0] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return 0;
		if (c == '.' && i + 1 < n && s[i + 1] == '.')
			return 0;
		if (c == '/' && (i + 1 == n || s[i + 1] == '/'))
			return 0;
	}
	return !(n == 1 && s[0] == '.');
}

static void put(const char *dir, const char *name, size_t nlen, const uint8_t *p, size_t n)
{
	char path[512];
	struct diag d = DIAG_INIT;
	struct arena a = ARENA_INIT;
	snprintf(path, sizeof(path), "%s/%.*s", dir, (int)nlen, name);
	if (!fs_mkdir_p(path_dirname(&a, path), 0700, &d))
		path_write_file(path, (const char *)p, n);
	diag_release(&d);
	arena_release(&a);
}

/* Split the input into files below dir. */
static void unpack(const char *dir, const uint8_t *data, size_t size)
{
	const char *name = "compose.yml";
	size_t nlen = strlen(name);
	const uint8_t *p = data, *end = data + size;
	for (;;) {
		const uint8_t *sep = memmem(p, (size_t)(end - p), "\n===", 4);
		const uint8_t *body_end = sep ? sep + 1 : end;
		if (safe_name(name, nlen))
			put(dir, name, nlen, p, (size_t)(body_end - p));
		if (!sep)
			return;
		name = (const char *)sep + 4;
		const uint8_t *nl = memchr(name, '\n', (size_t)(end - (const uint8_t *)name));
		if (!nl)
			return;
		nlen = (size_t)(nl - (const uint8_t *)name);
		p = nl + 1;
	}
}

static int cmp_edit(const void *a, const void *b)
{
	const struct rewrite_edit *x = *(const struct rewrite_edit *const *)a;
	const struct rewrite_edit *y = *(const struct rewrite_edit *const *)b;
	return x->rstart < y->rstart ? -1 : x->rstart > y->rstart;
}

/* Every spliced file is its original with exactly the recorded edits. */
static void check_splice(const struct rewrite *rw)
{
	for (size_t i = 0; i < rw->nfiles; i++) {
		const struct rewrite_file *rf = &rw->files[i];
		const struct rewrite_edit **ev = calloc(rw->nedits + 1, sizeof(*ev));
		size_t n = 0, at = 0;
		struct buf want = BUF_INIT;
		for (size_t k = 0; k < rw->nedits; k++)
			if (rewrite_file_for(rw, rw->edits[k].file) == rf)
				ev[n++] = &rw->edits[k];
		qsort(ev, n, sizeof(*ev), cmp_edit);
		for (size_t k = 0; k < n; k++) {
			const struct rewrite_edit *e = ev[k];
			if (e->rstart < at || e->rend < e->rstart || e->rend > rf->src->len ||
			    e->rstart < e->start || e->rend > e->end)
				FINDING("%s: edit %zu [%zu,%zu) overlaps or leaves its literal [%zu,%zu)",
					rf->src->display, k, e->rstart, e->rend, e->start, e->end);
			buf_add(&want, rf->src->data + at, e->rstart - at);
			buf_add(&want, e->text, e->text_len);
			at = e->rend;
		}
		buf_add(&want, rf->src->data + at, rf->src->len - at);
		if (!n)
			FINDING("%s: rewritten with no edit", rf->src->display);
		if (want.len != rf->len || memcmp(want.buf ? want.buf : "", rf->data, rf->len))
			FINDING("%s: the spliced text is not the original with its edits", rf->src->display);
		buf_release(&want);
		free(ev);
	}
}

static const char *pw_of(const struct rewrite *rw, const char *role, char **owned)
{
	*owned = NULL;
	for (size_t r = 0; r < rw->roles.nr; r++)
		if (!strcmp(rw->roles.v[r], role))
			return *owned = xstrfmt("fuzzcheck%zu", r);
	return NULL;
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The DSN after the rewrite keeps every host and the database, and takes the role. */
static void check_dsn(const struct rewrite_target *t, const char *was, const char *now, const char *pw)
{
	struct dsn a = DSN_INIT, b = DSN_INIT;
	struct diag d = DIAG_INIT;
	if (dsn_parse(was, &a, &d))
		FINDING("services.%s.%s: a DSN target that did not parse before", t->service, t->key);
	diag_release(&d);
	if (dsn_parse(now, &b, &d))
		FINDING("services.%s.%s: verified, but the rewritten DSN does not parse", t->service, t->key);
	diag_release(&d);
	if (!streq(a.dbname, b.dbname) || a.nhosts != b.nhosts || a.form != b.form)
		FINDING("services.%s.%s: verified, but the database or hosts moved", t->service, t->key);
	for (size_t h = 0; h < a.nhosts; h++)
		if (strcmp(a.hosts[h].host, b.hosts[h].host) || a.hosts[h].port != b.hosts[h].port)
			FINDING("services.%s.%s: verified, but host %zu moved", t->service, t->key, h);
	if (t->user ? !streq(b.user, t->role) : !streq(a.user, b.user))
		FINDING("services.%s.%s: verified, but the user is not %s", t->service, t->key,
			t->user ? t->role : "unchanged");
	if (t->password ? !streq(b.password, pw) : !streq(a.password, b.password))
		FINDING("services.%s.%s: verified, but the password is not the reference", t->service, t->key);
	dsn_release(&a);
	dsn_release(&b);
}

/* Load the spliced project from a second directory and check every value. */
static void check_reload(const struct rewrite *rw, const struct compose_project *was, const char *dir)
{
	char dir2[] = "/tmp/dsnflip-fuzz-rewrite2-XXXXXX";
	struct strvec env = STRVEC_INIT;
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct compose_project *now = NULL;
	struct diag d = DIAG_INIT;
	struct arena a = ARENA_INIT;
	size_t dl = strlen(dir);

	if (!mkdtemp(dir2))
		return;
	for (size_t i = 0; i < was->nsources; i++) {
		const struct srcfile *f = was->sources[i];
		const char *abs = path_absolute(&a, f->path);
		if (strncmp(abs, dir, dl) || abs[dl] != '/')
			continue; /* outside: the loader refuses it, so it cannot be a source */
		const struct rewrite_file *rf = rewrite_file_for(rw, f);
		put(dir2, abs + dl + 1, strlen(abs + dl + 1), (const uint8_t *)(rf ? rf->data : f->data),
		    rf ? rf->len : f->len);
	}
	strvec_push(&env, "HOME=/nonexistent");
	for (size_t r = 0; r < rw->roles.nr; r++) {
		char *v = secrets_var_name(rw->roles.v[r]);
		strvec_pushf(&env, "%s=fuzzcheck%zu", v, r);
		free(v);
	}
	co.dir = dir2;
	co.environ = env.v;
	co.project_name = was->name;
	co.limits.max_expanded = 100000;
	if (compose_load(&co, &now, &d))
		FINDING("verified, but the spliced stack does not load: %s", d.msg.buf);
	if (now->nservices != was->nservices)
		FINDING("verified, but the service count changed");
	for (size_t i = 0; i < was->nservices; i++) {
		const struct service *s = &was->services[i], *n = &now->services[i];
		if (strcmp(s->name, n->name) || s->nenv != n->nenv)
			FINDING("verified, but services.%s changed shape", s->name);
		for (size_t k = 0; k < s->nenv; k++) {
			const struct env_entry *x = &s->env[k], *y = &n->env[k];
			const struct rewrite_target *t = NULL;
			char *pw = NULL;
			if (strcmp(x->key, y->key))
				FINDING("verified, but services.%s's variables changed", s->name);
			for (size_t j = 0; j < rw->ntargets && !t; j++)
				if (!strcmp(rw->targets[j].service, s->name) && !strcmp(rw->targets[j].key, x->key))
					t = &rw->targets[j];
			if (!t) {
				if (!streq(x->value, y->value))
					FINDING("verified, but services.%s.%s changed and is no target", s->name, x->key);
				continue;
			}
			const char *p = pw_of(rw, t->role, &pw);
			if (t->kind == RW_USER && !streq(y->value, t->role))
				FINDING("services.%s.%s: verified, but the user is not %s", s->name, x->key, t->role);
			if (t->kind == RW_PASSWORD && !streq(y->value, p))
				FINDING("services.%s.%s: verified, but not the password reference", s->name, x->key);
			if (t->kind == RW_DSN)
				check_dsn(t, x->value, y->value, p);
			free(pw);
		}
	}
	compose_free(now);
	diag_release(&d);
	strvec_clear(&env);
	arena_release(&a);
	path_remove_tree(dir2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/dsnflip-fuzz-rewrite-XXXXXX";
	if (!mkdtemp(dir))
		return 0;
	unpack(dir, data, size);

	struct compose_opts co = COMPOSE_OPTS_INIT;
	char *const environ_[] = { "HOME=/nonexistent", NULL };
	struct compose_project *p = NULL;
	struct diag d = DIAG_INIT;
	co.dir = dir;
	co.environ = environ_;
	co.limits.max_expanded = 100000;
	char *cfgpath = xstrfmt("%s/dsnflip.yml", dir);
	struct config *cfg = NULL;
	if (!path_exists(cfgpath))
		cfg = config_empty();
	else if (config_load(cfgpath, "dsnflip.yml", &cfg, &d))
		cfg = NULL;
	free(cfgpath);
	if (cfg && !compose_load(&co, &p, &d)) {
		struct plan *plan = NULL;
		if (!plan_build(p, cfg, NULL, NULL, &plan, &d)) {
			struct rewrite rw = REWRITE_INIT;
			if (!rewrite_compute(plan, &rw, &d)) {
				check_splice(&rw);
				if (!rewrite_verify(&rw, p, &co, &d)) {
					check_reload(&rw, p, dir);
#ifdef FUZZ_TRACE
					fprintf(stderr, "TRACE verified %zu targets\n", rw.ntargets);
#endif
				}
#ifdef FUZZ_TRACE
				else
					fprintf(stderr, "TRACE refused: %s\n", d.msg.buf);
#endif
			}
			rewrite_release(&rw);
			plan_free(plan);
		}
		compose_free(p);
	}
	config_free(cfg);
	diag_release(&d);
	path_remove_tree(dir);
	return 0;
}

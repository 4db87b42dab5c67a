/*
 * compose: load a compose project with compose v2 semantics (see compose.h).
 *
 * The pipeline, in the order docker compose (compose-go) applies it:
 *   1. the project environment: the process environment, then --env-file
 *      files or the .env of the first -f file's directory (or of the
 *      current one), each adding only what is not set yet;
 *   2. the files: -f, else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR),
 *      else discovery upwards (plus the first override file beside it); the
 *      first file's directory is the project directory, and its .env is
 *      read too when that is another directory;
 *   3. per file and per YAML document: parse, interpolate values (never
 *      keys; x- extensions too), put environment, env_file, build and
 *      extends into one canonical shape, make relative paths absolute;
 *   4. per document: `include` sub-projects (their own directory and .env,
 *      under the including project's variables), then `extends`;
 *   5. merge the documents and files in order (!reset, !override, bare
 *      keys, command/entrypoint/healthcheck.test replaced);
 *   6. the project name; per service: profiles, then env_file entries and
 *      environment, with origins.
 * Each step keeps positions so every error and every value names its place,
 * and errors name the key path ("services.api.environment.X: ...").
 *
 * Where compose v1 (Debian's 1.29) differs, v2 wins: name: and include,
 * !reset/!override, the + forms and nested defaults, env_file values
 * interpolated from the project environment (v1: the process only),
 * compose.yaml before docker-compose.yml, any override file name, -p and
 * COMPOSE_PROJECT_NAME refused unless already valid (v1 normalised them),
 * several documents in one file (v1 refuses), x- extensions interpolated.
 */
#include "stack/compose.h"
#include "stack/config.h"
#include "stack/envfile.h"
#include "stack/interp.h"
#include "util/num.h"
#include "util/path.h"
#include "util/strmap.h"

#include <ctype.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXTENDS_DEPTH 32
#define MAX_INCLUDE_DEPTH 8

struct scope;

struct loader {
	const struct compose_opts *opts;
	struct compose_project *p;
	struct arena *a;
	struct diag *d;
	const char *cwd;            /* absolute -C directory: where compose would run */
	const struct scope *scope;  /* the variables files are interpolated with now */
	/* Files already parsed and normalised, by absolute path, base directory
	 * and scope (the same file read for another sub-project differs). */
	struct cached {
		const char *path, *base;
		const struct scope *scope;
		struct ynode **layers; /* its documents */
		size_t nlayers;
	} *cache;
	size_t ncache, cache_alloc;
	/* The (file, service) chain being extended, for cycle errors. */
	const char *ext_stack[MAX_EXTENDS_DEPTH];
	size_t ext_depth;
	/* The chain of files including one another, for cycle errors. */
	const char *inc_stack[MAX_INCLUDE_DEPTH + 1];
	size_t include_depth;
	/* service_keys as a set, made at the first service: every key of every
	 * service is checked against the list. */
	struct strmap service_keys;
};

static const char *const top_keys[] = {
	"version", "name", "include", "services", "networks", "volumes", "secrets",
	"configs", "models", NULL
};

static const char *const service_keys[] = {
	"annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
	"cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
	"cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus",
	"cpuset", "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules",
	"devices", "dns", "dns_opt", "dns_search", "domainname", "driver_opts", "entrypoint",
	"env_file", "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
	"group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
	"label_file", "labels", "links", "logging", "mac_address", "mem_limit",
	"mem_reservation", "mem_swappiness", "memswap_limit", "models", "network_mode",
	"networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform",
	"ports", "post_start", "pre_stop", "privileged", "profiles", "provider",
	"pull_policy", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
	"shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt",
	"sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts",
	"volumes", "volumes_from", "working_dir", NULL
};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* "file:line:col: message" at node n. */
__attribute__((format(printf, 3, 4)))
static int err_node(struct loader *L, const struct ynode *n, const char *fmt, ...)
{
	const char *file = n && n->pos.file ? n->pos.file->display : "?";
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	diag_at(L->d, file, n ? n->pos.line : 0, n ? n->pos.col : 0, "%s", msg.buf);
	buf_release(&msg);
	return -1;
}

static void add_source(struct compose_project *p, struct srcfile *f)
{
	ALLOC_GROW(p->sources, p->nsources + 1, p->sources_alloc);
	p->sources[p->nsources++] = f;
}

/*
 * How a file is named in messages and plans: relative to the project
 * directory, with "../" for files beside it (a shared env file in a
 * monorepo), so the text does not depend on where the checkout lives.
 */
static const char *display_for(struct loader *L, const char *abs)
{
	const char *dir = L->p->dir;
	size_t common = 0, i = 0;

	if (abs[0] != '/' || dir[0] != '/')
		return path_relative(L->a, dir, abs);
	/* The longest common prefix ending at a directory boundary. */
	for (;; i++) {
		int de = !dir[i] || dir[i] == '/', ae = !abs[i] || abs[i] == '/';
		if (de && ae)
			common = i;
		if (!dir[i] || !abs[i] || dir[i] != abs[i])
			break;
	}
	if (!dir[common] && !abs[common])
		return ".";
	if (!dir[common] || (common == 0 && !dir[1]))
		return path_relative(L->a, dir, abs);
	struct buf b = BUF_INIT;
	for (const char *c = dir + common; *c; c++)
		if (*c == '/' && c[1])
			buf_addstr(&b, "../");
	buf_addstr(&b, abs[common] == '/' ? abs + common + 1 : abs + common);
	char *r = arena_strndup(L->a, b.buf, b.len);
	buf_release(&b);
	return r;
}

/*
 * Answers of compose_path_allowed by path: services name the same few
 * files (a shared env file, a build context's entrypoint), and resolving
 * one costs a readlink per path component.  The policy (root, allow) is
 * set before the first question and not changed after it.
 */
struct compose_memo {
	struct arena arena;
	struct strmap allowed; /* abs -> (void *)1 refused, (void *)2 allowed */
};

int compose_path_allowed(const struct compose_project *p, const char *abs)
{
	uintptr_t known = p->memo ? (uintptr_t)strmap_get(&p->memo->allowed, abs) : 0;
	if (known)
		return known == 2;
	struct arena tmp = ARENA_INIT;
	const char *real = path_real(&tmp, abs);
	int ok = !real || !p->root || path_within(p->root, real);
	for (size_t i = 0; !ok && i < p->nallow; i++)
		ok = path_within(p->allow[i], real);
	arena_release(&tmp);
	if (p->memo)
		strmap_put(&p->memo->allowed, arena_strdup(&p->memo->arena, abs), (void *)(uintptr_t)(ok ? 2 : 1));
	return ok;
}

/*
 * The containment policy for files under dir (the project directory as far
 * as it is known): its repository, and dsnflip.yml's allow_paths.  A
 * dsnflip.yml that does not load allows nothing more here; the command that
 * uses the config reports its error.
 */
static void set_policy(struct loader *L, const char *dir)
{
	struct compose_project *p = L->p;
	const char *cfg = L->opts->config_path ? path_join(L->a, L->cwd, L->opts->config_path)
					       : path_join(L->a, dir, "dsnflip.yml");
	if (p->memo)
		strmap_clear(&p->memo->allowed); /* answers of the policy this replaces */
	p->root = path_repo_root(L->a, dir);
	p->root_is_repo = p->root != NULL;
	if (!p->root)
		p->root = path_real(L->a, dir);
	p->nallow = 0;
	p->allow = NULL;
	if (!path_exists(cfg))
		return;
	struct config *c = NULL;
	struct diag sub = DIAG_INIT;
	if (!config_load(cfg, NULL, &c, &sub) && c->nallow_paths) {
		p->allow = arena_alloc(L->a, c->nallow_paths * sizeof(*p->allow));
		for (size_t i = 0; i < c->nallow_paths; i++) {
			const char *r = path_real(L->a, c->allow_paths[i]);
			p->allow[p->nallow++] = r ? r : arena_strdup(L->a, c->allow_paths[i]);
		}
	}
	config_free(c);
	diag_release(&sub);
}

/* Was abs named with --env-file? */
static int explicit_env_file(struct loader *L, const char *abs)
{
	for (size_t i = 0; i < L->opts->nenv_files; i++)
		if (!strcmp(path_join(L->a, L->cwd, L->opts->env_files[i]), abs))
			return 1;
	return 0;
}

/*
 * Refuse a file the stack names that resolves (after symlinks) outside the
 * repository: `env_file: /etc/shadow` would otherwise print its lines, and
 * `dsnflip lint` on a pull request would be an exfiltration channel.  The
 * message names the reference, never the file's content.
 */
static int check_inside(struct loader *L, const char *abs, const struct ynode *at, const char *what)
{
	if (compose_path_allowed(L->p, abs))
		return 0;
	/* The root itself is not named: messages stay the same wherever the
	 * checkout lives (and the fixtures can pin them). */
	const char *where = L->p->root_is_repo ? "the repository" : "the project directory";
	const char *shown = display_for(L, abs);
	if (str_starts(shown, "../"))
		shown = abs;
	if (at)
		return err_node(L, at, "%s: '%s' resolves outside %s: not read; list it under "
				"allow_paths in dsnflip.yml to allow it", what, shown, where);
	return diag_err(L->d, "'%s' resolves outside %s: not read; list it under allow_paths "
			"in dsnflip.yml to allow it", shown, where);
}

/* --- the project environment --- */

const struct project_var *compose_var(const struct compose_project *p, const char *name)
{
	for (size_t i = p->nvars; i-- > 0;)
		if (!strcmp(p->vars[i].name, name))
			return &p->vars[i];
	return NULL;
}

/* Add a variable unless it is already set: the process environment comes
 * first, then each round of env files (compose-go's Mapping.Merge). */
static void set_var_if_unset(struct compose_project *p, const char *name, const char *value,
			     const struct origin *o)
{
	if (compose_var(p, name))
		return;
	ALLOC_GROW(p->vars, p->nvars + 1, p->vars_alloc);
	p->vars[p->nvars].name = arena_strdup(&p->arena, name);
	p->vars[p->nvars].value = arena_strdup(&p->arena, value);
	p->vars[p->nvars].origin = *o;
	p->nvars++;
}

/*
 * The variables a file is interpolated with: the project's, or for an
 * included sub-project its own .env under the including project's (whose
 * values win, as compose-go merges them).  Never changed once built, so
 * origins handed out point at stable memory.
 */
struct scope {
	const struct scope *parent;
	const struct project_var *vars;
	size_t n;
};

static const struct project_var *scope_get(const struct scope *s, const char *name)
{
	if (!s)
		return NULL;
	const struct project_var *v = scope_get(s->parent, name);
	if (v)
		return v;
	for (size_t i = s->n; i-- > 0;)
		if (!strcmp(s->vars[i].name, name))
			return &s->vars[i];
	return NULL;
}

static const char *scope_lookup(void *ctx, const char *name, const void **origin_out)
{
	const struct project_var *v = scope_get(ctx, name);
	if (!v)
		return NULL;
	if (origin_out)
		*origin_out = &v->origin;
	return v->value;
}

static const char *process_env(const struct compose_opts *o, const char *name)
{
	size_t n = strlen(name);
	if (!o->environ)
		return NULL;
	for (char *const *e = o->environ; *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* A growing list of variables (one round of env files, one env file). */
struct varlist {
	struct arena *a;
	struct project_var *v;
	size_t n, alloc;
};

static void varlist_add(struct varlist *l, const char *key, const char *value, const struct origin *o)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->v[l->n].name = arena_strdup(l->a, key);
	l->v[l->n].value = arena_strdup(l->a, value);
	l->v[l->n].origin = *o;
	l->n++;
}

static const struct project_var *varlist_get(const struct varlist *l, const char *name)
{
	for (size_t i = l->n; i-- > 0;)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

/*
 * Inside one env file, a reference sees the file's own earlier entries
 * first, then whatever the caller's lookup gives (compose-go's dotenv
 * expandVariables).  Origins are not reported from here: an env file
 * value's origin is its own literal.
 */
struct file_lookup {
	struct varlist *own;
	interp_lookup_fn next;
	void *next_ctx;
};

static const char *file_lookup_fn(void *ctx, const char *name, const void **origin_out)
{
	struct file_lookup *fl = ctx;
	const struct project_var *v = varlist_get(fl->own, name);
	if (origin_out)
		*origin_out = NULL;
	if (v)
		return v->value;
	return fl->next ? fl->next(fl->next_ctx, name, NULL) : NULL;
}

/*
 * Read one env file.  Values that interpolate (not single-quoted) are
 * expanded against the file's earlier entries, then lookup/lctx.  Each
 * entry is handed to `add` in file order.  A missing file is an error
 * (at `at`, naming `what`) unless !required.
 */
typedef void (*env_add_fn)(void *ctx, const char *key, const char *value, const struct origin *o);

static int read_envfile(struct loader *L, const char *abs, int required, const struct ynode *at,
			const char *what, interp_lookup_fn lookup, void *lctx, env_add_fn add,
			void *actx)
{
	struct srcfile *f = NULL;
	struct envfile ef = ENVFILE_INIT;
	struct varlist own = { .a = L->a };
	struct file_lookup fl = { &own, lookup, lctx };
	int ret = -1;

	if (!path_exists(abs) || path_is_dir(abs)) {
		const char *why = path_is_dir(abs) ? "is a directory" : "not found";
		if (!required && !path_is_dir(abs))
			return 0;
		if (at)
			return err_node(L, at, "%s: env file '%s' %s", what, display_for(L, abs), why);
		return diag_err(L->d, "%s: env file '%s' %s", what, display_for(L, abs), why);
	}
	if (!explicit_env_file(L, abs) && check_inside(L, abs, at, what))
		return -1;
	for (size_t i = 0; i < L->p->nsources; i++)
		if (!strcmp(L->p->sources[i]->path, abs))
			f = L->p->sources[i];
	if (!f) {
		if (srcfile_read(L->a, abs, display_for(L, abs), ENVFILE_MAX_SIZE, &f, L->d))
			return -1;
		add_source(L->p, f);
	}
	if (envfile_parse(f->display, f->data, f->len, &ef, L->d))
		goto cleanup;
	for (size_t i = 0; i < ef.nr; i++) {
		struct envfile_entry *e = &ef.v[i];
		struct origin o = { .kind = ORIGIN_ENVFILE, .quote = e->quote };
		const char *value;
		struct interp_result r;

		o.pos.file = f;
		o.pos.line = e->line;
		o.pos.col = e->col;
		o.pos.start = e->vstart;
		o.pos.end = e->vend;
		o.raw = arena_strndup(L->a, f->data + e->vstart, e->vend - e->vstart);
		if (!e->has_value) {
			/* A bare KEY inherits from the environment, or is skipped. */
			const char *v = lookup ? lookup(lctx, e->key, NULL) : NULL;
			if (!v)
				continue;
			varlist_add(&own, e->key, v, &o);
			add(actx, e->key, v, &o);
			continue;
		}
		if (!envfile_entry_interpolates(e)) {
			varlist_add(&own, e->key, e->value, &o);
			add(actx, e->key, e->value, &o);
			continue;
		}
		interp_result_init(&r);
		struct diag sub = DIAG_INIT;
		if (interp_expand_flags(e->value, strlen(e->value), file_lookup_fn, &fl,
					L->opts->interp_flags, "", 0, 0, &r, &sub)) {
			const char *msg = sub.msg.buf;
			if (!strncmp(msg, ": ", 2))
				msg += 2;
			diag_at_key(L->d, f->display, e->line, e->col, e->key, "%s", msg);
			diag_release(&sub);
			interp_result_release(&r);
			goto cleanup;
		}
		value = arena_strndup(L->a, r.value.buf, r.value.len);
		for (size_t u = 0; u < r.unset.nr; u++)
			strvec_pushf(&L->p->warnings, "%s:%d:%d: %s: variable '%s' is not set, using \"\"",
				     f->display, e->line, e->col, e->key, r.unset.v[u]);
		interp_result_release(&r);
		varlist_add(&own, e->key, value, &o);
		add(actx, e->key, value, &o);
	}
	ret = 0;
cleanup:
	free(own.v);
	envfile_release(&ef);
	return ret;
}

/*
 * One round of env files, as compose-go's GetEnvFromFile reads them: a
 * reference sees the file's own earlier entries, then `current` (the
 * environment so far: the process, earlier rounds), then earlier files of
 * this round.  Later files win within the round.
 */
struct round_ctx {
	const struct scope *current;
	struct varlist vars;
};

static const char *round_lookup(void *ctx, const char *name, const void **origin_out)
{
	struct round_ctx *c = ctx;
	const char *v = scope_lookup((void *)c->current, name, origin_out);
	if (v)
		return v;
	const struct project_var *pv = varlist_get(&c->vars, name);
	if (origin_out)
		*origin_out = pv ? &pv->origin : NULL;
	return pv ? pv->value : NULL;
}

static void round_add(void *ctx, const char *key, const char *value, const struct origin *o)
{
	varlist_add(&((struct round_ctx *)ctx)->vars, key, value, o);
}

/*
 * Read files[0..n) (absolute) as one round over `current`; required says
 * whether a missing file is an error.  *out gets the round's variables,
 * one per name (the last definition), in the arena.
 */
static int env_round(struct loader *L, const struct scope *current, const char *const *files,
		     size_t n, int required, const struct ynode *at, const char *what,
		     struct varlist *out)
{
	struct round_ctx c = { .current = current, .vars = { .a = L->a } };
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		ret = read_envfile(L, files[i], required, at, what, round_lookup, &c, round_add, &c);
	out->a = L->a;
	out->n = 0;
	out->v = arena_alloc(L->a, (c.vars.n ? c.vars.n : 1) * sizeof(*out->v));
	for (size_t i = c.vars.n; i-- > 0;)
		if (!varlist_get(out, c.vars.v[i].name))
			out->v[out->n++] = c.vars.v[i];
	free(c.vars.v);
	return ret;
}

/* Add a round's variables to the project environment (earlier values win). */
static void env_merge_round(struct loader *L, const struct varlist *r)
{
	for (size_t i = r->n; i-- > 0;)
		set_var_if_unset(L->p, r->v[i].name, r->v[i].value, &r->v[i].origin);
}

/* The project environment's scope (valid until p->vars changes). */
static struct scope project_scope(struct loader *L)
{
	struct scope s = { NULL, L->p->vars, L->p->nvars };
	return s;
}

/*
 * The project environment, in compose v2's order: the process environment
 * (always wins), then --env-file files (later wins) or `dir/.env`.  Called
 * once before the compose files are known (so .env may set COMPOSE_FILE)
 * and again with the project directory once it is: a .env there adds what
 * is not yet set (docker compose applies WithEnvFiles/WithDotEnv twice).
 */
static int load_env_round(struct loader *L, const char *dir)
{
	const struct compose_opts *o = L->opts;
	struct varlist r;
	const char **files;
	size_t n;
	int ret;

	if (o->nenv_files) {
		files = xcalloc(o->nenv_files, sizeof(*files));
		for (n = 0; n < o->nenv_files; n++)
			files[n] = path_join(L->a, L->cwd, o->env_files[n]);
	} else {
		const char *off = process_env(o, "COMPOSE_DISABLE_ENV_FILE");
		if (off && (!strcmp(off, "1") || !strcasecmp(off, "true")))
			return 0;
		files = xcalloc(1, sizeof(*files));
		files[0] = path_join(L->a, dir, ".env");
		n = path_exists(files[0]) && !path_is_dir(files[0]) ? 1 : 0;
	}
	struct scope cur = project_scope(L);
	ret = env_round(L, &cur, files, n, 1, NULL, "--env-file", &r);
	free(files);
	if (ret)
		return -1;
	env_merge_round(L, &r);
	return 0;
}

static void load_process_env(struct loader *L)
{
	struct origin o = { .kind = ORIGIN_PROCESS };
	if (!L->opts->environ)
		return;
	for (char *const *e = L->opts->environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || eq == *e)
			continue;
		char *name = arena_strndup(L->a, *e, (size_t)(eq - *e));
		set_var_if_unset(L->p, name, eq + 1, &o);
	}
}

/* --- interpolation of one file's values --- */

/* The key path being walked, formatted only for a message. */
struct path_seg {
	const char *key; /* NULL: a list index */
	size_t idx;
};

struct interp_walk {
	struct loader *L;
	struct path_seg segs[128]; /* ydoc bounds nesting well below this */
	size_t nsegs;
	struct buf path;
};

static const char *walk_path(struct interp_walk *w)
{
	size_t n = w->nsegs < 128 ? w->nsegs : 128;
	buf_reset(&w->path);
	for (size_t i = 0; i < n; i++) {
		if (w->segs[i].key)
			buf_addf(&w->path, "%s%s", i ? "." : "", w->segs[i].key);
		else
			buf_addf(&w->path, "[%zu]", w->segs[i].idx);
	}
	return w->path.buf;
}

static void walk_push(struct interp_walk *w, const char *key, size_t idx)
{
	if (w->nsegs < sizeof(w->segs) / sizeof(w->segs[0])) {
		w->segs[w->nsegs].key = key;
		w->segs[w->nsegs].idx = idx;
	}
	w->nsegs++;
}

static void walk_pop(struct interp_walk *w)
{
	w->nsegs--;
}

static struct ynode *interp_node(struct interp_walk *w, struct ynode *n, int depth, const char *key);

/*
 * Interpolate one scalar (an environment list item after its '=').  An
 * error or warning names the key path: "services.api.image: invalid ...".
 */
static struct ynode *interp_scalar(struct interp_walk *w, struct ynode *n, int env_item)
{
	struct loader *L = w->L;
	const char *s = n->str;
	size_t skip = 0;
	struct interp_result r;
	struct diag d = DIAG_INIT;

	if (!memchr(s, '$', n->len))
		return n;
	if (env_item) {
		const char *eq = strchr(s, '=');
		if (!eq)
			return n;
		skip = (size_t)(eq - s) + 1;
	}
	interp_result_init(&r);
	if (interp_expand_flags(s + skip, n->len - skip, scope_lookup, (void *)L->scope,
				L->opts->interp_flags, "", 0, 0, &r, &d)) {
		/* interp's message without a place is ": message". */
		const char *msg = d.msg.buf;
		if (!strncmp(msg, ": ", 2))
			msg += 2;
		const char *path = walk_path(w);
		diag_at(L->d, n->pos.file->display, n->pos.line, n->pos.col, "%s%s%s", path,
			*path ? ": " : "", msg);
		diag_release(&d);
		interp_result_release(&r);
		return NULL;
	}
	struct ynode *c = ynode_copy(L->a, n);
	struct buf v = BUF_INIT;
	buf_add(&v, s, skip);
	buf_add(&v, r.value.buf, r.value.len);
	c->str = arena_strndup(L->a, v.buf, v.len);
	c->len = v.len;
	buf_release(&v);
	c->raw = n->str;
	if (r.whole_var && r.var_origin) {
		c->value_origin = r.var_origin;
		c->value_var = arena_strdup(L->a, r.var_name);
	}
	for (size_t u = 0; u < r.unset.nr; u++) {
		const char *path = walk_path(w);
		strvec_pushf(&L->p->warnings, "%s:%d:%d: %s%svariable '%s' is not set, using \"\"",
			     n->pos.file->display, n->pos.line, n->pos.col, path, *path ? ": " : "",
			     r.unset.v[u]);
	}
	interp_result_release(&r);
	return c;
}

/*
 * Interpolate every value (never a key) of the tree at n, copying what
 * changes.  depth: 0 the file's root, 1 services, 2 a service, 3 its keys'
 * values.  x- extensions are interpolated too (compose does: a required
 * variable missing there is an error), though nothing reads them after.
 */
static struct ynode *interp_node(struct interp_walk *w, struct ynode *n, int depth, const char *key)
{
	struct loader *L = w->L;
	if (!n)
		return n;
	if (n->kind == YN_SCALAR)
		return interp_scalar(w, n, 0);
	struct ynode *c = ynode_copy(L->a, n);
	if (n->kind == YN_SEQ) {
		int env_list = depth == 3 && key && !strcmp(key, "environment");
		for (size_t i = 0; i < n->n; i++) {
			struct ynode *it = n->items[i];
			walk_push(w, NULL, i);
			if (env_list && it->kind == YN_SCALAR)
				it = interp_scalar(w, it, 1);
			else
				it = interp_node(w, it, depth + 1, NULL);
			walk_pop(w);
			if (!it)
				return NULL;
			c->items[i] = it;
		}
		return c;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->kind == YN_SCALAR ? n->keys[i]->str : NULL;
		walk_push(w, k ? k : "?", 0);
		struct ynode *v = interp_node(w, n->vals[i], depth + 1, k);
		walk_pop(w);
		if (!v)
			return NULL;
		c->vals[i] = v;
	}
	return c;
}

/* --- canonical shapes --- */

/* A YAML null as written: a value that interpolation produced ("${EMPTY}")
 * is a string, even when empty. */
static int is_null(const struct ynode *n)
{
	return ynode_is_null(n) && !(n && n->raw);
}

static struct ynode *scalar_at(struct loader *L, const char *s, size_t len, const struct ynode *at)
{
	struct ynode *n = ynode_new(L->a, YN_SCALAR);
	n->str = arena_strndup(L->a, s, len);
	n->len = len;
	n->pos = at->pos;
	n->style = at->style;
	return n;
}

/* environment / labels: list "K=V" or "K", or a map -> a map. */
static struct ynode *canon_kv(struct loader *L, struct ynode *n, const char *what, const char *svc)
{
	if (!n || is_null(n))
		return ynode_new(L->a, YN_MAP);
	if (n->kind == YN_MAP) {
		struct ynode *m = ynode_copy(L->a, n);
		for (size_t i = 0; i < m->n; i++) {
			const struct ynode *k = m->keys[i], *v = m->vals[i];
			if (k->kind != YN_SCALAR) {
				err_node(L, k, "services.%s.%s: keys must be strings, not %s", svc, what,
					 ykind_name(k));
				return NULL;
			}
			if (!*k->str) {
				err_node(L, k, "services.%s.%s: a key must not be empty", svc, what);
				return NULL;
			}
			if (v->kind != YN_SCALAR) {
				err_node(L, v, "services.%s.%s.%s must be a string, number, boolean or "
					 "null, not %s", svc, what, k->str, ykind_name(v));
				return NULL;
			}
			if (is_null(m->vals[i]))
				m->vals[i] = NULL;
		}
		return m;
	}
	if (n->kind != YN_SEQ) {
		err_node(L, n, "services.%s.%s must be a mapping or a list, not %s", svc, what,
			 ykind_name(n));
		return NULL;
	}
	struct ynode *m = ynode_new(L->a, YN_MAP);
	m->pos = n->pos;
	m->tag = n->tag;
	for (size_t i = 0; i < n->n; i++) {
		struct ynode *it = n->items[i];
		if (it->kind != YN_SCALAR) {
			err_node(L, it, "services.%s.%s[%zu] must be a string, not %s", svc, what,
				 i, ykind_name(it));
			return NULL;
		}
		const char *eq = strchr(it->str, '=');
		if (eq == it->str || !*it->str) {
			err_node(L, it, "services.%s.%s[%zu]: %s", svc, what, i,
				 *it->str ? "no name before '='" : "an empty entry");
			return NULL;
		}
		struct ynode *k = scalar_at(L, it->str, eq ? (size_t)(eq - it->str) : it->len, it);
		struct ynode *v = NULL;
		if (eq) {
			v = scalar_at(L, eq + 1, it->len - (size_t)(eq + 1 - it->str), it);
			v->list_form = 1;
			v->value_origin = it->value_origin;
			v->value_var = it->value_var;
			if (it->raw) {
				const char *req = strchr(it->raw, '=');
				v->raw = req ? req + 1 : it->raw;
			}
		}
		long at = ymap_index(m, k->str);
		if (at >= 0)
			m->vals[at] = v; /* a later duplicate wins */
		else
			ymap_push(L->a, m, k, v);
	}
	return m;
}

static int is_remote_context(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11);
}

static struct ynode *rebased(struct loader *L, const struct ynode *n, const char *base)
{
	struct ynode *c = ynode_copy(L->a, n);
	c->str = path_join(L->a, base, n->str);
	c->len = strlen(c->str);
	return c;
}

/* Shapes a value may take, for want_shape(). */
enum { SH_NULL = 1, SH_STR = 2, SH_SEQ = 4, SH_MAP = 8 };

static int shape_of(const struct ynode *v)
{
	if (!v || is_null(v))
		return SH_NULL;
	return v->kind == YN_SCALAR ? SH_STR : v->kind == YN_SEQ ? SH_SEQ : SH_MAP;
}

/*
 * The value at services.SVC.PATH must have one of the shapes in `ok`
 * (null is allowed only when ok has SH_NULL); else report it with the
 * shapes it may have and the one it has.  Returns 0 or -1.
 */
static int want_shape(struct loader *L, const struct ynode *v, const char *svc, const char *path,
		      int ok)
{
	static const char *const names[] = { "a string", "a list", "a mapping" };
	struct buf want = BUF_INIT;
	int has = shape_of(v), n = 0;

	if (has & ok)
		return 0;
	for (int i = 0; i < 3; i++)
		if (ok & (SH_STR << i))
			buf_addf(&want, "%s%s", n++ ? " or " : "", names[i]);
	err_node(L, v, "services.%s.%s must be %s, not %s", svc, path, want.buf,
		 has == SH_NULL ? "null" : has == SH_STR ? "a string" : has == SH_SEQ ? "a list" :
		 "a mapping");
	buf_release(&want);
	return -1;
}

/* A list whose entries are all strings (command, entrypoint, profiles). */
static int want_strings(struct loader *L, const struct ynode *v, const char *svc, const char *path)
{
	for (size_t i = 0; v && v->kind == YN_SEQ && i < v->n; i++) {
		const struct ynode *it = v->items[i];
		if (shape_of(it) != SH_STR)
			return err_node(L, it ? it : v, "services.%s.%s[%zu] must be a string, not %s",
					svc, path, i, ykind_name(it));
	}
	return 0;
}

/*
 * A count (scale, deploy.replicas): a non-negative decimal integer, maybe
 * quoted, at most COUNT_MAX (no stack runs a million replicas; the bound keeps
 * replicas times pool size well inside an int).
 */
#define COUNT_MAX 1000000

static const char *count_digits(const char *s)
{
	return s + (s[0] == '+');
}

static int want_count(struct loader *L, const struct ynode *v, const char *svc, const char *path)
{
	const char *p;
	int n;

	if (shape_of(v) == SH_NULL)
		return 0;
	if (v->kind != YN_SCALAR)
		return want_shape(L, v, svc, path, SH_STR);
	p = count_digits(v->str);
	if (*p == '-' && p[1] >= '0' && p[1] <= '9' && strspn(p + 1, "0123456789") == strlen(p + 1))
		return err_node(L, v, "services.%s.%s must not be negative", svc, path);
	switch (num_parse_int(p, 0, COUNT_MAX, &n)) {
	case NUM_OK:
		return 0;
	case NUM_RANGE:
		return err_node(L, v, "services.%s.%s must be a whole number from 0 to %d, not "
				"'%.40s'", svc, path, COUNT_MAX, v->str);
	default:
		return err_node(L, v, "services.%s.%s must be a whole number, not '%.40s'", svc,
				path, v->str);
	}
}

/* extends as a mapping: only `service` and `file`, both strings. */
static int check_extends_map(struct loader *L, const char *name, const struct ynode *m)
{
	for (size_t q = 0; q < m->n; q++) {
		const struct ynode *ek = m->keys[q];
		int is_file = ek->kind == YN_SCALAR && !strcmp(ek->str, "file");
		if (!is_file && (ek->kind != YN_SCALAR || strcmp(ek->str, "service")))
			return err_node(L, ek, "services.%s.extends: unknown key '%s' (expected "
					"service, file)", name, ek->kind == YN_SCALAR ? ek->str : "?");
		if (want_shape(L, m->vals[q], name, is_file ? "extends.file" : "extends.service",
			       SH_STR))
			return -1;
	}
	return 0;
}

/* env_file's `required`: a YAML boolean. */
static int check_required(struct loader *L, const char *name, size_t j, const struct ynode *req)
{
	static const char *const bools[] = { "true", "false", "True", "False", "TRUE", "FALSE",
					     NULL };
	if (req->kind == YN_SCALAR && in_list(bools, req->str))
		return 0;
	if (req->kind != YN_SCALAR)
		return err_node(L, req, "services.%s.env_file[%zu].required must be true or false, "
				"not %s", name, j, ykind_name(req));
	return err_node(L, req, "services.%s.env_file[%zu].required must be true or false, "
			"not '%.40s'", name, j, req->str);
}

/*
 * The keys dsnflip reads, checked against compose's schema where a wrong
 * type would otherwise be read as absent (a `ports: 80` that publishes
 * nothing, a `replicas: two` that counts as one).
 */
static int check_service_shapes(struct loader *L, const char *name, const struct ynode *key,
				 const struct ynode *v)
{
	const char *k = key->str;

	if (!strcmp(k, "image") || !strcmp(k, "network_mode"))
		return want_shape(L, v, name, k, SH_NULL | SH_STR);
	if (!strcmp(k, "command") || !strcmp(k, "entrypoint"))
		return want_shape(L, v, name, k, SH_NULL | SH_STR | SH_SEQ) ||
		       want_strings(L, v, name, k);
	if (!strcmp(k, "profiles"))
		return want_shape(L, v, name, k, SH_NULL | SH_SEQ) || want_strings(L, v, name, k);
	if (!strcmp(k, "ports"))
		return want_shape(L, v, name, k, SH_NULL | SH_SEQ);
	if (!strcmp(k, "scale"))
		return want_count(L, v, name, k);
	if (!strcmp(k, "deploy")) {
		if (want_shape(L, v, name, k, SH_NULL | SH_MAP))
			return -1;
		return shape_of(v) == SH_MAP ? want_count(L, ymap_get(v, "replicas"), name,
							    "deploy.replicas") : 0;
	}
	return 0;
}

/* Put one service into canonical shape, with paths made absolute against base. */
static struct ynode *canon_service(struct loader *L, const char *name, struct ynode *svc,
				   const char *base)
{
	if (!svc || ynode_is_null(svc))
		svc = ynode_new(L->a, YN_MAP);
	if (svc->kind != YN_MAP) {
		err_node(L, svc, "services.%s must be a mapping, not %s", name, ykind_name(svc));
		return NULL;
	}
	struct ynode *c = ynode_copy(L->a, svc);
	for (size_t i = 0; i < c->n; i++) {
		struct ynode *k = c->keys[i], *v = c->vals[i];
		const char *key = k->str;
		if (k->kind != YN_SCALAR) {
			err_node(L, k, "services.%s: keys must be strings", name);
			return NULL;
		}
		if (!strncmp(key, "x-", 2))
			continue;
		if (!L->service_keys.nr)
			for (const char *const *sk = service_keys; *sk; sk++)
				strmap_put(&L->service_keys, *sk, (void *)*sk);
		if (!strmap_get(&L->service_keys, key)) {
			err_node(L, k, "services.%s: unknown key '%s'", name, key);
			return NULL;
		}
		if (v && v->tag && !strcmp(v->tag, "!reset"))
			continue;
		if (check_service_shapes(L, name, k, v))
			return NULL;
		if (!strcmp(key, "environment") || !strcmp(key, "labels")) {
			struct ynode *m = canon_kv(L, v, key, name);
			if (!m)
				return NULL;
			m->tag = v ? v->tag : NULL;
			c->vals[i] = m;
		} else if (!strcmp(key, "env_file")) {
			if (want_shape(L, v, name, "env_file", SH_STR | SH_SEQ))
				return NULL;
			struct ynode *seq = ynode_new(L->a, YN_SEQ);
			seq->pos = v->pos;
			seq->tag = v->tag;
			size_t n = v->kind == YN_SEQ ? v->n : 1;
			for (size_t j = 0; j < n; j++) {
				struct ynode *e = v->kind == YN_SEQ ? v->items[j] : v;
				struct ynode *m = ynode_new(L->a, YN_MAP), *pathn = e, *req = NULL;
				if (e->kind == YN_MAP) {
					pathn = ymap_get(e, "path");
					req = ymap_get(e, "required");
					for (size_t q = 0; q < e->n; q++)
						if (!in_list((const char *const[]){ "path", "required", "format", NULL },
							     e->keys[q]->str)) {
							err_node(L, e->keys[q], "services.%s.env_file: unknown key '%s'",
								 name, e->keys[q]->str);
							return NULL;
						}
				}
				if (!pathn || pathn->kind != YN_SCALAR || !*pathn->str) {
					err_node(L, pathn ? pathn : e, "services.%s.env_file[%zu]: each "
						 "entry needs a path (a non-empty string)", name, j);
					return NULL;
				}
				if (req && check_required(L, name, j, req))
					return NULL;
				m->pos = e->pos;
				ymap_push(L->a, m, scalar_at(L, "path", 4, pathn), rebased(L, pathn, base));
				if (req)
					ymap_push(L->a, m, scalar_at(L, "required", 8, req), req);
				yseq_push(L->a, seq, m);
			}
			c->vals[i] = seq;
		} else if (!strcmp(key, "build")) {
			struct ynode *m = NULL;
			if (want_shape(L, v, name, "build", SH_STR | SH_MAP))
				return NULL;
			if (v->kind == YN_SCALAR) {
				m = ynode_new(L->a, YN_MAP);
				m->pos = v->pos;
				ymap_push(L->a, m, scalar_at(L, "context", 7, v), v);
			} else if (v->kind == YN_MAP) {
				m = ynode_copy(L->a, v);
				if (want_shape(L, ymap_get(m, "context"), name, "build.context",
					       SH_NULL | SH_STR) ||
				    want_shape(L, ymap_get(m, "dockerfile"), name,
					       "build.dockerfile", SH_NULL | SH_STR))
					return NULL;
			}
			long ci = ymap_index(m, "context");
			if (ci < 0) {
				ymap_push(L->a, m, scalar_at(L, "context", 7, v), scalar_at(L, ".", 1, v));
				ci = (long)m->n - 1;
			}
			if (m->vals[ci]->kind == YN_SCALAR && !is_remote_context(m->vals[ci]->str))
				m->vals[ci] = rebased(L, m->vals[ci], base);
			c->vals[i] = m;
		} else if (!strcmp(key, "extends")) {
			struct ynode *m = v;
			if (want_shape(L, v, name, "extends", SH_STR | SH_MAP))
				return NULL;
			if (v->kind == YN_SCALAR) {
				m = ynode_new(L->a, YN_MAP);
				m->pos = v->pos;
				ymap_push(L->a, m, scalar_at(L, "service", 7, v), v);
			} else {
				m = ynode_copy(L->a, v);
				if (check_extends_map(L, name, m))
					return NULL;
			}
			long fi = ymap_index(m, "file");
			if (fi >= 0 && m->vals[fi]->kind == YN_SCALAR)
				m->vals[fi] = rebased(L, m->vals[fi], base);
			c->vals[i] = m;
		}
	}
	return c;
}

/* --- merging --- */

/* Sequences that an override replaces instead of extending (paths inside a service). */
static int replaced_seq(const char *path)
{
	return !strcmp(path, "command") || !strcmp(path, "entrypoint") ||
	       !strcmp(path, "healthcheck.test");
}

static int is_tagged(const struct ynode *n, const char *tag)
{
	return n && n->tag && !strcmp(n->tag, tag);
}

/*
 * The node without the `!reset` entries anywhere inside it: what compose-go
 * decodes from a file before merging it (a `!reset` removes what earlier
 * files set, and is itself nothing).  Returns n itself when nothing changes.
 */
static struct ynode *strip_resets(struct arena *a, struct ynode *n, int depth)
{
	if (!n || n->kind == YN_SCALAR || depth > 64)
		return n;
	struct ynode *c = NULL;
	size_t m = 0;
	for (size_t i = 0; i < n->n; i++) {
		struct ynode *v = n->kind == YN_SEQ ? n->items[i] : n->vals[i];
		struct ynode *sv = is_tagged(v, "!reset") ? NULL : strip_resets(a, v, depth + 1);
		if (sv != v && !c) {
			c = ynode_copy(a, n);
			m = i;
		}
		if (!c)
			continue;
		if (is_tagged(v, "!reset"))
			continue;
		if (n->kind == YN_SEQ) {
			c->items[m++] = sv;
		} else {
			c->keys[m] = n->keys[i];
			c->vals[m++] = sv;
		}
	}
	if (!c)
		return n;
	c->n = m;
	return c;
}

/* Same env_file path (entries are canonical {path, required}). */
static int same_env_file(const struct ynode *x, const struct ynode *y)
{
	const struct ynode *px = ymap_get(x, "path"), *py = ymap_get(y, "path");
	return px && py && !strcmp(px->str, py->str);
}

/*
 * Merge `over` onto `base` with compose's rules: maps merge, scalars are
 * replaced, sequences append except command/entrypoint/healthcheck.test;
 * `!override` replaces, `!reset` removes; environment/labels (maps by now)
 * merge by key, a bare key (NULL) included; an env_file already listed is
 * not listed again (compose-go appends without duplicates).
 *
 * `path` says where we are: "/" a file's root, "/KEY..." under a top-level
 * key other than services, "" a service, "environment", "healthcheck.test"
 * ... inside a service.  Returns the merged node.
 */
/*
 * The hash index of a big map (key -> position + 1) kept from one merge to
 * the next: the services map that each file is merged onto is the one the
 * previous merge made, so its index need not be built again (rebuilding it
 * for every file would make loading a 10,000-service, 50-file stack quadratic).
 */
struct merge_index {
	const struct ynode *of; /* the map the index describes, or NULL */
	struct strmap map;
};

static struct ynode *merge_node_ix(struct arena *a, struct ynode *base, struct ynode *over,
				   const char *path, struct merge_index *keep);

static struct ynode *merge_node(struct arena *a, struct ynode *base, struct ynode *over,
				const char *path)
{
	return merge_node_ix(a, base, over, path, NULL);
}

/* keep: where the services map's index lives between merges (NULL: none). */
static struct ynode *merge_node_ix(struct arena *a, struct ynode *base, struct ynode *over,
				   const char *path, struct merge_index *keep)
{
	if (!over)
		return base;
	if (!base || is_tagged(over, "!override"))
		return strip_resets(a, over, 0);
	if (base->kind == YN_MAP && over->kind == YN_MAP) {
		struct ynode *m = ynode_copy(a, base);
		/* Big maps (the services of a large stack) get a hash index so a
		 * merge stays linear; it is rebuilt after a !reset removal.  The
		 * copy m has base's keys at base's positions, so an index of base
		 * kept from the merge that made it serves m. */
		struct merge_index local = { NULL, STRMAP_INIT };
		struct merge_index *ix = keep && !strcmp(path, "/services") ? keep : &local;
		struct strmap idx = ix->map;
		int use_idx = m->n + over->n > 32, stale = !(ix->of && ix->of == base);
		for (size_t i = 0; i < over->n; i++) {
			struct ynode *k = over->keys[i], *v = over->vals[i];
			long at;
			if (use_idx) {
				if (stale) {
					strmap_clear(&idx);
					for (size_t j = 0; j < m->n; j++)
						if (m->keys[j]->kind == YN_SCALAR)
							strmap_put(&idx, m->keys[j]->str, (void *)(uintptr_t)(j + 1));
					stale = 0;
				}
				at = (long)(uintptr_t)strmap_get(&idx, k->str) - 1;
			} else {
				at = ymap_index(m, k->str);
			}
			if (is_tagged(v, "!reset")) {
				if (at >= 0) {
					/* Remove the key, keeping the order of the rest. */
					memmove(m->keys + at, m->keys + at + 1, (m->n - (size_t)at - 1) * sizeof(*m->keys));
					memmove(m->vals + at, m->vals + at + 1, (m->n - (size_t)at - 1) * sizeof(*m->vals));
					m->n--;
					stale = 1;
				}
				continue;
			}
			if (at < 0) {
				ymap_push(a, m, k, strip_resets(a, v, 0));
				if (use_idx && !stale)
					strmap_put(&idx, k->str, (void *)(uintptr_t)m->n);
				continue;
			}
			if (!v) {
				m->vals[at] = NULL; /* a bare environment key overrides */
				continue;
			}
			char *sub;
			if (!strcmp(path, "/"))
				sub = !strcmp(k->str, "services") ? xstrdup("/services") : xstrfmt("/%s", k->str);
			else if (!strcmp(path, "/services"))
				sub = xstrdup("");
			else
				sub = *path ? xstrfmt("%s.%s", path, k->str) : xstrdup(k->str);
			m->vals[at] = merge_node_ix(a, m->vals[at], v, sub, keep);
			free(sub);
		}
		if (ix == &local) {
			strmap_clear(&idx);
		} else {
			ix->map = idx;
			ix->of = use_idx && !stale ? m : NULL;
		}
		return m;
	}
	if (base->kind == YN_SEQ && over->kind == YN_SEQ && !replaced_seq(path)) {
		struct ynode *s = ynode_copy(a, base);
		for (size_t i = 0; i < over->n; i++) {
			struct ynode *it = over->items[i];
			int dup = 0;
			if (is_tagged(it, "!reset"))
				continue;
			for (size_t j = 0; !strcmp(path, "env_file") && j < base->n && !dup; j++)
				dup = same_env_file(base->items[j], it);
			if (!dup)
				yseq_push(a, s, strip_resets(a, it, 0));
		}
		return s;
	}
	return strip_resets(a, over, 0);
}

/* --- files --- */

static int validate_top(struct loader *L, struct ynode *root)
{
	if (root->kind != YN_MAP)
		return err_node(L, root, "a compose file must be a mapping, not %s", ykind_name(root));
	for (size_t i = 0; i < root->n; i++) {
		struct ynode *k = root->keys[i];
		if (k->kind != YN_SCALAR)
			return err_node(L, k, "top-level keys must be strings");
		if (!strncmp(k->str, "x-", 2))
			continue;
		if (!in_list(top_keys, k->str))
			return err_node(L, k, "unknown top-level key '%s'", k->str);
	}
	struct ynode *svcs = ymap_get(root, "services");
	if (svcs && !ynode_is_null(svcs) && svcs->kind != YN_MAP)
		return err_node(L, svcs, "services must be a mapping, not %s", ykind_name(svcs));
	struct ynode *pname = ymap_get(root, "name");
	if (pname && pname->kind != YN_SCALAR)
		return err_node(L, pname, "name must be a string, not %s", ykind_name(pname));
	if (svcs && svcs->kind == YN_MAP)
		for (size_t i = 0; i < svcs->n; i++) {
			const char *name = svcs->keys[i]->str;
			if (svcs->keys[i]->kind != YN_SCALAR)
				return err_node(L, svcs->keys[i], "services: a service name must "
						"be a string, not %s", ykind_name(svcs->keys[i]));
			/* compose's own rule for service names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
			int ok = isalnum((unsigned char)name[0]);
			for (const char *c = name; ok && *c; c++)
				ok = isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-';
			if (!ok || strlen(name) > 63)
				return err_node(L, svcs->keys[i], "invalid service name '%.64s%s': "
						"use letters, digits, '_', '.', '-' (first a letter or "
						"digit, at most 63 characters)", name,
						strlen(name) > 64 ? "..." : "");
		}
	return 0;
}

/* The file's srcfile if already read (the same file may load twice: as an
 * extends target, or under another sub-project's variables). */
static struct srcfile *source_for(struct loader *L, const char *abs)
{
	for (size_t i = 0; i < L->p->nsources; i++)
		if (!strcmp(L->p->sources[i]->path, abs))
			return L->p->sources[i];
	return NULL;
}

/* Validate, interpolate and canonicalise one document of a file. */
static struct ynode *load_document(struct loader *L, struct ynode *root, const char *base)
{
	if (validate_top(L, root))
		return NULL;
	struct interp_walk w = { .L = L, .nsegs = 0, .path = BUF_INIT };
	root = interp_node(&w, root, 0, NULL);
	buf_release(&w.path);
	if (!root)
		return NULL;
	struct ynode *svcs = ymap_get(root, "services");
	if (svcs && svcs->kind == YN_MAP) {
		struct ynode *c = ynode_copy(L->a, svcs);
		for (size_t i = 0; i < c->n; i++) {
			c->vals[i] = canon_service(L, c->keys[i]->str, c->vals[i], base);
			if (!c->vals[i])
				return NULL;
		}
		long si = ymap_index(root, "services");
		root = ynode_copy(L->a, root);
		root->vals[si] = c;
	}
	return root;
}

/*
 * Parse, validate, interpolate and canonicalise one file: its documents,
 * each a layer to merge in order (compose v2 reads `---`-separated
 * documents as successive files), at least one.  Relative paths resolve
 * against base.
 */
static int load_layers(struct loader *L, const char *abs, const char *base, struct ynode ***out,
		       size_t *nout)
{
	struct srcfile *f;
	struct ynode **docs;
	size_t ndocs;

	for (size_t i = 0; i < L->ncache; i++)
		if (!strcmp(L->cache[i].path, abs) && !strcmp(L->cache[i].base, base) &&
		    L->cache[i].scope == L->scope) {
			*out = L->cache[i].layers;
			*nout = L->cache[i].nlayers;
			return 0;
		}
	if (!(f = source_for(L, abs))) {
		if (!path_exists(abs))
			return diag_err(L->d, "%s: no such file", display_for(L, abs));
		if (srcfile_read(L->a, abs, display_for(L, abs), L->opts->limits.max_bytes, &f, L->d))
			return -1;
		add_source(L->p, f);
	}
	if (ydoc_load_all(L->a, f, &L->opts->limits, &docs, &ndocs, L->d))
		return -1;
	if (!ndocs) {
		docs[0] = ynode_new(L->a, YN_MAP);
		docs[0]->pos.file = f;
		docs[0]->pos.line = 1;
		docs[0]->pos.col = 1;
		ndocs = 1;
	}
	for (size_t i = 0; i < ndocs; i++)
		if (!(docs[i] = load_document(L, docs[i], base)))
			return -1;
	ALLOC_GROW(L->cache, L->ncache + 1, L->cache_alloc);
	L->cache[L->ncache].path = arena_strdup(L->a, abs);
	L->cache[L->ncache].layers = docs;
	L->cache[L->ncache].nlayers = ndocs;
	L->cache[L->ncache].base = arena_strdup(L->a, base);
	L->cache[L->ncache].scope = L->scope;
	L->ncache++;
	*out = docs;
	*nout = ndocs;
	return 0;
}

/* One file as one tree (its documents merged): an extends target. */
static struct ynode *merge_node(struct arena *a, struct ynode *base, struct ynode *over,
				const char *path);

static int load_file(struct loader *L, const char *abs, const char *base, struct ynode **out)
{
	struct ynode **layers;
	size_t n;
	if (load_layers(L, abs, base, &layers, &n))
		return -1;
	*out = layers[0];
	for (size_t i = 1; i < n; i++)
		*out = merge_node(L->a, *out, layers[i], "/");
	return 0;
}

/* --- extends --- */

static int resolve_extends(struct loader *L, const char *file, struct ynode *root,
			   const char *name, struct ynode **out);

static struct ynode *strip_key(struct arena *a, struct ynode *m, const char *key)
{
	long at = ymap_index(m, key);
	if (at < 0)
		return m;
	struct ynode *c = ynode_copy(a, m);
	memmove(c->keys + at, c->keys + at + 1, (c->n - (size_t)at - 1) * sizeof(*c->keys));
	memmove(c->vals + at, c->vals + at + 1, (c->n - (size_t)at - 1) * sizeof(*c->vals));
	c->n--;
	return c;
}

static int resolve_extends(struct loader *L, const char *file, struct ynode *root,
			   const char *name, struct ynode **out)
{
	struct ynode *svcs = ymap_get(root, "services");
	struct ynode *svc = ymap_get(svcs, name);
	char *key = xstrfmt("%s:%s", file, name);
	int ret = -1;

	for (size_t i = 0; i < L->ext_depth; i++)
		if (!strcmp(L->ext_stack[i], key)) {
			struct ynode *ext = ymap_get(svc, "extends");
			struct buf chain = BUF_INIT;
			for (size_t j = i; j < L->ext_depth; j++)
				buf_addf(&chain, "%s -> ", strrchr(L->ext_stack[j], ':') + 1);
			buf_addstr(&chain, name);
			err_node(L, ext ? ext : svc, "extends cycle: %s", chain.buf);
			buf_release(&chain);
			goto cleanup;
		}
	if (L->ext_depth >= MAX_EXTENDS_DEPTH) {
		const struct ynode *at = ymap_get(svc, "extends");
		err_node(L, at ? at : svc, "services.%s.extends: chains deeper than %d services",
			 name, MAX_EXTENDS_DEPTH);
		goto cleanup;
	}
	struct ynode *ext = ymap_get(svc, "extends");
	if (!ext) {
		*out = svc;
		ret = 0;
		goto cleanup;
	}
	L->ext_stack[L->ext_depth++] = arena_strdup(L->a, key);
	struct ynode *target = ymap_get(ext, "service"), *filen = ymap_get(ext, "file");
	const char *tfile = file;
	struct ynode *troot = root;
	if (!target || target->kind != YN_SCALAR) {
		err_node(L, ext, "services.%s.extends needs a 'service'", name);
		goto pop;
	}
	if (filen) {
		tfile = filen->str;
		if (!path_exists(tfile)) {
			err_node(L, filen, "services.%s.extends: file '%s' not found", name,
				 display_for(L, tfile));
			goto pop;
		}
		char *ewhat = arena_strfmt(L->a, "services.%s.extends.file", name);
		if (check_inside(L, tfile, filen, ewhat))
			goto pop;
		if (load_file(L, tfile, path_dirname(L->a, tfile), &troot))
			goto pop;
	}
	if (!ymap_get(ymap_get(troot, "services"), target->str)) {
		err_node(L, target, "services.%s.extends: no service '%s' to extend", name, target->str);
		goto pop;
	}
	struct ynode *basesvc;
	if (resolve_extends(L, tfile, troot, target->str, &basesvc))
		goto pop;
	struct ynode *merged = merge_node(L->a, basesvc, strip_key(L->a, svc, "extends"), "");
	/* Remember where it came from, for the plan's evidence, under an x- key
	 * (ignored by every other reader, as x- keys are). */
	merged = strip_key(L->a, merged, "x-dsnflip-extends");
	merged = ynode_copy(L->a, merged);
	ymap_push(L->a, merged, scalar_at(L, "x-dsnflip-extends", 17, ext),
		  scalar_at(L, "", 0, ext));
	{
		struct ynode *v = merged->vals[merged->n - 1];
		v->str = filen ? arena_strfmt(L->a, "%s:%s", display_for(L, tfile), target->str)
			       : arena_strdup(L->a, target->str);
		v->len = strlen(v->str);
	}
	*out = merged;
	ret = 0;
pop:
	L->ext_depth--;
cleanup:
	free(key);
	return ret;
}

static int apply_extends(struct loader *L, const char *file, struct ynode **rootp)
{
	struct ynode *root = *rootp;
	struct ynode *svcs = ymap_get(root, "services");
	if (!svcs || svcs->kind != YN_MAP)
		return 0;
	struct ynode *c = ynode_copy(L->a, svcs);
	for (size_t i = 0; i < c->n; i++) {
		struct ynode *res;
		if (!ymap_get(c->vals[i], "extends"))
			continue;
		if (resolve_extends(L, file, root, c->keys[i]->str, &res))
			return -1;
		c->vals[i] = res;
	}
	long si = ymap_index(root, "services");
	*rootp = ynode_copy(L->a, root);
	(*rootp)->vals[si] = c;
	return 0;
}

/* --- include --- */

static int load_stack(struct loader *L, const char *const *files, size_t nfiles,
		      const char *base, struct ynode **out);

/* Same content (compose-go accepts an identical service imported twice). */
static int ynode_equal(const struct ynode *x, const struct ynode *y, int depth)
{
	if (x == y)
		return 1;
	if (!x || !y || x->kind != y->kind || x->n != y->n || depth > 64)
		return 0;
	if (x->kind == YN_SCALAR)
		return x->len == y->len && !memcmp(x->str, y->str, x->len);
	for (size_t i = 0; i < x->n; i++) {
		if (x->kind == YN_SEQ ? !ynode_equal(x->items[i], y->items[i], depth + 1)
				      : (!ynode_equal(x->keys[i], y->keys[i], depth + 1) ||
					 !ynode_equal(x->vals[i], y->vals[i], depth + 1)))
			return 0;
	}
	return 1;
}

/* A string or a list of strings, as absolute paths against base. */
static int path_list(struct loader *L, const struct ynode *n, const char *base, const char *what,
		     const char ***out, size_t *nout)
{
	size_t np = n->kind == YN_SEQ ? n->n : 1;
	const char **v = arena_alloc(L->a, (np ? np : 1) * sizeof(*v));
	for (size_t j = 0; j < np; j++) {
		const struct ynode *pj = n->kind == YN_SEQ ? n->items[j] : n;
		if (pj->kind != YN_SCALAR || !*pj->str)
			return err_node(L, pj, "%s: each path must be a non-empty string", what);
		v[j] = path_join(L->a, base, pj->str);
	}
	*out = v;
	*nout = np;
	return 0;
}

static const struct ynode *path_item(const struct ynode *n, size_t j)
{
	return n->kind == YN_SEQ ? n->items[j] : n;
}

/*
 * `include:` (compose v2.20+): each entry loads a sub-project from its own
 * directory (project_directory, by default the first path's directory),
 * interpolated with its own env_file list or, without one, the .env in that
 * directory, under the including project's variables (which win).  Paths
 * are relative to the including project's directory (`base`).  Its
 * services join this file's; a name defined twice is an error.
 */
static int apply_include(struct loader *L, const char *base, struct ynode **rootp)
{
	struct ynode *inc = ymap_get(*rootp, "include");
	if (!inc || ynode_is_null(inc))
		return 0;
	if (inc->kind != YN_SEQ)
		return err_node(L, inc, "include must be a list, not %s", ykind_name(inc));
	struct ynode *svcs = ymap_get(*rootp, "services");
	struct ynode *merged = svcs && svcs->kind == YN_MAP ? ynode_copy(L->a, svcs)
							    : ynode_new(L->a, YN_MAP);
	for (size_t i = 0; i < inc->n; i++) {
		struct ynode *e = inc->items[i], *pathn = e, *pdir = NULL, *envn = NULL;
		const char **paths, **envs = NULL;
		size_t np, ne = 0;
		char what[64];

		snprintf(what, sizeof(what), "include[%zu]", i);
		if (e->kind == YN_MAP) {
			pathn = ymap_get(e, "path");
			pdir = ymap_get(e, "project_directory");
			envn = ymap_get(e, "env_file");
			for (size_t q = 0; q < e->n; q++)
				if (!in_list((const char *const[]){ "path", "project_directory", "env_file", NULL },
					     e->keys[q]->str))
					return err_node(L, e->keys[q], "%s: unknown key '%s' (expected path, "
							"project_directory or env_file)", what, e->keys[q]->str);
		}
		if (!pathn || ynode_is_null(pathn) || pathn->kind == YN_MAP ||
		    (pathn->kind == YN_SEQ && !pathn->n))
			return err_node(L, e, "%s: needs a path (a file, or a list of files)", what);
		if (path_list(L, pathn, base, what, &paths, &np))
			return -1;
		for (size_t j = 0; j < np; j++) {
			if (!path_exists(paths[j]) || path_is_dir(paths[j]))
				return err_node(L, path_item(pathn, j), "%s: '%s' not found", what,
						display_for(L, paths[j]));
			if (check_inside(L, paths[j], path_item(pathn, j), what))
				return -1;
		}
		for (size_t j = 0; j < L->include_depth; j++)
			if (!strcmp(L->inc_stack[j], paths[0])) {
				struct buf chain = BUF_INIT;
				for (size_t k = j; k < L->include_depth; k++)
					buf_addf(&chain, "%s -> ", display_for(L, L->inc_stack[k]));
				buf_addstr(&chain, display_for(L, paths[0]));
				err_node(L, path_item(pathn, 0), "include cycle: %s", chain.buf);
				buf_release(&chain);
				return -1;
			}
		if (L->include_depth > MAX_INCLUDE_DEPTH)
			return err_node(L, e, "%s: includes nested deeper than %d levels", what,
					MAX_INCLUDE_DEPTH);
		const char *dir;
		if (pdir && !ynode_is_null(pdir)) {
			if (pdir->kind != YN_SCALAR)
				return err_node(L, pdir, "%s: project_directory must be a string", what);
			dir = path_join(L->a, base, pdir->str);
		} else {
			dir = path_dirname(L->a, paths[0]);
		}
		if (envn && !ynode_is_null(envn)) {
			if (path_list(L, envn, base, what, &envs, &ne))
				return -1;
			for (size_t j = 0; j < ne; j++) {
				if (!path_exists(envs[j]) || path_is_dir(envs[j]))
					return err_node(L, path_item(envn, j), "%s: env file '%s' not found",
							what, display_for(L, envs[j]));
				if (check_inside(L, envs[j], path_item(envn, j), what))
					return -1;
			}
		} else {
			envs = arena_alloc(L->a, sizeof(*envs));
			envs[0] = path_join(L->a, dir, ".env");
			ne = path_exists(envs[0]) && !path_is_dir(envs[0]) ? 1 : 0;
		}
		struct varlist vars;
		if (env_round(L, L->scope, envs, ne, 1, envn, what, &vars))
			return -1;
		struct scope *sub = arena_alloc(L->a, sizeof(*sub));
		sub->parent = L->scope;
		sub->vars = vars.v;
		sub->n = vars.n;

		const struct scope *saved = L->scope;
		struct ynode *subroot;
		L->scope = sub;
		int r = load_stack(L, paths, np, dir, &subroot);
		L->scope = saved;
		if (r)
			return -1;
		struct ynode *ssv = ymap_get(subroot, "services");
		for (size_t j = 0; ssv && ssv->kind == YN_MAP && j < ssv->n; j++) {
			long at = ymap_index(merged, ssv->keys[j]->str);
			if (at >= 0 && ynode_equal(merged->vals[at], ssv->vals[j], 0))
				continue; /* the same definition twice (a file included twice) */
			if (at >= 0) {
				const struct ynode *k0 = merged->keys[at];
				return diag_at(L->d, ssv->keys[j]->pos.file->display, ssv->keys[j]->pos.line,
					       ssv->keys[j]->pos.col,
					       "services.%s is already defined at %s:%d:%d; an included "
					       "service cannot replace another (rename one)",
					       ssv->keys[j]->str, k0->pos.file ? k0->pos.file->display : "?",
					       k0->pos.line, k0->pos.col);
			}
			ymap_push(L->a, merged, ssv->keys[j], ssv->vals[j]);
		}
	}
	struct ynode *root = ynode_copy(L->a, *rootp);
	long si = ymap_index(root, "services");
	if (si >= 0)
		root->vals[si] = merged;
	else
		ymap_push(L->a, root, scalar_at(L, "services", 8, inc), merged);
	*rootp = root;
	return 0;
}

/*
 * Load files in order, each with its includes then its extends, and merge
 * them; relative paths resolve against base (the project directory).
 */
static int load_stack(struct loader *L, const char *const *files, size_t nfiles,
		      const char *base, struct ynode **out)
{
	struct ynode *acc = NULL;
	struct merge_index ix = { NULL, STRMAP_INIT };
	for (size_t i = 0; i < nfiles; i++) {
		struct ynode **layers;
		size_t nl;
		if (load_layers(L, files[i], base, &layers, &nl)) {
			strmap_clear(&ix.map);
			return -1;
		}
		for (size_t l = 0; l < nl; l++) {
			struct ynode *root = layers[l];
			int r;
			L->inc_stack[L->include_depth++] = files[i];
			r = apply_include(L, base, &root);
			L->include_depth--;
			if (r || apply_extends(L, files[i], &root)) {
				strmap_clear(&ix.map);
				return -1;
			}
			acc = merge_node_ix(L->a, acc, root, "/", &ix);
		}
	}
	strmap_clear(&ix.map);
	*out = acc;
	return 0;
}

/* --- discovery --- */

/* compose-go's DefaultFileNames and DefaultOverrideFileNames, in order. */
static const char *const discover_names[] = {
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", NULL
};
static const char *const override_names[] = {
	"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
	"docker-compose.override.yaml", NULL
};

/*
 * The first compose file in dir or its closest parent that has one, then
 * the first override file beside it (of any of the four names: compose v2
 * pairs compose.yaml with docker-compose.override.yml too).  Other files of
 * the same kind there are ignored, with a warning, as compose warns.
 */
static int discover(struct loader *L, const char *dir, struct strvec *files)
{
	char *cur = arena_strdup(L->a, dir);
	for (;;) {
		const char *const *lists[] = { discover_names, override_names };
		for (size_t l = 0; l < 2; l++) {
			const char *first = NULL;
			for (const char *const *n = lists[l]; *n; n++) {
				char *cand = path_join(L->a, cur, *n);
				if (!path_exists(cand) || path_is_dir(cand))
					continue;
				if (!first) {
					first = cand;
					strvec_push(files, cand);
				} else {
					strvec_pushf(&L->p->warnings, "found both %s and %s; using %s",
						     path_basename(first), *n, path_basename(first));
				}
			}
			if (!l && !first)
				break;
		}
		if (files->nr)
			return 0;
		if (!strcmp(cur, "/"))
			break;
		cur = path_dirname(L->a, cur);
	}
	return diag_err(L->d, "no compose file found in %s or its parents (looked for compose.yaml, "
			"compose.yml, docker-compose.yml, docker-compose.yaml)", dir);
}

/* compose-go's NormalizeProjectName: lower case, [a-z0-9_-] kept, no leading '_'/'-'. */
static char *normalise_name(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	for (; *s; s++) {
		int c = tolower((unsigned char)*s);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || ((c == '_' || c == '-') && b.len))
			buf_addch(&b, c);
	}
	char *r = arena_strndup(a, b.buf, b.len);
	buf_release(&b);
	return r;
}

/*
 * The project name: -p > COMPOSE_PROJECT_NAME > the last `name:` of the
 * files > the project directory's name.  The first two must already be
 * valid (compose v2 refuses "-p MyApp"; v1 lower-cased it); the others are
 * normalised.
 */
static int project_name(struct loader *L, const struct ynode *root)
{
	const struct project_var *ev = compose_var(L->p, "COMPOSE_PROJECT_NAME");
	const struct ynode *namen = ymap_get(root, "name");
	const char *given = NULL, *from = NULL;

	if (L->opts->project_name) {
		given = L->opts->project_name;
		from = "-p";
	} else if (ev && *ev->value) {
		given = ev->value;
		from = "COMPOSE_PROJECT_NAME";
	}
	if (given) {
		if (strcmp(given, normalise_name(L->a, given)) || !*given) {
			struct buf at = BUF_INIT;
			if (!L->opts->project_name && ev->origin.kind == ORIGIN_ENVFILE)
				buf_addf(&at, "%s:%d:%d: ", ev->origin.pos.file->display,
					 ev->origin.pos.line, ev->origin.pos.col);
			diag_err(L->d, "%sinvalid project name '%s' (%s): use only lower-case letters, "
				 "digits, '_' and '-', starting with a letter or digit", at.buf, given, from);
			buf_release(&at);
			return -1;
		}
		L->p->name = arena_strdup(L->a, given);
		return 0;
	}
	if (namen && namen->kind == YN_SCALAR && *namen->str)
		L->p->name = normalise_name(L->a, namen->str);
	if (!L->p->name || !*L->p->name)
		L->p->name = normalise_name(L->a, path_basename(L->p->dir));
	if (!*L->p->name)
		return diag_err(L->d, "the project name is empty after normalising '%s': set one with "
				"-p or name:", path_basename(L->p->dir));
	return 0;
}

/* --- services --- */

struct env_acc {
	struct loader *L;
	struct env_entry *v;
	size_t n, alloc;
};

static void env_put(void *ctx, const char *key, const char *value, const struct origin *o)
{
	struct env_acc *e = ctx;
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].key, key)) {
			e->v[i].value = value ? arena_strdup(e->L->a, value) : NULL;
			e->v[i].origin = *o;
			return;
		}
	ALLOC_GROW(e->v, e->n + 1, e->alloc);
	e->v[e->n].key = arena_strdup(e->L->a, key);
	e->v[e->n].value = value ? arena_strdup(e->L->a, value) : NULL;
	e->v[e->n].origin = *o;
	e->n++;
}

static int parse_bool(const struct ynode *n, int dflt)
{
	if (!n || n->kind != YN_SCALAR)
		return dflt;
	if (!strcasecmp(n->str, "false") || !strcmp(n->str, "0") || !strcasecmp(n->str, "no"))
		return 0;
	return 1;
}

static void env_remove(struct env_acc *e, const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].key, key)) {
			memmove(e->v + i, e->v + i + 1, (e->n - i - 1) * sizeof(*e->v));
			e->n--;
			return;
		}
}

/* env_file values see the project environment, then the service's own
 * `environment` values (compose-go's WithServicesEnvironmentResolved). */
struct svc_lookup {
	struct loader *L;
	const struct ynode *env;
};

static const char *svc_lookup_fn(void *ctx, const char *name, const void **origin_out)
{
	struct svc_lookup *c = ctx;
	const struct project_var *pv = compose_var(c->L->p, name);
	if (pv) {
		if (origin_out)
			*origin_out = &pv->origin;
		return pv->value;
	}
	const struct ynode *v = ymap_get(c->env, name);
	if (origin_out)
		*origin_out = NULL;
	return v && !is_null(v) ? v->str : NULL;
}

/*
 * A service's environment: env_file entries in order (later wins), then
 * `environment` over them.  A bare key takes the project environment's
 * value; with none it is unset in the container, so it also removes what
 * an env_file set (compose-go: a nil entry overrides).
 */
static int resolve_env(struct loader *L, struct service *s, const struct ynode *svc)
{
	struct env_acc e = { .L = L };
	const struct ynode *ef = ymap_get(svc, "env_file");
	const struct ynode *env = ymap_get(svc, "environment");
	struct svc_lookup sl = { L, env && env->kind == YN_MAP ? env : NULL };
	char *what = xstrfmt("services.%s.env_file", s->name);
	int ret = -1;

	for (size_t i = 0; ef && ef->kind == YN_SEQ && i < ef->n; i++) {
		const struct ynode *m = ef->items[i], *pathn = ymap_get(m, "path");
		if (read_envfile(L, pathn->str, parse_bool(ymap_get(m, "required"), 1), pathn, what,
				 svc_lookup_fn, &sl, env_put, &e))
			goto cleanup;
	}
	for (size_t i = 0; env && env->kind == YN_MAP && i < env->n; i++) {
		const struct ynode *k = env->keys[i], *v = env->vals[i];
		struct origin o = { .kind = ORIGIN_YAML };
		if (!v || is_null(v)) {
			const struct project_var *pv = compose_var(L->p, k->str);
			if (pv)
				env_put(&e, k->str, pv->value, &pv->origin);
			else
				env_remove(&e, k->str);
			continue;
		}
		o.pos = v->pos;
		o.raw = v->raw ? v->raw : v->str;
		o.list_form = v->list_form;
		if (v->value_origin) {
			struct origin *via = arena_alloc(L->a, sizeof(*via));
			*via = o;
			o = *(const struct origin *)v->value_origin;
			o.via = via;
			o.var = v->value_var;
		}
		env_put(&e, k->str, v->str, &o);
	}
	s->env = arena_alloc(L->a, (e.n ? e.n : 1) * sizeof(*s->env));
	if (e.n)
		memcpy(s->env, e.v, e.n * sizeof(*s->env));
	s->nenv = e.n;
	ret = 0;
cleanup:
	free(what);
	free(e.v);
	return ret;
}

static int profile_active(struct loader *L, const struct ynode *profiles, struct strvec *active)
{
	if (!profiles || profiles->kind != YN_SEQ || !profiles->n)
		return 1;
	(void)L;
	if (strvec_contains(active, "*"))
		return 1;
	for (size_t i = 0; i < profiles->n; i++)
		if (profiles->items[i]->kind == YN_SCALAR && strvec_contains(active, profiles->items[i]->str))
			return 1;
	return 0;
}

/* command/entrypoint, typed (check_service_shapes has checked the shape); NULL when absent. */
static const struct service_cmd *service_cmd_of(struct arena *a, const struct ynode *n)
{
	if (!n || is_null(n))
		return NULL;
	struct service_cmd *c = arena_alloc(a, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->pos = n->pos;
	if (n->kind == YN_SCALAR) {
		c->shell = n->str;
		return c;
	}
	const char **v = arena_alloc(a, (n->n + 1) * sizeof(*v));
	for (size_t i = 0; i < n->n; i++)
		v[c->argc++] = n->kind == YN_SEQ && n->items[i]->kind == YN_SCALAR ? n->items[i]->str : "";
	v[c->argc] = NULL;
	c->argv = v;
	return c;
}

static int build_service(struct loader *L, struct service *s, const char *name,
			 const struct ynode *keyn, const struct ynode *svc, struct strvec *active)
{
	struct arena *a = L->a;
	const struct ynode *n;

	s->name = arena_strdup(a, name);
	s->name_pos = keyn->pos;
	s->node = svc;
	s->replicas = 1;
	if ((n = ymap_get(svc, "image")) && n->kind == YN_SCALAR) {
		s->image = n->str;
		s->image_pos = n->pos;
	}
	if ((n = ymap_get(svc, "build")) && n->kind == YN_MAP) {
		const struct ynode *ctx = ymap_get(n, "context"), *df = ymap_get(n, "dockerfile");
		s->has_build = 1;
		s->build_pos = n->pos;
		if (ctx && ctx->kind == YN_SCALAR && !is_remote_context(ctx->str)) {
			s->build_context = path_relative(a, L->p->dir, ctx->str);
			const char *dfile = df && df->kind == YN_SCALAR ? df->str : "Dockerfile";
			const char *dabs = path_join(a, ctx->str, dfile);
			const struct ynode *at = df ? df : n;
			s->dockerfile = path_relative(a, L->p->dir, dabs);
			/* A missing Dockerfile is the plan's blocking warning at its
			 * line (detect.c): `docker compose build` would stop, and the
			 * class cannot be read from it; a real checkout may lack it
			 * (a submodule not initialised) and still deserve a plan.
			 * One outside the repository is never read. */
			if (!ymap_get(n, "dockerfile_inline") &&
			    check_inside(L, dabs, at, arena_strfmt(a, "services.%s.build.dockerfile", name)))
				return -1;
		}
	}
	s->command = service_cmd_of(a, ymap_get(svc, "command"));
	s->entrypoint = service_cmd_of(a, ymap_get(svc, "entrypoint"));
	/* want_count() has checked both, so these parse. */
	if ((n = ymap_get(svc, "scale")) && n->kind == YN_SCALAR &&
	    num_parse_int(count_digits(n->str), 0, COUNT_MAX, &s->replicas))
		return err_node(L, n, "services.%s.scale must be a whole number from 0 to %d", name,
				COUNT_MAX);
	if ((n = ymap_get(ymap_get(svc, "deploy"), "replicas")) && n->kind == YN_SCALAR &&
	    num_parse_int(count_digits(n->str), 0, COUNT_MAX, &s->replicas))
		return err_node(L, n, "services.%s.deploy.replicas must be a whole number from 0 to %d",
				name, COUNT_MAX);
	n = ymap_get(svc, "ports");
	s->publishes_ports = n && n->kind == YN_SEQ && n->n > 0;
	if ((n = ymap_get(svc, "network_mode")) && n->kind == YN_SCALAR)
		s->network_mode = n->str;
	if ((n = ymap_get(svc, "profiles")) && n->kind == YN_SEQ) {
		const char **pv = arena_alloc(a, (n->n + 1) * sizeof(*pv));
		for (size_t i = 0; i < n->n; i++)
			pv[i] = n->items[i]->str;
		s->profiles = pv;
		s->nprofiles = n->n;
	}
	s->enabled = profile_active(L, ymap_get(svc, "profiles"), active);
	if ((n = ymap_get(svc, "x-dsnflip-extends")) && n->kind == YN_SCALAR)
		s->extends_from = n->str;
	return resolve_env(L, s, svc);
}

int compose_load(const struct compose_opts *opts, struct compose_project **out, struct diag *d)
{
	struct compose_project *p = xcalloc(1, sizeof(*p));
	p->memo = xcalloc(1, sizeof(*p->memo));
	struct loader L = { .opts = opts, .p = p, .a = &p->arena, .d = d };
	struct strvec files = STRVEC_INIT, active = STRVEC_INIT;
	struct ynode *root = NULL;
	const struct project_var *cf;
	int ret = -1;

	L.cwd = path_absolute(L.a, opts->dir ? opts->dir : ".");
	if (!path_is_dir(L.cwd)) {
		diag_err(d, "project directory '%s' does not exist", opts->dir ? opts->dir : ".");
		goto cleanup;
	}
	/* The environment first: the process, then .env (which may set COMPOSE_FILE)
	 * from the first -f file's directory, or the current one. */
	p->dir = opts->nfiles ? path_dirname(L.a, path_join(L.a, L.cwd, opts->files[0])) : L.cwd;
	set_policy(&L, p->dir);
	load_process_env(&L);
	if (load_env_round(&L, p->dir))
		goto cleanup;

	if (opts->nfiles) {
		for (size_t i = 0; i < opts->nfiles; i++) {
			strvec_push(&files, path_join(L.a, L.cwd, opts->files[i]));
			if (!path_exists(files.v[i]) || path_is_dir(files.v[i])) {
				diag_err(d, "-f %s: no such file", opts->files[i]);
				goto cleanup;
			}
		}
	} else if ((cf = compose_var(p, "COMPOSE_FILE")) && *cf->value) {
		/* Split on COMPOSE_PATH_SEPARATOR (the whole string; ':' by default). */
		const struct project_var *sepv = compose_var(p, "COMPOSE_PATH_SEPARATOR");
		const char *sep = sepv && *sepv->value ? sepv->value : ":";
		size_t seplen = strlen(sep);
		for (const char *s = cf->value;;) {
			const char *e = strstr(s, sep);
			size_t len = e ? (size_t)(e - s) : strlen(s);
			if (len) {
				char *one = arena_strndup(L.a, s, len);
				char *abs = path_join(L.a, L.cwd, one);
				if (!path_exists(abs) || path_is_dir(abs)) {
					if (cf->origin.kind == ORIGIN_ENVFILE)
						diag_at(d, cf->origin.pos.file->display, cf->origin.pos.line,
							cf->origin.pos.col, "COMPOSE_FILE: '%s' not found", one);
					else
						diag_err(d, "COMPOSE_FILE (from the environment): '%s' not found", one);
					goto cleanup;
				}
				/* COMPOSE_FILE from the repository's .env is the repository
				 * speaking, not the operator: it must stay inside. */
				if (cf->origin.kind == ORIGIN_ENVFILE && !compose_path_allowed(p, abs)) {
					diag_at(d, cf->origin.pos.file->display, cf->origin.pos.line,
						cf->origin.pos.col, "COMPOSE_FILE: '%s' resolves outside %s: "
						"not read; list it under allow_paths in dsnflip.yml to allow it",
						one, p->root_is_repo ? "the repository" : "the project directory");
					goto cleanup;
				}
				strvec_push(&files, abs);
			}
			if (!e)
				break;
			s = e + seplen;
		}
		if (!files.nr) {
			diag_err(d, "COMPOSE_FILE names no file");
			goto cleanup;
		}
	} else if (discover(&L, L.cwd, &files)) {
		goto cleanup;
	}

	/* The project directory is the first file's (compose v2's working directory);
	 * its .env adds what is not set yet. */
	const char *dir = path_dirname(L.a, files.v[0]);
	if (strcmp(dir, p->dir)) {
		p->dir = dir;
		set_policy(&L, p->dir);
		/* (--env-file files are the same both times: read once.) */
		if (!opts->nenv_files && load_env_round(&L, p->dir))
			goto cleanup;
	}
	for (size_t i = 0; i < p->nsources; i++)
		p->sources[i]->display = (char *)display_for(&L, p->sources[i]->path);
	struct scope main_scope = project_scope(&L);
	L.scope = &main_scope;

	/* Profiles: --profile, else COMPOSE_PROFILES (comma-separated, blanks trimmed). */
	for (size_t i = 0; i < opts->nprofiles; i++)
		strvec_push(&active, opts->profiles[i]);
	if (!opts->nprofiles && opts->all_profiles)
		strvec_push(&active, "*");
	else if (!opts->nprofiles && compose_var(p, "COMPOSE_PROFILES")) {
		char *all = xstrdup(compose_var(p, "COMPOSE_PROFILES")->value), *save = NULL;
		for (char *t = strtok_r(all, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (isspace((unsigned char)*t))
				t++;
			size_t n = strlen(t);
			while (n && isspace((unsigned char)t[n - 1]))
				t[--n] = 0;
			if (*t)
				strvec_push(&active, t);
		}
		free(all);
	}

	if (load_stack(&L, (const char *const *)files.v, files.nr, p->dir, &root))
		goto cleanup;

	p->files = arena_alloc(L.a, files.nr * sizeof(*p->files));
	for (size_t i = 0; i < files.nr; i++)
		p->files[i] = display_for(&L, files.v[i]);
	p->nfiles = files.nr;

	if (project_name(&L, root))
		goto cleanup;

	const struct ynode *svcs = ymap_get(root, "services");
	size_t ns = svcs && svcs->kind == YN_MAP ? svcs->n : 0;
	p->services = arena_alloc(L.a, (ns ? ns : 1) * sizeof(*p->services));
	for (size_t i = 0; i < ns; i++) {
		struct service *s = &p->services[p->nservices];
		if (build_service(&L, s, svcs->keys[i]->str, svcs->keys[i], svcs->vals[i], &active))
			goto cleanup;
		s->order = p->nservices++;
	}
	ret = 0;
cleanup:
	strvec_clear(&files);
	strvec_clear(&active);
	free(L.cache);
	strmap_clear(&L.service_keys);
	if (ret) {
		compose_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void compose_free(struct compose_project *p)
{
	if (!p)
		return;
	free(p->sources);
	free(p->vars);
	strvec_clear(&p->warnings);
	if (p->memo) {
		strmap_clear(&p->memo->allowed);
		arena_release(&p->memo->arena);
		free(p->memo);
	}
	arena_release(&p->arena);
	free(p);
}

const struct service *compose_service(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->nservices; i++)
		if (!strcmp(p->services[i].name, name))
			return &p->services[i];
	return NULL;
}

const struct env_entry *service_env(const struct service *s, const char *key)
{
	for (size_t i = 0; i < s->nenv; i++)
		if (!strcmp(s->env[i].key, key))
			return &s->env[i];
	return NULL;
}

void origin_describe(const struct origin *o, struct buf *out)
{
	if (o->kind == ORIGIN_PROCESS) {
		buf_addstr(out, "the process environment");
		return;
	}
	buf_addf(out, "%s:%d", o->pos.file ? o->pos.file->display : "?", o->pos.line);
}

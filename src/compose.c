/*
 * compose: load a compose project with compose v2 semantics (see compose.h).
 *
 * The pipeline, in the order compose itself applies it:
 *   1. the project environment: --env-file files or .env, then the process
 *      environment on top;
 *   2. the files: -f, else COMPOSE_FILE, else discovery (plus the override);
 *   3. per file: parse, interpolate values (never keys), put environment,
 *      env_file and build into one canonical shape, rebase relative paths;
 *   4. per file: `include` sub-projects, then `extends`;
 *   5. merge the files in order;
 *   6. per service: profiles, env_file then environment, with origins.
 * Each step keeps positions so every error and every value names its place.
 */
#include "compose.h"
#include "envfile.h"
#include "interp.h"
#include "path.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXTENDS_DEPTH 32
#define MAX_INCLUDE_DEPTH 8

struct loader {
	const struct compose_opts *opts;
	struct compose_project *p;
	struct arena *a;
	struct diag *d;
	/* Files already parsed and normalised (extends targets), by absolute path. */
	struct cached { const char *path; struct ynode *root; const char *base; } *cache;
	size_t ncache, cache_alloc;
	/* The (file, service) chain being extended, for cycle errors. */
	const char *ext_stack[MAX_EXTENDS_DEPTH];
	size_t ext_depth;
	size_t include_depth;
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

static int err_node(struct loader *L, const struct ynode *n, const char *fmt, const char *a1,
		    const char *a2)
{
	const char *file = n && n->pos.file ? n->pos.file->display : "?";
	return diag_at(L->d, file, n ? n->pos.line : 0, n ? n->pos.col : 0, fmt, a1, a2);
}

static void add_source(struct compose_project *p, struct srcfile *f)
{
	ALLOC_GROW(p->sources, p->nsources + 1, p->sources_alloc);
	p->sources[p->nsources++] = f;
}

static const char *display_for(struct loader *L, const char *abs)
{
	return path_relative(L->a, L->p->dir, abs);
}

/* --- the project environment --- */

const struct project_var *compose_var(const struct compose_project *p, const char *name)
{
	for (size_t i = p->nvars; i-- > 0;)
		if (!strcmp(p->vars[i].name, name))
			return &p->vars[i];
	return NULL;
}

static void set_var(struct compose_project *p, const char *name, const char *value,
		    const struct origin *o)
{
	for (size_t i = 0; i < p->nvars; i++)
		if (!strcmp(p->vars[i].name, name)) {
			p->vars[i].value = arena_strdup(&p->arena, value);
			p->vars[i].origin = *o;
			return;
		}
	ALLOC_GROW(p->vars, p->nvars + 1, p->vars_alloc);
	p->vars[p->nvars].name = arena_strdup(&p->arena, name);
	p->vars[p->nvars].value = arena_strdup(&p->arena, value);
	p->vars[p->nvars].origin = *o;
	p->nvars++;
}

static const char *lookup_var(void *ctx, const char *name, const void **origin_out)
{
	const struct compose_project *p = ctx;
	const struct project_var *v = compose_var(p, name);
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

/*
 * Read one env file into origins.  Values that interpolate (not
 * single-quoted) are expanded against lookup/ctx.  Each entry is handed to
 * `add`.  A missing file is an error unless !required.
 */
typedef void (*env_add_fn)(void *ctx, const char *key, const char *value, const struct origin *o);

static int read_envfile(struct loader *L, const char *abs, int required, const struct ynode *at,
			interp_lookup_fn lookup, void *lctx, env_add_fn add, void *actx)
{
	struct srcfile *f;
	struct envfile ef = { 0 };
	int ret = -1;

	if (!path_exists(abs)) {
		if (!required)
			return 0;
		if (at)
			return err_node(L, at, "env file '%s' not found%s", display_for(L, abs), "");
		return diag_err(L->d, "env file '%s' not found", display_for(L, abs));
	}
	if (srcfile_read(L->a, abs, display_for(L, abs), 1u << 20, &f, L->d))
		return -1;
	add_source(L->p, f);
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
			/* A bare KEY inherits from the environment. */
			const char *v = lookup(lctx, e->key, NULL);
			if (!v)
				continue;
			add(actx, e->key, v, &o);
			continue;
		}
		if (!envfile_entry_interpolates(e) || !lookup) {
			add(actx, e->key, e->value, &o);
			continue;
		}
		interp_result_init(&r);
		if (interp_expand(e->value, strlen(e->value), lookup, lctx, f->display, e->line,
				  e->col, &r, L->d)) {
			interp_result_release(&r);
			goto cleanup;
		}
		value = arena_strndup(L->a, r.value.buf, r.value.len);
		for (size_t u = 0; u < r.unset.nr; u++)
			strvec_pushf(&L->p->warnings, "%s:%d: variable '%s' is not set, using \"\"",
				     f->display, e->line, r.unset.v[u]);
		interp_result_release(&r);
		add(actx, e->key, value, &o);
	}
	ret = 0;
cleanup:
	envfile_release(&ef);
	return ret;
}

/* .env values see the process environment and earlier .env lines. */
struct dotenv_ctx {
	struct loader *L;
	struct project_var *vars;
	size_t nvars, alloc;
};

static const char *dotenv_lookup(void *ctx, const char *name, const void **origin_out)
{
	struct dotenv_ctx *c = ctx;
	const char *v = process_env(c->L->opts, name);
	if (v)
		return v;
	for (size_t i = c->nvars; i-- > 0;)
		if (!strcmp(c->vars[i].name, name)) {
			if (origin_out)
				*origin_out = &c->vars[i].origin;
			return c->vars[i].value;
		}
	return NULL;
}

static void dotenv_add(void *ctx, const char *key, const char *value, const struct origin *o)
{
	struct dotenv_ctx *c = ctx;
	ALLOC_GROW(c->vars, c->nvars + 1, c->alloc);
	c->vars[c->nvars].name = arena_strdup(c->L->a, key);
	c->vars[c->nvars].value = arena_strdup(c->L->a, value);
	c->vars[c->nvars].origin = *o;
	c->nvars++;
}

static int load_project_env(struct loader *L, const char *dir, const char *const *env_files,
			    size_t n_env_files)
{
	struct dotenv_ctx c = { .L = L };
	int ret = 0;

	if (n_env_files) {
		for (size_t i = 0; i < n_env_files && !ret; i++)
			ret = read_envfile(L, path_join(L->a, dir, env_files[i]), 1, NULL,
					   dotenv_lookup, &c, dotenv_add, &c);
	} else {
		ret = read_envfile(L, path_join(L->a, dir, ".env"), 0, NULL, dotenv_lookup, &c,
				   dotenv_add, &c);
	}
	for (size_t i = 0; i < c.nvars; i++)
		set_var(L->p, c.vars[i].name, c.vars[i].value, &c.vars[i].origin);
	free(c.vars);
	if (ret)
		return -1;
	/* The process environment beats every file. */
	if (L->opts->environ) {
		struct origin o = { .kind = ORIGIN_PROCESS };
		for (char *const *e = L->opts->environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (!eq || eq == *e)
				continue;
			char *name = arena_strndup(L->a, *e, (size_t)(eq - *e));
			set_var(L->p, name, eq + 1, &o);
		}
	}
	return 0;
}

/* --- interpolation of one file's values --- */

struct interp_walk {
	struct loader *L;
	int env_list; /* items of an environment list: interpolate after '=' */
};

static struct ynode *interp_node(struct interp_walk *w, struct ynode *n, int depth, const char *key);

static struct ynode *interp_scalar(struct interp_walk *w, struct ynode *n, int env_item)
{
	struct loader *L = w->L;
	const char *s = n->str;
	size_t skip = 0;
	struct interp_result r;

	if (!memchr(s, '$', n->len))
		return n;
	if (env_item) {
		const char *eq = strchr(s, '=');
		if (!eq)
			return n;
		skip = (size_t)(eq - s) + 1;
	}
	interp_result_init(&r);
	if (interp_expand(s + skip, n->len - skip, lookup_var, L->p, n->pos.file->display,
			  n->pos.line, n->pos.col, &r, L->d)) {
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
	for (size_t u = 0; u < r.unset.nr; u++)
		strvec_pushf(&L->p->warnings, "%s:%d:%d: variable '%s' is not set, using \"\"",
			     n->pos.file->display, n->pos.line, n->pos.col, r.unset.v[u]);
	interp_result_release(&r);
	return c;
}

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
			if (env_list && it->kind == YN_SCALAR)
				it = interp_scalar(w, it, 1);
			else
				it = interp_node(w, it, depth + 1, NULL);
			if (!it)
				return NULL;
			c->items[i] = it;
		}
		return c;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->kind == YN_SCALAR ? n->keys[i]->str : NULL;
		/* x- extensions are ignored entirely: never interpolated. */
		if (k && !strncmp(k, "x-", 2) && depth <= 2)
			continue;
		struct ynode *v = interp_node(w, n->vals[i], depth + 1, k);
		if (!v)
			return NULL;
		c->vals[i] = v;
	}
	return c;
}

/* --- canonical shapes --- */

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
	if (!n || ynode_is_null(n))
		return ynode_new(L->a, YN_MAP);
	if (n->kind == YN_MAP) {
		struct ynode *m = ynode_copy(L->a, n);
		for (size_t i = 0; i < m->n; i++) {
			if (m->vals[i]->kind != YN_SCALAR) {
				err_node(L, m->vals[i], "services.%s.%s: a value must be a string, number, "
					 "boolean or null", svc, what);
				return NULL;
			}
			if (ynode_is_null(m->vals[i]))
				m->vals[i] = NULL;
		}
		return m;
	}
	if (n->kind != YN_SEQ) {
		err_node(L, n, "services.%s.%s must be a mapping or a list", svc, what);
		return NULL;
	}
	struct ynode *m = ynode_new(L->a, YN_MAP);
	m->pos = n->pos;
	m->tag = n->tag;
	for (size_t i = 0; i < n->n; i++) {
		struct ynode *it = n->items[i];
		if (it->kind != YN_SCALAR) {
			err_node(L, it, "services.%s.%s: list entries must be strings", svc, what);
			return NULL;
		}
		const char *eq = strchr(it->str, '=');
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
			err_node(L, k, "services.%s: keys must be strings%s", name, "");
			return NULL;
		}
		if (!strncmp(key, "x-", 2))
			continue;
		if (!in_list(service_keys, key)) {
			err_node(L, k, "services.%s: unknown key '%s'", name, key);
			return NULL;
		}
		if (v && v->tag && !strcmp(v->tag, "!reset"))
			continue;
		if (!strcmp(key, "environment") || !strcmp(key, "labels")) {
			struct ynode *m = canon_kv(L, v, key, name);
			if (!m)
				return NULL;
			m->tag = v ? v->tag : NULL;
			c->vals[i] = m;
		} else if (!strcmp(key, "env_file")) {
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
					err_node(L, e, "services.%s.env_file: each entry needs a path%s", name, "");
					return NULL;
				}
				m->pos = e->pos;
				ymap_push(L->a, m, scalar_at(L, "path", 4, pathn), rebased(L, pathn, base));
				if (req)
					ymap_push(L->a, m, scalar_at(L, "required", 8, req), req);
				yseq_push(L->a, seq, m);
			}
			c->vals[i] = seq;
		} else if (!strcmp(key, "build")) {
			struct ynode *m;
			if (v->kind == YN_SCALAR) {
				m = ynode_new(L->a, YN_MAP);
				m->pos = v->pos;
				ymap_push(L->a, m, scalar_at(L, "context", 7, v), v);
			} else if (v->kind == YN_MAP) {
				m = ynode_copy(L->a, v);
			} else {
				err_node(L, v, "services.%s.build must be a string or a mapping%s", name, "");
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
			if (v->kind == YN_SCALAR) {
				m = ynode_new(L->a, YN_MAP);
				m->pos = v->pos;
				ymap_push(L->a, m, scalar_at(L, "service", 7, v), v);
			} else if (v->kind != YN_MAP) {
				err_node(L, v, "services.%s.extends must be a string or a mapping%s", name, "");
				return NULL;
			} else {
				m = ynode_copy(L->a, v);
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

static int replaced_seq(const char *path)
{
	return !strcmp(path, "command") || !strcmp(path, "entrypoint") ||
	       !strcmp(path, "healthcheck.test");
}

/*
 * Merge `over` onto `base` with compose's rules: maps merge, scalars are
 * replaced, sequences append except command/entrypoint/healthcheck.test;
 * `!override` replaces, `!reset` removes.  `path` is the key path inside a
 * service ("environment", "build.args", ...).  Returns the merged node.
 */
static struct ynode *merge_node(struct arena *a, struct ynode *base, struct ynode *over,
				const char *path)
{
	if (!base || !over)
		return over ? over : base;
	if (over->tag && !strcmp(over->tag, "!override"))
		return over;
	if (base->kind == YN_MAP && over->kind == YN_MAP) {
		struct ynode *m = ynode_copy(a, base);
		for (size_t i = 0; i < over->n; i++) {
			struct ynode *k = over->keys[i], *v = over->vals[i];
			long at = ymap_index(m, k->str);
			int reset = v && v->tag && !strcmp(v->tag, "!reset");
			if (reset) {
				if (at >= 0) {
					/* Remove the key, keeping the order of the rest. */
					memmove(m->keys + at, m->keys + at + 1, (m->n - (size_t)at - 1) * sizeof(*m->keys));
					memmove(m->vals + at, m->vals + at + 1, (m->n - (size_t)at - 1) * sizeof(*m->vals));
					m->n--;
				}
				continue;
			}
			if (at < 0) {
				ymap_push(a, m, k, v);
				continue;
			}
			char *sub = *path ? xstrfmt("%s.%s", path, k->str) : xstrdup(k->str);
			m->vals[at] = merge_node(a, m->vals[at], v, sub);
			free(sub);
		}
		return m;
	}
	if (base->kind == YN_SEQ && over->kind == YN_SEQ && !replaced_seq(path)) {
		struct ynode *s = ynode_copy(a, base);
		for (size_t i = 0; i < over->n; i++)
			yseq_push(a, s, over->items[i]);
		return s;
	}
	return over;
}

/* --- files --- */

static int validate_top(struct loader *L, struct ynode *root)
{
	if (root->kind != YN_MAP)
		return err_node(L, root, "a compose file must be a mapping, not %s", ykind_name(root), "");
	for (size_t i = 0; i < root->n; i++) {
		struct ynode *k = root->keys[i];
		if (k->kind != YN_SCALAR)
			return err_node(L, k, "top-level keys must be strings%s%s", "", "");
		if (!strncmp(k->str, "x-", 2))
			continue;
		if (!in_list(top_keys, k->str))
			return err_node(L, k, "unknown top-level key '%s'%s", k->str, "");
	}
	struct ynode *svcs = ymap_get(root, "services");
	if (svcs && !ynode_is_null(svcs) && svcs->kind != YN_MAP)
		return err_node(L, svcs, "'services' must be a mapping, not %s", ykind_name(svcs), "");
	if (svcs && svcs->kind == YN_MAP)
		for (size_t i = 0; i < svcs->n; i++) {
			const char *name = svcs->keys[i]->str;
			/* compose's own rule for service names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
			int ok = svcs->keys[i]->kind == YN_SCALAR && isalnum((unsigned char)name[0]);
			for (const char *c = name; ok && *c; c++)
				ok = isalnum((unsigned char)*c) || *c == '_' || *c == '.' || *c == '-';
			if (!ok || strlen(name) > 63)
				return err_node(L, svcs->keys[i],
						"invalid service name '%s': use letters, digits, '_', '.', '-' "
						"(first a letter or digit, at most 63)%s", name, "");
		}
	return 0;
}

/* Parse, validate, interpolate and canonicalise one file. */
static int load_file(struct loader *L, const char *abs, const char *base, struct ynode **out)
{
	struct srcfile *f;
	struct ynode *root = NULL;

	for (size_t i = 0; i < L->ncache; i++)
		if (!strcmp(L->cache[i].path, abs)) {
			*out = L->cache[i].root;
			return 0;
		}
	if (!path_exists(abs))
		return diag_err(L->d, "%s: no such file", display_for(L, abs));
	if (srcfile_read(L->a, abs, display_for(L, abs), L->opts->limits.max_bytes, &f, L->d))
		return -1;
	add_source(L->p, f);
	if (ydoc_load(L->a, f, &L->opts->limits, &root, L->d))
		return -1;
	if (!root) {
		root = ynode_new(L->a, YN_MAP);
		root->pos.file = f;
		root->pos.line = 1;
		root->pos.col = 1;
	}
	if (validate_top(L, root))
		return -1;
	struct interp_walk w = { .L = L };
	root = interp_node(&w, root, 0, NULL);
	if (!root)
		return -1;
	struct ynode *svcs = ymap_get(root, "services");
	if (svcs && svcs->kind == YN_MAP) {
		struct ynode *c = ynode_copy(L->a, svcs);
		for (size_t i = 0; i < c->n; i++) {
			c->vals[i] = canon_service(L, c->keys[i]->str, c->vals[i], base);
			if (!c->vals[i])
				return -1;
		}
		long si = ymap_index(root, "services");
		root = ynode_copy(L->a, root);
		root->vals[si] = c;
	}
	ALLOC_GROW(L->cache, L->ncache + 1, L->cache_alloc);
	L->cache[L->ncache].path = arena_strdup(L->a, abs);
	L->cache[L->ncache].root = root;
	L->cache[L->ncache].base = base;
	L->ncache++;
	*out = root;
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
			err_node(L, ext ? ext : svc, "extends cycle: %s%s", chain.buf, "");
			buf_release(&chain);
			goto cleanup;
		}
	if (L->ext_depth >= MAX_EXTENDS_DEPTH) {
		diag_err(L->d, "extends chains deeper than %d services", MAX_EXTENDS_DEPTH);
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
		err_node(L, ext, "services.%s.extends needs a 'service'%s", name, "");
		goto pop;
	}
	if (filen) {
		tfile = filen->str;
		if (!path_exists(tfile)) {
			err_node(L, filen, "services.%s.extends: file '%s' not found", name,
				 display_for(L, tfile));
			goto pop;
		}
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

static int apply_include(struct loader *L, struct ynode **rootp)
{
	struct ynode *inc = ymap_get(*rootp, "include");
	if (!inc || ynode_is_null(inc))
		return 0;
	if (inc->kind != YN_SEQ)
		return err_node(L, inc, "'include' must be a list%s%s", "", "");
	if (L->include_depth >= MAX_INCLUDE_DEPTH)
		return err_node(L, inc, "includes nested deeper than %s levels%s", "8", "");
	const char *here = path_dirname(L->a, (*rootp)->pos.file->path);
	struct ynode *svcs = ymap_get(*rootp, "services");
	struct ynode *merged = svcs && svcs->kind == YN_MAP ? ynode_copy(L->a, svcs)
							    : ynode_new(L->a, YN_MAP);
	for (size_t i = 0; i < inc->n; i++) {
		struct ynode *e = inc->items[i], *pathn = e, *pdir = NULL;
		if (e->kind == YN_MAP) {
			pathn = ymap_get(e, "path");
			pdir = ymap_get(e, "project_directory");
			for (size_t q = 0; q < e->n; q++)
				if (!in_list((const char *const[]){ "path", "project_directory", "env_file", NULL },
					     e->keys[q]->str))
					return err_node(L, e->keys[q], "include: unknown key '%s'%s",
							e->keys[q]->str, "");
		}
		if (!pathn)
			return err_node(L, e, "include: each entry needs a path%s%s", "", "");
		size_t np = pathn->kind == YN_SEQ ? pathn->n : 1;
		const char **paths = xcalloc(np, sizeof(*paths));
		for (size_t j = 0; j < np; j++) {
			struct ynode *pj = pathn->kind == YN_SEQ ? pathn->items[j] : pathn;
			paths[j] = path_join(L->a, here, pj->str);
			if (!path_exists(paths[j])) {
				const char *shown = display_for(L, paths[j]);
				free(paths);
				return err_node(L, pj, "include: '%s' not found%s", shown, "");
			}
		}
		const char *base = pdir ? path_join(L->a, here, pdir->str) : path_dirname(L->a, paths[0]);
		struct ynode *sub;
		L->include_depth++;
		int r = load_stack(L, paths, np, base, &sub);
		L->include_depth--;
		free(paths);
		if (r)
			return -1;
		struct ynode *ssv = ymap_get(sub, "services");
		for (size_t j = 0; ssv && ssv->kind == YN_MAP && j < ssv->n; j++) {
			if (ymap_index(merged, ssv->keys[j]->str) >= 0)
				return err_node(L, ymap_get(merged, ssv->keys[j]->str) ? ssv->keys[j] : e,
						"services.%s conflicts with the service of that name "
						"imported by include%s", ssv->keys[j]->str, "");
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

/* Load files in order, each with include then extends, and merge them. */
static int load_stack(struct loader *L, const char *const *files, size_t nfiles,
		      const char *base, struct ynode **out)
{
	struct ynode *acc = NULL;
	for (size_t i = 0; i < nfiles; i++) {
		struct ynode *root;
		if (load_file(L, files[i], base, &root))
			return -1;
		if (apply_include(L, &root) || apply_extends(L, files[i], &root))
			return -1;
		acc = acc ? merge_node(L->a, acc, root, "") : root;
	}
	*out = acc;
	return 0;
}

/* --- discovery --- */

static const char *const discover_names[] = {
	"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml", NULL
};

static int discover(struct loader *L, const char *dir, struct strvec *files)
{
	char *cur = arena_strdup(L->a, dir);
	for (;;) {
		for (const char *const *n = discover_names; *n; n++) {
			char *cand = path_join(L->a, cur, *n);
			if (!path_exists(cand))
				continue;
			strvec_push(files, cand);
			/* The override file of the same family, .yaml preferred. */
			const char *stem = str_starts(*n, "docker-") ? "docker-compose" : "compose";
			const char *ovr[] = { "override.yaml", "override.yml" };
			for (size_t k = 0; k < 2; k++) {
				char *o = arena_strfmt(L->a, "%s/%s.%s", cur, stem, ovr[k]);
				if (path_exists(o)) {
					strvec_push(files, o);
					break;
				}
			}
			return 0;
		}
		if (!strcmp(cur, "/"))
			break;
		cur = path_dirname(L->a, cur);
	}
	return diag_err(L->d, "no compose file found in %s or its parents (looked for compose.yaml, "
			"compose.yml, docker-compose.yml, docker-compose.yaml)", dir);
}

static char *normalise_name(struct arena *a, const char *s)
{
	struct buf b = BUF_INIT;
	for (; *s; s++) {
		int c = tolower((unsigned char)*s);
		if (isalnum(c) || ((c == '_' || c == '-') && b.len))
			buf_addch(&b, c);
	}
	char *r = arena_strndup(a, b.buf, b.len);
	buf_release(&b);
	return r;
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

static int resolve_env(struct loader *L, struct service *s, const struct ynode *svc)
{
	struct env_acc e = { .L = L };
	const struct ynode *ef = ymap_get(svc, "env_file");
	const struct ynode *env = ymap_get(svc, "environment");

	for (size_t i = 0; ef && ef->kind == YN_SEQ && i < ef->n; i++) {
		const struct ynode *m = ef->items[i], *pathn = ymap_get(m, "path");
		if (read_envfile(L, pathn->str, parse_bool(ymap_get(m, "required"), 1), pathn,
				 lookup_var, L->p, env_put, &e)) {
			free(e.v);
			return -1;
		}
	}
	for (size_t i = 0; env && env->kind == YN_MAP && i < env->n; i++) {
		const struct ynode *k = env->keys[i], *v = env->vals[i];
		struct origin o = { .kind = ORIGIN_YAML };
		if (!v || ynode_is_null(v)) {
			/* A bare key inherits from the project environment. */
			const struct project_var *pv = compose_var(L->p, k->str);
			if (!pv)
				continue;
			env_put(&e, k->str, pv->value, &pv->origin);
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
	free(e.v);
	return 0;
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
			s->dockerfile = path_relative(a, L->p->dir, path_join(a, ctx->str, dfile));
		}
	}
	s->command = ymap_get(svc, "command");
	s->entrypoint = ymap_get(svc, "entrypoint");
	if (ynode_is_null(s->command))
		s->command = NULL;
	if (ynode_is_null(s->entrypoint))
		s->entrypoint = NULL;
	if ((n = ymap_get(svc, "scale")) && n->kind == YN_SCALAR)
		s->replicas = atoi(n->str);
	if ((n = ymap_get(ymap_get(svc, "deploy"), "replicas")) && n->kind == YN_SCALAR)
		s->replicas = atoi(n->str);
	if (s->replicas < 0)
		return err_node(L, n, "services.%s: replicas must not be negative%s", name, "");
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
	struct loader L = { .opts = opts, .p = p, .a = &p->arena, .d = d };
	struct strvec files = STRVEC_INIT, active = STRVEC_INIT;
	struct ynode *root = NULL;
	const char *v;
	int ret = -1;

	p->dir = path_absolute(L.a, opts->dir ? opts->dir : ".");
	if (!path_is_dir(p->dir)) {
		diag_err(d, "project directory '%s' does not exist", opts->dir ? opts->dir : ".");
		goto cleanup;
	}
	if (load_project_env(&L, p->dir, opts->env_files, opts->nenv_files))
		goto cleanup;

	if (opts->nfiles) {
		for (size_t i = 0; i < opts->nfiles; i++)
			strvec_push(&files, path_join(L.a, p->dir, opts->files[i]));
	} else if ((v = compose_var(p, "COMPOSE_FILE") ? compose_var(p, "COMPOSE_FILE")->value : NULL) && *v) {
		const struct project_var *sepv = compose_var(p, "COMPOSE_PATH_SEPARATOR");
		char sep = sepv && *sepv->value ? sepv->value[0] : ':';
		const char *s = v;
		while (*s) {
			const char *e = strchr(s, sep);
			size_t len = e ? (size_t)(e - s) : strlen(s);
			if (len) {
				char *one = arena_strndup(L.a, s, len);
				strvec_push(&files, path_join(L.a, p->dir, one));
			}
			s += len + (e ? 1 : 0);
		}
	} else if (discover(&L, p->dir, &files)) {
		goto cleanup;
	}
	/* A file found in a parent directory makes that the project directory. */
	if (!opts->nfiles && files.nr)
		p->dir = path_dirname(L.a, files.v[0]);
	for (size_t i = 0; i < files.nr; i++)
		if (!path_exists(files.v[i])) {
			diag_err(d, "%s: no such file", display_for(&L, files.v[i]));
			goto cleanup;
		}

	/* Profiles: --profile, else COMPOSE_PROFILES (comma-separated). */
	for (size_t i = 0; i < opts->nprofiles; i++)
		strvec_push(&active, opts->profiles[i]);
	if (!opts->nprofiles && compose_var(p, "COMPOSE_PROFILES")) {
		char *all = xstrdup(compose_var(p, "COMPOSE_PROFILES")->value), *save = NULL;
		for (char *t = strtok_r(all, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (*t)
				strvec_push(&active, t);
		free(all);
	}

	if (load_stack(&L, (const char *const *)files.v, files.nr, p->dir, &root))
		goto cleanup;

	p->files = arena_alloc(L.a, files.nr * sizeof(*p->files));
	for (size_t i = 0; i < files.nr; i++)
		p->files[i] = display_for(&L, files.v[i]);
	p->nfiles = files.nr;

	/* Project name: -p > COMPOSE_PROJECT_NAME > name: > directory. */
	const struct ynode *namen = ymap_get(root, "name");
	if (opts->project_name)
		p->name = normalise_name(L.a, opts->project_name);
	else if (compose_var(p, "COMPOSE_PROJECT_NAME") && *compose_var(p, "COMPOSE_PROJECT_NAME")->value)
		p->name = normalise_name(L.a, compose_var(p, "COMPOSE_PROJECT_NAME")->value);
	else if (namen && namen->kind == YN_SCALAR && *namen->str)
		p->name = normalise_name(L.a, namen->str);
	else
		p->name = normalise_name(L.a, path_basename(p->dir));
	if (!*p->name) {
		diag_err(d, "the project name is empty after normalising: set one with -p");
		goto cleanup;
	}

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

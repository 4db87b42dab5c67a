/*
 * imagescan: a service's start-up read from its image (see imagescan.h).
 */
#include "detect/imagescan.h"
#include "detect/evidence.h"
#include "detect/model.h"
#include "stack/service.h"
#include "util/path.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void image_config_release(struct image_config *c)
{
	free(c->ref);
	free(c->digest);
	strvec_clear(&c->entrypoint);
	strvec_clear(&c->cmd);
	free(c->workdir);
	free(c->user);
	strvec_clear(&c->env);
	memset(c, 0, sizeof(*c));
}

struct scan {
	struct plan *plan;
	struct plan_service *ps;
	const struct patterns *pat;
	const struct image_source *src;
	struct image_config cfg;
	const char *label;      /* "image REF@sha256:<12 hex>" */
	const char *workdir;
	struct evidence_list found;
	struct strvec read;     /* image paths already scanned */
	const char *missing;    /* a start-up script the image does not have */
	int scripts;            /* scripts read */
};

/* PATH from the image's environment (the service's own overrides it). */
static const char *image_path_var(struct scan *sc)
{
	const struct env_entry *e = service_env(sc->ps->svc, "PATH");
	if (e && e->value)
		return e->value;
	for (size_t i = 0; i < sc->cfg.env.nr; i++)
		if (str_starts(sc->cfg.env.v[i], "PATH="))
			return sc->cfg.env.v[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/*
 * Read a script the start-up names: an absolute path, one relative to
 * base (the calling script's directory, then the working directory), or a
 * bare name looked up in PATH.  Returns 0 with *abs and data, or 1.
 */
static int read_script(struct scan *sc, const char *word, const char *base, const char **abs,
		       struct buf *data)
{
	struct arena *a = &sc->plan->arena;
	struct strvec cands = STRVEC_INIT;
	struct buf why = BUF_INIT;
	int ret = 1;

	if (word[0] == '/') {
		strvec_push(&cands, word);
	} else if (strchr(word, '/')) {
		if (base)
			strvec_push(&cands, path_join(a, base, word));
		strvec_push(&cands, path_join(a, sc->workdir, word));
	} else {
		if (base)
			strvec_push(&cands, path_join(a, base, word));
		const char *p = image_path_var(sc);
		while (*p) {
			size_t n = strcspn(p, ":");
			if (n && p[0] == '/') {
				char *dir = arena_strndup(a, p, n);
				strvec_push(&cands, path_join(a, dir, word));
			}
			p += n + (p[n] == ':');
		}
		strvec_push(&cands, path_join(a, sc->workdir, word));
	}
	for (size_t i = 0; i < cands.nr && ret; i++) {
		buf_reset(data);
		buf_reset(&why);
		int r = sc->src->read_file(sc->src->ctx, sc->cfg.ref, cands.v[i], EVIDENCE_SCRIPT_MAX,
					   data, &why);
		if (r == IMAGE_OK) {
			*abs = arena_strdup(a, cands.v[i]);
			ret = 0;
		} else if (r == IMAGE_FAILED) {
			plan_warn(sc->plan, 0, "%s: cannot read %s from image %s: %s", sc->ps->name,
				  cands.v[i], sc->cfg.ref, why.buf);
			break;
		}
	}
	strvec_clear(&cands);
	buf_release(&why);
	return ret;
}

static void scan_script(struct scan *sc, const char *word, const char *base, int level);

static void follow(struct scan *sc, struct strvec *called, const char *base, int level)
{
	for (size_t i = 0; i < called->nr; i++)
		scan_script(sc, called->v[i], base, level);
}

static void scan_script(struct scan *sc, const char *word, const char *base, int level)
{
	struct arena *a = &sc->plan->arena;
	struct buf data = BUF_INIT;
	struct strvec called = STRVEC_INIT;
	const char *abs = NULL;

	/* "$@", "${CMD}": a command held in a variable is not a script name. */
	if (strchr(word, '$'))
		return;
	if (read_script(sc, word, base, &abs, &data)) {
		/* Level 0 is what the start-up itself runs: the image must have it. */
		if (!level && !sc->missing)
			sc->missing = arena_strdup(a, word);
		buf_release(&data);
		return;
	}
	if (strvec_contains(&sc->read, abs)) {
		buf_release(&data);
		return;
	}
	strvec_push(&sc->read, abs);
	sc->scripts++;
	const char *display = arena_strfmt(a, "%s %s", sc->label, abs);
	size_t before = sc->found.nr;
	if (evidence_scan_script(sc->pat, display, data.buf, data.len, &sc->found, &called) < 0) {
		plan_warn(sc->plan, 0, "%s: %s is over %d bytes: not read", sc->ps->name, display,
			  EVIDENCE_SCRIPT_MAX);
	} else {
		for (size_t i = before; i < sc->found.nr; i++)
			plan_add_evidence(sc->plan, sc->ps, sc->found.v[i].file, sc->found.v[i].line,
					  sc->found.v[i].text, "image");
		if (sc->found.nr == before)
			plan_add_evidence(sc->plan, sc->ps, display, 1,
					  "start-up script read from the image: no migration command", "image");
		/* One level of scripts this one runs, as for repository scripts. */
		if (level < 1)
			follow(sc, &called, path_dirname(a, abs), level + 1);
	}
	strvec_clear(&called);
	buf_release(&data);
}

/* Scan an argv (or shell string) the start-up runs; image_own: it comes from the image's config. */
static void scan_start(struct scan *sc, const struct strvec *argv, const char *shell,
		       const char *what, int image_own)
{
	struct strvec called = STRVEC_INIT;
	const char *file = arena_strfmt(&sc->plan->arena, "%s %s", sc->label, what);
	size_t before = sc->found.nr;

	if (shell) {
		if (image_own)
			evidence_match_shell(sc->pat, shell, file, 0, &sc->found);
		evidence_calls_shell(shell, &called);
	} else if (argv->nr) {
		if (image_own)
			evidence_match_command(sc->pat, (const char *const *)argv->v, argv->nr, file, 0,
					       &sc->found);
		evidence_calls_command((const char *const *)argv->v, argv->nr, &called);
	}
	for (size_t i = before; i < sc->found.nr; i++)
		plan_add_evidence(sc->plan, sc->ps, sc->found.v[i].file, 0, sc->found.v[i].text, "image");
	follow(sc, &called, NULL, 0);
	strvec_clear(&called);
}

static int truthy(const char *v)
{
	return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	       !strcasecmp(v, "on") || !strcasecmp(v, "always");
}

/* A variable name that switches migrations on at start-up: a word MIGRATE/MIGRATION(S). */
static int is_migration_switch(const char *key, size_t n)
{
	static const char *const words[] = { "MIGRATE", "MIGRATION", "MIGRATIONS", NULL };
	size_t i = 0;
	while (i < n) {
		size_t w = i;
		while (w < n && key[w] != '_')
			w++;
		for (const char *const *x = words; *x; x++)
			if (strlen(*x) == w - i && !strncasecmp(key + i, *x, w - i))
				return 1;
		i = w + 1;
	}
	return 0;
}

/* Migration switches set in the image's environment (or the service's, which wins). */
static void scan_env(struct scan *sc)
{
	for (size_t i = 0; i < sc->cfg.env.nr; i++) {
		const char *kv = sc->cfg.env.v[i], *eq = strchr(kv, '=');
		if (!eq || !is_migration_switch(kv, (size_t)(eq - kv)))
			continue;
		char *key = xstrndup(kv, (size_t)(eq - kv));
		const struct env_entry *e = service_env(sc->ps->svc, key);
		const char *v = e ? e->value : eq + 1;
		if (truthy(v)) {
			const char *text = arena_strfmt(&sc->plan->arena, "%s=%s%s", key, v,
							e ? " (the service's environment)" : "");
			const char *file = arena_strfmt(&sc->plan->arena, "%s Env", sc->label);
			ALLOC_GROW(sc->found.v, sc->found.nr + 1, sc->found.alloc);
			struct evidence *ev = &sc->found.v[sc->found.nr++];
			ev->file = xstrdup(file);
			ev->line = 0;
			ev->text = xstrdup(text);
			ev->pattern = xstrfmt("%s=%s", key, v);
			plan_add_evidence(sc->plan, sc->ps, file, 0, text, "image");
		}
		free(key);
	}
}

static void join_argv(const struct strvec *v, struct buf *out)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < v->nr; i++)
		buf_addf(out, "%s\"%s\"", i ? ", " : "", v->v[i]);
	buf_addch(out, ']');
}

/* Inspect the first of the service's candidate images that the engine has. */
static int find_image(struct scan *sc, struct strvec *tried, struct buf *why)
{
	const struct service *s = sc->ps->svc;
	const char *proj = sc->plan->project ? sc->plan->project->name : NULL;

	if (s->image)
		strvec_push(tried, s->image);
	else if (s->has_build && proj) {
		strvec_pushf(tried, "%s-%s", proj, s->name);
		strvec_pushf(tried, "%s_%s", proj, s->name);
	}
	for (size_t i = 0; i < tried->nr; i++) {
		buf_reset(why);
		int r = sc->src->inspect(sc->src->ctx, tried->v[i], &sc->cfg, why);
		if (r != IMAGE_ABSENT)
			return r;
		image_config_release(&sc->cfg);
	}
	return IMAGE_ABSENT;
}

int imagescan_classify(struct plan *plan, struct plan_service *ps, const struct patterns *pat,
		       const struct image_source *src)
{
	struct scan sc = { .plan = plan, .ps = ps, .pat = pat, .src = src };
	const struct service *s = ps->svc;
	struct arena *a = &plan->arena;
	struct strvec tried = STRVEC_INIT, ep = STRVEC_INIT, cmd = STRVEC_INIT, full = STRVEC_INIT;
	struct buf why = BUF_INIT;
	int ret = 0;

	if (!src || !src->inspect)
		return 0;
	int r = find_image(&sc, &tried, &why);
	if (!tried.nr || r == IMAGE_NO_ENGINE)
		goto out;
	if (r == IMAGE_ABSENT) {
		ps->reason = arena_strfmt(a, "%s; image %s is not on the engine, so its start-up was "
					  "not read", ps->reason ? ps->reason : "unconfirmed", tried.v[0]);
		plan_warn(plan, 0, "image %s (%s) is not on the engine: its start-up could not be read; "
			  "pull or build it, or set the class in dsnflip.yml", tried.v[0], ps->name);
		goto out;
	}
	if (r == IMAGE_FAILED) {
		ps->reason = arena_strfmt(a, "%s; the image could not be read (%s)",
					  ps->reason ? ps->reason : "unconfirmed", why.buf);
		plan_warn(plan, 0, "images could not be read: %s", why.buf);
		goto out;
	}
	const char *dg = sc.cfg.digest ? sc.cfg.digest : "";
	if (str_starts(dg, "sha256:"))
		sc.label = arena_strfmt(a, "image %s@sha256:%.12s", sc.cfg.ref, dg + 7);
	else
		sc.label = arena_strfmt(a, "image %s", sc.cfg.ref);

	/* Effective start-up: compose's entrypoint replaces the image's and drops its Cmd. */
	const char *ep_sh = NULL, *cmd_sh = NULL;
	int ep_image = !s->entrypoint, cmd_image = !s->command && !s->entrypoint;
	if (s->entrypoint)
		service_cmd_words(s->entrypoint, &ep, &ep_sh);
	else
		for (size_t i = 0; i < sc.cfg.entrypoint.nr; i++)
			strvec_push(&ep, sc.cfg.entrypoint.v[i]);
	if (s->command)
		service_cmd_words(s->command, &cmd, &cmd_sh);
	else if (cmd_image)
		for (size_t i = 0; i < sc.cfg.cmd.nr; i++)
			strvec_push(&cmd, sc.cfg.cmd.v[i]);
	sc.workdir = service_working_dir(s) ? service_working_dir(s)
		   : sc.cfg.workdir && *sc.cfg.workdir ? sc.cfg.workdir : "/";

	{
		struct buf b = BUF_INIT;
		buf_addstr(&b, "config: Entrypoint ");
		join_argv(&sc.cfg.entrypoint, &b);
		buf_addstr(&b, " Cmd ");
		join_argv(&sc.cfg.cmd, &b);
		buf_addf(&b, " WorkingDir %s User %s", *sc.cfg.workdir ? sc.cfg.workdir : "/",
			 *sc.cfg.user ? sc.cfg.user : "(root)");
		plan_add_evidence(plan, ps, sc.label, 0, b.buf, "image");
		buf_release(&b);
	}
	if (ep_sh || ep.nr)
		scan_start(&sc, &ep, ep_sh, "Entrypoint", ep_image);
	if (cmd_sh || cmd.nr)
		scan_start(&sc, &cmd, cmd_sh, "Cmd", cmd_image);
	scan_env(&sc);

	if (ep_sh)
		strvec_push(&full, ep_sh);
	for (size_t i = 0; i < ep.nr; i++)
		strvec_push(&full, ep.v[i]);
	if (cmd_sh)
		strvec_push(&full, cmd_sh);
	for (size_t i = 0; i < cmd.nr; i++)
		strvec_push(&full, cmd.v[i]);

	if (sc.found.nr) {
		const struct evidence *e = &sc.found.v[0];
		ps->cls = CLASS_MIGRATOR;
		ps->reason = e->line > 0 ? arena_strfmt(a, "runs migrations (%s at %s:%d)", e->pattern,
						       e->file, e->line)
					 : arena_strfmt(a, "runs migrations (%s in %s)", e->pattern, e->file);
		ret = 1;
	} else if (sc.missing) {
		ps->reason = arena_strfmt(a, "start-up script %s is not in image %s", sc.missing, sc.label + 6);
	} else if (!full.nr) {
		ps->reason = arena_strfmt(a, "image %s runs nothing of its own (no Entrypoint or Cmd)",
					  sc.label + 6);
	} else {
		char *what = NULL;
		int app = evidence_runs_app((const char *const *)full.v, full.nr, &what);
		/* An entrypoint script ending in exec "$@" runs the Cmd. */
		if (!app && sc.scripts && cmd.nr)
			app = evidence_runs_app((const char *const *)cmd.v, cmd.nr, &what);
		if (!app && !sc.scripts) {
			/* A bare shell or a held command: nothing that says what runs. */
			ps->reason = arena_strfmt(a, "image %s runs %s: no application or start-up script "
						  "to read", sc.label + 6, full.v[0]);
			free(what);
			goto out;
		}
		ps->cls = CLASS_WRITER;
		if (app)
			ps->reason = arena_strfmt(a, "runs an application (%s) with no migration evidence "
						  "in %s", what, sc.label);
		else
			ps->reason = arena_strfmt(a, "start-up read from %s (%d script%s), no migration "
						  "evidence", sc.label, sc.scripts, sc.scripts == 1 ? "" : "s");
		free(what);
		ret = 1;
	}
out:
	image_config_release(&sc.cfg);
	evidence_list_release(&sc.found);
	strvec_clear(&sc.read);
	strvec_clear(&tried);
	strvec_clear(&ep);
	strvec_clear(&cmd);
	strvec_clear(&full);
	buf_release(&why);
	return ret;
}

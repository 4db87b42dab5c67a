/*
 * lint: the rules over a plan (see lint.h).
 *
 * Every finding is placed where the value's literal text is, the place a
 * reviewer must change: a DSN reached through ${VAR} is reported at VAR's
 * definition when that holds the literal, at the reference when the value
 * comes from the environment.
 */
#include "plan/lint.h"
#include "detect/dsn.h"
#include "stack/interp.h"
#include "util/path.h"

#include <stdlib.h>
#include <string.h>

static const struct lint_rule rules[] = {
	{ "superuser-connection", LINT_ERROR, "a service connects to PostgreSQL as a superuser",
	  "An application connected as a superuser bypasses every permission and row-level "
	  "security policy and can take the server's reserved connections. Connect it as its "
	  "own role: `dsnflip plan` shows the role planned for it, `dsnflip branch` commits the "
	  "rewritten DSN. dsnflip counts as superusers postgres, the server image's "
	  "POSTGRES_USER, a connection with no user (libpq's default), and the names under "
	  "superusers: in dsnflip.yml." },
	{ "superuser-unknown", LINT_ERROR, "offline, dsnflip cannot tell whether a service's user is a superuser",
	  "The server this connection reaches is not recognised, or its image's superusers are "
	  "not known, so the user may be a superuser. lint never gives an all clear it cannot "
	  "back: list the user under superusers: in dsnflip.yml if it is one, or disable the "
	  "finding on its line (# dsnflip-lint: disable=superuser-unknown) once `dsnflip plan "
	  "--db` has shown it is not." },
	{ "literal-password", LINT_ERROR, "a database password is written as a literal in a file git tracks",
	  "A password committed to the repository is readable by everyone who can read the "
	  "repository, forever (git keeps history). Write a ${VAR:?VAR must be set} reference "
	  "instead and set VAR where the stack runs (an untracked .env, the deploy "
	  "environment); `dsnflip branch` writes such references for the roles it creates." },
	{ "server-password", LINT_ERROR, "an application service is given the server's POSTGRES_PASSWORD",
	  "POSTGRES_PASSWORD is the superuser's password: a service holding it can connect as "
	  "the superuser whatever its DSN says. Give the service its own role's password "
	  "(a ${ROLE_PASSWORD:?...} reference) and remove the superuser's from its "
	  "environment and env_file." },
	{ "over-budget", LINT_ERROR, "the planned connection limits exceed what the server has",
	  "The roles' CONNECTION LIMITs add up to more connections than max_connections leaves "
	  "after the reserved ones and the headroom: under load, services would be refused. "
	  "Lower connection_limit (services: or roles: in dsnflip.yml), lower the pools, or "
	  "raise max_connections and say so under server: in dsnflip.yml." },
	{ "held-unsettled", LINT_WARNING, "a held service has no class: to settle it",
	  "dsnflip could not tell whether this service migrates, writes or only reads, so the "
	  "plan holds it on the superuser. Say what it is in dsnflip.yml (services: NAME: "
	  "class: migrator|writer|reader) so the next `dsnflip branch` moves it." },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

const struct lint_rule *lint_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

const struct lint_rule *lint_rule(const char *id)
{
	for (size_t i = 0; i < NRULES; i++)
		if (!strcmp(rules[i].id, id))
			return &rules[i];
	return NULL;
}

const char *lint_severity_name(enum lint_severity s)
{
	static const char *const n[] = { "note", "warning", "error" };
	return n[s];
}

int lint_severity_parse(const char *s, enum lint_severity *out)
{
	for (int i = LINT_NOTE; i <= LINT_ERROR; i++)
		if (!strcmp(s, lint_severity_name((enum lint_severity)i))) {
			*out = (enum lint_severity)i;
			return 0;
		}
	return -1;
}

struct linter {
	const struct plan *plan;
	const struct config *cfg;
	const struct lint_opts *opts;
	struct lint_report *out;
	struct arena *a;
	struct strvec server_vars;   /* variables the servers' POSTGRES_PASSWORD come from */
	struct strvec server_values; /* their values, when set */
	struct strvec disabled;      /* disabled findings counted: "rule service variable", or
	                                "rule @file:line:col" for a literal (one per place) */
};

/* --- disables --- */

/* Does the text [s, e) hold "dsnflip-lint: disable[=LIST]" naming id (after a '#')? */
static int comment_disables(const char *s, const char *e, const char *id)
{
	const char *hash = memchr(s, '#', (size_t)(e - s));
	static const char tag[] = "dsnflip-lint:";
	for (const char *p = hash; p && p + sizeof(tag) - 1 <= e; p++) {
		if (strncmp(p, tag, sizeof(tag) - 1))
			continue;
		p += sizeof(tag) - 1;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(e - p) < 7 || strncmp(p, "disable", 7))
			return 0;
		p += 7;
		if (p == e || *p == ' ' || *p == '\t' || *p == '\r')
			return 1; /* every rule */
		if (*p != '=')
			return 0;
		p++;
		size_t n = strlen(id);
		while (p < e) {
			const char *q = p;
			while (q < e && *q != ',' && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			if ((size_t)(q - p) == n && !strncmp(p, id, n))
				return 1;
			if (q == e || *q != ',')
				return 0;
			p = q + 1;
		}
		return 0;
	}
	return 0;
}

static void line_span(const struct srcfile *f, int line, const char **s, const char **e)
{
	size_t start = f->line_starts[line - 1];
	size_t end = (size_t)line < f->nlines ? f->line_starts[line] : f->len;
	*s = f->data + start;
	*e = f->data + end;
	while (*e > *s && ((*e)[-1] == '\n' || (*e)[-1] == '\r'))
		(*e)--;
}

/* Switched off inline: on the finding's line, or alone on the line above. */
static int inline_disabled(const struct srcfile *f, int line, const char *id)
{
	const char *s, *e;
	if (!f || line < 1 || (size_t)line > f->nlines)
		return 0;
	line_span(f, line, &s, &e);
	if (comment_disables(s, e, id))
		return 1;
	if (line < 2)
		return 0;
	line_span(f, line - 1, &s, &e);
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s < e && *s == '#' && comment_disables(s, e, id);
}

static int config_disabled(const struct config *cfg, const char *id)
{
	for (size_t i = 0; cfg && i < cfg->nlint_disable; i++)
		if (!strcmp(cfg->lint_disable[i].name, id))
			return 1;
	return 0;
}

/* --- findings --- */

static const char *shown_path(struct linter *L, const struct srcfile *f)
{
	const char *pre = L->opts && L->opts->path_prefix ? L->opts->path_prefix : "";
	if (!f)
		return "";
	if (f->display[0] == '/' || !*pre)
		return path_normalize(L->a, f->display);
	return path_normalize(L->a, arena_strfmt(L->a, "%s/%s", pre, f->display));
}

static void add(struct linter *L, const char *id, const struct ypos *at, const char *service,
		const char *variable, const char *message, const char *fix)
{
	const struct lint_rule *rule = lint_rule(id);
	struct lint_report *r = L->out;
	const struct srcfile *f = at ? at->file : NULL;

	/* One finding per rule, service and variable.  A literal several services
	 * read (an anchor, an env_file line) is one thing to fix, so
	 * literal-password is also one finding per place, naming every service
	 * that reads it (--base must still see a service that starts reading
	 * it).  The connection rules stay one per service: a second service
	 * connecting as the superuser through the same line is a second
	 * connection to move. */
	int per_place = !strcmp(id, "literal-password");
	for (size_t i = 0; i < r->nr; i++) {
		struct lint_finding *o = &r->v[i];
		if (o->rule != rule)
			continue;
		if (!strcmp(o->service, service) && !strcmp(o->variable, variable))
			return;
		if (per_place && f && o->src == f && o->line == at->line && o->col == at->col) {
			if (*service && strcmp(o->service, service) && !strvec_contains(&o->also, service))
				strvec_push(&o->also, service);
			return;
		}
	}
	if (config_disabled(L->cfg, id) || inline_disabled(f, at ? at->line : 0, id)) {
		/* Counted as the findings would have been: one per place for a literal. */
		char *key = per_place && f ? xstrfmt("%s @%p:%d:%d", id, (const void *)f, at->line, at->col)
					   : xstrfmt("%s %s %s", id, service, variable);
		if (!strvec_contains(&L->disabled, key)) {
			strvec_push(&L->disabled, key);
			r->suppressed++;
		}
		free(key);
		return;
	}
	ALLOC_GROW(r->v, r->nr + 1, r->alloc);
	struct lint_finding *x = &r->v[r->nr++];
	x->rule = rule;
	x->service = arena_strdup(L->a, service);
	x->variable = arena_strdup(L->a, variable);
	x->src = f;
	x->file = shown_path(L, f);
	x->line = f ? at->line : 0;
	x->col = f ? at->col : 0;
	x->message = arena_strdup(L->a, message);
	x->fix = arena_strdup(L->a, fix);
	x->also = (struct strvec)STRVEC_INIT;
}

/* Where an entry's value is written: its literal, or the ${VAR} reference to the environment. */
static const struct ypos *entry_pos(const struct env_entry *e)
{
	const struct origin *o = &e->origin;
	if (o->kind == ORIGIN_PROCESS)
		return o->via ? &o->via->pos : NULL;
	return &o->pos;
}

/* The literal text at an origin: without "KEY=" (list form) and env-file quotes. */
static const char *origin_text(struct linter *L, const struct origin *o)
{
	const char *raw = o->raw ? o->raw : "";
	size_t n = strlen(raw);
	if (o->kind == ORIGIN_ENVFILE && o->quote && n >= 2 && raw[0] == o->quote &&
	    raw[n - 1] == o->quote)
		return arena_strndup(L->a, raw + 1, n - 2);
	return raw;
}

/* Every variable name the text references ($NAME, ${NAME...}), in order. */
static void referenced_names(const char *s, struct strvec *out)
{
	for (const char *p = s; (p = strchr(p, '$')) != NULL;) {
		p++;
		if (*p == '$') {
			p++;
			continue;
		}
		if (*p == '{')
			p++;
		const char *q = p;
		while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '_' ||
		       (q > p && *q >= '0' && *q <= '9'))
			q++;
		if (q > p) {
			char *name = xstrndup(p, (size_t)(q - p));
			if (!strvec_contains(out, name))
				strvec_push(out, name);
			free(name);
		}
		p = q;
	}
}

/* The password a DSN text holds ("" when none); NULL when it does not parse. */
static char *dsn_password(const char *text)
{
	struct dsn dsn = DSN_INIT;
	struct diag ignore = DIAG_INIT;
	char *pw = NULL;
	if (!dsn_parse(text, &dsn, &ignore)) {
		pw = xstrdup(dsn.password ? dsn.password : "");
		dsn_release(&dsn);
	}
	diag_release(&ignore);
	return pw;
}

static int is_tracked(struct linter *L, const struct srcfile *f)
{
	if (!f)
		return 0;
	return !L->opts || !L->opts->tracked || L->opts->tracked(L->opts->tracked_ctx, f);
}

/*
 * literal-password for one value: e's password is `value` (already taken
 * out of a DSN when is_dsn), written at e's origin as `raw`.
 */
static void check_literal(struct linter *L, const char *service, const struct env_entry *e,
			  int is_dsn)
{
	const struct origin *o = &e->origin;
	char *value = is_dsn ? dsn_password(e->value) : xstrdup(e->value);
	char *raw = NULL;
	const struct ypos *at = NULL;
	const char *var = o->var ? o->var : e->key;
	struct strvec names = STRVEC_INIT;

	if (!value || !*value || o->kind == ORIGIN_PROCESS)
		goto out;
	raw = is_dsn ? dsn_password(origin_text(L, o)) : xstrdup(origin_text(L, o));
	if (!raw || !strchr(raw, '$')) {
		at = &o->pos; /* the password itself is written here */
	} else {
		/* Through references: the literal is where a variable is defined, or,
		 * when none is set, a default written here. */
		int any_set = 0;
		referenced_names(raw, &names);
		for (size_t i = 0; i < names.nr && !at; i++) {
			const struct project_var *pv = compose_var(L->plan->project, names.v[i]);
			if (!pv || !pv->value || !*pv->value)
				continue;
			any_set = 1;
			if (pv->origin.kind != ORIGIN_PROCESS && strstr(value, pv->value)) {
				at = &pv->origin.pos;
				var = pv->name;
				service = ""; /* a project variable: every service reading it */
			}
		}
		if (!any_set)
			at = &o->pos;
	}
	if (o->var)
		service = ""; /* the literal is the variable's definition, read by every service */
	if (at && at->file && is_tracked(L, at->file)) {
		const char *msg = arena_strfmt(L->a, "%s: the password %sis written as a literal in %s, "
					       "which git tracks", e->key,
					       strcmp(var, e->key) ? arena_strfmt(L->a, "(from %s) ", var) : "",
					       at->file->display);
		const char *fix = !*service
			? arena_strfmt(L->a, "keep %s's value out of git: set it in an untracked file "
				       "(git rm --cached %s; add it to .gitignore) or in the deploy "
				       "environment", var, at->file->display)
			: interp_name_is_secret(var)
			? arena_strfmt(L->a, "write ${%s:?%s must be set} there and set %s outside git "
				       "(an untracked .env or the deploy environment)", var, var, var)
			: "replace the literal with a ${NAME_PASSWORD:?...} reference and set that "
			  "variable outside git (an untracked .env or the deploy environment)";
		add(L, "literal-password", at, service, var, msg, fix);
	}
out:
	strvec_clear(&names);
	free(value);
	free(raw);
}

/* server-password: is e (of an application service) the server's POSTGRES_PASSWORD? */
static void check_server_password(struct linter *L, const char *service, const struct env_entry *e)
{
	struct strvec names = STRVEC_INIT;
	const char *via = NULL;
	int hit = 0;

	if (e->origin.var && strvec_contains(&L->server_vars, e->origin.var)) {
		hit = 1;
		via = e->origin.var;
	}
	if (!hit && e->origin.kind != ORIGIN_PROCESS) {
		referenced_names(origin_text(L, &e->origin), &names);
		for (size_t i = 0; i < names.nr && !hit; i++)
			if (strvec_contains(&L->server_vars, names.v[i])) {
				hit = 1;
				via = arena_strdup(L->a, names.v[i]);
			}
	}
	/* By value only where a password belongs: "postgres" is a common password and user. */
	int secretish = interp_name_is_secret(e->key) || str_ends(e->key, "_PASS") ||
			str_ends(e->key, "PWD");
	for (size_t i = 0; i < L->server_values.nr && !hit; i++) {
		const char *sv = L->server_values.v[i];
		char *pw = dsn_is_candidate(e->value) ? dsn_password(e->value) : NULL;
		hit = (secretish && !strcmp(e->value, sv)) || (pw && !strcmp(pw, sv));
		free(pw);
	}
	if (hit) {
		/* At the reference that hands it over, when there is one. */
		const struct ypos *at = e->origin.via ? &e->origin.via->pos : entry_pos(e);
		const char *msg = arena_strfmt(L->a, "%s: %s is given the server's POSTGRES_PASSWORD%s%s",
					       e->key, service, via ? " through " : "", via ? via : "");
		add(L, "server-password", at ? at : &e->origin.pos, service, e->key, msg,
		    "give the service its own role's password and remove the superuser's from its "
		    "environment and env_file");
	}
	strvec_clear(&names);
}

static const char *superuser_why(struct linter *L, const struct plan_conn *c)
{
	const char *by = c->superuser_by ? c->superuser_by : "";
	if (!c->user || !*c->user)
		return "no user is set, so libpq's default applies";
	if (!strcmp(by, "config"))
		return arena_strfmt(L->a, "'%s' is listed under superusers: in %s", c->user,
				    L->cfg && L->cfg->path ? L->cfg->path : "dsnflip.yml");
	if (!strcmp(by, "server_env"))
		return arena_strfmt(L->a, "'%s' is a superuser of %s (its image and environment)",
				    c->user, c->server ? c->server : "the server");
	return arena_strfmt(L->a, "'%s' is the default superuser", c->user);
}

static void check_service(struct linter *L, const struct plan_service *ps)
{
	for (size_t k = 0; k < ps->nconns; k++) {
		const struct plan_conn *c = &ps->conns[k];
		const struct env_entry *ue = c->user_entry ? c->user_entry : c->entry;
		if (!c->superuser && ue && c->superuser_by && !strcmp(c->superuser_by, "unknown")) {
			/* Offline and not knowable: never a silent all clear. */
			const struct ypos *at = entry_pos(ue);
			const char *msg = arena_strfmt(L->a, "%s connects as '%s' (%s), and offline dsnflip "
						       "cannot tell whether that is a superuser", ps->name,
						       c->user ? c->user : "?", ue->key);
			add(L, "superuser-unknown", at ? at : &ps->svc->name_pos, ps->name, ue->key, msg,
			    arena_strfmt(L->a, "if '%s' is a superuser, list it under superusers: in "
					 "dsnflip.yml; if it is not, disable this finding on its line "
					 "(`dsnflip plan --db` shows what the server says)",
					 c->user ? c->user : "?"));
		}
		if (c->superuser && ue) {
			const struct ypos *at = entry_pos(ue);
			const char *msg = arena_strfmt(L->a, "%s connects as a superuser (%s: %s)", ps->name,
						       ue->key, superuser_why(L, c));
			const char *fix = ps->action == ACTION_HOLD
				? arena_strfmt(L->a, "settle %s's class in dsnflip.yml, then run `dsnflip "
					       "branch` to move it to its own role", ps->name)
				: arena_strfmt(L->a, "connect as the role '%s' (`dsnflip branch` commits the "
					       "rewritten DSN)", ps->role ? ps->role : "planned by dsnflip plan");
			add(L, "superuser-connection", at ? at : &ps->svc->name_pos, ps->name, ue->key,
			    msg, fix);
		}
		if (c->form != CONN_SPLIT && c->entry)
			check_literal(L, ps->name, c->entry, 1);
		if (c->password_entry)
			check_literal(L, ps->name, c->password_entry, 0);
	}
	if (ps->action == ACTION_HOLD && ps->cls == CLASS_UNCONFIRMED) {
		const struct config_service *cs = config_service(L->cfg, ps->name);
		if (!cs || !cs->cls) {
			const char *msg = arena_strfmt(L->a, "%s is held on the superuser: %s", ps->name,
						       ps->reason ? ps->reason : "its class is unknown");
			const char *fix = arena_strfmt(L->a, "add services: {%s: {class: writer}} "
						       "(migrator, writer or reader) to dsnflip.yml", ps->name);
			add(L, "held-unsettled", &ps->svc->name_pos, ps->name, "", msg, fix);
		}
	}
}

/* Is s one of the PostgreSQL servers detect recognised? */
static int is_server(const struct plan *plan, const struct service *s)
{
	for (size_t i = 0; i < plan->ndb_servers; i++)
		if (!strcmp(plan->db_servers[i].name, s->name))
			return 1;
	return 0;
}

/* The servers: their POSTGRES_PASSWORD (its variable, its value) and its literal. */
static void check_servers(struct linter *L)
{
	const struct compose_project *p = L->plan->project;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		const struct env_entry *pw;
		if (!s->enabled || !is_server(L->plan, s) || !(pw = service_env(s, "POSTGRES_PASSWORD")))
			continue;
		struct strvec names = STRVEC_INIT;
		if (pw->origin.var)
			strvec_push(&L->server_vars, pw->origin.var);
		if (pw->origin.via)
			referenced_names(pw->origin.via->raw ? pw->origin.via->raw : "", &names);
		else if (pw->origin.kind != ORIGIN_PROCESS)
			referenced_names(origin_text(L, &pw->origin), &names);
		for (size_t k = 0; k < names.nr; k++)
			if (!strvec_contains(&L->server_vars, names.v[k]))
				strvec_push(&L->server_vars, names.v[k]);
		strvec_clear(&names);
		if (*pw->value && !strvec_contains(&L->server_values, pw->value))
			strvec_push(&L->server_values, pw->value);
		check_literal(L, s->name, pw, 0);
	}
}

static void check_budget(struct linter *L)
{
	const struct plan *plan = L->plan;
	const struct plan_service *big = NULL;
	if (plan->budget.ok)
		return;
	for (size_t i = 0; i < plan->nservices; i++)
		if (plan->services[i].action != ACTION_SKIP &&
		    (!big || plan->services[i].pool * plan->services[i].svc->replicas >
				     big->pool * big->svc->replicas))
			big = &plan->services[i];
	const char *msg = arena_strfmt(L->a, "the planned connection limits need %d connections; the "
				       "server has %d (max_connections %d, %s)", plan->budget.planned,
				       plan->budget.available, plan->server.max_connections,
				       plan->server.source ? plan->server.source : "offline");
	add(L, "over-budget", big ? &big->svc->name_pos : NULL, "", "", msg,
	    "lower connection_limit in dsnflip.yml (or the pools), or raise max_connections and "
	    "say so under server: in dsnflip.yml");
}

static int cmp_finding(const void *pa, const void *pb)
{
	const struct lint_finding *a = pa, *b = pb;
	int c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	if ((c = strcmp(a->rule->id, b->rule->id)))
		return c;
	if ((c = strcmp(a->service, b->service)))
		return c;
	return strcmp(a->variable, b->variable);
}

int lint_run(const struct plan *plan, const struct config *cfg, const struct lint_opts *opts,
	     struct lint_report *out, struct diag *d)
{
	struct linter L = { .plan = plan, .cfg = cfg, .opts = opts, .out = out, .a = &out->arena };

	for (size_t i = 0; cfg && i < cfg->nlint_disable; i++)
		if (!lint_rule(cfg->lint_disable[i].name)) {
			struct buf ids = BUF_INIT;
			for (size_t k = 0; k < NRULES; k++)
				buf_addf(&ids, "%s%s", k ? ", " : "", rules[k].id);
			diag_at(d, cfg->path, cfg->lint_disable[i].pos.line, cfg->lint_disable[i].pos.col,
				"lint.disable: no rule '%s' (rules: %s)", cfg->lint_disable[i].name, ids.buf);
			buf_release(&ids);
			return -1;
		}
	check_servers(&L);
	for (size_t i = 0; i < plan->nservices; i++)
		check_service(&L, &plan->services[i]);
	/* Every application service, connecting or not, for the server's password. */
	for (size_t i = 0; i < plan->project->nservices; i++) {
		const struct service *s = &plan->project->services[i];
		if (!s->enabled || is_server(plan, s))
			continue;
		for (size_t k = 0; k < s->nenv; k++)
			check_server_password(&L, s->name, &s->env[k]);
	}
	check_budget(&L);
	for (size_t i = 0; i < plan->project->nservices; i++) {
		const struct service *s = &plan->project->services[i];
		if (s->enabled)
			continue;
		struct buf pr = BUF_INIT;
		for (size_t k = 0; k < s->nprofiles; k++)
			buf_addf(&pr, "%s%s", k ? ", " : "", s->profiles[k]);
		strvec_push(&out->not_linted, s->name);
		strvec_push(&out->not_linted_profiles, pr.len ? pr.buf : "");
		buf_release(&pr);
	}
	if (out->nr)
		qsort(out->v, out->nr, sizeof(*out->v), cmp_finding);
	strvec_clear(&L.server_vars);
	strvec_clear(&L.server_values);
	strvec_clear(&L.disabled);
	return 0;
}

void lint_report_release(struct lint_report *r)
{
	for (size_t i = 0; i < r->nr; i++)
		strvec_clear(&r->v[i].also);
	free(r->v);
	strvec_clear(&r->not_linted);
	strvec_clear(&r->not_linted_profiles);
	arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

static int has_key(const struct lint_finding *f, const char *rule, const char *service,
		   const char *variable)
{
	return !strcmp(f->rule->id, rule) && !strcmp(f->variable, variable) &&
	       (!strcmp(f->service, service) || strvec_contains(&f->also, service));
}

/* Is every (rule, service, variable) f stands for in base? */
static int in_base(const struct lint_finding *f, const struct lint_report *base)
{
	for (size_t s = 0; s <= f->also.nr; s++) {
		const char *svc = s ? f->also.v[s - 1] : f->service;
		int found = 0;
		for (size_t k = 0; k < base->nr && !found; k++)
			found = has_key(&base->v[k], f->rule->id, svc, f->variable);
		if (!found)
			return 0;
	}
	return 1;
}

void lint_subtract(struct lint_report *r, const struct lint_report *base)
{
	size_t kept = 0;
	for (size_t i = 0; i < r->nr; i++) {
		if (in_base(&r->v[i], base))
			strvec_clear(&r->v[i].also);
		else
			r->v[kept++] = r->v[i];
	}
	r->nr = kept;
}

size_t lint_count_at_least(const struct lint_report *r, enum lint_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nr; i++)
		n += r->v[i].rule->severity >= sev;
	return n;
}

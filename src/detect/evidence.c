/*
 * evidence: migration evidence in commands and scripts (see evidence.h).
 *
 * Three layers: a small shell lexer that turns text into simple commands
 * (words unquoted, with each word's offset in the source for quoting the
 * evidence as written); a "peel" that finds where the real command starts
 * behind wrappers and interpreters; and a matcher of word patterns against
 * those command positions.  The lexer is not a shell: it knows enough
 * syntax to find command boundaries and never expands anything.
 */
#include "detect/evidence.h"
#include "detect/shlex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PATTERN_MAX_WORDS 16
#define PATTERN_MAX_LEN 200

struct pattern {
	char *name;
	char **words;
	size_t nwords;
};

struct patterns {
	struct pattern *v;
	size_t nr, alloc;
};

/* ---- patterns ---- */

static const char *const default_patterns[] = {
	"run_migrations.py",
	"alembic upgrade",
	"manage.py migrate",
	"django-admin migrate",
	"flask db upgrade",
	"rails db:migrate",
	"rake db:migrate",
	"rails db:prepare",
	"prisma migrate deploy",
	"knex migrate:latest",
	"knex migrate:up",
	"sequelize db:migrate",
	"sequelize-cli db:migrate",
	"typeorm migration:run",
	"typeorm-ts-node-commonjs migration:run",
	"typeorm-ts-node-esm migration:run",
	"goose ... up",
	"goose ... up-by-one",
	"goose ... up-to",
	"migrate -path",
	"migrate -source",
	"flyway migrate",
	"liquibase update",
	"dbmate up",
	"dbmate migrate",
	"sqlx migrate run",
	"diesel migration run",
	"atlas migrate apply",
	"artisan migrate",
	/* Schema set-up that is DDL too, and products' own migration commands. */
	"rails db:setup",
	"rails db:schema:load",
	"rake db:setup",
	"rake db:schema:load",
	"prisma db push",
	"drizzle-kit migrate",
	"drizzle-kit push",
	"mix ecto.migrate",
	"mix ecto.setup",
	"superset db upgrade",
	"airflow db migrate",
	"airflow db upgrade",
	"airflow db init",
	"airflow db reset",
	"listmonk --upgrade",
	"listmonk --install",
	"node-pg-migrate up",
	"db-migrate up",
	"sqitch deploy",
	"hasura migrate apply",
	"medusa migrations run",
	"medusa db:migrate",
	"directus bootstrap",
	"directus database migrate:latest",
	"sentry upgrade",
	"bin/migrate",
	"kong migrations bootstrap",
	"kong migrations up",
	"kong migrations finish",
	"entrypoint.sh db migrate",
	"entrypoint db migrate",
	"manage migrate",
	NULL,
};

/* Package-script runners and the script names that mean "migrate". */
static const char *const script_runners[] = {
	"npm run", "npm run-script", "yarn run", "yarn", "pnpm run", "pnpm", "bun run", NULL,
};
static const char *const migrate_scripts[] = {
	"migrate*", "db:migrate*", "migration:run", "migrations:run", NULL,
};

static void pattern_clear(struct pattern *pt)
{
	for (size_t i = 0; i < pt->nwords; i++)
		free(pt->words[i]);
	free(pt->words);
	free(pt->name);
}

void patterns_free(struct patterns *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr; i++)
		pattern_clear(&p->v[i]);
	free(p->v);
	free(p);
}

int patterns_add(struct patterns *p, const char *words, struct diag *d)
{
	return patterns_add_at(p, words, NULL, 0, 0, d);
}

int patterns_add_at(struct patterns *p, const char *words, const char *file, int line, int col,
		    struct diag *d)
{
	struct pattern pt = { NULL, NULL, 0 };
	struct buf name = BUF_INIT;
	const char *s = words;
	const char *why = NULL;

	if (strlen(words) > PATTERN_MAX_LEN) {
		why = "longer than 200 bytes";
		goto bad;
	}
	for (const char *c = words; *c; c++) {
		if (strchr("'\"`$;&|<>(){}\\", *c) || (iscntrl((unsigned char)*c) && *c != '\t')) {
			why = "it holds shell syntax; write plain words";
			goto bad;
		}
	}
	pt.words = xcalloc(PATTERN_MAX_WORDS, sizeof(*pt.words));
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		const char *e = s;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		if (pt.nwords == PATTERN_MAX_WORDS) {
			why = "more than 16 words";
			goto bad;
		}
		pt.words[pt.nwords++] = xstrndup(s, (size_t)(e - s));
		if (name.len)
			buf_addch(&name, ' ');
		buf_add(&name, s, (size_t)(e - s));
		s = e;
	}
	if (!pt.nwords) {
		why = "empty";
		goto bad;
	}
	if (!strcmp(pt.words[0], "...") || !strcmp(pt.words[pt.nwords - 1], "...")) {
		why = "it may not start or end with '...'";
		goto bad;
	}
	for (size_t i = 0; i < p->nr; i++) {
		if (!strcmp(p->v[i].name, name.buf)) {
			buf_release(&name);
			pattern_clear(&pt);
			return 0;
		}
	}
	pt.name = buf_detach(&name, NULL);
	ALLOC_GROW(p->v, p->nr + 1, p->alloc);
	p->v[p->nr++] = pt;
	return 0;
bad:
	buf_release(&name);
	pattern_clear(&pt);
	return diag_at(d, file, line, col, "patterns.migration: '%s': %s", words, why);
}

struct patterns *patterns_default(void)
{
	struct patterns *p = xcalloc(1, sizeof(*p));
	struct diag d = DIAG_INIT;

	for (size_t i = 0; default_patterns[i]; i++)
		patterns_add(p, default_patterns[i], &d);
	for (size_t r = 0; script_runners[r]; r++) {
		for (size_t s = 0; migrate_scripts[s]; s++) {
			char *w = xstrfmt("%s %s", script_runners[r], migrate_scripts[s]);
			patterns_add(p, w, &d);
			free(w);
		}
	}
	diag_release(&d);
	return p;
}

/* ---- small helpers ---- */

static const char *base_name(const char *s)
{
	const char *p = strrchr(s, '/');
	return p ? p + 1 : s;
}

static int in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

static int is_assignment(const char *w)
{
	if (!(isalpha((unsigned char)*w) || *w == '_'))
		return 0;
	while (isalnum((unsigned char)*w) || *w == '_')
		w++;
	return *w == '=' || (w[0] == '+' && w[1] == '=');
}

static int is_option(const char *w)
{
	return w[0] == '-' && w[1];
}

static int is_shell(const char *name)
{
	static const char *const shells[] = { "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", NULL };
	return in_list(name, shells);
}

static int is_interp(const char *name)
{
	static const char *const interps[] = {
		"node", "nodejs", "ruby", "php", "perl", "deno", "ts-node", "tsx", "Rscript",
		"dotnet", "elixir", NULL,
	};
	if (str_starts(name, "python") || str_starts(name, "pypy"))
		return 1;
	return in_list(name, interps);
}

static int is_script_word(const char *w)
{
	const char *name = base_name(w);
	if (str_ends(name, ".sh") || str_ends(name, ".bash"))
		return 1;
	return strchr(w, '/') && strstr(name, "entrypoint");
}

/* ---- peeling wrappers off a command ---- */

struct peel {
	size_t *cand;           /* word indexes where a command may start (peel_release) */
	size_t ncand, cand_alloc;
	long inl;               /* word holding an inline shell script (sh -c X), or -1 */
	long script;            /* word naming a script that is run, or -1 */
	int inline_code;        /* python -c / node -e: code we do not read */
};

static size_t skip_options(const char *const *w, size_t n, size_t i, const char *const *valued)
{
	while (i < n && is_option(w[i])) {
		if (!strcmp(w[i], "--"))
			return i + 1;
		if (valued && in_list(w[i], valued) && i + 1 < n)
			i++;
		i++;
	}
	return i;
}

static void add_cand(struct peel *pl, size_t i)
{
	ALLOC_GROW(pl->cand, pl->ncand + 1, pl->cand_alloc);
	pl->cand[pl->ncand++] = i;
}

static void peel_release(struct peel *pl)
{
	free(pl->cand);
	pl->cand = NULL;
	pl->ncand = pl->cand_alloc = 0;
}

static const char *const yarn_builtins[] = {
	"install", "add", "remove", "upgrade", "up", "init", "info", "config", "cache", "why",
	"workspace", "workspaces", "set", "plugin", "link", "unlink", "pack", "publish", "audit",
	"i", "ci", "test", "dedupe", "outdated", "list", "ls", "import", "node", "--version",
	NULL,
};

/* Find where the command of w[i..n) really starts, behind wrappers (see evidence.h). */
static void peel(const char *const *w, size_t n, size_t i, struct peel *pl)
{
	static const char *const simple[] = {
		"nohup", "time", "command", "builtin", "setsid", "stdbuf", "nice", "ionice",
		"chrt", "taskset", "xvfb-run", NULL,
	};
	static const char *const simple_valued[] = { "-n", "-c", "-p", "-o", "-e", "-i", NULL };
	static const char *const timeout_valued[] = { "-s", "-k", "--signal", "--kill-after", NULL };
	static const char *const sudo_valued[] = {
		"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", NULL,
	};
	static const char *const setuid[] = {
		"gosu", "su-exec", "s6-setuidgid", "setuser", "runas", NULL,
	};
	static const char *const inits[] = {
		"tini", "tini-static", "dumb-init", "catatonit", NULL,
	};
	static const char *const init_valued[] = { "-p", "-e", NULL };
	static const char *const npx_valued[] = { "-p", "--package", NULL };
	static const char *const pm_valued[] = {
		"--prefix", "-C", "--cwd", "--dir", "-w", "--workspace", "--filter", "-F", NULL,
	};
	static const char *const py_valued[] = { "-W", "-X", "-Q", NULL };
	static const char *const js_valued[] = {
		"-r", "--require", "--import", "--loader", "-I", "--env-file", NULL,
	};
	static const char *const run_tools[] = {
		"poetry", "pipenv", "pdm", "hatch", "rye", "uv", "conda", "micromamba", NULL,
	};

	memset(pl, 0, sizeof(*pl));
	pl->inl = pl->script = -1;
	/* Every wrapper advances i, so this ends; the guard only bounds a mistake. */
	for (size_t guard = 0; guard <= n && i < n; guard++) {
		while (i < n && is_assignment(w[i]))
			i++;
		if (i >= n)
			break;
		add_cand(pl, i);
		const char *name = base_name(w[i]);

		if (!strcmp(name, "exec")) {
			i++;
			while (i < n && is_option(w[i]))
				i += !strcmp(w[i], "-a") ? 2 : 1;
			continue;
		}
		if (!strcmp(name, "env")) {
			i++;
			while (i < n && (is_option(w[i]) || is_assignment(w[i])))
				i += (!strcmp(w[i], "-u") || !strcmp(w[i], "-C")) ? 2 : 1;
			continue;
		}
		if (in_list(name, simple)) {
			i = skip_options(w, n, i + 1, simple_valued);
			continue;
		}
		if (!strcmp(name, "timeout")) {
			i = skip_options(w, n, i + 1, timeout_valued);
			if (i < n)
				i++; /* the duration */
			continue;
		}
		if (!strcmp(name, "sudo")) {
			i = skip_options(w, n, i + 1, sudo_valued);
			continue;
		}
		if (in_list(name, setuid)) {
			i += 2; /* the user */
			continue;
		}
		if (!strcmp(name, "chpst")) {
			i++;
			while (i < n && is_option(w[i]))
				i += strlen(w[i]) == 2 && !strchr("Pv012", w[i][1]) ? 2 : 1;
			continue;
		}
		if (!strcmp(name, "su") || !strcmp(name, "runuser")) {
			for (size_t j = i + 1; j + 1 < n; j++) {
				if (!strcmp(w[j], "-c") || !strcmp(w[j], "--command")) {
					pl->inl = (long)(j + 1);
					break;
				}
			}
			return;
		}
		if (in_list(name, inits)) {
			i = skip_options(w, n, i + 1, init_valued);
			continue;
		}
		if (str_starts(name, "wait-for")) {
			size_t j = i + 1;
			while (j < n && strcmp(w[j], "--"))
				j++;
			if (j >= n) {
				/* no command to wait for: an ordinary script */
				if (is_script_word(w[i]))
					pl->script = (long)i;
				break;
			}
			i = j + 1;
			continue;
		}
		if (!strcmp(name, "dockerize")) {
			i++;
			while (i < n && is_option(w[i]))
				i += strchr(w[i], '=') || !strcmp(w[i], "-no-overwrite") ||
				     !strcmp(w[i], "-stdout") || !strcmp(w[i], "-stderr") ? 1 : 2;
			continue;
		}
		if (!strcmp(name, "npx") || !strcmp(name, "bunx") || !strcmp(name, "pnpx")) {
			i = skip_options(w, n, i + 1, npx_valued);
			continue;
		}
		if (!strcmp(name, "bundle")) {
			if (i + 1 < n && !strcmp(w[i + 1], "exec")) {
				i += 2;
				continue;
			}
			break;
		}
		if (in_list(name, run_tools)) {
			size_t j = skip_options(w, n, i + 1, pm_valued);
			if (j < n && !strcmp(w[j], "run")) {
				i = skip_options(w, n, j + 1, NULL);
				continue;
			}
			break;
		}
		if (!strcmp(name, "npm")) {
			size_t j = skip_options(w, n, i + 1, pm_valued);
			if (j < n && (!strcmp(w[j], "exec") || !strcmp(w[j], "x") ||
				      !strcmp(w[j], "run") || !strcmp(w[j], "run-script"))) {
				i = skip_options(w, n, j + 1, pm_valued);
				continue;
			}
			break;
		}
		if (!strcmp(name, "yarn") || !strcmp(name, "pnpm") || !strcmp(name, "bun")) {
			size_t j = skip_options(w, n, i + 1, pm_valued);
			if (j < n && (!strcmp(w[j], "run") || !strcmp(w[j], "exec") ||
				      !strcmp(w[j], "dlx") || !strcmp(w[j], "x"))) {
				i = skip_options(w, n, j + 1, pm_valued);
				continue;
			}
			if (j < n && !in_list(w[j], yarn_builtins)) {
				i = j;
				continue;
			}
			break;
		}
		if (str_starts(name, "python") || str_starts(name, "pypy")) {
			i++;
			while (i < n && is_option(w[i])) {
				if (!strcmp(w[i], "-m")) {
					i++;
					break;
				}
				if (!strcmp(w[i], "-c")) {
					pl->inline_code = 1;
					return;
				}
				i += in_list(w[i], py_valued) ? 2 : 1;
			}
			continue;
		}
		if (is_interp(name)) {
			i++;
			if (!strcmp(name, "deno") && i < n && !strcmp(w[i], "run"))
				i++;
			while (i < n && is_option(w[i])) {
				if (!strcmp(w[i], "-e") || !strcmp(w[i], "--eval") || !strcmp(w[i], "-p")) {
					pl->inline_code = 1;
					return;
				}
				i += in_list(w[i], js_valued) && !strchr(w[i], '=') ? 2 : 1;
			}
			continue;
		}
		if (!strcmp(name, "busybox") && i + 1 < n && is_shell(w[i + 1])) {
			i++;
			continue;
		}
		if (is_shell(name)) {
			size_t j = i + 1;
			int c = 0;
			while (j < n && (w[j][0] == '-' || w[j][0] == '+') && w[j][1]) {
				if (!strcmp(w[j], "--")) {
					j++;
					break;
				}
				if (w[j][1] != '-' && strchr(w[j] + 1, 'c'))
					c = 1;
				/* -o OPTION, -euxo pipefail, -O shopt: the next word is a value */
				if (w[j][1] != '-' && strchr("oO", w[j][strlen(w[j]) - 1]))
					j++;
				j++;
			}
			if (c) {
				if (j < n)
					pl->inl = (long)j;
			} else if (j < n) {
				pl->script = (long)j;
				add_cand(pl, j);
			}
			return;
		}
		if (!strcmp(name, ".") || !strcmp(name, "source")) {
			if (i + 1 < n) {
				pl->script = (long)(i + 1);
				add_cand(pl, i + 1);
			}
			return;
		}
		if (is_script_word(w[i]))
			pl->script = (long)i;
		break;
	}
}

/* ---- matching ---- */

static int word_match(const char *pw, const char *tok)
{
	size_t pl = strlen(pw), tl = strlen(tok);

	if (pl > 1 && pw[pl - 1] == '*')
		return !strncmp(tok, pw, pl - 1);
	if (!strcmp(pw, tok))
		return 1;
	if (tl > pl && tok[tl - pl - 1] == '/' && !strcmp(tok + tl - pl, pw))
		return 1;
	if (pw[0] == '-' && !strncmp(tok, pw, pl) && tok[pl] == '=')
		return 1;
	return 0;
}

/*
 * Does pattern pt match w from each start?  ok[pi * (n + 1) + ti] says
 * whether pattern words pi.. match the words from ti, filled from the end
 * (iteratively, so neither a long command nor a long run of options can
 * deepen the stack, and every word of the command is looked at):
 *  - past the last pattern word: a match;
 *  - "...": a match from any ti' >= ti for the next word;
 *  - a word: it matches w[ti] and the rest matches from ti + 1, or (after
 *    the first word) w[ti] is an option the rest can skip, alone or with
 *    one value word.
 * Only columns from `from` on are needed (no candidate starts earlier).
 */
static void match_table(const struct pattern *pt, const char *const *w, size_t n, size_t from,
			unsigned char *ok)
{
	size_t cols = n + 1;
	for (size_t ti = from; ti <= n; ti++)
		ok[pt->nwords * cols + ti] = 1;
	for (size_t pi = pt->nwords; pi-- > 0;) {
		unsigned char *row = &ok[pi * cols], *next = &ok[(pi + 1) * cols];
		if (!strcmp(pt->words[pi], "...")) {
			unsigned char acc = 0;
			for (size_t ti = n + 1; ti-- > from;)
				row[ti] = acc |= next[ti];
			continue;
		}
		row[n] = 0;
		for (size_t ti = n; ti-- > from;) {
			unsigned char r = word_match(pt->words[pi], w[ti]) && next[ti + 1];
			if (!r && pi > 0 && is_option(w[ti]))
				r = row[ti + 1] || (!strchr(w[ti], '=') && ti + 1 < n && row[ti + 2]);
			row[ti] = r;
		}
	}
}

static const struct pattern *match_patterns(const struct patterns *p, const char *const *w,
					    size_t n, const struct peel *pl)
{
	const struct pattern *hit = NULL;
	unsigned char *ok = NULL;
	size_t from = n;

	for (size_t c = 0; c < pl->ncand; c++)
		if (pl->cand[c] < from)
			from = pl->cand[c];
	for (size_t i = 0; i < p->nr && !hit; i++) {
		const struct pattern *pt = &p->v[i];
		int built = 0;
		for (size_t c = 0; c < pl->ncand && !hit; c++) {
			size_t ti = pl->cand[c];
			if (ti >= n)
				continue;
			/* A first word that is not "..." must match where the match
			 * starts: most patterns fail here, before any table is built. */
			if (pt->nwords && strcmp(pt->words[0], "...") && !word_match(pt->words[0], w[ti]))
				continue;
			if (!built) {
				if (!ok)
					ok = xmalloc((PATTERN_MAX_WORDS + 1) * (n + 1));
				match_table(pt, w, n, from, ok);
				built = 1;
			}
			if (ok[ti])
				hit = pt;
		}
	}
	free(ok);
	return hit;
}

/* ---- walking commands ---- */

struct cmdv {
	const char *const *w;
	size_t n;
	const char *src;     /* the text the words came from, or NULL for an argv */
	const size_t *off;   /* each word's offset in src */
	size_t end;          /* the command's end in src */
	int line;
};

struct walk {
	const struct patterns *p;
	const char *file;
	struct evidence_list *out;
	struct strvec *called;
	int found;
	int ncalled;
	int want_app;
	char *app;
};

static void add_collapsed(struct buf *b, const char *s, const char *e)
{
	int sp = 0;
	for (; s < e; s++) {
		if (*s == '\\' && s + 1 < e && s[1] == '\n') {
			s++;
			sp = 1;
			continue;
		}
		if (isspace((unsigned char)*s)) {
			sp = 1;
			continue;
		}
		if (sp && b->len && b->buf[b->len - 1] != ' ')
			buf_addch(b, ' ');
		sp = 0;
		buf_addch(b, *s);
	}
}

/* The command from word k on, as written, for the evidence. */
static char *evidence_text(const struct cmdv *cv, size_t k)
{
	struct buf b = BUF_INIT;

	if (cv->src) {
		add_collapsed(&b, cv->src + cv->off[k], cv->src + cv->end);
	} else {
		for (size_t i = k; i < cv->n; i++) {
			const char *x = cv->w[i];
			int q = !*x || strpbrk(x, " \t\n") != NULL;
			if (b.len)
				buf_addch(&b, ' ');
			if (q)
				buf_addch(&b, '\'');
			add_collapsed(&b, x, x + strlen(x));
			if (q)
				buf_addch(&b, '\'');
		}
	}
	buf_cut(&b, EVIDENCE_TEXT_MAX);
	return buf_detach(&b, NULL);
}

static void add_evidence(struct walk *wk, int line, char *text, const char *pattern)
{
	struct evidence_list *l = wk->out;
	ALLOC_GROW(l->v, l->nr + 1, l->alloc);
	struct evidence *e = &l->v[l->nr++];
	e->file = xstrdup(wk->file ? wk->file : "");
	e->line = line;
	e->text = text;
	e->pattern = xstrdup(pattern);
	wk->found++;
}

static void add_called(struct walk *wk, const char *path)
{
	if (!*path || strvec_contains(wk->called, path))
		return;
	strvec_push(wk->called, path);
	wk->ncalled++;
}

static const char *const non_apps[] = {
	"echo", "printf", "true", "false", ":", "sleep", "tail", "cat", "wait", "exit", "set",
	"export", "cd", "test", "[", "[[", "ls", "mkdir", "chmod", "chown", "cp", "mv", "rm",
	"ln", "touch", "date", "env", "trap", "eval", "read", "kill", "yes", "ulimit", "umask",
	"unset", "shift", "local", "return", "sed", "grep", "awk", "find", "xargs", "tee",
	"envsubst", "whoami", "id", "sync", "hostname", "uname", "exec", "nohup", "timeout",
	"sudo", "gosu", "su-exec", "tini", "dumb-init", "cron", "crond", "supercronic",
	"busybox", "psql", "pg_dump", "pg_dumpall", "pg_restore", "pg_isready", "pg_basebackup",
	"curl", "wget", "nc", "apt-get", "apk", "pip", "pip3", "dockerize", "source", ".",
	"wait-for-it", "wait-for-it.sh", "wait-for", "npx", "bundle", "sh", "bash", "dash",
	"ash", "zsh", "ksh", "update-ca-certificates", "ldconfig", NULL,
};

static int is_pkg_runner(const char *name)
{
	static const char *const r[] = { "npm", "yarn", "pnpm", "bun", "npx", "bunx", "pnpx", NULL };
	return in_list(name, r);
}

static char *join_words(const char *const *w, size_t from, size_t to)
{
	struct buf b = BUF_INIT;
	for (size_t i = from; i <= to; i++) {
		if (i > from)
			buf_addch(&b, ' ');
		buf_addstr(&b, w[i]);
	}
	return buf_detach(&b, NULL);
}

/* Does the peeled command run an application?  Sets *what (malloc'd) when it does. */
static int app_of(const char *const *w, size_t n, const struct peel *pl, char **what)
{
	if (pl->inl >= 0 || !pl->ncand || pl->script >= 0)
		return 0;
	size_t f = pl->cand[pl->ncand - 1];
	const char *fname = base_name(w[f]);

	if (pl->ncand >= 2) {
		size_t pv = pl->cand[pl->ncand - 2];
		const char *pname = base_name(w[pv]);
		if (is_interp(pname)) {
			int mod = f > 0 && !strcmp(w[f - 1], "-m");
			*what = xstrfmt("%s %s%s", pname, mod ? "-m " : "", w[f]);
			return 1;
		}
		if (is_pkg_runner(pname)) {
			*what = join_words(w, pv, f);
			return 1;
		}
	}
	if (pl->inline_code) {
		*what = xstrfmt("%s -c", fname);
		return 1;
	}
	if (!strcmp(fname, "java")) {
		for (size_t i = f + 1; i < n; i++) {
			if (!strcmp(w[i], "-jar") && i + 1 < n) {
				*what = xstrfmt("java -jar %s", w[i + 1]);
				return 1;
			}
			if (!strcmp(w[i], "-cp") || !strcmp(w[i], "-classpath")) {
				i++;
				continue;
			}
			if (!is_option(w[i])) {
				*what = xstrfmt("java %s", w[i]);
				return 1;
			}
		}
		return 0;
	}
	if (is_interp(fname))
		return 0; /* a bare interpreter is a REPL */
	if (is_pkg_runner(fname)) {
		static const char *const pm_valued[] = { "--prefix", "-C", "--cwd", "--dir", NULL };
		size_t j = skip_options(w, n, f + 1, pm_valued);
		if (j < n && !strcmp(w[j], "start")) {
			*what = xstrfmt("%s start", fname);
			return 1;
		}
		return 0;
	}
	if (!*w[f] || w[f][0] == '$' || in_list(fname, non_apps))
		return 0;
	if (!strcmp(fname, "celery")) {
		static const char *const sub[] = { "worker", "beat", "flower", NULL };
		for (size_t i = f + 1; i < n; i++) {
			if (in_list(w[i], sub)) {
				*what = xstrfmt("%s %s", w[f], w[i]);
				return 1;
			}
		}
	}
	*what = xstrdup(w[f]);
	return 1;
}

static void walk_shell(struct walk *wk, const char *src, size_t len, int line, int per_line,
		       int depth);

static const char *const reserved_skip[] = {
	"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "fi", "done",
	"esac", "time", NULL,
};
static const char *const reserved_stop[] = { "for", "case", "select", "in", NULL };

/* Look at one simple command: patterns, called scripts, inline shell, application. */
static void walk_words(struct walk *wk, const struct cmdv *cv, int depth)
{
	const char *const *w = cv->w;
	size_t n = cv->n, k = 0;
	struct peel pl;

	for (;;) {
		if (k >= n)
			return;
		if (in_list(w[k], reserved_skip)) {
			k++;
			if (k < n && !strcmp(w[k - 1], "time") && !strcmp(w[k], "-p"))
				k++;
			continue;
		}
		if (in_list(w[k], reserved_stop))
			return;
		if (!strcmp(w[k], "function")) {
			k += 2;
			continue;
		}
		break;
	}

	peel(w, n, k, &pl);
	if (wk->p && wk->out) {
		const struct pattern *hit = match_patterns(wk->p, w, n, &pl);
		if (hit)
			add_evidence(wk, cv->line, evidence_text(cv, k), hit->name);
	}
	if (wk->called && pl.script >= 0)
		add_called(wk, w[pl.script]);
	if (wk->want_app) {
		char *what = NULL;
		if (app_of(w, n, &pl, &what)) {
			free(wk->app);
			wk->app = what;
		}
	}
	if (pl.inl >= 0 && depth < EVIDENCE_MAX_DEPTH)
		walk_shell(wk, w[pl.inl], strlen(w[pl.inl]), cv->line, 0, depth + 1);
	else if (pl.inl >= 0 && wk->out)
		wk->out->unread = 1;
	peel_release(&pl);
}

static void walk_shell(struct walk *wk, const char *src, size_t len, int line, int per_line,
		       int depth)
{
	struct lexer lx;
	size_t pos = 0;
	int cur = line;

	if (depth > EVIDENCE_MAX_DEPTH) {
		if (wk->out)
			wk->out->unread = 1;
		return;
	}
	shlex_split(&lx, src, len);
	for (size_t c = 0; c < lx.ncmds; c++) {
		struct shcmd *sc = &lx.cmds[c];
		if (per_line) {
			for (; pos < sc->start && pos < len; pos++)
				if (src[pos] == '\n')
					cur++;
		}
		struct cmdv cv = {
			(const char *const *)sc->w, sc->nw, src, sc->off, sc->end, cur,
		};
		walk_words(wk, &cv, depth);
		for (size_t s = 0; s < sc->nsubs; s++) {
			if (depth < EVIDENCE_MAX_DEPTH)
				walk_shell(wk, src + sc->subs[s].off, sc->subs[s].len, cur, 0, depth + 1);
			else if (wk->out)
				wk->out->unread = 1;
		}
	}
	shlex_release(&lx);
}

/* ---- public entry points ---- */

void evidence_list_release(struct evidence_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->v[i].file);
		free(l->v[i].text);
		free(l->v[i].pattern);
	}
	free(l->v);
	l->v = NULL;
	l->nr = l->alloc = 0;
	l->unread = 0;
}

static void walk_argv(struct walk *wk, const char *const *argv, size_t argc, int line)
{
	struct cmdv cv = { argv, argc, NULL, NULL, 0, line };
	if (argc)
		walk_words(wk, &cv, 0);
}

int evidence_match_command(const struct patterns *p, const char *const *argv, size_t argc,
			   const char *file, int line, struct evidence_list *out)
{
	struct walk wk = { p, file, out, NULL, 0, 0, 0, NULL };
	walk_argv(&wk, argv, argc, line);
	return wk.found;
}

int evidence_match_shell(const struct patterns *p, const char *cmd,
			 const char *file, int line, struct evidence_list *out)
{
	struct walk wk = { p, file, out, NULL, 0, 0, 0, NULL };
	walk_shell(&wk, cmd, strlen(cmd), line, 0, 0);
	return wk.found;
}

int evidence_scan_script(const struct patterns *p, const char *display, const char *data, size_t len,
			 struct evidence_list *out, struct strvec *called)
{
	struct walk wk = { p, display, out, called, 0, 0, 0, NULL };
	if (len > EVIDENCE_SCRIPT_MAX)
		return -1;
	walk_shell(&wk, data, len, 1, 1, 0);
	return wk.found;
}

int evidence_calls_command(const char *const *argv, size_t argc, struct strvec *called)
{
	struct walk wk = { NULL, NULL, NULL, called, 0, 0, 0, NULL };
	walk_argv(&wk, argv, argc, 0);
	return wk.ncalled;
}

int evidence_calls_shell(const char *cmd, struct strvec *called)
{
	struct walk wk = { NULL, NULL, NULL, called, 0, 0, 0, NULL };
	walk_shell(&wk, cmd, strlen(cmd), 0, 0, 0);
	return wk.ncalled;
}

int evidence_runs_app(const char *const *argv, size_t argc, char **what)
{
	struct walk wk = { NULL, NULL, NULL, NULL, 0, 0, 1, NULL };
	walk_argv(&wk, argv, argc, 0);
	*what = wk.app;
	return wk.app != NULL;
}

const char *evidence_interp_script(const char *const *argv, size_t argc)
{
	for (size_t i = 0; i < argc; i++) {
		if (!is_interp(base_name(argv[i])))
			continue;
		size_t k = i + 1;
		if (k < argc && !strcmp(base_name(argv[i]), "deno") && !strcmp(argv[k], "run"))
			k++;
		while (k < argc && is_option(argv[k])) {
			/* code or a module, not a file: -c, -m, -e, --eval, -p */
			if (!strcmp(argv[k], "-c") || !strcmp(argv[k], "-m") || !strcmp(argv[k], "-e") ||
			    !strcmp(argv[k], "--eval") || !strcmp(argv[k], "-p"))
				return NULL;
			k++;
		}
		if (k < argc && strchr(base_name(argv[k]), '.') && !strchr(argv[k], '$'))
			return argv[k];
		return NULL;
	}
	return NULL;
}

int evidence_is_program(const char *word)
{
	/* Programs one runs by name, as opposed to an image entrypoint's subcommands. */
	static const char *const programs[] = {
		"gunicorn", "uvicorn", "hypercorn", "daphne", "celery", "flask", "django-admin", "uwsgi",
		"waitress-serve", "streamlit", "puma", "unicorn", "rails", "rake", "sidekiq", "rackup",
		"thin", "java", "mvn", "gradle", "go", "cargo", "mix", "iex", "nginx", "caddy", "httpd",
		"apache2-foreground", "php-fpm", "supervisord", "pm2", "pm2-runtime", "nodemon", "forever",
		"poetry", "pipenv", "uv", "pdm", "hatch", "make", "tini", "dumb-init", "s6-svscan",
		"rq", "rqworker", "dramatiq", "huey_consumer", "arq", "faust", "beat", NULL
	};
	const char *name = base_name(word);
	if (strchr(word, '/') || is_shell(name) || is_interp(name) || is_pkg_runner(name) ||
	    in_list(name, non_apps) || in_list(name, programs) || is_script_word(word))
		return 1;
	/* ./manage.py, app.py, server.js, app.jar: a file, not a subcommand */
	return strchr(name, '.') != NULL;
}

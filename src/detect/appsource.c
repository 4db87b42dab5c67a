/*
 * appsource: an application's own files in its build context (see
 * appsource.h).
 */
#include "detect/appsource.h"
#include "util/buf.h"
#include "util/path.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 5
#define MAX_ENTRIES 4000
#define MAX_FILE_BYTES (256u << 10)

/* visit(ctx, abs, rel, name): 1 stops the walk. */
typedef int (*visit_fn)(void *ctx, const char *abs, const char *rel, const char *name);

static int skipped_dir(const char *n)
{
	static const char *const skip[] = {
		"node_modules", "vendor", "target", "dist", "build", "out", "static", "public", "assets",
		"test", "tests", "spec", "specs", "__tests__", "testdata", "fixtures", "docs", "doc",
		"examples", "example", "e2e", "coverage", "tmp", "log", "logs", NULL
	};
	for (const char *const *s = skip; *s; s++)
		if (!strcmp(n, *s))
			return 1;
	return 0;
}

static int walk(struct arena *a, const char *dir, const char *rel, int depth, int *budget,
		visit_fn visit, void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int stop = 0;
	if (!d)
		return 0;
	while (!stop && (de = readdir(d)) && (*budget)-- > 0) {
		if (de->d_name[0] == '.')
			continue;
		/* copied: d_name lives in the DIR stream, freed by closedir */
		const char *name = arena_strdup(a, de->d_name);
		const char *abs = path_join(a, dir, name);
		const char *r = *rel ? arena_strfmt(a, "%s/%s", rel, name) : name;
		if (path_is_dir(abs)) {
			if (depth < MAX_DEPTH && !skipped_dir(name))
				stop = walk(a, abs, r, depth + 1, budget, visit, ctx);
		} else {
			stop = visit(ctx, abs, r, name);
		}
	}
	closedir(d);
	return stop;
}

static int walk_context(struct arena *a, const char *context_dir, visit_fn visit, void *ctx)
{
	int budget = MAX_ENTRIES;
	return context_dir && path_is_dir(context_dir) && walk(a, context_dir, "", 0, &budget, visit, ctx);
}

static const char *ext_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && dot != name ? dot + 1 : "";
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(s, *list))
			return 1;
	return 0;
}

/* Test files say what the tests do, not what the application does at start-up. */
static int test_file(const char *name)
{
	return strstr(name, "_test.") || strstr(name, ".test.") || strstr(name, ".spec.") ||
	       !strncmp(name, "test_", 5) || !strncmp(name, "conftest", 8);
}

/* Each line of a file (read up to MAX_FILE_BYTES): line(ctx, text, lineno) returns 1 to stop. */
static int each_line(const char *abs, int (*line)(void *ctx, char *text, int no), void *ctx)
{
	size_t len;
	char *data = read_file(abs, &len);
	int stop = 0, no = 1;
	if (!data)
		return 0;
	if (len > MAX_FILE_BYTES)
		data[MAX_FILE_BYTES] = '\0';
	if (memchr(data, '\0', len > MAX_FILE_BYTES ? MAX_FILE_BYTES : len)) {
		free(data); /* binary */
		return 0;
	}
	for (char *p = data; *p && !stop; no++) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		stop = line(ctx, p, no);
		p = nl ? nl + 1 : p + strlen(p);
	}
	free(data);
	return stop;
}

static const char *trimmed(struct arena *a, const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return arena_strndup(a, s, n > 120 ? 120 : n);
}

/* --- schema statements --- */

struct ddl_ctx {
	struct arena *a;
	const char *rel;
	struct appsource_hit *out;
	int found;
};

/* Does the line hold "create table" and the like (any case, any spacing)? */
static int ddl_line(const char *s)
{
	static const char *const stmts[] = {
		"create table", "alter table", "drop table", "create index", "create unique index",
		"create schema", "create extension", NULL
	};
	struct buf b = BUF_INIT;
	for (; *s; s++) {
		int ch = tolower((unsigned char)*s);
		if (isspace(ch)) {
			if (b.len && b.buf[b.len - 1] != ' ')
				buf_addch(&b, ' ');
		} else {
			buf_addch(&b, ch);
		}
	}
	int hit = 0;
	for (const char *const *st = stmts; *st && !hit && b.len; st++) {
		for (const char *p = strstr(b.buf, *st); p && !hit; p = strstr(p + 1, *st)) {
			size_t k = strlen(*st);
			hit = (p == b.buf || !isalnum((unsigned char)p[-1])) &&
			      (p[k] == ' ' || p[k] == '\0' || p[k] == '"' || p[k] == '(');
		}
	}
	buf_release(&b);
	return hit;
}

static int ddl_visit_line(void *vctx, char *text, int no)
{
	struct ddl_ctx *c = vctx;
	if (!ddl_line(text))
		return 0;
	c->out->file = c->rel;
	c->out->line = no;
	c->out->text = trimmed(c->a, text);
	c->found = 1;
	return 1;
}

static int ddl_visit(void *vctx, const char *abs, const char *rel, const char *name)
{
	static const char *const source[] = {
		"go", "py", "js", "mjs", "cjs", "ts", "rb", "java", "kt", "scala", "rs", "ex", "exs",
		"php", "cs", NULL
	};
	struct ddl_ctx *c = vctx;
	const char *ext = ext_of(name);
	/* Shipped schema files (Spring's schema.sql), not every .sql a context
	 * holds: an init script for the server's initdb is not the app's. */
	int schema_sql = !strcasecmp(ext, "sql") && !strncasecmp(name, "schema", 6);
	if ((!in_list(ext, source) && !schema_sql) || test_file(name))
		return 0;
	c->rel = rel;
	return each_line(abs, ddl_visit_line, c);
}

int appsource_find_ddl(struct arena *a, const char *context_dir, struct appsource_hit *out)
{
	struct ddl_ctx c = { a, NULL, out, 0 };
	memset(out, 0, sizeof(*out));
	walk_context(a, context_dir, ddl_visit, &c);
	return c.found;
}

/* --- connections in config files --- */

struct conn_ctx {
	struct arena *a;
	const char *rel;
	int (*is_server)(void *ctx, const char *host);
	void *server_ctx;
	struct appsource_hit *out;
	const char *user;       /* a username setting seen in this file */
	int found;
};

/* The host of a postgres URI or JDBC URL starting at p, or NULL. */
static const char *uri_host(struct arena *a, const char *p, const char **user)
{
	const char *s = strstr(p, "://");
	if (!s)
		return NULL;
	s += 3;
	size_t auth = strcspn(s, "/?#\"' \t");
	const char *at = memchr(s, '@', auth);
	*user = NULL;
	if (at) {
		size_t ul = strcspn(s, ":@");
		if (ul && s + ul <= at && !memchr(s, '$', ul))
			*user = arena_strndup(a, s, ul);
		s = at + 1;
	}
	size_t hl = strcspn(s, ":/?#,\"' \t");
	return hl ? arena_strndup(a, s, hl) : NULL;
}

/* "spring.datasource.username=postgres", "username: app": the value, or NULL. */
static const char *username_setting(struct arena *a, const char *line)
{
	const char *k = strcasestr(line, "username");
	if (!k)
		k = strcasestr(line, "user");
	if (!k)
		return NULL;
	const char *p = k + strcspn(k, "=:");
	if (!*p)
		return NULL;
	p++;
	while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
		p++;
	size_t n = strcspn(p, "\"' \t\r#");
	if (!n || memchr(p, '$', n) || memchr(p, '{', n))
		return NULL;
	return arena_strndup(a, p, n);
}

/* "HOST": "pgbouncer", host: db, 'host' => 'db': the quoted or bare value of a host key, or NULL. */
static const char *keyed_host(struct arena *a, const char *line)
{
	const char *p = line;
	while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'' || *p == ':')
		p++;
	if (strncasecmp(p, "host", 4) || isalnum((unsigned char)p[4]) || p[4] == '_')
		return NULL;
	p += 4;
	while (*p == '"' || *p == '\'' || *p == ' ' || *p == '\t')
		p++;
	if (*p == '=' && p[1] == '>')
		p++;
	if (*p != ':' && *p != '=')
		return NULL;
	p++;
	while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
		p++;
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
	return n ? arena_strndup(a, p, n) : NULL;
}

static int conn_visit_line(void *vctx, char *text, int no)
{
	struct conn_ctx *c = vctx;
	const char *u = username_setting(c->a, text);
	if (u && !strcasestr(text, "://"))
		c->user = u;
	const char *kh = keyed_host(c->a, text);
	if (kh && c->is_server(c->server_ctx, kh)) {
		c->out->file = c->rel;
		c->out->line = no;
		c->out->text = trimmed(c->a, text);
		c->out->host = kh;
		c->out->user = NULL;
		c->found = 1;
		return 1;
	}
	for (const char *p = text; (p = strcasestr(p, "postgres")); p++) {
		const char *user = NULL, *host;
		/* postgres://, postgresql://, jdbc:postgresql:// */
		const char *q = p + strspn(p, "postgresqlPOSTGRESQL");
		if (strncmp(q, "://", 3) || !(host = uri_host(c->a, p, &user)) ||
		    !c->is_server(c->server_ctx, host))
			continue;
		c->out->file = c->rel;
		c->out->line = no;
		c->out->text = trimmed(c->a, text);
		c->out->host = host;
		c->out->user = user;
		c->found = 1;
		return 1;
	}
	return 0;
}

static int user_visit_line(void *vctx, char *text, int no)
{
	struct conn_ctx *c = vctx;
	const char *u = username_setting(c->a, text);
	(void)no;
	if (u && !strcasestr(text, "://"))
		c->user = u;
	return 0;
}

static int conn_visit(void *vctx, const char *abs, const char *rel, const char *name)
{
	static const char *const config[] = {
		"properties", "yml", "yaml", "toml", "ini", "conf", "cfg", "json", "xml", "exs", "py", NULL
	};
	struct conn_ctx *c = vctx;
	/* Compose's own files and env files are read as compose reads them, not here. */
	if (!in_list(ext_of(name), config) || test_file(name) || strcasestr(name, "compose") ||
	    !strncmp(name, "package", 7))
		return 0;
	c->rel = rel;
	c->user = NULL;
	if (!each_line(abs, conn_visit_line, c))
		return 0;
	if (!c->out->user && c->user)
		c->out->user = c->user;
	return 1;
}

int appsource_find_conn(struct arena *a, const char *context_dir,
			int (*is_server)(void *ctx, const char *host), void *ctx,
			struct appsource_hit *out)
{
	struct conn_ctx c = { a, NULL, is_server, ctx, out, NULL, 0 };
	memset(out, 0, sizeof(*out));
	/* A directory is walked; a single (bind-mounted) file is read as it is. */
	int single = context_dir && !path_is_dir(context_dir) && path_exists(context_dir);
	if (single)
		conn_visit(&c, context_dir, path_basename(context_dir), path_basename(context_dir));
	else
		walk_context(a, context_dir, conn_visit, &c);
	if (c.found && !out->user) {
		/* A username set later in the same file (Spring puts it after the URL). */
		struct conn_ctx again = c;
		each_line(single ? context_dir : path_join(a, context_dir, out->file), user_visit_line, &again);
		out->user = again.user;
	}
	return c.found;
}

/* --- a file by stem --- */

struct stem_ctx {
	const char *stem;
	size_t n;
};

static int stem_visit(void *vctx, const char *abs, const char *rel, const char *name)
{
	struct stem_ctx *c = vctx;
	(void)abs;
	(void)rel;
	return !strncmp(name, c->stem, c->n) && (name[c->n] == '.' || name[c->n] == '\0');
}

int appsource_has_stem(struct arena *a, const char *context_dir, const char *stem)
{
	struct stem_ctx c = { stem, strlen(stem) };
	return walk_context(a, context_dir, stem_visit, &c);
}

/*
 * dockerfile: read the final stage's start-up and COPY/ADD map (see
 * dockerfile.h).
 *
 * The parse is line-based like BuildKit's: parser directives at the top, then
 * logical lines (an instruction with its continuations joined; comment and
 * blank lines inside a continuation dropped), heredoc bodies skipped after
 * the instruction that opens them.  Stages are kept only as far as the
 * final stage needs them: ENTRYPOINT/CMD/WORKDIR state and the stage each
 * one inherits from.
 */
#include "stack/dockerfile.h"
#include "util/num.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct stage {
	char *name;      /* alias, or NULL */
	char *from;      /* the image or stage as written */
	int parent;      /* index of the stage it is built FROM, or -1 */
	struct strvec ep, cmd;
	int ep_shell, ep_line, cmd_shell, cmd_line;
	int cmd_set;     /* CMD given in this stage (ENTRYPOINT then keeps it) */
	char *workdir;   /* malloc'd */
};

struct copy_rec {
	int stage;
	struct df_copy c;
};

struct parser {
	const char *display;
	struct diag *d;
	struct dockerfile *df;
	char escape;
	struct stage *stages;
	size_t nstages, astages;
	struct copy_rec *copies;
	size_t ncopies, acopies;
	size_t ainstrs;
};

/*
 * Clean a path the way Go's path.Clean does; a relative path is joined to
 * base first.  A path that starts with a variable ("$APP_HOME/x") is taken
 * as absolute: we do not expand it, and such variables hold absolute paths.
 */
static char *clean_path(const char *base, const char *path)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	const char **comp;
	size_t *clen, n = 0;
	int abs;

	if (path[0] != '/' && path[0] != '$' && base) {
		buf_addstr(&in, base);
		buf_addch(&in, '/');
	}
	buf_addstr(&in, path);
	abs = in.buf[0] == '/';
	comp = xmalloc(sizeof(*comp) * (in.len / 2 + 1));
	clen = xmalloc(sizeof(*clen) * (in.len / 2 + 1));
	for (const char *p = in.buf; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n && !(clen[n - 1] == 2 && !memcmp(comp[n - 1], "..", 2)))
				n--;
			else if (!abs)
				comp[n] = p, clen[n++] = len;
		} else if (len && !(len == 1 && p[0] == '.')) {
			comp[n] = p, clen[n++] = len;
		}
		p = e;
	}
	for (size_t i = 0; i < n; i++) {
		if (i || abs)
			buf_addch(&out, '/');
		buf_add(&out, comp[i], clen[i]);
	}
	if (!out.len)
		buf_addstr(&out, abs ? "/" : ".");
	free(comp);
	free(clen);
	buf_release(&in);
	return buf_detach(&out, NULL);
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static const char *skip_blank(const char *s)
{
	while (is_blank((unsigned char)*s) || *s == '\n')
		s++;
	return s;
}

static void rtrim(struct buf *b)
{
	while (b->len && (is_blank((unsigned char)b->buf[b->len - 1]) || b->buf[b->len - 1] == '\n'))
		buf_setlen(b, b->len - 1);
}

/* Append one UTF-8 encoded code point. */
static void add_utf8(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_addch(b, (int)cp);
	} else if (cp < 0x800) {
		buf_addch(b, (int)(0xC0 | (cp >> 6)));
		buf_addch(b, (int)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addch(b, (int)(0xE0 | (cp >> 12)));
		buf_addch(b, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(b, (int)(0x80 | (cp & 0x3F)));
	} else {
		buf_addch(b, (int)(0xF0 | (cp >> 18)));
		buf_addch(b, (int)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addch(b, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(b, (int)(0x80 | (cp & 0x3F)));
	}
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)s[i], x;
		if (c >= '0' && c <= '9')
			x = c - '0';
		else if (c >= 'a' && c <= 'f')
			x = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + (uint32_t)x;
	}
	*out = v;
	return 0;
}

/*
 * Parse a JSON array of strings (Docker's exec form).  Returns 0 and fills
 * *out, or -1 with *out untouched when s is not exactly such an array: the
 * caller then takes the text as shell form, as Docker does.
 */
static int parse_json_array(const char *s, struct strvec *out)
{
	struct strvec v = STRVEC_INIT;
	struct buf b = BUF_INIT;

	s = skip_blank(s);
	if (*s++ != '[')
		return -1;
	s = skip_blank(s);
	if (*s == ']') {
		s++;
		goto end;
	}
	for (;;) {
		if (*s++ != '"')
			goto bad;
		buf_reset(&b);
		for (;;) {
			unsigned char c = (unsigned char)*s++;
			if (!c || c < 0x20)
				goto bad;
			if (c == '"')
				break;
			if (c != '\\') {
				buf_addch(&b, c);
				continue;
			}
			c = (unsigned char)*s++;
			switch (c) {
			case '"': case '\\': case '/':
				buf_addch(&b, c);
				break;
			case 'b': buf_addch(&b, '\b'); break;
			case 'f': buf_addch(&b, '\f'); break;
			case 'n': buf_addch(&b, '\n'); break;
			case 'r': buf_addch(&b, '\r'); break;
			case 't': buf_addch(&b, '\t'); break;
			case 'u': {
				uint32_t cp, lo;
				if (hex4(s, &cp))
					goto bad;
				s += 4;
				if (cp >= 0xD800 && cp < 0xDC00) {
					if (s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) ||
					    lo < 0xDC00 || lo >= 0xE000)
						goto bad;
					s += 6;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				} else if (cp >= 0xDC00 && cp < 0xE000) {
					goto bad;
				}
				if (!cp)
					goto bad; /* cannot live in a C string */
				add_utf8(&b, cp);
				break;
			}
			default:
				goto bad;
			}
		}
		strvec_push(&v, b.buf);
		s = skip_blank(s);
		if (*s == ',') {
			s = skip_blank(s + 1);
			continue;
		}
		if (*s++ == ']')
			break;
		goto bad;
	}
end:
	s = skip_blank(s);
	if (*s)
		goto bad;
	buf_release(&b);
	*out = v;
	return 0;
bad:
	buf_release(&b);
	strvec_clear(&v);
	return -1;
}

static struct stage *cur(struct parser *ps)
{
	return &ps->stages[ps->nstages - 1];
}

/* Set an ENTRYPOINT or CMD from the instruction's arguments. */
static void set_command(const char *args, struct strvec *v, int *shell, int *line, int at)
{
	struct strvec n = STRVEC_INIT;

	strvec_clear(v);
	if (!*args) {
		*shell = 0;
	} else if (!parse_json_array(args, &n)) {
		*v = n;
		*shell = 0;
	} else {
		strvec_push(v, args);
		*shell = 1;
	}
	*line = at;
}

static void copy_strvec(struct strvec *dst, const struct strvec *src)
{
	for (size_t i = 0; i < src->nr; i++)
		strvec_push(dst, src->v[i]);
}

/* Split shell-form arguments on blanks (Docker does not unquote COPY's). */
static void split_blank(const char *s, struct strvec *out)
{
	for (;;) {
		s = skip_blank(s);
		if (!*s)
			break;
		const char *e = s;
		while (*e && !is_blank((unsigned char)*e) && *e != '\n')
			e++;
		char *w = xstrndup(s, (size_t)(e - s));
		strvec_push(out, w);
		free(w);
		s = e;
	}
}

static int do_from(struct parser *ps, const char *args, int line)
{
	struct strvec w = STRVEC_INIT;
	size_t i = 0;
	int ret = -1;

	split_blank(args, &w);
	while (i < w.nr && str_starts(w.v[i], "--"))
		i++;
	if (i >= w.nr) {
		diag_at(ps->d, ps->display, line, 0, "FROM requires an image");
		goto out;
	}
	const char *image = w.v[i++];
	const char *name = NULL;
	if (i < w.nr) {
		if (strcasecmp(w.v[i], "as") || i + 2 != w.nr) {
			diag_at(ps->d, ps->display, line, 0, "FROM takes 'image [AS name]'");
			goto out;
		}
		name = w.v[i + 1];
	}

	int parent = -1;
	for (size_t s = ps->nstages; s-- > 0;) {
		if (ps->stages[s].name && !strcasecmp(ps->stages[s].name, image)) {
			parent = (int)s;
			break;
		}
	}

	ALLOC_GROW(ps->stages, ps->nstages + 1, ps->astages);
	struct stage *st = &ps->stages[ps->nstages++];
	memset(st, 0, sizeof(*st));
	st->from = xstrdup(image);
	st->name = name ? xstrdup(name) : NULL;
	st->parent = parent;
	if (parent >= 0) {
		struct stage *pa = &ps->stages[parent];
		copy_strvec(&st->ep, &pa->ep);
		copy_strvec(&st->cmd, &pa->cmd);
		st->ep_shell = pa->ep_shell;
		st->ep_line = pa->ep_line;
		st->cmd_shell = pa->cmd_shell;
		st->cmd_line = pa->cmd_line;
		st->workdir = xstrdup(pa->workdir);
	} else {
		st->workdir = xstrdup("/");
	}
	ret = 0;
out:
	strvec_clear(&w);
	return ret;
}

static int is_dirlike_dest(const char *dest)
{
	size_t n = strlen(dest);
	return (n && dest[n - 1] == '/') || !strcmp(dest, ".") || !strcmp(dest, "..") ||
	       str_ends(dest, "/.") || str_ends(dest, "/..");
}

static int do_copy(struct parser *ps, const char *args, int line, int is_add, struct arena *a)
{
	struct strvec w = STRVEC_INIT;
	char *from = NULL;
	const char *s = skip_blank(args);

	/* Flags come first: --from=, --chown=, --chmod=, --link, --parents, ... */
	while (s[0] == '-' && s[1] == '-') {
		const char *e = s;
		while (*e && !is_blank((unsigned char)*e) && *e != '\n')
			e++;
		if (!strncmp(s, "--from=", 7)) {
			free(from);
			from = xstrndup(s + 7, (size_t)(e - s - 7));
		}
		s = skip_blank(e);
	}
	if (parse_json_array(s, &w))
		split_blank(s, &w);
	if (w.nr < 2) {
		free(from);
		strvec_clear(&w);
		return diag_at(ps->d, ps->display, line, 0, "%s requires at least two arguments",
			       is_add ? "ADD" : "COPY");
	}

	ALLOC_GROW(ps->copies, ps->ncopies + 1, ps->acopies);
	struct copy_rec *r = &ps->copies[ps->ncopies++];
	memset(r, 0, sizeof(*r));
	r->stage = (int)ps->nstages - 1;
	r->c.line = line;
	r->c.is_add = is_add;
	r->c.from_stage = from ? arena_strdup(a, from) : NULL;
	free(from);
	for (size_t i = 0; i + 1 < w.nr; i++) {
		strvec_push(&r->c.srcs, w.v[i]);
		if (str_starts(w.v[i], "<<"))
			r->c.heredoc = 1;
	}
	const char *dest = w.v[w.nr - 1];
	char *clean = clean_path(cur(ps)->workdir, dest);
	int dir = is_dirlike_dest(dest) && strcmp(clean, "/");
	r->c.dest = arena_strfmt(a, "%s%s", clean, dir ? "/" : "");
	free(clean);
	strvec_clear(&w);
	return 0;
}

/* Split the args of RUN/COPY/ADD into shell-ish words to find heredoc openers. */
static void heredoc_delims(const char *s, struct strvec *out)
{
	while (*s) {
		s = skip_blank(s);
		if (!*s)
			break;
		struct buf word = BUF_INIT;
		int quoted = *s == '\'' || *s == '"';
		while (*s && !is_blank((unsigned char)*s) && *s != '\n') {
			if (*s == '\'' || *s == '"') {
				char q = *s++;
				while (*s && *s != q)
					buf_addch(&word, *s++);
				if (*s)
					s++;
			} else {
				buf_addch(&word, *s++);
			}
		}
		const char *p = word.buf;
		while (isdigit((unsigned char)*p))
			p++;
		if (!quoted && p[0] == '<' && p[1] == '<' && p[2] != '<') {
			p += 2;
			int strip = *p == '-';
			if (strip)
				p++;
			if (!*p) {
				/* "<< EOF": the delimiter is the next word */
				s = skip_blank(s);
				const char *e = s;
				while (*e && !is_blank((unsigned char)*e) && *e != '\n')
					e++;
				char *next = xstrndup(s, (size_t)(e - s));
				size_t n = strlen(next);
				if (n >= 2 && (next[0] == '\'' || next[0] == '"') && next[n - 1] == next[0]) {
					memmove(next, next + 1, n - 2);
					next[n - 2] = '\0';
				}
				if (*next)
					strvec_pushf(out, "%c%s", strip ? '-' : '+', next);
				free(next);
				s = e;
			} else {
				strvec_pushf(out, "%c%s", strip ? '-' : '+', p);
			}
		}
		buf_release(&word);
	}
}

static const char *const known_instrs[] = {
	"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
	"LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
	"WORKDIR", NULL,
};

static int dispatch(struct parser *ps, const char *kw, const char *args, int line)
{
	struct dockerfile *df = ps->df;
	int known = 0;

	for (size_t i = 0; known_instrs[i]; i++)
		if (!strcasecmp(kw, known_instrs[i]))
			known = 1;
	if (!known)
		return diag_at(ps->d, ps->display, line, 0, "unknown instruction '%s'", kw);
	if (!strcasecmp(kw, "FROM"))
		return do_from(ps, args, line);
	if (!ps->nstages) {
		if (!strcasecmp(kw, "ARG"))
			return 0;
		return diag_at(ps->d, ps->display, line, 0, "'%s' before the first FROM", kw);
	}

	struct stage *st = cur(ps);
	if (!strcasecmp(kw, "ENTRYPOINT")) {
		set_command(args, &st->ep, &st->ep_shell, &st->ep_line, line);
		if (!st->cmd_set) {
			strvec_clear(&st->cmd);
			st->cmd_shell = 0;
			st->cmd_line = 0;
		}
	} else if (!strcasecmp(kw, "CMD")) {
		set_command(args, &st->cmd, &st->cmd_shell, &st->cmd_line, line);
		st->cmd_set = 1;
	} else if (!strcasecmp(kw, "WORKDIR")) {
		size_t n = strlen(args);
		if (n >= 2 && (args[0] == '"' || args[0] == '\'') && args[n - 1] == args[0]) {
			char *unq = xstrndup(args + 1, n - 2);
			char *w = clean_path(st->workdir, unq);
			free(unq);
			free(st->workdir);
			st->workdir = w;
		} else if (n) {
			char *w = clean_path(st->workdir, args);
			free(st->workdir);
			st->workdir = w;
		}
	} else if (!strcasecmp(kw, "COPY") || !strcasecmp(kw, "ADD")) {
		return do_copy(ps, args, line, !strcasecmp(kw, "ADD"), &df->arena);
	}
	return 0;
}

struct lines {
	const char *data;
	size_t len, pos;
	int lineno;
};

/* Next physical line without its newline (and without a trailing CR); 0 at the end. */
static int next_line(struct lines *l, const char **s, size_t *n)
{
	if (l->pos >= l->len)
		return 0;
	const char *p = l->data + l->pos;
	const char *e = memchr(p, '\n', l->len - l->pos);
	size_t take = e ? (size_t)(e - p) : l->len - l->pos;
	l->pos += take + (e ? 1 : 0);
	l->lineno++;
	if (take && p[take - 1] == '\r')
		take--;
	*s = p;
	*n = take;
	return 1;
}

static int blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank((unsigned char)s[i]))
			return 0;
	return 1;
}

static int comment_line(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_blank((unsigned char)s[i]))
		i++;
	return i < n && s[i] == '#';
}

/* Does the line end with the escape character (then blanks)?  *cut = length without it. */
static int continues(const char *s, size_t n, char escape, size_t *cut)
{
	while (n && is_blank((unsigned char)s[n - 1]))
		n--;
	if (n && s[n - 1] == escape) {
		*cut = n - 1;
		return 1;
	}
	return 0;
}

/* Parser directives: "# name=value" lines before anything else. */
static int directives(struct parser *ps, struct lines *l)
{
	const char *s;
	size_t n;

	for (;;) {
		struct lines save = *l;
		if (!next_line(l, &s, &n))
			return 0;
		size_t i = 0;
		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		if (i >= n || s[i] != '#') {
			*l = save;
			return 0;
		}
		i++;
		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		size_t ks = i;
		while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
			i++;
		size_t ke = i;
		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		if (ke == ks || i >= n || s[i] != '=') {
			*l = save; /* an ordinary comment ends the directives */
			return 0;
		}
		i++;
		while (i < n && is_blank((unsigned char)s[i]))
			i++;
		size_t ve = n;
		while (ve > i && is_blank((unsigned char)s[ve - 1]))
			ve--;
		if (ke - ks == 6 && !strncasecmp(s + ks, "escape", 6)) {
			if (ve - i != 1 || (s[i] != '\\' && s[i] != '`'))
				return diag_at(ps->d, ps->display, l->lineno, 0,
					       "invalid escape directive '%.*s' (use \\ or `)",
					       (int)(ve - i), s + i);
			ps->escape = s[i];
		}
	}
}

static void skip_heredocs(struct lines *l, const struct strvec *delims)
{
	const char *s;
	size_t n;

	for (size_t i = 0; i < delims->nr; i++) {
		int strip = delims->v[i][0] == '-';
		const char *delim = delims->v[i] + 1;
		while (next_line(l, &s, &n)) {
			if (strip)
				while (n && *s == '\t')
					s++, n--;
			if (n == strlen(delim) && !memcmp(s, delim, n))
				break;
		}
	}
}

static void add_instr(struct parser *ps, int line, const char *text)
{
	struct dockerfile *df = ps->df;
	if (df->ninstrs + 1 > ps->ainstrs) {
		size_t na = ps->ainstrs ? ps->ainstrs * 2 : 16;
		df->instrs = arena_grow(&df->arena, df->instrs, df->ninstrs, na, sizeof(*df->instrs));
		ps->ainstrs = na;
	}
	df->instrs[df->ninstrs].line = line;
	df->instrs[df->ninstrs].text = arena_strdup(&df->arena, text);
	df->ninstrs++;
}

static int parse_lines(struct parser *ps, const char *data, size_t len)
{
	struct lines l = { data, len, 0, 0 };
	struct buf text = BUF_INIT;
	const char *s;
	size_t n;
	int ret = 0;

	if (directives(ps, &l))
		return -1;
	while (next_line(&l, &s, &n)) {
		if (blank_line(s, n) || comment_line(s, n))
			continue;
		int line = l.lineno;
		size_t cut;
		buf_reset(&text);
		while (continues(s, n, ps->escape, &cut)) {
			buf_add(&text, s, cut);
			int more = 0;
			while (next_line(&l, &s, &n)) {
				if (comment_line(s, n) || blank_line(s, n))
					continue;
				more = 1;
				break;
			}
			if (!more) {
				n = 0;
				break;
			}
		}
		buf_add(&text, s, n);
		rtrim(&text);

		const char *p = skip_blank(text.buf);
		const char *e = p;
		while (*e && !is_blank((unsigned char)*e) && *e != '\n')
			e++;
		char *kw = xstrndup(p, (size_t)(e - p));
		const char *args = skip_blank(e);
		add_instr(ps, line, p);

		if (!strcasecmp(kw, "RUN") || !strcasecmp(kw, "COPY") || !strcasecmp(kw, "ADD")) {
			struct strvec delims = STRVEC_INIT;
			heredoc_delims(args, &delims);
			skip_heredocs(&l, &delims);
			strvec_clear(&delims);
		}
		ret = dispatch(ps, kw, args, line);
		free(kw);
		if (ret)
			break;
	}
	buf_release(&text);
	return ret;
}

static void parser_release(struct parser *ps)
{
	for (size_t i = 0; i < ps->nstages; i++) {
		struct stage *st = &ps->stages[i];
		free(st->name);
		free(st->from);
		free(st->workdir);
		strvec_clear(&st->ep);
		strvec_clear(&st->cmd);
	}
	free(ps->stages);
	for (size_t i = 0; i < ps->ncopies; i++)
		strvec_clear(&ps->copies[i].c.srcs);
	free(ps->copies);
}

static void copy_cleanup(struct df_copy *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strvec_clear(&c[i].srcs);
}

int dockerfile_parse(const char *display, const char *data, size_t len,
		     struct dockerfile *out, struct diag *d)
{
	struct parser ps;
	struct dockerfile df;

	if (len > DOCKERFILE_MAX)
		return diag_at(d, display, 0, 0, "Dockerfile is larger than %d bytes", DOCKERFILE_MAX);
	if (memchr(data, '\0', len))
		return diag_at(d, display, 0, 0, "not a Dockerfile: it holds a NUL byte");

	memset(&ps, 0, sizeof(ps));
	memset(&df, 0, sizeof(df));
	ps.display = display;
	ps.d = d;
	ps.df = &df;
	ps.escape = '\\';

	if (parse_lines(&ps, data, len))
		goto fail;
	if (!ps.nstages) {
		diag_at(d, display, 0, 0, "no FROM instruction");
		goto fail;
	}

	size_t fin = ps.nstages - 1;
	struct stage *st = &ps.stages[fin];
	df.final_from = arena_strdup(&df.arena, st->from);
	size_t root = fin;
	while (ps.stages[root].parent >= 0)
		root = (size_t)ps.stages[root].parent;
	df.final_base_image = arena_strdup(&df.arena, ps.stages[root].from);
	df.entrypoint = st->ep;
	df.entrypoint_shell = st->ep_shell;
	df.entrypoint_line = st->ep_line;
	df.cmd = st->cmd;
	df.cmd_shell = st->cmd_shell;
	df.cmd_line = st->cmd_line;
	memset(&st->ep, 0, sizeof(st->ep));
	memset(&st->cmd, 0, sizeof(st->cmd));
	df.workdir = arena_strdup(&df.arena, st->workdir);

	df.nstages = ps.nstages;
	df.stage_names = arena_alloc(&df.arena, ps.nstages * sizeof(*df.stage_names));
	df.stage_parent = arena_alloc(&df.arena, ps.nstages * sizeof(*df.stage_parent));
	for (size_t i = 0; i < ps.nstages; i++) {
		df.stage_names[i] = ps.stages[i].name ? arena_strdup(&df.arena, ps.stages[i].name) : NULL;
		df.stage_parent[i] = ps.stages[i].parent;
	}
	df.nall_copies = ps.ncopies;
	df.all_copies = ps.ncopies ? arena_alloc(&df.arena, ps.ncopies * sizeof(*df.all_copies)) : NULL;
	df.all_stage = ps.ncopies ? arena_alloc(&df.arena, ps.ncopies * sizeof(*df.all_stage)) : NULL;
	for (size_t i = 0; i < ps.ncopies; i++) {
		df.all_copies[i] = ps.copies[i].c;
		memset(&df.all_copies[i].srcs, 0, sizeof(df.all_copies[i].srcs));
		for (size_t j = 0; j < ps.copies[i].c.srcs.nr; j++)
			strvec_push(&df.all_copies[i].srcs, ps.copies[i].c.srcs.v[j]);
		df.all_stage[i] = ps.copies[i].stage;
	}

	/* The chain of stages the final one inherits from; copies in file order. */
	char *in_chain = xcalloc(ps.nstages, 1);
	for (int s = (int)fin; s >= 0; s = ps.stages[s].parent)
		in_chain[s] = 1;
	size_t nc = 0;
	for (size_t i = 0; i < ps.ncopies; i++)
		if (in_chain[ps.copies[i].stage])
			nc++;
	df.copies = nc ? arena_alloc(&df.arena, nc * sizeof(*df.copies)) : NULL;
	for (size_t i = 0; i < ps.ncopies; i++) {
		if (!in_chain[ps.copies[i].stage])
			continue;
		df.copies[df.ncopies++] = ps.copies[i].c;
		memset(&ps.copies[i].c.srcs, 0, sizeof(ps.copies[i].c.srcs));
	}
	free(in_chain);
	parser_release(&ps);
	*out = df;
	return 0;

fail:
	parser_release(&ps);
	copy_cleanup(df.copies, df.ncopies);
	arena_release(&df.arena);
	return -1;
}

void dockerfile_release(struct dockerfile *df)
{
	if (!df)
		return;
	strvec_clear(&df->entrypoint);
	strvec_clear(&df->cmd);
	copy_cleanup(df->copies, df->ncopies);
	copy_cleanup(df->all_copies, df->nall_copies);
	arena_release(&df->arena);
	memset(df, 0, sizeof(*df));
}

/* ---- mapping container paths back to the build context ---- */

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int is_url(const char *s)
{
	return str_starts(s, "http://") || str_starts(s, "https://") || str_starts(s, "git@") ||
	       str_starts(s, "git://");
}

static const char *base_name(const char *s)
{
	const char *p = strrchr(s, '/');
	return p ? p + 1 : s;
}

/* p relative to dir ("" when equal), or NULL when p is not inside dir. */
static const char *under(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "/"))
		return p[1] ? p + 1 : p + 1;
	if (strncmp(p, dir, n))
		return NULL;
	if (!p[n])
		return p + n;
	if (p[n] == '/')
		return p + n + 1;
	return NULL;
}

static char *ctx_join(const char *src, const char *rest)
{
	if (!*src)
		return xstrdup(*rest ? rest : ".");
	if (!*rest)
		return xstrdup(src);
	return xstrfmt("%s/%s", src, rest);
}

/*
 * Does copy c put something at path p?  Returns 0 (no), 1 (yes, *res is the
 * context path or NULL when it comes from outside the context) or 2 (it may:
 * an outside source copied as a directory, which we cannot look into).
 */
static int copy_covers(const struct df_copy *c, const char *p, char **res, int follow)
{
	size_t dl = strlen(c->dest);
	int dest_dir = (dl && c->dest[dl - 1] == '/') || c->srcs.nr > 1;
	char *dest = xstrndup(c->dest, dest_dir && dl > 1 && c->dest[dl - 1] == '/' ? dl - 1 : dl);
	int ret = 0;

	*res = NULL;
	for (size_t i = c->srcs.nr; i-- > 0 && !ret;) {
		const char *raw = c->srcs.v[i];
		int opaque = (c->from_stage && !follow) || c->heredoc || is_url(raw);
		size_t rl = strlen(raw);
		int slash = rl && raw[rl - 1] == '/';
		char *abs = clean_path("/", raw);
		const char *src = abs + 1; /* context-relative; "" is the root */
		const char *bn = base_name(abs);
		const char *rest = under(p, dest);

		if (!opaque && has_glob(bn)) {
			/* COPY *.sh /usr/local/bin/ (the glob is in the last part) */
			if (rest && *rest && !strchr(rest, '/') && !fnmatch(bn, rest, FNM_PERIOD)) {
				char *dir = xstrndup(src, (size_t)(bn - abs > 1 ? bn - abs - 2 : 0));
				*res = ctx_join(dir, rest);
				free(dir);
				ret = 1;
			}
			free(abs);
			continue;
		}
		/* as a file: DEST itself, or DEST/<name> when DEST is a directory */
		if ((!dest_dir && !strcmp(p, dest)) ||
		    (*src && rest && !strcmp(rest, bn) && !slash)) {
			if (!opaque)
				*res = ctx_join(src, "");
			ret = 1;
		} else if (rest && (!*src || slash || !strchr(bn, '.'))) {
			/* as a directory: its contents land under DEST */
			if (!opaque) {
				*res = ctx_join(src, rest);
				ret = 1;
			} else {
				ret = 2;
			}
		}
		free(abs);
	}
	free(dest);
	return ret;
}

/* The stage a --from= names in this file (alias, or index), or -1 (an image). */
static int stage_named(const struct dockerfile *df, const char *name)
{
	for (size_t i = df->nstages; i-- > 0;)
		if (df->stage_names[i] && !strcasecmp(df->stage_names[i], name))
			return (int)i;
	long long n;
	if (df->nstages && !num_parse_ll(name, 0, (long long)df->nstages - 1, &n))
		return (int)n;
	return -1;
}

static int in_stage_chain(const struct dockerfile *df, int stage, int of)
{
	/* A chain visits each stage at most once (any length); the guard only stops a cycle. */
	for (int s = stage, guard = 0; s >= 0 && (size_t)guard <= df->nstages; s = df->stage_parent[s], guard++)
		if (s == of)
			return 1;
	return 0;
}

#define DF_FROM_DEPTH 8

/* Map absolute path p in stage `stage` (its chain) to a context path. */
static char *map_in_stage(const struct dockerfile *df, int stage, const char *p, int depth)
{
	char *res = NULL;
	for (size_t i = df->nall_copies; i-- > 0;) {
		const struct df_copy *c = &df->all_copies[i];
		if (!in_stage_chain(df, stage, df->all_stage[i]))
			continue;
		int from = c->from_stage ? stage_named(df, c->from_stage) : -1;
		/* a stage that is earlier in the file; an image's files are not in the repository */
		int follow = from >= 0 && from < df->all_stage[i] && depth < DF_FROM_DEPTH;
		int r = copy_covers(c, p, &res, follow);
		if (r == 1) {
			if (c->from_stage && follow && res) {
				char *abs = xstrfmt("/%s", strcmp(res, ".") ? res : "");
				free(res);
				res = map_in_stage(df, from, abs, depth + 1);
				free(abs);
			} else if (c->from_stage) {
				free(res);
				res = NULL;
			}
			return res;
		}
		free(res);
		res = NULL;
	}
	return NULL;
}

char *dockerfile_map_path(const struct dockerfile *df, const char *container_path)
{
	char *p, *res = NULL;

	if (!df || !container_path || !*container_path)
		return NULL;
	p = clean_path(df->workdir ? df->workdir : "/", container_path);
	if (df->nstages && df->nall_copies) {
		res = map_in_stage(df, (int)df->nstages - 1, p, 0);
		free(p);
		return res;
	}
	for (size_t i = df->ncopies; i-- > 0;) {
		int r = copy_covers(&df->copies[i], p, &res, 0);
		if (r == 1)
			break;
		/* r == 2: another stage's directory may or may not hold it; look further */
	}
	free(p);
	return res;
}

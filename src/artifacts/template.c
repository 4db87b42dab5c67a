/*
 * template: a deliberately tiny mustache subset (see template.h).
 *
 * Templates are the reviewable shape of what dsnflip writes (the role SQL,
 * the runbook); keeping the engine logic-free keeps every decision in C,
 * where it is tested, and every word in templates/, where it is reviewed.
 */
#include "artifacts/template.h"
#include "util/path.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NESTING 8

struct tvar {
	char *name;
	char *value;            /* scalar, or NULL for a list */
	struct tvars **rows;
	size_t nrows, alloc;
};

struct tvars {
	struct tvar *v;
	size_t nr, alloc;
	const struct tvars *parent; /* lookups fall back to the enclosing scope */
};

struct tvars *tvars_new(void)
{
	return xcalloc(1, sizeof(struct tvars));
}

void tvars_free(struct tvars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nr; i++) {
		free(v->v[i].name);
		free(v->v[i].value);
		for (size_t r = 0; r < v->v[i].nrows; r++)
			tvars_free(v->v[i].rows[r]);
		free(v->v[i].rows);
	}
	free(v->v);
	free(v);
}

static struct tvar *find_local(const struct tvars *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->nr; i++)
		if (strlen(v->v[i].name) == len && !strncmp(v->v[i].name, name, len))
			return &v->v[i];
	return NULL;
}

static const struct tvar *find(const struct tvars *v, const char *name, size_t len)
{
	for (; v; v = v->parent) {
		const struct tvar *t = find_local(v, name, len);
		if (t)
			return t;
	}
	return NULL;
}

static struct tvar *get_or_add(struct tvars *v, const char *name)
{
	struct tvar *t = find_local(v, name, strlen(name));
	if (t)
		return t;
	ALLOC_GROW(v->v, v->nr + 1, v->alloc);
	t = &v->v[v->nr++];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup(name);
	return t;
}

void tvars_set(struct tvars *v, const char *name, const char *value)
{
	struct tvar *t = get_or_add(v, name);
	free(t->value);
	t->value = xstrdup(value ? value : "");
}

void tvars_setf(struct tvars *v, const char *name, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	tvars_set(v, name, b.buf);
	buf_release(&b);
}

struct tvars *tvars_add_row(struct tvars *v, const char *name)
{
	struct tvar *t = get_or_add(v, name);
	ALLOC_GROW(t->rows, t->nrows + 1, t->alloc);
	struct tvars *row = tvars_new();
	row->parent = v;
	t->rows[t->nrows++] = row;
	return row;
}

static int line_of(const char *start, const char *p)
{
	int n = 1;
	for (; start < p; start++)
		n += *start == '\n';
	return n;
}

struct render {
	const char *display;
	const char *text;
	struct diag *d;
};

/* Find the {{/name}} that closes a section opened before p. */
static const char *section_end(const char *p, const char *name, size_t len, const char **after)
{
	int depth = 1;
	while ((p = strstr(p, "{{"))) {
		char kind = p[2];
		const char *nm = p + 3, *close = strstr(p, "}}");
		if (!close)
			return NULL;
		if ((kind == '#' || kind == '^' || kind == '/') && (size_t)(close - nm) == len &&
		    !strncmp(nm, name, len)) {
			depth += kind == '/' ? -1 : 1;
			if (!depth) {
				*after = close + 2;
				return p;
			}
		}
		p = close + 2;
	}
	return NULL;
}

static int render_span(struct render *R, const char *p, const char *end, const struct tvars *v,
		       int depth, struct buf *out)
{
	if (depth > MAX_NESTING)
		return diag_at(R->d, R->display, line_of(R->text, p), 0, "sections nested too deep");
	while (p < end) {
		const char *open = strstr(p, "{{");
		if (!open || open >= end) {
			buf_add(out, p, (size_t)(end - p));
			break;
		}
		buf_add(out, p, (size_t)(open - p));
		const char *close = strstr(open, "}}");
		if (!close || close > end)
			return diag_at(R->d, R->display, line_of(R->text, open), 0, "unterminated '{{'");
		char kind = open[2];
		if (kind == '#' || kind == '^') {
			const char *name = open + 3, *after;
			size_t len = (size_t)(close - name);
			const char *body = close + 2, *stop = section_end(body, name, len, &after);
			if (!stop || stop > end)
				return diag_at(R->d, R->display, line_of(R->text, open), 0,
					       "section '%.*s' is not closed", (int)len, name);
			/* A section tag alone on its line takes its newline with it. */
			if (*body == '\n')
				body++;
			if (*after == '\n')
				after++;
			const struct tvar *t = find(v, name, len);
			if (kind == '#' && t) {
				if (t->value) {
					if (*t->value && render_span(R, body, stop, v, depth + 1, out))
						return -1;
				}
				for (size_t r = 0; r < t->nrows; r++)
					if (render_span(R, body, stop, t->rows[r], depth + 1, out))
						return -1;
			} else if (kind == '^' && (!t || (t->value ? !*t->value : !t->nrows))) {
				if (render_span(R, body, stop, v, depth + 1, out))
					return -1;
			}
			p = after;
			continue;
		}
		if (kind == '/')
			return diag_at(R->d, R->display, line_of(R->text, open), 0, "'%.*s' closes nothing",
				       (int)(close - open + 2), open);
		const char *name = open + 2;
		size_t len = (size_t)(close - name);
		const struct tvar *t = find(v, name, len);
		if (!t || !t->value)
			return diag_at(R->d, R->display, line_of(R->text, open), 0, "unknown value '{{%.*s}}'",
				       (int)len, name);
		buf_addstr(out, t->value);
		p = close + 2;
	}
	return 0;
}

int template_render(const char *display, const char *text, const struct tvars *v, struct buf *out,
		    struct diag *d)
{
	struct render R = { display, text, d };
	return render_span(&R, text, text + strlen(text), v, 0, out);
}

int template_render_file(const char *path, const struct tvars *v, struct buf *out, struct diag *d)
{
	char *text = read_file(path, NULL);
	if (!text)
		return diag_err(d, "cannot read template '%s'", path);
	int r = template_render(path_basename(path), text, v, out, d);
	free(text);
	return r;
}

char *template_dir(char *const *env)
{
	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, "DSNFLIP_TEMPLATES=", 18) && (*e)[18])
			return xstrdup(*e + 18);
	/* Run from the source tree: templates/ beside the binary's directory. */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char *cand = xstrfmt("%s/templates", exe);
			if (path_is_dir(cand))
				return cand;
			free(cand);
			/* Installed: <prefix>/bin/dsnflip finds <prefix>/share/dsnflip/templates,
			 * wherever the prefix is (also under a DESTDIR staging tree). */
			cand = xstrfmt("%s/../share/dsnflip/templates", exe);
			if (path_is_dir(cand))
				return cand;
			free(cand);
			/* build/<variant>/dsnflip or tests binaries two levels down */
			for (int up = 0; up < 3; up++) {
				slash = strrchr(exe, '/');
				if (!slash)
					break;
				*slash = '\0';
				cand = xstrfmt("%s/templates", exe);
				if (path_is_dir(cand))
					return cand;
				free(cand);
			}
		}
	}
	return xstrdup(DSNFLIP_DATADIR "/templates");
}

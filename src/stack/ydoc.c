/*
 * ydoc: YAML event stream -> positioned node tree (see ydoc.h for why).
 */
#include "stack/ydoc.h"
#include "util/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/*
 * Line breaks as libyaml counts them, so our line numbers agree with its
 * marks: LF, CR LF, lone CR, NEL, LS, PS.  Returns the break's length in
 * bytes at p, or 0.
 */
static size_t break_len(const char *p, const char *end)
{
	unsigned char c = (unsigned char)p[0];
	if (c == '\n')
		return 1;
	if (c == '\r')
		return (p + 1 < end && p[1] == '\n') ? 2 : 1;
	if (c == 0xC2 && p + 1 < end && (unsigned char)p[1] == 0x85)
		return 2;
	if (c == 0xE2 && p + 2 < end && (unsigned char)p[1] == 0x80 &&
	    ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9))
		return 3;
	return 0;
}

static void index_lines(struct arena *a, struct srcfile *f)
{
	size_t n = 1, cap = 64;
	size_t *ls = xmalloc(cap * sizeof(*ls));
	const char *p = f->data, *end = f->data + f->len;
	ls[0] = 0;
	/* libyaml skips a UTF-8 BOM before column 0 of line 1. */
	if (f->len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		ls[0] = 3;
	while (p < end) {
		size_t bl = break_len(p, end);
		if (!bl) {
			p++;
			continue;
		}
		p += bl;
		if (n == cap) {
			cap *= 2;
			ls = xrealloc(ls, cap * sizeof(*ls));
		}
		ls[n++] = (size_t)(p - f->data);
	}
	f->line_starts = arena_alloc(a, n * sizeof(*ls));
	memcpy(f->line_starts, ls, n * sizeof(*ls));
	f->nlines = n;
	free(ls);
}

struct srcfile *srcfile_from(struct arena *a, const char *display, const char *data, size_t len)
{
	struct srcfile *f = arena_alloc(a, sizeof(*f));
	f->path = arena_strdup(a, display);
	f->display = arena_strdup(a, display);
	f->data = arena_strndup(a, data, len);
	f->len = len;
	index_lines(a, f);
	return f;
}

int srcfile_read(struct arena *a, const char *path, const char *display,
		 size_t max_bytes, struct srcfile **out, struct diag *d)
{
	int fd = open_regular(path);
	FILE *fp = fd < 0 ? NULL : fdopen(fd, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t got;
	int ret = -1;

	if (!fp) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return diag_err(d, "%s: cannot open: %s", display, open_regular_strerror(e));
	}
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + got > max_bytes) {
			diag_err(d, "%s: file is larger than the limit of %zu bytes", display, max_bytes);
			goto cleanup;
		}
		buf_add(&b, chunk, got);
	}
	if (ferror(fp)) {
		diag_err(d, "%s: read error: %s", display, strerror(errno));
		goto cleanup;
	}
	struct srcfile *f = srcfile_from(a, display, b.buf, b.len);
	f->path = arena_strdup(a, path);
	*out = f;
	ret = 0;
cleanup:
	fclose(fp);
	buf_release(&b);
	return ret;
}

/* A position in a srcfile kept between conversions (see cursor_offset()). */
struct ycursor {
	int line, col; /* 1-based; line 0: not placed yet */
	size_t off;
};

static size_t cursor_offset(const struct srcfile *f, struct ycursor *cur, int line, int col);

size_t srcfile_offset(const struct srcfile *f, int line, int col)
{
	struct ycursor cur = { 0, 0, 0 };
	return cursor_offset(f, &cur, line, col);
}

void srcfile_linecol(const struct srcfile *f, size_t off, int *line, int *col)
{
	size_t lo = 0, hi = f->nlines;
	if (off > f->len)
		off = f->len;
	/* The last line whose first byte is at or before off. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	size_t p = f->line_starts[lo];
	int c = 1;
	while (p < off) {
		unsigned char ch = (unsigned char)f->data[p];
		p += ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
		c++;
	}
	*line = (int)lo + 1;
	*col = c;
}

/*
 * libyaml gives line and character column; nodes need byte offsets.
 * Counting columns from the line's start for every node is quadratic on a
 * long line (a one-line flow sequence of 200k items would take 47 s), so the
 * builder keeps a cursor at the last converted mark and walks from there:
 * marks arrive in (nearly) increasing order, so the total walk is linear.
 */
static size_t utf8_step(unsigned char ch)
{
	return ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;
}

static size_t cursor_offset(const struct srcfile *f, struct ycursor *cur, int line, int col)
{
	if (line < 1)
		return 0;
	if ((size_t)line > f->nlines)
		return f->len;
	if (cur->line != line || col < 1) {
		cur->line = line;
		cur->col = 1;
		cur->off = f->line_starts[line - 1];
	}
	size_t first = f->line_starts[line - 1];
	while (cur->col > col && cur->off > first) {
		/* back one character: over UTF-8 continuation bytes */
		cur->off--;
		while (cur->off > first && ((unsigned char)f->data[cur->off] & 0xC0) == 0x80)
			cur->off--;
		cur->col--;
	}
	while (cur->col < col && cur->off < f->len) {
		cur->off += utf8_step((unsigned char)f->data[cur->off]);
		cur->col++;
	}
	if (cur->off > f->len)
		cur->off = f->len;
	return cur->off;
}

static void set_pos(struct ypos *pos, const struct srcfile *f, struct ycursor *cur,
		    yaml_mark_t start, yaml_mark_t end)
{
	pos->file = f;
	pos->line = (int)start.line + 1;
	pos->col = (int)start.column + 1;
	pos->start = cursor_offset(f, cur, (int)start.line + 1, (int)start.column + 1);
	pos->end = cursor_offset(f, cur, (int)end.line + 1, (int)end.column + 1);
}

struct ynode *ynode_new(struct arena *a, enum ynode_kind kind)
{
	struct ynode *n = arena_alloc(a, sizeof(*n));
	n->kind = kind;
	n->expanded = 1;
	n->str = "";
	return n;
}

struct ynode *ynode_scalar(struct arena *a, const char *s, const struct ypos *pos)
{
	struct ynode *n = ynode_new(a, YN_SCALAR);
	n->str = arena_strdup(a, s);
	n->len = strlen(s);
	if (pos)
		n->pos = *pos;
	return n;
}

struct ynode *ynode_copy(struct arena *a, const struct ynode *src)
{
	struct ynode *n = arena_alloc(a, sizeof(*n));
	*n = *src;
	n->cap = src->kind == YN_SCALAR ? 0 : src->n; /* the copy owns exactly n slots */
	if (src->kind != YN_SCALAR && src->n) {
		if (src->items) {
			n->items = arena_alloc(a, src->n * sizeof(*n->items));
			memcpy(n->items, src->items, src->n * sizeof(*n->items));
		}
		if (src->keys) {
			n->keys = arena_alloc(a, src->n * sizeof(*n->keys));
			n->vals = arena_alloc(a, src->n * sizeof(*n->vals));
			memcpy(n->keys, src->keys, src->n * sizeof(*n->keys));
			memcpy(n->vals, src->vals, src->n * sizeof(*n->vals));
		}
	}
	return n;
}

/* Grow in powers of two so repeated pushes stay amortised O(1). */
static size_t cap_for(size_t n)
{
	size_t c = 4;
	while (c < n)
		c *= 2;
	return c;
}

void yseq_push(struct arena *a, struct ynode *seq, struct ynode *item)
{
	if (seq->n == seq->cap) {
		seq->cap = cap_for(seq->n + 1);
		seq->items = arena_grow(a, seq->items, seq->n, seq->cap, sizeof(*seq->items));
	}
	seq->items[seq->n++] = item;
}

void ymap_push(struct arena *a, struct ynode *map, struct ynode *key, struct ynode *val)
{
	if (map->n == map->cap) {
		size_t c = cap_for(map->n + 1);
		map->keys = arena_grow(a, map->keys, map->n, c, sizeof(*map->keys));
		map->vals = arena_grow(a, map->vals, map->n, c, sizeof(*map->vals));
		map->cap = c;
	}
	map->keys[map->n] = key;
	map->vals[map->n] = val;
	map->n++;
}

int ynode_is_scalar(const struct ynode *n)
{
	return n && n->kind == YN_SCALAR;
}

int ynode_is_null(const struct ynode *n)
{
	if (!n)
		return 1;
	if (n->kind != YN_SCALAR || n->style != YS_PLAIN)
		return 0;
	return !strcmp(n->str, "") || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

long ymap_index(const struct ynode *n, const char *key)
{
	if (!n || n->kind != YN_MAP)
		return -1;
	for (size_t i = 0; i < n->n; i++)
		if (n->keys[i]->kind == YN_SCALAR && !strcmp(n->keys[i]->str, key))
			return (long)i;
	return -1;
}

struct ynode *ymap_get(const struct ynode *n, const char *key)
{
	long i = ymap_index(n, key);
	return i < 0 ? NULL : n->vals[i];
}

const char *ykind_name(const struct ynode *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YN_SCALAR:
		return ynode_is_null(n) ? "null" : "a string";
	case YN_SEQ:
		return "a list";
	case YN_MAP:
		return "a mapping";
	}
	return "?";
}

/* --- the builder --- */

struct anchor {
	const char *name;
	struct ynode *node;
};

struct frame {
	struct ynode *node;
	struct ynode **tmp; /* items, or keys and values interleaved */
	size_t n, alloc;
};

struct builder {
	struct arena *a;
	const struct srcfile *f;
	const struct ylimits *lim;
	struct diag *d;
	struct frame *stack;
	size_t depth, stack_alloc;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	struct ynode *root;
	int multi;             /* several documents allowed (ydoc_load_all) */
	struct ynode **docs;   /* with multi: the finished documents */
	size_t ndocs, docs_alloc;
	size_t expanded;       /* nodes of the finished documents, aliases expanded */
	struct ycursor cur;    /* last converted mark (linear positions) */
};

static size_t sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static int err_at_mark(struct builder *b, yaml_mark_t m, const char *fmt, const char *arg)
{
	return diag_at(b->d, b->f->display, (int)m.line + 1, (int)m.column + 1, fmt, arg);
}

static void anchor_set(struct builder *b, const char *name, struct ynode *n)
{
	n->anchor = arena_strdup(b->a, name);
	/* A redefined anchor shadows the earlier one from here on. */
	for (size_t i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, name)) {
			b->anchors[i].node = n;
			return;
		}
	ALLOC_GROW(b->anchors, b->nanchors + 1, b->anchors_alloc);
	b->anchors[b->nanchors].name = n->anchor;
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

static struct ynode *anchor_get(struct builder *b, const char *name)
{
	for (size_t i = b->nanchors; i-- > 0;)
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].node;
	return NULL;
}

/* One step of a key path: how child sits in the open container fr. */
static void path_step(const struct frame *fr, struct buf *out)
{
	if (fr->node->kind == YN_SEQ) {
		buf_addf(out, "[%zu]", fr->n);
		return;
	}
	if (!(fr->n & 1))
		return; /* no key pending: the position is the mapping itself */
	const struct ynode *k = fr->tmp[fr->n - 1];
	if (out->len)
		buf_addch(out, '.');
	buf_addstr(out, k->kind == YN_SCALAR ? k->str : "?");
}

/*
 * The key path ("services.api.environment") of the container open at
 * stack[upto - 1], or with pending 1 of the place its next value goes.
 */
static void key_path(const struct builder *b, size_t upto, int pending, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i + 1 < upto; i++)
		path_step(&b->stack[i], out);
	if (pending && upto)
		path_step(&b->stack[upto - 1], out);
}

/* Attach a finished node to the open container (or make it the root). */
static int attach(struct builder *b, struct ynode *n)
{
	if (!b->depth) {
		b->root = n;
		return 0;
	}
	struct frame *fr = &b->stack[b->depth - 1];
	ALLOC_GROW(fr->tmp, fr->n + 1, fr->alloc);
	fr->tmp[fr->n++] = n;
	fr->node->expanded = sat_add(fr->node->expanded, n->expanded);
	if (fr->node->expanded > b->lim->max_expanded) {
		struct buf path = BUF_INIT;
		key_path(b, b->depth, 0, &path);
		diag_at(b->d, b->f->display, fr->node->pos.line, fr->node->pos.col,
			"%s%saliases expand to more than %zu nodes (an alias bomb?)", path.buf,
			path.len ? ": " : "", b->lim->max_expanded);
		buf_release(&path);
		return -1;
	}
	return 0;
}

static int open_container(struct builder *b, struct ynode *n, yaml_mark_t m)
{
	if (b->depth >= b->lim->max_depth) {
		struct buf path = BUF_INIT;
		key_path(b, b->depth, 1, &path);
		if (path.len > 48) {
			buf_setlen(&path, 45);
			buf_addstr(&path, "...");
		}
		diag_at(b->d, b->f->display, (int)m.line + 1, (int)m.column + 1,
			"%s%snesting deeper than %zu levels", path.buf, path.len ? ": " : "",
			b->lim->max_depth);
		buf_release(&path);
		return -1;
	}
	ALLOC_GROW(b->stack, b->depth + 1, b->stack_alloc);
	b->stack[b->depth].node = n;
	b->stack[b->depth].tmp = NULL;
	b->stack[b->depth].n = b->stack[b->depth].alloc = 0;
	b->depth++;
	return 0;
}

static int is_merge_key(const struct ynode *k)
{
	return k->kind == YN_SCALAR && k->style == YS_PLAIN && !strcmp(k->str, "<<");
}

static int key_eq(const struct ynode *a, const struct ynode *b)
{
	return a->kind == YN_SCALAR && b->kind == YN_SCALAR && a->len == b->len &&
	       !memcmp(a->str, b->str, a->len);
}

static int has_key(struct ynode **kv, size_t npairs, const struct ynode *k)
{
	for (size_t i = 0; i < npairs; i++)
		if (!is_merge_key(kv[2 * i]) && key_eq(kv[2 * i], k))
			return 1;
	return 0;
}

/* Close a mapping: check duplicate keys, resolve `<<` merge keys. */
static int close_map(struct builder *b, struct frame *fr)
{
	struct ynode *map = fr->node;
	size_t npairs = fr->n / 2;
	int merges = 0;

	/* Big mappings (a large stack's services) find duplicates by hash. */
	struct strmap seen = STRMAP_INIT;
	int hashed = npairs > 32;
	for (size_t i = 0; i < npairs; i++) {
		struct ynode *k = fr->tmp[2 * i];
		if (is_merge_key(k)) {
			merges = 1;
			continue;
		}
		size_t from = 0, to = i;
		if (hashed && k->kind == YN_SCALAR && strlen(k->str) == k->len) {
			size_t at = (size_t)(uintptr_t)strmap_getn(&seen, k->str, k->len);
			if (!at) {
				strmap_put(&seen, k->str, (void *)(uintptr_t)(i + 1));
				continue;
			}
			from = at - 1;
			to = at;
		}
		for (size_t j = from; j < to; j++)
			if (!is_merge_key(fr->tmp[2 * j]) && key_eq(fr->tmp[2 * j], k)) {
				strmap_clear(&seen);
				struct buf path = BUF_INIT;
				key_path(b, b->depth, 0, &path);
				diag_at(b->d, b->f->display, k->pos.line, k->pos.col,
					"%s%sduplicate key '%s' (first at line %d)", path.buf,
					path.len ? ": " : "", k->str, fr->tmp[2 * j]->pos.line);
				buf_release(&path);
				return -1;
			}
	}
	strmap_clear(&seen);
	for (size_t i = 0; i < npairs; i++) {
		struct ynode *k = fr->tmp[2 * i], *v = fr->tmp[2 * i + 1];
		if (!is_merge_key(k)) {
			ymap_push(b->a, map, k, v);
			continue;
		}
		size_t nsrc = v->kind == YN_SEQ ? v->n : 1;
		for (size_t s = 0; s < nsrc; s++) {
			struct ynode *src = v->kind == YN_SEQ ? v->items[s] : v;
			if (src->kind != YN_MAP) {
				struct buf path = BUF_INIT;
				key_path(b, b->depth, 0, &path);
				diag_at(b->d, b->f->display, k->pos.line, k->pos.col,
					"%s%smerge key '<<' needs a mapping or a list of mappings, not %s",
					path.buf, path.len ? ": " : "", ykind_name(src));
				buf_release(&path);
				return -1;
			}
			for (size_t j = 0; j < src->n; j++) {
				if (has_key(fr->tmp, npairs, src->keys[j]) ||
				    ymap_index(map, src->keys[j]->str) >= 0)
					continue;
				ymap_push(b->a, map, src->keys[j], src->vals[j]);
			}
		}
	}
	(void)merges;
	return 0;
}

static int close_container(struct builder *b)
{
	struct frame *fr = &b->stack[b->depth - 1];
	struct ynode *n = fr->node;
	int ret = 0;

	if (n->kind == YN_SEQ) {
		n->n = n->cap = fr->n;
		if (fr->n) {
			n->items = arena_alloc(b->a, fr->n * sizeof(*n->items));
			memcpy(n->items, fr->tmp, fr->n * sizeof(*n->items));
		}
	} else {
		ret = close_map(b, fr);
	}
	free(fr->tmp);
	b->depth--;
	if (ret)
		return ret;
	return attach(b, n);
}

static const char *tag_of(struct builder *b, const yaml_char_t *tag)
{
	if (!tag)
		return NULL;
	return arena_strdup(b->a, (const char *)tag);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * libyaml starts a node's event at its properties (`&anchor`, `!tag`), not
 * at its text: `k: &a value` gives a scalar event from "&a".  Move a
 * scalar's start past them (and the blanks, line breaks and comments
 * between them and the text) so its span is exactly its literal.
 */
static void skip_properties(const struct srcfile *f, struct ypos *pos)
{
	size_t p = pos->start, end = pos->end;
	int moved = 0;

	while (p < end && (f->data[p] == '&' || f->data[p] == '!')) {
		if (f->data[p] == '!' && p + 1 < end && f->data[p + 1] == '<') {
			while (p < end && f->data[p] != '>')
				p++;
			if (p < end)
				p++;
		}
		while (p < end && !is_blank(f->data[p]))
			p++;
		for (;;) {
			while (p < end && is_blank(f->data[p]))
				p++;
			if (p < end && f->data[p] == '#') {
				while (p < end && f->data[p] != '\n')
					p++;
				continue;
			}
			break;
		}
		moved = 1;
	}
	if (!moved)
		return;
	/* Count the characters skipped on the node's own line; past a line
	 * break, the new line's start is near p, so srcfile_linecol is cheap. */
	int col = pos->col, crossed = 0;
	for (size_t q = pos->start; q < p && !crossed; q += utf8_step((unsigned char)f->data[q])) {
		crossed = f->data[q] == '\n' || f->data[q] == '\r' || break_len(f->data + q, f->data + f->len);
		col++;
	}
	pos->start = p;
	if (crossed)
		srcfile_linecol(f, p, &pos->line, &pos->col);
	else
		pos->col = col;
}

static int handle_event(struct builder *b, yaml_event_t *ev, int *done)
{
	struct ynode *n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = ynode_new(b->a, YN_SCALAR);
		n->str = arena_strndup(b->a, (const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		switch (ev->data.scalar.style) {
		case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YS_SINGLE; break;
		case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YS_DOUBLE; break;
		case YAML_LITERAL_SCALAR_STYLE: n->style = YS_LITERAL; break;
		case YAML_FOLDED_SCALAR_STYLE: n->style = YS_FOLDED; break;
		default: n->style = YS_PLAIN; break;
		}
		n->tag = tag_of(b, ev->data.scalar.tag);
		set_pos(&n->pos, b->f, &b->cur, ev->start_mark, ev->end_mark);
		if (ev->data.scalar.anchor || ev->data.scalar.tag)
			skip_properties(b->f, &n->pos);
		if (ev->data.scalar.anchor)
			anchor_set(b, (const char *)ev->data.scalar.anchor, n);
		return attach(b, n);
	case YAML_ALIAS_EVENT:
		n = anchor_get(b, (const char *)ev->data.alias.anchor);
		if (!n)
			return err_at_mark(b, ev->start_mark, "unknown alias '*%s'",
					   (const char *)ev->data.alias.anchor);
		for (size_t i = 0; i < b->depth; i++)
			if (b->stack[i].node == n)
				return err_at_mark(b, ev->start_mark,
						   "alias '*%s' is inside the node it refers to (a recursive alias)",
						   (const char *)ev->data.alias.anchor);
		return attach(b, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n = ynode_new(b->a, ev->type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP);
		set_pos(&n->pos, b->f, &b->cur, ev->start_mark, ev->end_mark);
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			n->tag = tag_of(b, ev->data.sequence_start.tag);
			if (ev->data.sequence_start.anchor)
				anchor_set(b, (const char *)ev->data.sequence_start.anchor, n);
		} else {
			n->tag = tag_of(b, ev->data.mapping_start.tag);
			if (ev->data.mapping_start.anchor)
				anchor_set(b, (const char *)ev->data.mapping_start.anchor, n);
		}
		return open_container(b, n, ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT: {
		struct ynode *c = b->stack[b->depth - 1].node;
		c->pos.end = cursor_offset(b->f, &b->cur, (int)ev->end_mark.line + 1,
					   (int)ev->end_mark.column + 1);
		return close_container(b);
	}
	case YAML_DOCUMENT_START_EVENT:
		if (b->root && !b->multi)
			return err_at_mark(b, ev->start_mark, "%s",
					   "more than one YAML document in one file");
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (!b->multi)
			return 0;
		if (ynode_is_null(b->root)) { /* an empty document ("---" at the end) */
			b->root = NULL;
			b->nanchors = 0;
			return 0;
		}
		/* Anchors do not cross documents; the expansion bound covers them all. */
		b->expanded = sat_add(b->expanded, b->root->expanded);
		if (b->expanded > b->lim->max_expanded)
			return err_at_mark(b, ev->start_mark, "%s",
					   "the documents' aliases expand to more nodes than the limit "
					   "(an alias bomb?)");
		ALLOC_GROW(b->docs, b->ndocs + 1, b->docs_alloc);
		b->docs[b->ndocs++] = b->root;
		b->root = NULL;
		b->nanchors = 0;
		return 0;
	case YAML_STREAM_END_EVENT:
		*done = 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * libyaml's own words, placed at the problem, with the key path being
 * parsed and where the construct that failed began ("while scanning a
 * quoted scalar that began at 5:21"): for an unterminated quote the
 * problem is the end of the file, the useful place is the opening quote.
 */
static void yaml_error(struct builder *b, const yaml_parser_t *parser)
{
	yaml_mark_t m = parser->problem_mark, cm = parser->context_mark;
	struct buf path = BUF_INIT, ctx = BUF_INIT;

	/*
	 * A reader error (bad UTF-8, a control character) has no mark, only a
	 * byte offset, and the reader runs ahead of the parser: place it at
	 * that byte and name the byte, without the key path of wherever the
	 * parser happens to be.
	 */
	if (parser->error == YAML_READER_ERROR) {
		size_t off = parser->problem_offset;
		if (off > b->f->len)
			off = b->f->len;
		int line = 1, col = 1;
		for (size_t i = 0; i < off; i++) {
			unsigned char ch = (unsigned char)b->f->data[i];
			if (ch == '\n') {
				line++;
				col = 1;
			} else if ((ch & 0xc0) != 0x80) {
				col++;
			}
		}
		if (parser->problem_value >= 0)
			diag_at(b->d, b->f->display, line, col, "%s (byte 0x%02x)",
				parser->problem ? parser->problem : "invalid input",
				(unsigned)parser->problem_value & 0xffu);
		else
			diag_at(b->d, b->f->display, line, col, "%s",
				parser->problem ? parser->problem : "invalid input");
		return;
	}

	key_path(b, b->depth, 1, &path);
	if (parser->context) {
		buf_addf(&ctx, " %s", parser->context);
		if (cm.line != m.line || cm.column != m.column)
			buf_addf(&ctx, " that began at %d:%d", (int)cm.line + 1, (int)cm.column + 1);
	}
	diag_at(b->d, b->f->display, (int)m.line + 1, (int)m.column + 1, "%s%s%s%s", path.buf,
		path.len ? ": " : "", parser->problem ? parser->problem : "invalid YAML", ctx.buf);
	buf_release(&path);
	buf_release(&ctx);
}

static int load(struct arena *a, const struct srcfile *f, const struct ylimits *lim, int multi,
		struct builder *bp, struct diag *d)
{
	struct ylimits deflim = YLIMITS_DEFAULT;
	struct builder b = { .a = a, .f = f, .lim = lim ? lim : &deflim, .d = d, .multi = multi };
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, ret = 0, docs = 0;

	if (f->len > b.lim->max_bytes)
		return diag_err(d, "%s: file is larger than the limit of %zu bytes", f->display,
				b.lim->max_bytes);
	/* Spans are UTF-8 byte offsets: refuse UTF-16 rather than mis-place them. */
	if (f->len >= 2 && (((unsigned char)f->data[0] == 0xFE && (unsigned char)f->data[1] == 0xFF) ||
			    ((unsigned char)f->data[0] == 0xFF && (unsigned char)f->data[1] == 0xFE)))
		return diag_err(d, "%s: the file is UTF-16; compose files must be UTF-8 "
				"(convert it with iconv -f UTF-16 -t UTF-8)", f->display);
	if (!yaml_parser_initialize(&parser))
		return diag_err(d, "%s: cannot initialise the YAML parser", f->display);
	yaml_parser_set_input_string(&parser, (const unsigned char *)f->data, f->len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_error(&b, &parser);
			ret = -1;
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1 && !multi) {
			diag_at(d, f->display, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				"more than one YAML document in one file");
			yaml_event_delete(&ev);
			ret = -1;
			break;
		}
		ret = handle_event(&b, &ev, &done);
		yaml_event_delete(&ev);
		if (ret)
			break;
	}
	yaml_parser_delete(&parser);
	while (b.depth)
		free(b.stack[--b.depth].tmp);
	free(b.stack);
	free(b.anchors);
	if (ret) {
		free(b.docs);
		return -1;
	}
	*bp = b;
	return 0;
}

int ydoc_load(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
	      struct ynode **out, struct diag *d)
{
	struct builder b;
	if (load(a, f, lim, 0, &b, d))
		return -1;
	*out = b.root;
	return 0;
}

int ydoc_load_all(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
		  struct ynode ***out, size_t *nout, struct diag *d)
{
	struct builder b;
	if (load(a, f, lim, 1, &b, d))
		return -1;
	*out = arena_alloc(a, (b.ndocs ? b.ndocs : 1) * sizeof(**out));
	if (b.ndocs)
		memcpy(*out, b.docs, b.ndocs * sizeof(**out));
	*nout = b.ndocs;
	free(b.docs);
	return 0;
}

static const struct ynode *scalar_at(const struct ynode *n, size_t start, int depth)
{
	if (!n || depth > 128)
		return NULL;
	if (n->kind == YN_SCALAR)
		return n->pos.start == start ? n : NULL;
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *r;
		if (n->kind == YN_MAP && (r = scalar_at(n->keys[i], start, depth + 1)))
			return r;
		if ((r = scalar_at(n->kind == YN_MAP ? n->vals[i] : n->items[i], start, depth + 1)))
			return r;
	}
	return NULL;
}

int ydoc_scalars_at(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
		    struct yscalar_at *v, size_t n, struct diag *d)
{
	struct ynode **docs = NULL;
	size_t ndocs = 0;
	if (ydoc_load_all(a, f, lim, &docs, &ndocs, d))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *node = NULL;
		for (size_t k = 0; k < ndocs && !node; k++)
			node = scalar_at(docs[k], v[i].start, 0);
		v[i].str = node ? node->str : NULL;
		v[i].len = node ? node->len : 0;
	}
	return 0;
}

/*
 * ydoc: a YAML document as a tree of nodes that remember where they came from.
 *
 * libyaml's own document API loses what dsnflip needs most: the exact byte
 * span of every scalar (for rewriting one value in place), merge keys (`<<`,
 * which libyaml leaves to the application) and bounds on alias expansion.
 * This module builds its own tree from libyaml's event stream:
 *  - every node carries its position: file, 1-based line and column, and the
 *    byte span [start, end) of its literal text in the file's bytes (libyaml's
 *    mark.index counts characters, so bytes are recomputed from line/column).
 *    A scalar's span is its literal exactly: quotes included, its `&anchor`
 *    and `!tag` excluded; a block scalar's runs from the `|`/`>` indicator
 *    through the line break ending its last line (trailing blank lines that
 *    libyaml consumed included).  Files must be UTF-8 (a BOM is skipped);
 *    UTF-16 is refused;
 *  - aliases point at the anchored node (the tree is a DAG), and the size
 *    the tree would have with every alias expanded is computed as it is built,
 *    so an alias bomb is rejected before anything walks it;
 *  - `<<` merge keys are resolved when their mapping ends; explicit keys win,
 *    then earlier merged maps win over later ones (YAML 1.1 merge semantics);
 *    merged entries keep their own positions (inside the anchored map);
 *  - duplicate keys are errors; errors name the key path being read
 *    ("services.api.environment: duplicate key ...");
 *  - tags on nodes are kept (`!reset`, `!override`).
 * All nodes live in the caller's arena.
 */
#ifndef DSNFLIP_YDOC_H
#define DSNFLIP_YDOC_H

#include <stddef.h>
#include "util/arena.h"
#include "util/diag.h"

/* A file read into memory; the unit that origins point into. */
struct srcfile {
	char *path;    /* as opened (absolute or relative to the cwd) */
	char *display; /* relative to the project directory, for messages and plans */
	char *data;
	size_t len;
	size_t *line_starts; /* byte offset of each line's first byte */
	size_t nlines;
};

struct ypos {
	const struct srcfile *file;
	int line, col;     /* 1-based; col counts characters */
	size_t start, end; /* byte span of the node's literal text */
};

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };
enum yscalar_style { YS_PLAIN, YS_SINGLE, YS_DOUBLE, YS_LITERAL, YS_FOLDED };

struct ynode {
	enum ynode_kind kind;
	const char *tag;     /* NULL, or e.g. "!reset", "!override" */
	const char *anchor;  /* name of the anchor set on this node, if any */
	struct ypos pos;
	/* scalar */
	const char *str;
	size_t len;
	enum yscalar_style style;
	/* seq: items[0..n); map: keys[0..n) with vals[0..n) */
	size_t n;
	size_t cap;          /* slots allocated in items / keys+vals (pushes grow it) */
	struct ynode **items;
	struct ynode **keys;
	struct ynode **vals;
	size_t expanded;     /* node count with every alias expanded (saturating) */
	/* Interpolation results set by the compose loader (see compose.c). */
	const void *value_origin; /* compose: the struct origin of the variable a whole-value
	                             "${VAR}" reference resolved to (the text lives there) */
	const char *value_var;    /* compose: that variable's name */
	const char *raw;     /* the literal before interpolation, when it changed */
	int list_form;       /* environment entry written as "- KEY=VALUE": pos spans the item */
};

struct ylimits {
	size_t max_bytes;    /* file size */
	size_t max_depth;    /* nesting */
	size_t max_expanded; /* nodes with aliases expanded */
};
#define YLIMITS_DEFAULT { 16u << 20, 64, 1000000 }

/* Read a file into a new srcfile in the arena; display is copied. */
int srcfile_read(struct arena *a, const char *path, const char *display,
		 size_t max_bytes, struct srcfile **out, struct diag *d);
/* Make a srcfile from bytes already in memory (tests, stdin). */
struct srcfile *srcfile_from(struct arena *a, const char *display, const char *data, size_t len);
/* Byte offset of a 1-based line and character column (UTF-8). */
size_t srcfile_offset(const struct srcfile *f, int line, int col);
/* The 1-based line and character column of a byte offset (the inverse). */
void srcfile_linecol(const struct srcfile *f, size_t off, int *line, int *col);

/*
 * Parse the single document in f.  An empty file gives *out == NULL.
 * Errors are "display:line:col: message" (libyaml's problem text kept).
 */
int ydoc_load(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
	      struct ynode **out, struct diag *d);
/*
 * Every document of a `---`-separated stream, in order (empty documents
 * skipped): compose v2 merges them as successive layers.  Anchors do not
 * cross documents; the alias expansion limit bounds them all together.
 */
int ydoc_load_all(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
		  struct ynode ***out, size_t *nout, struct diag *d);

/* A scalar looked up by where its literal text starts (ydoc_scalars_at). */
struct yscalar_at {
	size_t start;     /* in: the byte offset of the scalar's literal text */
	const char *str;  /* out: its value (in the arena), NULL when no scalar starts there */
	size_t len;
};
/*
 * Parse every document of f (as ydoc_load_all) and find, for each
 * v[i].start, the scalar (a key or a value) whose literal starts there:
 * how an edited file is read back without its reader walking nodes.
 * Returns 0, or -1 with d when f does not parse (v untouched).
 */
int ydoc_scalars_at(struct arena *a, const struct srcfile *f, const struct ylimits *lim,
		    struct yscalar_at *v, size_t n, struct diag *d);

/* Helpers over the tree. */
int ynode_is_null(const struct ynode *n);
int ynode_is_scalar(const struct ynode *n);
/* Map lookup by key text; NULL when absent or n is not a map. */
struct ynode *ymap_get(const struct ynode *n, const char *key);
/* Index of key in map, or -1. */
long ymap_index(const struct ynode *n, const char *key);
/* New nodes in the arena. */
struct ynode *ynode_new(struct arena *a, enum ynode_kind kind);
struct ynode *ynode_scalar(struct arena *a, const char *s, const struct ypos *pos);
/* Append to a seq, or a key/value to a map (growing in the arena). */
void yseq_push(struct arena *a, struct ynode *seq, struct ynode *item);
void ymap_push(struct arena *a, struct ynode *map, struct ynode *key, struct ynode *val);
/* Shallow copy of a node (children shared). */
struct ynode *ynode_copy(struct arena *a, const struct ynode *n);
const char *ykind_name(const struct ynode *n);

#endif

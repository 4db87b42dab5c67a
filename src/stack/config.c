/*
 * config: dsnflip.yml read into a struct config (the schema is in config.h).
 *
 * The file overrides what detection decided about a production database,
 * so it is read strictly: every key is checked against the keys its level
 * allows, every value against its type, and the first problem is reported
 * as file:line:col naming the place and what was expected.  A typo must
 * fail loudly rather than leave the plan silently unchanged.
 *
 * The YAML tree is built in a scratch arena and dropped once loaded; the
 * source file (which every kept ypos points into) and every kept string
 * live in the config's own arena, freed whole by config_free().
 */
#include "stack/config.h"
#include "util/num.h"
#include "util/path.h"

#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A real config is a few dozen lines; anything near these is not one. */
static const struct ylimits config_limits = { 1u << 20, 16, 100000 };

/* PostgreSQL's MAX_BACKENDS: no connection count can go above it. */
#define MAX_CONN 262143

static const char *const top_keys[] = {
	"headroom", "window", "server", "services", "roles", "defaults", "keep", "patterns",
	"superusers", "lint", "allow_paths", NULL
};
static const char *const lint_keys[] = { "disable", NULL };
static const char *const server_keys[] = {
	"max_connections", "superuser_reserved_connections", "reserved_connections", NULL
};
static const char *const service_keys[] = { "class", "role", "connection_limit", "order", NULL };
static const char *const role_keys[] = { "connection_limit", "settings", "adopt", NULL };
static const char *const defaults_keys[] = { "settings", "reader_settings", NULL };
static const char *const patterns_keys[] = { "migration", "failure", NULL };
static const char *const setting_keys[] = {
	"idle_session_timeout", "idle_in_transaction_session_timeout", "statement_timeout",
	"lock_timeout", "work_mem", "search_path", "application_name", NULL
};
static const char *const classes[] = { "migrator", "writer", "reader", NULL };
/* Names CREATE ROLE refuses (besides the pg_ prefix) or that mean someone else. */
static const char *const reserved_roles[] = {
	"public", "none", "current_user", "current_role", "session_user", NULL
};
/* Units PostgreSQL accepts for time and memory settings (case-sensitive). */
static const char *const time_units[] = { "us", "ms", "s", "min", "h", "d", NULL };
static const char *const memory_units[] = { "B", "kB", "MB", "GB", "TB", NULL };

struct loader {
	struct config *c;
	struct arena *tmp; /* message text */
	const char *file;  /* display name */
	const char *dir;   /* the config file's directory (absolute) */
	struct diag *d;
};

static int err(struct loader *l, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record "file:line:col: message" at node at; returns -1. */
static int err(struct loader *l, const struct ynode *at, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	diag_at(l->d, l->file, at->pos.line, at->pos.col, "%s", b.buf);
	buf_release(&b);
	return -1;
}

static long lookup(const char *const *list, const char *s)
{
	for (long i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return i;
	return -1;
}

static const char *join(struct loader *l, const char *const *list)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; list[i]; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", list[i]);
	const char *s = arena_strdup(l->tmp, b.buf);
	buf_release(&b);
	return s;
}

/* Input text fit for a one-line message: control bytes as '?', cut at 64 bytes. */
static const char *show(struct loader *l, const char *s)
{
	size_t n = strlen(s), max = 64;
	char *p = arena_strndup(l->tmp, s, n > max ? max : n);
	for (char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return n > max ? arena_strfmt(l->tmp, "%s...", p) : p;
}

static const char *sub(struct loader *l, const char *where, const char *key)
{
	return arena_strfmt(l->tmp, "%s.%s", where, show(l, key));
}

/*
 * Check that key k is one of allowed (noun: "key" or "setting"); where names
 * the mapping, NULL for the top level.  Returns its index or -1.
 */
static long key_index(struct loader *l, const struct ynode *k, const char *where,
		      const char *const *allowed, const char *noun)
{
	const char *in = where ? arena_strfmt(l->tmp, "in %s", where) : "at the top level";
	long i;

	if (k->kind != YN_SCALAR)
		return err(l, k, "a key %s must be a string, not %s", in, ykind_name(k));
	i = lookup(allowed, k->str);
	if (i < 0 || strlen(k->str) != k->len)
		return err(l, k, "unknown %s '%s' %s (expected one of: %s)", noun, show(l, k->str), in,
			   join(l, allowed));
	return i;
}

/* A section that must be a mapping; null counts as an empty one. */
static int want_map(struct loader *l, const struct ynode *v, const char *where)
{
	if (v->kind == YN_MAP || ynode_is_null(v))
		return 0;
	return err(l, v, "%s must be a mapping, not %s", where, ykind_name(v));
}

/* A section that must be a list; null counts as an empty one. */
static int want_seq(struct loader *l, const struct ynode *v, const char *where)
{
	if (v->kind == YN_SEQ || ynode_is_null(v))
		return 0;
	return err(l, v, "%s must be a list, not %s", where, ykind_name(v));
}

/* Entries of a mapping or list already checked by want_map/want_seq (null: 0). */
static size_t count(const struct ynode *v)
{
	return v->kind == YN_SCALAR ? 0 : v->n;
}

/*
 * A decimal integer in [min, max] (min is 0 or 1), quoted or not.  No sign,
 * no leading zeros (YAML 1.1 would read 015 as octal), no 0x or 1_000, no 1e3.
 * Every refusal states the range.
 */
static int get_int(struct loader *l, const struct ynode *v, const char *name, int min, int max,
		   int *out)
{
	if (v->kind != YN_SCALAR || ynode_is_null(v) || !v->len || strlen(v->str) != v->len ||
	    (v->str[0] == '0' && v->len > 1) || v->str[0] == '-' ||
	    num_parse_int(v->str, min, max, out) != NUM_OK)
		return err(l, v, "%s must be a whole number from %d to %d", name, min, max);
	return 0;
}

/* A non-null scalar's text, copied into the config's arena. */
static int get_str(struct loader *l, const struct ynode *v, const char *name, const char **out)
{
	if (v->kind != YN_SCALAR || ynode_is_null(v))
		return err(l, v, "%s must be a string, not %s", name, ykind_name(v));
	if (strlen(v->str) != v->len)
		return err(l, v, "%s contains a NUL byte", name);
	*out = arena_strndup(&l->c->arena, v->str, v->len);
	return 0;
}

/* true or false, plain (YAML 1.1's yes/no/on/off are refused: a typo must not decide). */
static int get_bool(struct loader *l, const struct ynode *v, const char *name, int *out)
{
	if (v->kind == YN_SCALAR && v->style == YS_PLAIN && strlen(v->str) == v->len &&
	    (!strcmp(v->str, "true") || !strcmp(v->str, "false"))) {
		*out = !strcmp(v->str, "true");
		return 0;
	}
	return err(l, v, "%s must be true or false", name);
}

/* ^[a-z_][a-z0-9_]{0,62}$: a name that never needs quoting in SQL. */
static int is_role_name(const char *s)
{
	size_t n = 0;

	if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return n <= 63;
}

/* where: the key path ("services.api.role", "roles"). */
static int check_role_name(struct loader *l, const struct ynode *at, const char *where,
			   const char *s)
{
	if (!is_role_name(s))
		return err(l, at, "%s: '%s' is not a valid role name (lowercase letters, digits and _, "
			   "not starting with a digit, at most 63 bytes)", where, show(l, s));
	if (!strncmp(s, "pg_", 3) || lookup(reserved_roles, s) >= 0)
		return err(l, at, "%s: '%s' is reserved by PostgreSQL", where, s);
	/* ALTER ROLE postgres NOSUPERUSER CONNECTION LIMIT n would lock the admin out. */
	if (!strcmp(s, "postgres"))
		return err(l, at, "%s: 'postgres' is the superuser that services are moved off; "
			   "choose another role name", where);
	return 0;
}

/* A mapping key naming a service or role: a non-empty string, copied. */
static int get_name(struct loader *l, const struct ynode *k, const char *what, const char **out)
{
	if (k->kind != YN_SCALAR || ynode_is_null(k) || !k->len || strlen(k->str) != k->len)
		return err(l, k, "%s must be a non-empty string", what);
	*out = arena_strndup(&l->c->arena, k->str, k->len);
	return 0;
}

/*
 * The text PostgreSQL accepts for a setting with units: a number (maybe with
 * a fraction), optional spaces, then one of units or none.
 */
static int is_pg_quantity(const char *s, const char *const *units)
{
	const char *p = s;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	while (*p == ' ')
		p++;
	return !*p || lookup(units, p) >= 0;
}

/*
 * A settings mapping (where names it).  Values keep their text; timeouts and
 * work_mem must be something PostgreSQL will take, so a bad value fails here
 * rather than halfway through applying roles on the server.
 */
static int load_settings(struct loader *l, const struct ynode *v, const char *where,
			 struct config_kv **out, size_t *nout)
{
	size_t n;

	if (want_map(l, v, where))
		return -1;
	n = count(v);
	if (!n)
		return 0;
	struct config_kv *kv = arena_alloc(&l->c->arena, n * sizeof(*kv));
	for (size_t i = 0; i < n; i++) {
		const struct ynode *k = v->keys[i], *val = v->vals[i];
		long idx = key_index(l, k, where, setting_keys, "setting");
		const char *name, *text;

		if (idx < 0)
			return -1;
		name = setting_keys[idx];
		const char *path = sub(l, where, name);
		if (get_str(l, val, path, &text))
			return -1;
		if (str_ends(name, "_timeout") && !is_pg_quantity(text, time_units))
			return err(l, val, "%s: '%s' is not a PostgreSQL duration "
				   "(a number and one of: %s)", path, show(l, text),
				   join(l, time_units));
		if (!strcmp(name, "work_mem") && !is_pg_quantity(text, memory_units))
			return err(l, val, "%s: '%s' is not a PostgreSQL memory size "
				   "(a number and one of: %s)", path, show(l, text),
				   join(l, memory_units));
		kv[i].key = arena_strdup(&l->c->arena, name);
		kv[i].value = text;
		kv[i].pos = k->pos;
	}
	*out = kv;
	*nout = n;
	return 0;
}

static int load_server(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;
	const struct ynode *max_node = NULL;

	if (want_map(l, v, "server"))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		const struct ynode *val = v->vals[i];
		long idx = key_index(l, v->keys[i], "server", server_keys, "key");
		int ret;

		switch (idx) {
		case 0:
			ret = get_int(l, val, "server.max_connections", 1, MAX_CONN, &c->max_connections);
			max_node = val;
			break;
		case 1:
			ret = get_int(l, val, "server.superuser_reserved_connections", 0, MAX_CONN,
				      &c->superuser_reserved);
			break;
		case 2:
			ret = get_int(l, val, "server.reserved_connections", 0, MAX_CONN, &c->reserved);
			break;
		default:
			return -1;
		}
		if (ret)
			return -1;
	}
	/* The server itself refuses to start otherwise. */
	if (max_node) {
		int sr = c->superuser_reserved > 0 ? c->superuser_reserved : 0;
		int r = c->reserved > 0 ? c->reserved : 0;
		if (sr + r >= c->max_connections)
			return err(l, max_node, "server.max_connections (%d) must be more than "
				   "superuser_reserved_connections plus reserved_connections (%d)",
				   c->max_connections, sr + r);
	}
	return 0;
}

static int load_service(struct loader *l, const struct ynode *k, const struct ynode *v,
			struct config_service *s)
{
	const char *where;

	if (get_name(l, k, "a service name", &s->name))
		return -1;
	s->pos = k->pos;
	where = sub(l, "services", s->name);
	if (want_map(l, v, where))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		const struct ynode *val = v->vals[i];
		long idx = key_index(l, v->keys[i], where, service_keys, "key"), cls;
		int ret = 0;

		switch (idx) {
		case 0:
			cls = val->kind == YN_SCALAR && strlen(val->str) == val->len ?
			      lookup(classes, val->str) : -1;
			if (cls < 0)
				return err(l, val, "%s must be one of %s", sub(l, where, "class"),
					   join(l, classes));
			s->cls = arena_strdup(&l->c->arena, classes[cls]);
			s->cls_pos = val->pos;
			break;
		case 1:
			ret = get_str(l, val, sub(l, where, "role"), &s->role) ||
			      check_role_name(l, val, sub(l, where, "role"), s->role);
			break;
		case 2:
			ret = get_int(l, val, sub(l, where, "connection_limit"), 1, MAX_CONN,
				      &s->connection_limit);
			break;
		case 3:
			ret = get_int(l, val, sub(l, where, "order"), 1, INT_MAX, &s->order);
			break;
		default:
			return -1;
		}
		if (ret)
			return -1;
	}
	return 0;
}

static int load_role(struct loader *l, const struct ynode *k, const struct ynode *v,
		     struct config_role *r)
{
	const char *where;

	if (get_name(l, k, "a role name", &r->name) || check_role_name(l, k, "roles", r->name))
		return -1;
	r->pos = k->pos;
	where = sub(l, "roles", r->name);
	if (want_map(l, v, where))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		const struct ynode *val = v->vals[i];
		long idx = key_index(l, v->keys[i], where, role_keys, "key");
		int ret;

		switch (idx) {
		case 0:
			ret = get_int(l, val, sub(l, where, "connection_limit"), 1, MAX_CONN,
				      &r->connection_limit);
			break;
		case 1:
			ret = load_settings(l, val, sub(l, where, "settings"), &r->settings,
					    &r->nsettings);
			break;
		case 2:
			ret = get_bool(l, val, sub(l, where, "adopt"), &r->adopt);
			break;
		default:
			return -1;
		}
		if (ret)
			return -1;
	}
	return 0;
}

/* services: and roles: are mappings of name to entry, kept in file order. */
static int load_services(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_map(l, v, "services"))
		return -1;
	c->nservices = count(v);
	if (c->nservices)
		c->services = arena_alloc(&c->arena, c->nservices * sizeof(*c->services));
	for (size_t i = 0; i < c->nservices; i++)
		if (load_service(l, v->keys[i], v->vals[i], &c->services[i]))
			return -1;
	return 0;
}

static int load_roles(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_map(l, v, "roles"))
		return -1;
	c->nroles = count(v);
	if (c->nroles)
		c->roles = arena_alloc(&c->arena, c->nroles * sizeof(*c->roles));
	for (size_t i = 0; i < c->nroles; i++)
		if (load_role(l, v->keys[i], v->vals[i], &c->roles[i]))
			return -1;
	return 0;
}

static int load_defaults(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_map(l, v, "defaults"))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		long idx = key_index(l, v->keys[i], "defaults", defaults_keys, "key");
		int ret;

		if (idx == 0)
			ret = load_settings(l, v->vals[i], "defaults.settings", &c->settings,
					    &c->nsettings);
		else if (idx == 1)
			ret = load_settings(l, v->vals[i], "defaults.reader_settings",
					    &c->reader_settings, &c->nreader_settings);
		else
			return -1;
		if (ret)
			return -1;
	}
	return 0;
}

/* keep: [schema.object, ...]: one dot, a name on each side, no spaces. */
static int is_qualified(const char *s)
{
	const char *dot = strchr(s, '.');

	if (!dot || dot == s || !dot[1] || strchr(dot + 1, '.'))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static int load_keep(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_seq(l, v, "keep"))
		return -1;
	c->nkeep = count(v);
	if (c->nkeep)
		c->keep = arena_alloc(&c->arena, c->nkeep * sizeof(*c->keep));
	for (size_t i = 0; i < c->nkeep; i++) {
		const struct ynode *it = v->items[i];

		if (it->kind != YN_SCALAR || ynode_is_null(it))
			return err(l, it, "keep entries must be strings like schema.object, not %s",
				   ykind_name(it));
		if (strlen(it->str) != it->len || !is_qualified(it->str))
			return err(l, it, "keep entry '%s' must look like schema.object",
				   show(l, it->str));
		c->keep[i] = arena_strndup(&c->arena, it->str, it->len);
	}
	return 0;
}

#define REGEX_MAX_LEN 256
#define REGEX_MAX_NODES 4096
#define REGEX_MAX_REPEAT_DEPTH 2

/*
 * Is an extended regex cheap to compile?  glibc's regcomp copies a repeated
 * part once per repetition it has to spell out (x+ is x x*, x{3,5} five
 * copies), copies of copies multiply, and the empty paths that optional
 * parts nested in repetitions create make its closure computation explode:
 * fuzzing dsnflip.yml found `co+++...` (65 '+') taking all memory and
 * `=???...++?++++++` running for minutes.  So, innermost first:
 *  - a repetition directly after another (a++, a+?, a{2}*) is refused:
 *    POSIX leaves its meaning undefined anyway;
 *  - repetitions nest at most REGEX_MAX_REPEAT_DEPTH deep ((ab+)* is fine,
 *    ((a+)?)+ is not);
 *  - the copies are estimated (an atom is one node, a group the sum of its
 *    parts, a repetition multiplies the part it applies to by the copies it
 *    needs) and at most REGEX_MAX_NODES.
 * Returns NULL, or why it is refused.
 */
static const char *regex_cost(const char *re)
{
	size_t size[REGEX_MAX_LEN + 2], last[REGEX_MAX_LEN + 2];
	int rep[REGEX_MAX_LEN + 2], last_rep[REGEX_MAX_LEN + 2];
	int depth = 0, after_repeat = 0;
	static const char *const too_big = "it would compile to too many nodes";

	size[0] = last[0] = 0;
	rep[0] = last_rep[0] = 0;
	for (const char *p = re; *p; p++) {
		size_t f = 0;
		switch (*p) {
		case '(':
			if (depth + 1 >= REGEX_MAX_LEN + 2)
				return "it nests too deep";
			depth++;
			size[depth] = last[depth] = 0;
			rep[depth] = last_rep[depth] = 0;
			after_repeat = 0;
			continue;
		case ')':
			if (depth) {
				size_t inner = size[depth];
				int inner_rep = rep[depth];
				depth--;
				last[depth] = inner ? inner : 1;
				size[depth] += last[depth];
				last_rep[depth] = inner_rep;
				if (inner_rep > rep[depth])
					rep[depth] = inner_rep;
			}
			after_repeat = 0;
			continue;
		case '|':
			last[depth] = 0;
			last_rep[depth] = 0;
			after_repeat = 0;
			continue;
		case '*':
		case '?':
			f = 1;
			break;
		case '+':
			f = 2;
			break;
		case '{': {
			/* {n}, {n,}, {n,m}: copies for the larger bound (n + 1 for an open one) */
			size_t n = 0, m = 0;
			int comma = 0, any = 0;
			const char *q = p + 1;
			for (; *q && *q != '}'; q++) {
				if (*q == ',') {
					comma = 1;
				} else if (*q >= '0' && *q <= '9') {
					size_t *v = comma ? &m : &n;
					*v = *v * 10 + (size_t)(*q - '0');
					if (*v > REGEX_MAX_NODES)
						return too_big;
					any = 1;
				}
			}
			if (!*q || !any) { /* not a bound: a literal '{' */
				last[depth] = 1;
				size[depth] += 1;
				last_rep[depth] = 0;
				after_repeat = 0;
				continue;
			}
			f = comma && m ? (m > n ? m : n) : comma ? n + 1 : n;
			if (!f)
				f = 1;
			p = q;
			break;
		}
		case '[': {
			/* a bracket expression is one atom: skip to its end ("[]x]", "[^]x]", "[[:alpha:]]") */
			const char *q = p + 1;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			for (; *q && *q != ']'; q++)
				if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
					const char *e = strstr(q + 2, q[1] == ':' ? ":]" : q[1] == '.' ? ".]" : "=]");
					if (!e)
						break;
					q = e + 1;
				}
			p = *q ? q : q - 1;
			last[depth] = 1;
			size[depth] += 1;
			last_rep[depth] = 0;
			after_repeat = 0;
			continue;
		}
		default:
			/* a character, or an escaped one, is an atom */
			if (*p == '\\' && p[1])
				p++;
			last[depth] = 1;
			size[depth] += 1;
			last_rep[depth] = 0;
			after_repeat = 0;
			continue;
		}
		/* a repetition of the last part */
		if (after_repeat)
			return "a repetition follows a repetition (like a++ or a+?), which POSIX leaves undefined";
		after_repeat = 1;
		if (++last_rep[depth] > REGEX_MAX_REPEAT_DEPTH)
			return "repetitions nest more than 2 deep (like ((a+)?)+)";
		if (last_rep[depth] > rep[depth])
			rep[depth] = last_rep[depth];
		size_t part = last[depth] ? last[depth] : 1;
		if (part > REGEX_MAX_NODES / f)
			return too_big;
		size_t grown = part * f;
		size[depth] += grown - part;
		last[depth] = grown;
		if (size[depth] > REGEX_MAX_NODES)
			return too_big;
	}
	size_t total = 0;
	for (int i = 0; i <= depth; i++)
		total += size[i];
	return total > REGEX_MAX_NODES ? too_big : NULL;
}

/*
 * patterns.failure entries are POSIX extended regexes matched while deploy
 * watches logs: compile each here with the flags deploy uses, so a typo
 * stops `plan` at its line instead of a deploy half-way through; one that
 * would be costly to compile is refused first (see regex_cost).
 */
static int check_regex(struct loader *l, const struct ynode *it, const char *where)
{
	regex_t re;
	if (it->len > REGEX_MAX_LEN)
		return err(l, it, "%s: the expression is longer than %d bytes", where, REGEX_MAX_LEN);
	const char *costly = regex_cost(it->str);
	if (costly)
		return err(l, it, "%s: '%s' is refused: %s, so it could not be compiled safely",
			   where, show(l, it->str), costly);
	int r = regcomp(&re, it->str, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (!r) {
		regfree(&re);
		return 0;
	}
	char msg[256];
	regerror(r, &re, msg, sizeof(msg));
	return err(l, it, "%s: '%s' is not a valid extended regular expression: %s", where,
		   show(l, it->str), msg);
}

static int load_pattern_list(struct loader *l, const struct ynode *v, const char *where,
			     int check_re, const char ***out, struct config_pos **pos, size_t *nout)
{
	const char **list = NULL;
	struct config_pos *at = NULL;
	size_t n;

	if (want_seq(l, v, where))
		return -1;
	n = count(v);
	if (n) {
		list = arena_alloc(&l->c->arena, n * sizeof(*list));
		at = arena_alloc(&l->c->arena, n * sizeof(*at));
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = v->items[i];

		if (it->kind != YN_SCALAR || ynode_is_null(it) || !it->len ||
		    strlen(it->str) != it->len)
			return err(l, it, "entries in %s must be non-empty strings", where);
		if (check_re && check_regex(l, it, where))
			return -1;
		list[i] = arena_strndup(&l->c->arena, it->str, it->len);
		at[i].line = it->pos.line;
		at[i].col = it->pos.col;
	}
	*out = list;
	if (pos)
		*pos = at;
	*nout = n;
	return 0;
}

static int load_patterns(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_map(l, v, "patterns"))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		long idx = key_index(l, v->keys[i], "patterns", patterns_keys, "key");
		int ret;

		if (idx == 0)
			ret = load_pattern_list(l, v->vals[i], "patterns.migration", 0,
						&c->migration_patterns, &c->migration_pattern_pos,
						&c->nmigration_patterns);
		else if (idx == 1)
			ret = load_pattern_list(l, v->vals[i], "patterns.failure", 1,
						&c->failure_patterns, NULL, &c->nfailure_patterns);
		else
			return -1;
		if (ret)
			return -1;
	}
	return 0;
}

/* allow_paths: strings; relative ones against the config file's directory. */
static int load_allow_paths(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;
	if (load_pattern_list(l, v, "allow_paths", 0, &c->allow_paths, NULL, &c->nallow_paths))
		return -1;
	for (size_t i = 0; i < c->nallow_paths; i++)
		c->allow_paths[i] = path_join(&c->arena, l->dir, c->allow_paths[i]);
	return 0;
}

/* lint: {disable: [RULE, ...]}: the ids are checked by lint (it knows them). */
static int load_lint(struct loader *l, const struct ynode *v)
{
	struct config *c = l->c;

	if (want_map(l, v, "lint"))
		return -1;
	for (size_t i = 0; i < count(v); i++) {
		const struct ynode *list = v->vals[i];
		if (key_index(l, v->keys[i], "lint", lint_keys, "key") < 0 ||
		    want_seq(l, list, "lint.disable"))
			return -1;
		c->nlint_disable = count(list);
		if (c->nlint_disable)
			c->lint_disable = arena_alloc(&c->arena, c->nlint_disable * sizeof(*c->lint_disable));
		for (size_t k = 0; k < c->nlint_disable; k++) {
			const struct ynode *it = list->items[k];
			if (it->kind != YN_SCALAR || ynode_is_null(it) || !it->len ||
			    strlen(it->str) != it->len)
				return err(l, it, "entries in lint.disable must be rule ids");
			c->lint_disable[k].name = arena_strndup(&c->arena, it->str, it->len);
			c->lint_disable[k].pos = it->pos;
		}
	}
	return 0;
}

static int load_window(struct loader *l, const struct ynode *v)
{
	int secs = v->kind == YN_SCALAR && strlen(v->str) == v->len ? parse_duration(v->str) : -1;

	if (secs <= 0)
		return err(l, v, "window must be a positive duration (30s, 5min, 2m, 1h, 250ms; "
			   "a plain number is seconds)");
	l->c->window_seconds = secs;
	return 0;
}

static int load_root(struct loader *l, const struct ynode *root)
{
	if (ynode_is_null(root))
		return 0; /* an empty file: every value at its default */
	if (root->kind != YN_MAP)
		return err(l, root, "the top level must be a mapping, not %s", ykind_name(root));
	for (size_t i = 0; i < root->n; i++) {
		const struct ynode *v = root->vals[i];
		int ret;

		switch (key_index(l, root->keys[i], NULL, top_keys, "key")) {
		case 0: ret = get_int(l, v, "headroom", 0, MAX_CONN, &l->c->headroom); break;
		case 1: ret = load_window(l, v); break;
		case 2: ret = load_server(l, v); break;
		case 3: ret = load_services(l, v); break;
		case 4: ret = load_roles(l, v); break;
		case 5: ret = load_defaults(l, v); break;
		case 6: ret = load_keep(l, v); break;
		case 7: ret = load_patterns(l, v); break;
		case 8: ret = load_pattern_list(l, v, "superusers", 0, &l->c->superusers, NULL,
						&l->c->nsuperusers); break;
		case 9: ret = load_lint(l, v); break;
		case 10: ret = load_allow_paths(l, v); break;
		default: return -1;
		}
		if (ret)
			return -1;
	}
	return 0;
}

int config_load(const char *path, const char *display, struct config **out, struct diag *d)
{
	struct config *c = config_empty();
	struct arena tmp = ARENA_INIT;
	struct srcfile *f = NULL;
	struct ynode *root = NULL;
	struct loader l = { .c = c, .tmp = &tmp, .file = display, .d = d };
	int ret = -1;

	if (!display)
		l.file = display = path;
	l.dir = path_dirname(&tmp, path_absolute(&tmp, path));
	c->path = arena_strdup(&c->arena, display);
	/* The srcfile goes in the config's arena: kept positions point into it. */
	if (srcfile_read(&c->arena, path, display, config_limits.max_bytes, &f, d) ||
	    ydoc_load(&tmp, f, &config_limits, &root, d))
		goto cleanup;
	if (load_root(&l, root))
		goto cleanup;
	*out = c;
	c = NULL;
	ret = 0;
cleanup:
	arena_release(&tmp);
	config_free(c);
	return ret;
}

struct config *config_empty(void)
{
	struct config *c = xcalloc(1, sizeof(*c));

	c->headroom = -1;
	c->window_seconds = -1;
	c->max_connections = c->superuser_reserved = c->reserved = -1;
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	arena_release(&c->arena);
	free(c);
}

const struct config_service *config_service(const struct config *c, const char *name)
{
	for (size_t i = 0; c && i < c->nservices; i++)
		if (!strcmp(c->services[i].name, name))
			return &c->services[i];
	return NULL;
}

const struct config_role *config_role(const struct config *c, const char *name)
{
	for (size_t i = 0; c && i < c->nroles; i++)
		if (!strcmp(c->roles[i].name, name))
			return &c->roles[i];
	return NULL;
}

int parse_duration(const char *s)
{
	long long n = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > (long long)INT_MAX * 1000)
			return -1;
	}
	if (!*p || !strcmp(p, "s"))
		;
	else if (!strcmp(p, "ms"))
		n = (n + 999) / 1000;
	else if (!strcmp(p, "m") || !strcmp(p, "min"))
		n *= 60;
	else if (!strcmp(p, "h"))
		n *= 3600;
	else
		return -1;
	return n > INT_MAX ? -1 : (int)n;
}

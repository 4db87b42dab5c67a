/*
 * service: typed reads of a service's definition (see service.h).
 */
#include "stack/service.h"

#include <stdlib.h>
#include <string.h>

static const char *scalar_of(const struct service *s, const char *key)
{
	const struct ynode *n = s->node ? ymap_get(s->node, key) : NULL;
	return n && n->kind == YN_SCALAR ? n->str : NULL;
}

const char *service_container_name(const struct service *s)
{
	return scalar_of(s, "container_name");
}

const char *service_hostname(const struct service *s)
{
	return scalar_of(s, "hostname");
}

const char *service_working_dir(const struct service *s)
{
	return scalar_of(s, "working_dir");
}

int service_answers_to(const struct service *s, const char *host)
{
	const char *cn = service_container_name(s), *hn = service_hostname(s);
	if (!strcmp(s->name, host) || (cn && !strcmp(cn, host)) || (hn && !strcmp(hn, host)))
		return 1;
	const struct ynode *nets = s->node ? ymap_get(s->node, "networks") : NULL;
	for (size_t i = 0; nets && nets->kind == YN_MAP && i < nets->n; i++) {
		const struct ynode *al = nets->vals[i] && nets->vals[i]->kind == YN_MAP
						 ? ymap_get(nets->vals[i], "aliases") : NULL;
		for (size_t k = 0; al && al->kind == YN_SEQ && k < al->n; k++)
			if (al->items[k]->kind == YN_SCALAR && !strcmp(al->items[k]->str, host))
				return 1;
	}
	return 0;
}

void service_healthcheck_test(const struct service *s, struct buf *out)
{
	const struct ynode *hc = s->node ? ymap_get(s->node, "healthcheck") : NULL;
	const struct ynode *t = hc && hc->kind == YN_MAP ? ymap_get(hc, "test") : NULL;
	if (!t)
		return;
	if (t->kind == YN_SCALAR) {
		buf_addstr(out, t->str);
		return;
	}
	for (size_t i = 0; t->kind == YN_SEQ && i < t->n; i++)
		if (t->items[i]->kind == YN_SCALAR)
			buf_addf(out, "%s%s", i ? " " : "", t->items[i]->str);
}

size_t service_depends_on(const struct service *s, struct service_dep **out, struct ypos *at)
{
	const struct ynode *dep = s->node ? ymap_get(s->node, "depends_on") : NULL;
	size_t n = 0;
	*out = NULL;
	memset(at, 0, sizeof(*at));
	if (!dep)
		return 0;
	*at = dep->pos;
	if (dep->kind == YN_SCALAR || !dep->n)
		return 0;
	*out = xcalloc(dep->n, sizeof(**out));
	for (size_t i = 0; i < dep->n; i++) {
		const struct ynode *k = dep->kind == YN_SEQ ? dep->items[i] : dep->keys[i];
		if (k && k->kind == YN_SCALAR) {
			(*out)[n].name = k->str;
			(*out)[n++].pos = k->pos;
		}
	}
	return n;
}

int service_cmd_words(const struct service_cmd *c, struct strvec *argv, const char **shell)
{
	if (!c)
		return 0;
	if (c->shell) {
		*shell = c->shell;
		return 1;
	}
	for (size_t i = 0; i < c->argc; i++)
		strvec_push(argv, c->argv[i]);
	return 1;
}

/* Scalars equal, or b is a by the prefix (an absolute path). */
static int same_scalar(const char *a, const char *b, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strcmp(a, b) || (a[0] == '/' && !strncmp(b, prefix, n) && !strcmp(b + n, a));
}

static int same_node(const struct ynode *a, const struct ynode *b, const char *prefix, int depth,
		     int skip_env)
{
	if (!a || !b)
		return a == b;
	if (depth > 64 || a->kind != b->kind || a->n != b->n)
		return 0;
	if (a->kind == YN_SCALAR)
		return same_scalar(a->str, b->str, prefix);
	for (size_t i = 0; i < a->n; i++) {
		if (a->kind == YN_SEQ) {
			if (!same_node(a->items[i], b->items[i], prefix, depth + 1, 0))
				return 0;
			continue;
		}
		if (!same_node(a->keys[i], b->keys[i], prefix, depth + 1, 0))
			return 0;
		if (skip_env && a->keys[i]->kind == YN_SCALAR && !strcmp(a->keys[i]->str, "environment"))
			continue;
		if (!same_node(a->vals[i], b->vals[i], prefix, depth + 1, 0))
			return 0;
	}
	return 1;
}

int service_same_definition(const struct service *a, const struct service *b, const char *prefix)
{
	return same_node(a->node, b->node, prefix, 0, 1);
}

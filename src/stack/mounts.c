/*
 * mounts: a service's bind mounts (see mounts.h).
 */
#include "stack/mounts.h"

#include <string.h>

static const char *scalar(const struct ynode *n)
{
	return n && n->kind == YN_SCALAR ? n->str : NULL;
}

size_t mounts_bind(struct arena *a, const struct service *s, struct bind_mount **out)
{
	const struct ynode *vols = s && s->node ? ymap_get(s->node, "volumes") : NULL;
	size_t n = 0;

	*out = NULL;
	if (!vols || vols->kind != YN_SEQ || !vols->n)
		return 0;
	*out = arena_alloc(a, vols->n * sizeof(**out));
	for (size_t i = 0; i < vols->n; i++) {
		const struct ynode *v = vols->items[i];
		const char *str = scalar(v);
		struct bind_mount m = { NULL, NULL };
		if (str) {
			const char *colon = strchr(str, ':');
			if (!colon || (str[0] != '.' && str[0] != '/'))
				continue;
			const char *end = strchr(colon + 1, ':');
			m.source = arena_strndup(a, str, (size_t)(colon - str));
			m.target = arena_strndup(a, colon + 1,
						 end ? (size_t)(end - colon - 1) : strlen(colon + 1));
		} else if (v->kind == YN_MAP) {
			const char *ty = scalar(ymap_get(v, "type"));
			m.source = scalar(ymap_get(v, "source"));
			m.target = scalar(ymap_get(v, "target"));
			if (!ty || strcmp(ty, "bind") || !m.source || !m.target)
				continue;
		} else {
			continue;
		}
		(*out)[n++] = m;
	}
	return n;
}

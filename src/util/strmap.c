/*
 * strmap: open addressing with linear probing, FNV-1a hashes (see strmap.h).
 */
#include "util/strmap.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct strmap_slot *find(const struct strmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return NULL;
	size_t i = (size_t)hash(key, len) & (m->cap - 1);
	for (;;) {
		struct strmap_slot *s = &m->slots[i];
		if (!s->key || (s->len == len && !memcmp(s->key, key, len)))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *strmap_getn(const struct strmap *m, const char *key, size_t len)
{
	struct strmap_slot *s = find(m, key, len);
	return s && s->key ? s->value : NULL;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	return strmap_getn(m, key, strlen(key));
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->nr = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			strmap_put(m, old.slots[i].key, old.slots[i].value);
	free(old.slots);
}

void strmap_put(struct strmap *m, const char *key, void *value)
{
	size_t len = strlen(key);
	if ((m->nr + 1) * 4 > m->cap * 3)
		grow(m);
	struct strmap_slot *s = find(m, key, len);
	if (!s->key) {
		s->key = key;
		s->len = len;
		m->nr++;
	}
	s->value = value;
}

void strmap_clear(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->nr = 0;
}

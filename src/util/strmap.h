/*
 * strmap: a string-keyed hash map for the places a stack's size matters.
 *
 * A 10,000-service stack makes every "find the service named X" loop
 * quadratic; this map keeps plan and merge linear.  Keys are borrowed (the
 * caller keeps them alive, usually in an arena); the map owns only its table.
 */
#ifndef DSNFLIP_STRMAP_H
#define DSNFLIP_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	const char *key;
	size_t len;
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap, nr;
};
#define STRMAP_INIT { NULL, 0, 0 }

/* The value for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
void *strmap_getn(const struct strmap *m, const char *key, size_t len);
/* Set key (borrowed) to value; replaces an existing value. */
void strmap_put(struct strmap *m, const char *key, void *value);
void strmap_clear(struct strmap *m);

#endif

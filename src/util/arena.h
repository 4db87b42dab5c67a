/*
 * arena: bump allocation for data that lives exactly as long as its owner.
 *
 * The loaded compose project, its YAML trees and the plan are graphs with
 * shared nodes (YAML aliases, merged maps): giving every node its own owner
 * would be error-prone, so they all come from one arena that is freed whole.
 */
#ifndef DSNFLIP_ARENA_H
#define DSNFLIP_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t total; /* bytes handed out, for limits and tests */
};
#define ARENA_INIT { NULL, 0 }

/* Zeroed memory, aligned for any type; lives until arena_release(). */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strfmt(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Grow an arena array: copies into a new block (old one stays until release). */
void *arena_grow(struct arena *a, void *old, size_t old_n, size_t new_n, size_t size);
void arena_release(struct arena *a);

#endif

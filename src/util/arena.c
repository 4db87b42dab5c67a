/*
 * arena: chunked bump allocator (see arena.h for why).
 */
#include "util/arena.h"
#include "util/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	size_t mapped;        /* bytes mmap'd for it (0: it came from calloc) */
	max_align_t data[];
};

/*
 * Chunks start at 64 KiB and double up to 2 MiB, the size of a transparent
 * huge page: a loaded stack of 10,000 services is some 100 MiB of nodes,
 * and touching it 4 KiB page by page cost a page fault each (about a
 * quarter of `plan`'s time).  Chunks of 2 MiB are mapped 2 MiB-aligned and
 * offered to the kernel as huge pages (a no-op where THP is off).
 * A mapped chunk is zero when it arrives and never reused, so arena_alloc
 * clears only what it hands out of the others (calloc would clear the
 * whole chunk of a small arena that uses a few bytes of it).
 */
#define CHUNK_MIN ((size_t)64 * 1024)
#define CHUNK_HUGE ((size_t)2 * 1024 * 1024)

static struct arena_chunk *chunk_new(size_t want)
{
	struct arena_chunk *c;
	size_t len = sizeof(*c) + want;
	if (len >= CHUNK_HUGE) {
		len = (len + CHUNK_HUGE - 1) & ~(CHUNK_HUGE - 1);
		char *m = mmap(NULL, len + CHUNK_HUGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			char *at = (char *)(((uintptr_t)m + CHUNK_HUGE - 1) & ~(uintptr_t)(CHUNK_HUGE - 1));
			if (at > m)
				munmap(m, (size_t)(at - m));
			if (m + CHUNK_HUGE > at)
				munmap(at + len, (size_t)(m + CHUNK_HUGE - at));
#ifdef MADV_HUGEPAGE
			madvise(at, len, MADV_HUGEPAGE);
#endif
			c = (struct arena_chunk *)at;
			c->mapped = len;
			c->size = len - sizeof(*c);
			return c;
		}
	}
	c = xmalloc(len);
	c->used = c->mapped = 0;
	c->size = want;
	return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t align = sizeof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	if (!n)
		n = align;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t size = CHUNK_MIN;
		if (c)
			size = c->size * 2 + sizeof(*c) > CHUNK_HUGE ? CHUNK_HUGE - sizeof(*c) : c->size * 2;
		if (size < n)
			size = n;
		c = chunk_new(size);
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	a->total += n;
	if (!c->mapped)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_strfmt(struct arena *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	char *p = arena_strndup(a, b.buf, b.len);
	buf_release(&b);
	return p;
}

void *arena_grow(struct arena *a, void *old, size_t old_n, size_t new_n, size_t size)
{
	void *p = arena_alloc(a, new_n * size);
	if (old && old_n)
		memcpy(p, old, old_n * size);
	return p;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		if (c->mapped)
			munmap(c, c->mapped);
		else
			free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

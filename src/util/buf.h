/*
 * buf: a growable, always NUL-terminated byte buffer (after git's strbuf).
 *
 * A buf never has a NULL data pointer once initialised, so callers can print
 * b.buf without checking.  Allocation failure aborts the process: dsnflip is
 * a short-lived command and cannot do anything useful without memory.
 */
#ifndef DSNFLIP_BUF_H
#define DSNFLIP_BUF_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
};

extern char buf_empty_[];
#define BUF_INIT { buf_empty_, 0, 0 }

void buf_init(struct buf *b);
/* Free the storage and reset to empty. */
void buf_release(struct buf *b);
/* Keep the storage, set length to 0. */
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Longer than max (> 3) bytes: cut at a UTF-8 character boundary and end
 * with "...", max bytes in all (evidence goes into JSON). */
void buf_cut(struct buf *b, size_t max);
void buf_setlen(struct buf *b, size_t len);
/*
 * Open path read-only, and only when it is a regular file: a FIFO, a
 * device (`.env -> /dev/stdin`, which git happily commits), a socket or a
 * directory is refused at once instead of blocking dsnflip forever, in CI
 * too.  Returns the descriptor (blocking mode, close-on-exec), or -1 with
 * errno set; errno is EFTYPE_NOTREG when the path exists but is not a
 * regular file.
 */
#define EFTYPE_NOTREG EINVAL
int open_regular(const char *path);
/* The reason open_regular() failed with errno err, for "PATH: REASON". */
const char *open_regular_strerror(int err);
/* Read a whole regular file into a malloc'd NUL-terminated string (*len may be
 * NULL); NULL with errno set on error (open_regular()'s rules). */
char *read_file(const char *path, size_t *len);
/* Hand the storage to the caller (free() it); b is left empty. */
char *buf_detach(struct buf *b, size_t *len_out);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array of `nr` elements to hold at least `want`. */
#define ALLOC_GROW(arr, want, alloc) \
	do { \
		if ((want) > (alloc)) { \
			size_t n_ = (alloc) ? (alloc) * 2 : 8; \
			while (n_ < (want)) n_ *= 2; \
			(arr) = xrealloc((arr), n_ * sizeof(*(arr))); \
			(alloc) = n_; \
		} \
	} while (0)

/* A list of owned C strings (after git's strvec); NULL-terminated. */
struct strvec {
	char **v;
	size_t nr;
	size_t alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strvec_clear(struct strvec *sv);
int strvec_contains(const struct strvec *sv, const char *s);
/* Push the words of s, split at any of the characters in seps (runs of them count once). */
void strvec_split(struct strvec *sv, const char *s, const char *seps);

int str_starts(const char *s, const char *prefix);
int str_ends(const char *s, const char *suffix);
int str_casestarts(const char *s, const char *prefix);

#endif

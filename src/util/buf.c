/*
 * buf: growable strings, string vectors and allocation helpers.
 */
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

char buf_empty_[1];

static void die_oom(void)
{
	fputs("dsnflip: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die_oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrfmt(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b, NULL);
}

void buf_init(struct buf *b)
{
	b->buf = buf_empty_;
	b->len = 0;
	b->alloc = 0;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->buf);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	buf_setlen(b, 0);
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;
	if (want <= b->alloc)
		return;
	size_t n = b->alloc ? b->alloc : 64;
	while (n < want)
		n *= 2;
	if (!b->alloc) {
		b->buf = xmalloc(n);
		b->buf[0] = '\0';
	} else {
		b->buf = xrealloc(b->buf, n);
	}
	b->alloc = n;
}

void buf_cut(struct buf *b, size_t max)
{
	if (b->len <= max || max <= 3)
		return;
	size_t n = max - 3;
	while (n && ((unsigned char)b->buf[n] & 0xC0) == 0x80)
		n--;
	buf_setlen(b, n);
	buf_addstr(b, "...");
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->alloc) {
		if (len == 0)
			return;
		buf_grow(b, len);
	}
	b->len = len;
	b->buf[len] = '\0';
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	if (!len)
		return;
	buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, int c)
{
	char ch = (char)c;
	buf_add(b, &ch, 1);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	/* Format into the room there is, and only when the text does not fit
	 * grow and format again: most texts fit, and formatting is the cost. */
	va_list cp;
	buf_grow(b, 64);
	size_t room = b->alloc - b->len;
	va_copy(cp, ap);
	int n = vsnprintf(b->buf + b->len, room, fmt, cp);
	va_end(cp);
	if (n <= 0) {
		b->buf[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

char *buf_detach(struct buf *b, size_t *len_out)
{
	char *p;
	if (len_out)
		*len_out = b->len;
	if (!b->alloc)
		p = xstrdup("");
	else
		p = b->buf;
	buf_init(b);
	return p;
}

void strvec_push(struct strvec *sv, const char *s)
{
	ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
	sv->v[sv->nr++] = xstrdup(s);
	sv->v[sv->nr] = NULL;
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
	sv->v[sv->nr++] = buf_detach(&b, NULL);
	sv->v[sv->nr] = NULL;
}

void strvec_clear(struct strvec *sv)
{
	for (size_t i = 0; i < sv->nr; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->nr = sv->alloc = 0;
}

int strvec_contains(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->nr; i++)
		if (!strcmp(sv->v[i], s))
			return 1;
	return 0;
}

int str_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int str_ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !memcmp(s + a - b, suffix, b);
}

int str_casestarts(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

int open_regular(const char *path)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? errno : EFTYPE_NOTREG;
		close(fd);
		errno = e;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

const char *open_regular_strerror(int err)
{
	if (err == EFTYPE_NOTREG)
		return "not a regular file (a FIFO, device, socket or directory): refusing to read it";
	return strerror(err);
}

char *read_file(const char *path, size_t *len)
{
	int fd = open_regular(path);
	FILE *f;
	struct buf b = BUF_INIT;
	char tmp[8192];
	size_t n;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "rb"))) {
		close(fd);
		return NULL;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		buf_release(&b);
		errno = e;
		return NULL;
	}
	fclose(f);
	return buf_detach(&b, len);
}

void strvec_split(struct strvec *sv, const char *s, const char *seps)
{
	while (*s) {
		s += strspn(s, seps);
		size_t n = strcspn(s, seps);
		if (n) {
			char *w = xstrndup(s, n);
			strvec_push(sv, w);
			free(w);
		}
		s += n;
	}
}

/*
 * path: lexical path arithmetic (see path.h).
 */
#include "util/path.h"
#include "util/buf.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *path_normalize(struct arena *a, const char *p)
{
	int abs = p[0] == '/';
	size_t n = strlen(p);
	char *copy = xstrndup(p, n);
	const char **parts = xmalloc((n / 2 + 2) * sizeof(*parts));
	size_t np = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (np && strcmp(parts[np - 1], ".."))
				np--;
			else if (!abs)
				parts[np++] = tok;
			continue;
		}
		parts[np++] = tok;
	}
	struct buf b = BUF_INIT;
	if (abs)
		buf_addch(&b, '/');
	for (size_t i = 0; i < np; i++) {
		if (i)
			buf_addch(&b, '/');
		buf_addstr(&b, parts[i]);
	}
	if (!b.len)
		buf_addch(&b, '.');
	char *r = arena_strndup(a, b.buf, b.len);
	buf_release(&b);
	free(parts);
	free(copy);
	return r;
}

char *path_join(struct arena *a, const char *base, const char *rel)
{
	if (rel[0] == '/' || !base || !*base)
		return path_normalize(a, rel);
	char *tmp = xstrfmt("%s/%s", base, rel);
	char *r = path_normalize(a, tmp);
	free(tmp);
	return r;
}

char *path_relative(struct arena *a, const char *dir, const char *p)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, p))
		return arena_strdup(a, ".");
	if (!strcmp(dir, "/") && p[0] == '/')
		return arena_strdup(a, p + 1);
	if (!strncmp(dir, p, n) && p[n] == '/')
		return arena_strdup(a, p + n + 1);
	return arena_strdup(a, p);
}

char *path_dirname(struct arena *a, const char *p)
{
	const char *slash = strrchr(p, '/');
	if (!slash)
		return arena_strdup(a, ".");
	if (slash == p)
		return arena_strdup(a, "/");
	return arena_strndup(a, p, (size_t)(slash - p));
}

const char *path_basename(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash ? slash + 1 : p;
}

int path_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

int path_is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *path_absolute(struct arena *a, const char *p)
{
	if (p[0] == '/')
		return path_normalize(a, p);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return path_normalize(a, p);
	return path_join(a, cwd, p);
}

char *path_real(struct arena *a, const char *p)
{
	char *r = realpath(p, NULL);
	if (!r)
		return NULL;
	char *out = arena_strdup(a, r);
	free(r);
	return out;
}

char *path_repo_root(struct arena *a, const char *dir)
{
	char *cur = path_real(a, dir);
	while (cur) {
		char *git = path_join(a, cur, ".git");
		struct stat st;
		if (!lstat(git, &st))
			return cur;
		if (!strcmp(cur, "/"))
			return NULL;
		cur = path_dirname(a, cur);
	}
	return NULL;
}

int path_within(const char *dir, const char *p)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "/"))
		return p[0] == '/';
	return !strncmp(dir, p, n) && (p[n] == '\0' || p[n] == '/');
}

int path_write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	int r = fwrite(data, 1, len, fp) == len ? 0 : -1;
	if (fclose(fp))
		r = -1;
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int path_remove_tree(const char *root)
{
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

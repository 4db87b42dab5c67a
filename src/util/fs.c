/*
 * fs: atomic replacement and mkdir -p (see fs.h).
 */
#include "util/fs.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fs_sync_dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct diag *d)
{
	char *tmp = xstrfmt("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp); /* 0600 from the start */
	int ret = -1;

	if (fd < 0) {
		diag_fail(d, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) || write_all(fd, data, len) || fsync(fd)) {
		diag_fail(d, "cannot write '%s': %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd)) {
		diag_fail(d, "cannot write '%s': %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		diag_fail(d, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (fs_sync_dir_of(path)) {
		diag_fail(d, "cannot sync the directory of '%s': %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

int fs_mkdir_p(const char *dir, mode_t mode, struct diag *d)
{
	char *p = xstrdup(dir);
	int ret = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) && errno != EEXIST) {
			ret = diag_fail(d, "cannot create directory '%s': %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

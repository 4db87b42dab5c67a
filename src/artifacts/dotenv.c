/*
 * dotenv: the role passwords in a git-ignored .env (see dotenv.h).
 */
#include "artifacts/dotenv.h"
#include "stack/envfile.h"
#include "util/buf.h"
#include "util/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DOTENV_MARK "# dsnflip: role passwords; git ignores this file, keep it that way"

/*
 * Set the role passwords (keys/values) in the .env at path through the
 * envfile grammar: a password already there is replaced in place, a new
 * one is added at the end, below DOTENV_MARK; no existing line moves, so
 * every file:line the plan records stays true and a re-run changes
 * nothing.  Written atomically; *changed says whether the file changed.
 * The passwords pass only through memory wiped afterwards.  The file is
 * private (0600, or the owner's own bits plus read and write).
 */
int dotenv_set_passwords(const char *path, const char *const *keys, const char *const *values,
			size_t n, int *changed, struct diag *d)
{
	struct buf neu = BUF_INIT;
	struct stat st = { 0 };
	mode_t mode = 0600;
	size_t len = 0;
	char *old = NULL;
	int ret = -1;

	*changed = 0;
	if (!stat(path, &st)) {
		old = read_file(path, &len);
		if (!old) {
			diag_fail(d, "cannot read %s: %s", path, strerror(errno));
			goto cleanup;
		}
		/* The file now holds passwords: group and others lose their bits. */
		mode = (st.st_mode & S_IRWXU) | S_IRUSR | S_IWUSR;
	} else if (errno != ENOENT) {
		diag_fail(d, "cannot read %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (envfile_set(path, old ? old : "", len, keys, values, n, DOTENV_MARK, &neu, d)) {
		d->code = EXIT_FAILED;
		goto cleanup;
	}
	if (old && neu.len == len && !memcmp(neu.buf, old, len)) {
		/* Already holds these passwords: still make it private. */
		if ((st.st_mode & (S_IRWXG | S_IRWXO)) && chmod(path, mode)) {
			diag_fail(d, "cannot make %s private (chmod %o): %s", path, (unsigned)mode,
				  strerror(errno));
			goto cleanup;
		}
		ret = 0;
		goto cleanup;
	}
	if (fs_write_atomic(path, neu.buf, neu.len, mode, d))
		goto cleanup;
	*changed = 1;
	ret = 0;
cleanup:
	if (old) {
		explicit_bzero(old, len);
		free(old);
	}
	explicit_bzero(neu.buf, neu.len);
	buf_release(&neu);
	return ret;
}


/*
 * fs: the two file-system operations every writer needs, once.
 *
 * fs_write_atomic replaces a file so that a crash, a full disk or a kill
 * at any point leaves either the old content or the new, never a mix: the
 * data goes to a new temporary file beside it ("PATH.tmp.XXXXXX", created
 * 0600 so a secret is never readable by others, not even for a moment),
 * which is synced, given its mode, renamed over PATH, and the directory is
 * synced.  On failure the temporary file is removed and PATH is untouched.
 * fs_mkdir_p creates a directory and its missing parents with mode.
 */
#ifndef DSNFLIP_FS_H
#define DSNFLIP_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "util/diag.h"

/* Returns 0, or -1 with d (EXIT_FAILED) naming the file and the errno text. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct diag *d);
/* fsync the directory holding path (so a rename or creation there lasts); 0 or -1. */
int fs_sync_dir_of(const char *path);
/* Returns 0 (also when it exists), or -1 with d (EXIT_FAILED). */
int fs_mkdir_p(const char *dir, mode_t mode, struct diag *d);

#endif

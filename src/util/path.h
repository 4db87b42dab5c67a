/*
 * path: lexical path arithmetic for the files a stack names.
 *
 * Compose paths are resolved lexically (no symlinks followed) against a base
 * directory; the plan shows them relative to the project directory.
 */
#ifndef DSNFLIP_PATH_H
#define DSNFLIP_PATH_H

#include <stddef.h>

#include "util/arena.h"

/* base + rel, normalised ("." and ".." folded); rel absolute wins. */
char *path_join(struct arena *a, const char *base, const char *rel);
/* Fold "." and ".." and repeated slashes. */
char *path_normalize(struct arena *a, const char *p);
/* p relative to dir when p is inside dir, else p unchanged; both normalised. */
char *path_relative(struct arena *a, const char *dir, const char *p);
/* Directory part ("." for none). */
char *path_dirname(struct arena *a, const char *p);
const char *path_basename(const char *p);
int path_exists(const char *p);
int path_is_dir(const char *p);
/* Absolute, normalised form of p against the current directory. */
char *path_absolute(struct arena *a, const char *p);

/*
 * Containment, the one place symlinks ARE followed: a file a stack names
 * may be a symlink out of the repository (`.env -> /etc/shadow`), so the
 * question "is it inside" is asked of its real path.
 */
/* realpath(p) in the arena, or NULL (errno set) when it does not resolve. */
char *path_real(struct arena *a, const char *p);
/* The real path of the git work tree holding dir (the nearest ancestor with
 * a .git entry), or NULL when there is none. */
char *path_repo_root(struct arena *a, const char *dir);
/* Is p (real) dir itself or below it (real)? */
int path_within(const char *dir, const char *p);
/* Scratch trees (a copy of a stack to load; fs.h makes the directories). */
/* Create or truncate path and write len bytes; 0 or -1 (errno). */
int path_write_file(const char *path, const char *data, size_t len);
/* rm -rf root (symlinks removed, never followed); 0 or -1. */
int path_remove_tree(const char *root);

#endif

/*
 * mounts: the repository files and directories a service bind-mounts,
 * read from its compose definition (short syntax "./src:/target[:opts]"
 * or "/abs:/target", long syntax {type: bind, source, target}), so later
 * stages never read `volumes` themselves.  Named volumes are not bind
 * mounts and are left out.
 */
#ifndef DSNFLIP_MOUNTS_H
#define DSNFLIP_MOUNTS_H

#include <stddef.h>

#include "util/arena.h"
#include "stack/compose.h"

struct bind_mount {
	const char *source;   /* as written: relative to the project directory, or absolute */
	const char *target;   /* the container path, without ":ro"-style options */
};

/* The bind mounts of s in file order (allocated in a); returns how many. */
size_t mounts_bind(struct arena *a, const struct service *s, struct bind_mount **out);

#endif

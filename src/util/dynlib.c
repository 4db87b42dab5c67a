/*
 * dynlib: libpq and libgit2 opened on first use (see dynlib.h).
 */
#include "util/dynlib.h"

#include <dlfcn.h>
#include <git2.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DSNFLIP_LIBPQ_SONAME
#error "DSNFLIP_LIBPQ_SONAME: the soname of the libpq built against (the Makefile sets it)"
#endif
#ifndef DSNFLIP_LIBGIT2_SONAME
#error "DSNFLIP_LIBGIT2_SONAME: the soname of the libgit2 built against (the Makefile sets it)"
#endif

/* One per library for the whole process: the handles are never closed. */
static struct dynlib dynlib_pq = { DSNFLIP_LIBPQ_SONAME, NULL };
static struct dynlib dynlib_git = { DSNFLIP_LIBGIT2_SONAME, NULL };

void *dynlib_sym(struct dynlib *lib, const char *name)
{
	if (!lib->handle) {
		/* RTLD_LOCAL: the library's symbols do not resolve anyone else's. */
		lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!lib->handle) {
			const char *why = dlerror();
			fprintf(stderr, "dsnflip: cannot load %s (%s)\n", lib->soname, why ? why : "unknown reason");
			exit(1);
		}
	}
	void *fn = dlsym(lib->handle, name);
	if (!fn) {
		const char *why = dlerror();
		fprintf(stderr, "dsnflip: %s has no %s (%s)\n", lib->soname, name, why ? why : "unknown reason");
		exit(1);
	}
	return fn;
}

int dynlib_loaded(const char *which)
{
	const struct dynlib *l = !strcmp(which, dynlib_pq.soname) ? &dynlib_pq
				 : !strcmp(which, dynlib_git.soname) ? &dynlib_git : NULL;
	return l && l->handle;
}

#include "util/dynlib_syms.inc"

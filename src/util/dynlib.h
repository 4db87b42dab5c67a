/*
 * dynlib: libpq and libgit2 are loaded when dsnflip first calls them, not
 * when it starts.
 *
 * Linked the usual way, the two libraries bring some thirty shared
 * libraries with them (TLS, Kerberos, LDAP, SSH): mapping and relocating
 * those took about 5 ms of CPU on every run, as long as libyaml takes to
 * read a thousand services, and most runs (`plan` offline, `config`,
 * `lint`, `--version`) never call either.  So the binary is not linked
 * against them: dynlib.c defines every libpq and libgit2 function the
 * sources call (util/dynlib_syms.inc, written by util/dynlib-gen.py from
 * the installed headers, which the compiler checks each definition
 * against), and each definition, on its first call, opens the library by
 * the soname it was built against (dlopen) and forwards to the real
 * function from then on.
 *
 * A library that cannot be loaded is fatal at the call that needs it:
 * dsnflip prints "dsnflip: cannot load libpq.so.5 (dlerror's reason)" and
 * exits 1, as a missing library would have stopped it at start-up before.
 */
#ifndef DSNFLIP_DYNLIB_H
#define DSNFLIP_DYNLIB_H

struct dynlib {
	const char *soname;
	void *handle;
};

/* The address of the function name in lib, opening lib first when needed; exits on failure. */
void *dynlib_sym(struct dynlib *lib, const char *name);
/* Whether the library of the given soname was opened (for tests). */
int dynlib_loaded(const char *which);

#endif

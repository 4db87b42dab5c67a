/*
 * interp: compose variable interpolation of one scalar value.
 *
 * Follows compose v2 (compose-go's template package) rather than the
 * Compose Specification prose where the two differ, because what matters is
 * what `docker compose` will really run:
 *
 *   $VAR ${VAR}       value, or "" with a warning (see unset) when unset
 *   ${VAR:-d} ${VAR-d} default when unset or empty / unset only
 *   ${VAR:?m} ${VAR?m} error when unset or empty / unset only
 *   ${VAR:+a} ${VAR+a} a when set and non-empty / set, else VAR's value
 *   $$                a literal $
 *
 * Names are [A-Za-z_][A-Za-z0-9_]*.  A '$' not followed by '$', a name or
 * '{' stays as it is ("$", "$ ", "$-", "$1").  Defaults, alternates and
 * messages are interpolated themselves, only when used, so they nest
 * (${A:-${B:-x}}).  The end of a ${...} is found as compose-go finds it:
 * the text after the operator runs to the last '}' on the line, then is cut
 * at the first '}' that balances the '{'s before it; a ${...} whose text
 * would cross a newline is malformed.
 *
 * The module knows nothing about where variables come from: the caller
 * passes a lookup function, and gets back the origin it reported when the
 * whole value is one variable (so a rewrite can edit that variable's
 * definition instead of the reference).
 */
#ifndef DSNFLIP_INTERP_H
#define DSNFLIP_INTERP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

/* Limits on input-controlled work. */
#define INTERP_MAX_LEN (64 * 1024) /* bytes of one scalar */
#define INTERP_MAX_DEPTH 16        /* defaults within defaults */

/*
 * Look up a variable: return its value or NULL when unset.  *origin_out
 * (may be NULL) receives an opaque pointer identifying where it was defined
 * (passed through to the result).  The returned string need only stay valid
 * until the next call.
 */
typedef const char *(*interp_lookup_fn)(void *ctx, const char *name,
					const void **origin_out);

struct interp_result {
	struct buf value;       /* the expanded text */
	/*
	 * 1 when the ENTIRE input is one reference ($V, ${V}, ${V:-d}, ${V-d},
	 * ${V:?m}, ${V?m}) and the value came from the variable itself (set,
	 * possibly empty), not from a default.  Never for the + forms, and
	 * never for an unset variable.
	 */
	int whole_var;
	char *var_name;         /* with whole_var; owned by the result */
	const void *var_origin; /* origin pointer from lookup, with whole_var */
	/* Names referenced but unset with no default (compose warns, uses ""),
	 * each once, in order of first use. */
	struct strvec unset;
	int had_refs;           /* any reference or $$ at all */
	/* With INTERP_SECRETS_OPTIONAL: required password references left
	 * unset (expanded to ""), each once. */
	struct strvec unset_secrets;
};

/*
 * INTERP_SECRETS_OPTIONAL: a required reference (${NAME:?m}, ${NAME?m})
 * whose variable is unset (or empty, with ':') and whose NAME says it holds
 * a password (contains "PASSWORD", any case) expands to "" instead of
 * failing, and NAME goes to out->unset_secrets.  `dsnflip lint` reads a
 * flipped stack in CI, where the role passwords are never set.
 */
#define INTERP_SECRETS_OPTIONAL 1u
int interp_name_is_secret(const char *name);

void interp_result_init(struct interp_result *r);
/* Free everything the result owns and leave it initialised (reusable). */
void interp_result_release(struct interp_result *r);

/*
 * Expand the len bytes at s into out, which must have been initialised
 * (interp_result_init); whatever it held is released first.  file, line,
 * col name the start of the scalar for error messages.
 *
 * Returns 0, or -1 with out released (empty) and d set to one of
 *   "file:line:col: required variable NAME is missing a value: MSG"
 *   "file:line:col: required variable NAME is missing a value"  (no MSG)
 *   "file:line:col: invalid interpolation format for \"SCALAR\": \"REF\""
 *   "file:line:col: interpolation nested too deeply in \"SCALAR\" (max 16)"
 *   "file:line:col: value too long to interpolate (N bytes, max 65536)"
 * SCALAR and REF are shown with control characters escaped and long text
 * shortened with "...".  The position is the scalar's start.
 */
int interp_expand(const char *s, size_t len, interp_lookup_fn lookup, void *ctx,
		  const char *file, int line, int col, struct interp_result *out,
		  struct diag *d);
/* interp_expand with flags (INTERP_*). */
int interp_expand_flags(const char *s, size_t len, interp_lookup_fn lookup, void *ctx,
			unsigned flags, const char *file, int line, int col,
			struct interp_result *out, struct diag *d);

#endif

/*
 * override: the compose override file deploy switches services with.
 *
 * For every service the journal marks in_override, the file sets the
 * variables its flips (plan/flip.h) change, to the values the plan worked
 * out: the user becomes the role, the password a
 * "${ROLE_PASSWORD:?... (dsnflip passes it)}" reference, every other byte
 * as the service gets it now ($ written $$).  It holds no password; compose
 * gets each ROLE_PASSWORD from dsnflip's environment.  The same flips are
 * what `branch` writes into the files, so a merged branch and a deployed
 * override give a service the same connection.
 */
#ifndef DSNFLIP_OVERRIDE_H
#define DSNFLIP_OVERRIDE_H

#include "util/buf.h"
#include "util/diag.h"
#include "plan/plan.h"
#include "running/journal.h"

/* What the reference says, after "must be set". */
#define OVERRIDE_REF_WHY "dsnflip passes it"

/*
 * The override file's text.  Returns 1 when it switches a service, 0 when
 * it switches none, -1 with d (EXIT_FAILED) when the journal names a
 * service the plan does not have or a flip deploy cannot render (a split
 * connection with no user or password variable: the plan blocks on it too).
 */
int deploy_render_override(const struct plan *plan, const struct journal *j, struct buf *out,
			   struct diag *d);

#endif

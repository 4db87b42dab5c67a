/*
 * mirror: does a rewrite change exactly what the plan intends?
 */
#ifndef DSNFLIP_MIRROR_H
#define DSNFLIP_MIRROR_H

#include "artifacts/rewrite.h"

/*
 * Load the edited stack and check that exactly the intended values changed:
 * every service's effective definition is identical except the targets,
 * which must equal the intended value, with each <ROLE>_PASSWORD set to a
 * check value (never a real password) in both loads.  opts are the options
 * the stack was loaded with.  The edited files are written only into a
 * private temporary directory (every file the stack reads, at its absolute
 * path below it, so relative references resolve alike), removed before
 * returning.  Returns 0, or -1 with d naming the first difference (never a
 * value: values may hold passwords).
 */
int rewrite_verify(const struct rewrite *rw, const struct compose_project *p,
		   const struct compose_opts *opts, struct diag *d);

#endif

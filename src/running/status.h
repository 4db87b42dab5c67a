/*
 * status: what every service really connects as (PRODUCT.md §7): the user
 * its configuration names and the user its live sessions log in as, the
 * connections per role against its limit, the superuser sessions left, and
 * the journal's state for each service.  Reads; writes nothing.
 */
#ifndef DSNFLIP_STATUS_H
#define DSNFLIP_STATUS_H

#include "running/deploy.h"

/* `status [--format text|json]` for an open deploy context: the exit code. */
int status_run(struct deploy_ctx *dc);

#endif

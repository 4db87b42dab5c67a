/*
 * updateorder: how Swarm is to replace a service's tasks when it is switched
 * (the swarm driver applies it; plan says it, so the reviewer sees it).
 *
 * The update order.  Swarm replaces a service's tasks one at a time
 * (parallelism 1).  start-first starts the new task before stopping the
 * old one, so for a moment the service runs replicas + 1 tasks and opens
 * one pool more than usual; stop-first never does, at the price of one
 * task fewer while each is replaced.  dsnflip plans stop-first for
 * migrators (two copies of a migration must never run at once) and for
 * single replicas (start-first there means two copies of a singleton), and
 * start-first only when the role's connection limit holds every pool of
 * its services plus that extra pool and the plan's budget is not exceeded.
 */
#ifndef DSNFLIP_UPDATEORDER_H
#define DSNFLIP_UPDATEORDER_H

#include "plan/plan.h"
#include "util/buf.h"

enum swarm_order { SWARM_STOP_FIRST, SWARM_START_FIRST };

/* "stop-first" / "start-first" (Swarm's spelling). */
const char *swarm_order_name(enum swarm_order o);

/* The order for ps (see above); why (when not NULL) gets the reason, one clause. */
enum swarm_order swarm_update_order(const struct plan *plan, const struct plan_service *ps,
				    struct buf *why);

#endif

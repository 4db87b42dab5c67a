/*
 * detect: which services connect to PostgreSQL, as whom, and what they do.
 *
 * The first half of building a plan: for every enabled service of the
 * project, its connections (DSNs in any form, or split PGUSER/DB_USER-style
 * settings, with what the parse of each found), whether they use a
 * superuser, its class from what can be seen of its start-up (command,
 * entrypoint, Dockerfile, scripts) and the action, each decision with its
 * evidence (file:line and the matched text).  plan_build() (plan/plan.h)
 * calls it, then assigns roles, limits, the budget, the order and flips.
 */
#ifndef DSNFLIP_DETECT_H
#define DSNFLIP_DETECT_H

#include "detect/model.h"

/*
 * Fill plan->services from plan->project, honouring cfg (may be NULL) and
 * opts (--assume).  Returns 0, or -1 with d for input errors (a DSN that
 * does not parse, a config naming an unknown service, ...).
 */
int detect_services(struct plan *plan, const struct config *cfg,
		    const struct plan_opts *opts, struct diag *d);

/* flip/hold/skip from the class and connections; plan_build runs it again after live facts. */
void detect_decide_action(struct plan *plan, struct plan_service *ps);
/* One blocking warning per user and host whose superuser status is unknown. */
void detect_warn_unknown(struct plan *plan);

#endif

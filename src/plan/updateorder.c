/*
 * updateorder: Swarm's update order for a switched service (see updateorder.h).
 */
#include "plan/updateorder.h"

const char *swarm_order_name(enum swarm_order o)
{
	return o == SWARM_START_FIRST ? "start-first" : "stop-first";
}

enum swarm_order swarm_update_order(const struct plan *plan, const struct plan_service *ps,
				    struct buf *why)
{
	int replicas = ps->svc && ps->svc->replicas > 0 ? ps->svc->replicas : 1;
	const struct plan_role *r = ps->role ? plan_role(plan, ps->role) : NULL;
	long long need = 0;

	if (ps->cls == CLASS_MIGRATOR) {
		if (why)
			buf_addstr(why, "a migrator: two copies must never run at once");
		return SWARM_STOP_FIRST;
	}
	if (replicas < 2) {
		if (why)
			buf_addstr(why, "a single replica: start-first would run two copies of it");
		return SWARM_STOP_FIRST;
	}
	if (!r || ps->pool <= 0) {
		if (why)
			buf_addstr(why, "its pool size is unknown, so the extra task's connections cannot be bounded");
		return SWARM_STOP_FIRST;
	}
	/* Every pool of the role's services as they run, plus one task more of this one. */
	for (size_t i = 0; i < r->nservices; i++) {
		const struct plan_service *o = plan_service(plan, r->services[i]);
		if (!o)
			continue;
		int n = o->svc && o->svc->replicas > 0 ? o->svc->replicas : 1;
		if (o->pool <= 0) {
			if (why)
				buf_addf(why, "the pool of %s (also %s) is unknown", o->name, r->name);
			return SWARM_STOP_FIRST;
		}
		need += (long long)o->pool * n;
	}
	need += ps->pool;
	if (r->connection_limit >= 0 && need > r->connection_limit) {
		if (why)
			buf_addf(why, "%d replicas x pool %d plus one task more is %lld sessions, over %s's "
				 "limit %d", replicas, ps->pool, need, r->name, r->connection_limit);
		return SWARM_STOP_FIRST;
	}
	if (!plan->budget.ok) {
		if (why)
			buf_addf(why, "the connection budget is exceeded (%d planned > %d available)",
				 plan->budget.planned, plan->budget.available);
		return SWARM_STOP_FIRST;
	}
	if (why)
		buf_addf(why, "%d replicas x pool %d plus one task more is %lld sessions, within %s's "
			 "limit %d", replicas, ps->pool, need, r->name, r->connection_limit);
	return SWARM_START_FIRST;
}


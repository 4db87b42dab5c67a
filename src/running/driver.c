/*
 * driver: choosing a runtime driver and calling through its table.
 * See driver.h.
 */
#include "running/driver.h"
#include "running/driver_compose.h"
#include "running/driver_swarm.h"

#include <string.h>

const struct driver_ops *driver_select(const char *name, struct diag *d)
{
	static const struct driver_ops *const all[] = { &driver_compose, &driver_swarm };
	if (!name)
		return all[0];
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	diag_err(d, "--driver must be compose or swarm, not '%s'", name);
	return NULL;
}

int driver_open(struct runtime *rt, const struct driver_ops *ops, const char *cmd,
		char *const *env, struct diag *d)
{
	rt->ops = ops;
	return ops->detect(rt, cmd, env, d);
}

int driver_check_config(struct runtime *rt, struct diag *d)
{
	return rt->ops->check_config(rt, d);
}

int driver_switch(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	return rt->ops->switch_to(rt, service, timeout_ms, d);
}

int driver_restore(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	return rt->ops->restore(rt, service, timeout_ms, d);
}

int driver_tasks(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d)
{
	return rt->ops->tasks(rt, service, ids, d);
}

int driver_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d)
{
	return rt->ops->inspect(rt, id, out, d);
}

int driver_task_env(struct runtime *rt, const char *id, const char *key, char **out,
		    struct diag *d)
{
	return rt->ops->task_env(rt, id, key, out, d);
}

int driver_client_ports(const struct runtime *rt, const struct container *c, int server_port,
			int **ports, size_t *n)
{
	return rt->ops->client_ports(c, &server_port, 1, ports, n);
}

int driver_logs_start(struct runtime *rt, struct logstream *ls, const char *id, const char *since,
		      struct diag *d)
{
	return rt->ops->logs_start(ls, rt, id, since, d);
}

int driver_restart_start(struct runtime *rt, const char *service, int timeout_ms, struct child *c,
			 struct diag *d)
{
	return rt->ops->restart_start(rt, service, timeout_ms, c, d);
}

int driver_restart(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	struct child c;
	if (driver_restart_start(rt, service, timeout_ms, &c, d))
		return -1;
	int r = run_finish(&c, d);
	child_release(&c);
	return r;
}

void driver_describe(const struct runtime *rt, struct buf *out)
{
	if (rt->ops)
		rt->ops->describe(rt, out);
}

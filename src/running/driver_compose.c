/*
 * driver_compose: the compose driver's table (driver.h) over runtime.c.
 *
 * Switching and restoring are the same compose call, `up -d --no-deps
 * --force-recreate SERVICE`: what the service runs is decided by the files
 * plus the override, and restoring is called after the service has left
 * the override.
 */
#include "running/driver_compose.h"

static void compose_describe(const struct runtime *rt, struct buf *out)
{
	if (rt->version)
		buf_addf(out, "compose %s %s", rt->v2 ? "v2" : "v1", rt->version);
}

const struct driver_ops driver_compose = {
	.name = "compose",
	.detect = runtime_detect,
	.check_config = runtime_check_config,
	.switch_to = runtime_recreate,
	.restore = runtime_recreate,
	.tasks = runtime_containers,
	.inspect = runtime_inspect,
	.task_env = runtime_container_env,
	.client_ports = runtime_client_ports,
	.logs_start = logstream_start,
	.describe = compose_describe,
	.restart_start = runtime_recreate_start,
};

/*
 * driver_swarm: the swarm driver — a project deployed as a Docker Swarm
 * stack (`docker stack deploy`), through driver.h's operations.
 *
 * Switching a service is `docker stack deploy --resolve-image changed` with
 * the stack's files, dsnflip's override (the same file the compose driver
 * uses: references only; the role passwords are in the child's
 * environment, never its argv) and an update file (swarmspec.h) giving
 * that service's update_config: parallelism 1, failure_action rollback, a
 * monitor covering its healthcheck, the order deploy chose.  The driver
 * then waits until Swarm's update of the service is over: completed is a
 * switch; rolled back or paused by Swarm is a failure, with the failed
 * tasks' last log lines (masked) as evidence.  Restoring is the same
 * deploy after the service has left the override, with failure_action
 * pause (Swarm must never "roll back" a restore onto the new DSN).
 * Unchanged services are left alone: --resolve-image changed keeps their
 * pinned image digests and their task templates do not change.
 *
 * Tasks are the current task of every slot (`docker service ps`), each
 * inspected as a task (state, its container, exit code) from the manager,
 * so replicas on other nodes are seen too; their sessions are attributed
 * by source port only for tasks on this node (runtime.h).  Logs are
 * `docker service logs -f --raw` of each task.  `docker stack deploy`
 * does not read .env: deploy.c gives the child the project's variables as
 * the plan read them.
 */
#ifndef DSNFLIP_DRIVER_SWARM_H
#define DSNFLIP_DRIVER_SWARM_H

#include "running/driver.h"

extern const struct driver_ops driver_swarm;

#endif

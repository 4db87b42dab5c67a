/*
 * swarmspec: the pure parts of the swarm driver (driver_swarm.h) — what it
 * renders for `docker stack deploy` (in the update order plan/updateorder.h
 * chooses) and what
 * it reads back from the docker CLI — apart from the code that runs
 * anything, so they are tested without an engine.
 */
#ifndef DSNFLIP_SWARMSPEC_H
#define DSNFLIP_SWARMSPEC_H

#include "plan/plan.h"
#include "plan/updateorder.h"
#include "running/runtime.h"
#include "util/buf.h"

/*
 * Swarm's monitor for one task, in seconds: long enough for a task's
 * healthcheck to decide (start period + interval x retries + timeout, from
 * the service's spec, nanoseconds; 0 when it has none) and never under
 * SWARM_MONITOR_MIN_S, because Swarm's own rollback fires only when a task
 * fails within its monitor.
 */
#define SWARM_MONITOR_MIN_S 5
int swarm_monitor_seconds(long long start_period_ns, long long interval_ns, long long timeout_ns,
			  int retries);

/*
 * The healthcheck as driver_swarm's inspect prints it: "START INTERVAL
 * TIMEOUT RETRIES", nanoseconds and a count, each strictly a number.  0 and
 * the four set, or -1 with them untouched (no healthcheck: empty text).
 */
int swarm_parse_healthcheck(const char *text, long long *start_period_ns, long long *interval_ns,
			    long long *timeout_ns, int *retries);

/*
 * The top-level `version:` of a compose file's text (malloc'd), or NULL.
 * `docker stack deploy` refuses files of different versions, so every file
 * dsnflip adds says the same one as the stack's first file.
 */
char *swarm_file_version(const char *text);

/*
 * Whether a docker CLI of this version (`docker version`'s Client.Version:
 * "28.2.2", "20.10.24+dfsg1") has `docker stack config`: 23.0 and later.
 * NULL or a version whose major does not parse: no (the check is not made,
 * and dsnflip says so).
 */
int swarm_client_has_stack_config(const char *client_version);

/*
 * Swarm's monitor when it rolls a task back: short, because a task Swarm
 * reports running has passed its healthcheck already, and dsnflip verifies
 * the rolled-back service itself (its window, its users) — so the
 * rollback is reported done seconds sooner.
 */
#define SWARM_ROLLBACK_MONITOR_S 1
/*
 * The update file for one service: its deploy.update_config (parallelism
 * 1, failure_action, monitor, order) and rollback_config (parallelism 1,
 * SWARM_ROLLBACK_MONITOR_S, the same order).
 * version: the stack's (NULL: none written).
 */
void swarm_render_update(const char *version, const char *service, enum swarm_order order,
			 int monitor_s, const char *failure_action, struct buf *out);

/*
 * `docker service ps --no-trunc --format '{{.ID}}|{{.Name}}|{{.DesiredState}}'`:
 * the current task of every slot, in the order listed: the first listed
 * for its name that Swarm wants running, else (a one-shot that completed,
 * a service scaled down) the first listed for it.  text is modified.
 */
void swarm_parse_tasks(char *text, struct strvec *ids);

/* The inspect template swarm_parse_task reads (one line per task). */
extern const char swarm_task_format[];
/*
 * One task as a container (runtime.h): status is the task's state in the
 * terms watch.c and status.c understand (running; created while it is on
 * its way; exited for complete, failed and shutdown, with the container's
 * exit code, -1 when a failed task has none; rejected), cid the
 * container's id.  Returns 0, -1 when the line is not one.
 */
int swarm_parse_task(const char *id, char *line, struct container *out);

/* What `docker service inspect` says about the service's last update. */
struct swarm_update {
	char state[32];      /* "" (never updated), updating, completed, paused, rollback_started, ... */
	char started[64];
	char message[256];
	unsigned long long spec_hash; /* FNV-1a of the task template (its JSON) */
};
extern const char swarm_update_format[];
/*
 * Parse swarm_update_format's output: a status line, then the task
 * template's JSON, hashed and wiped (it holds the service's environment).
 * text is modified.  0, or -1 when it is not that shape.
 */
int swarm_parse_update(char *text, struct swarm_update *out);

enum swarm_phase {
	SWARM_IDLE,          /* never updated, or the last update is over */
	SWARM_UPDATING,      /* updating, rollback_started */
	SWARM_COMPLETED,
	SWARM_ROLLED_BACK,   /* rollback_completed */
	SWARM_PAUSED,        /* paused, rollback_paused */
};
enum swarm_phase swarm_phase_of(const char *state);

#endif

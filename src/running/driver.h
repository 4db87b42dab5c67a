/*
 * driver: what deploy, rollback and status ask of the runtime a stack runs
 * on, as one table of operations, so the cutover logic (deploy.c, watch.c,
 * preflight.c, status.c) exists once whatever runs the containers.
 *
 * A driver works on a struct runtime (runtime.h): the project directory and
 * name, the stack's files, dsnflip's override file when one is in use, and
 * two environments (with the role passwords, for the children that render
 * the override; without, for the docker CLI).  Passwords reach a child only
 * through its environment, never its argv.
 *
 * The operations:
 *   detect        find the CLI the driver needs (and its version), fill
 *                 rt's environments from the process environment;
 *   check_config  the stack's files plus the override load; 0 with d's
 *                 message set: the check could not be made (why is in d);
 *   switch_to     put one service on what the files plus the override say
 *                 now (recreate it), waiting at most timeout_ms;
 *   restore       put one service back on what the files alone say (the
 *                 caller has already taken it out of the override);
 *   tasks         the ids of the service's containers (tasks: every
 *                 replica), newest first, one-off runs left out;
 *   inspect       one container's state, restarts, health, main pid;
 *   task_env      one variable of a container's configured environment;
 *   client_ports  the TCP source ports of a container's connections to the
 *                 server's port, for attributing pg_stat_activity sessions;
 *   logs_start    a following log stream of one container;
 *   describe      a short name for messages ("compose v2 2.24.0");
 *   restart_start replace the containers on an unchanged config (observe).
 *
 * Two drivers: compose (driver_compose.h) and swarm (driver_swarm.h).
 * driver_select picks one by name; with no name the caller decides by what
 * the engine runs (deploy.c: a deployed Swarm stack of the project's name
 * gets the swarm driver, anything else compose).
 */
#ifndef DSNFLIP_DRIVER_H
#define DSNFLIP_DRIVER_H

#include "running/runtime.h"

struct driver_ops {
	const char *name;
	int (*detect)(struct runtime *rt, const char *cmd, char *const *env, struct diag *d);
	int (*check_config)(struct runtime *rt, struct diag *d);
	int (*switch_to)(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
	int (*restore)(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
	int (*tasks)(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d);
	int (*inspect)(struct runtime *rt, const char *id, struct container *out, struct diag *d);
	int (*task_env)(struct runtime *rt, const char *id, const char *key, char **out,
			struct diag *d);
	int (*client_ports)(const struct container *c, const int *server_ports, size_t nserver,
			    int **ports, size_t *n);
	int (*logs_start)(struct logstream *ls, struct runtime *rt, const char *id, const char *since,
			  struct diag *d);
	void (*describe)(const struct runtime *rt, struct buf *out);
	/* Replace the service's containers on an unchanged config (observe
	 * --restart), started and left running: poll with run_poll(c), then
	 * run_finish and child_release. */
	int (*restart_start)(struct runtime *rt, const char *service, int timeout_ms,
			     struct child *c, struct diag *d);
};

/*
 * The driver called name ("compose"), or with name NULL the one the engine
 * calls for.  NULL with d (EXIT_INPUT) for a name no driver has.
 */
const struct driver_ops *driver_select(const char *name, struct diag *d);

/*
 * Set rt's driver and run its detect.  Returns 0 or -1 with d; rt->ops is
 * set either way, so a caller that can work without the CLI (status) still
 * has a driver to ask.
 */
int driver_open(struct runtime *rt, const struct driver_ops *ops, const char *cmd,
		char *const *env, struct diag *d);

/* The operations of rt's driver (see above). */
int driver_check_config(struct runtime *rt, struct diag *d);
int driver_switch(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
int driver_restore(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
int driver_tasks(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d);
int driver_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d);
int driver_task_env(struct runtime *rt, const char *id, const char *key, char **out,
		    struct diag *d);
int driver_client_ports(const struct runtime *rt, const struct container *c, int server_port,
			int **ports, size_t *n);
int driver_logs_start(struct runtime *rt, struct logstream *ls, const char *id, const char *since,
		      struct diag *d);
int driver_restart_start(struct runtime *rt, const char *service, int timeout_ms, struct child *c,
			 struct diag *d);
/* driver_restart_start and waiting for it. */
int driver_restart(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
/* Appends the description; nothing when the CLI was not found. */
void driver_describe(const struct runtime *rt, struct buf *out);

#endif

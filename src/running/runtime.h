/*
 * runtime: the compose driver — what dsnflip does to a running stack —
 * and the parts every driver shares (struct runtime, containers' sockets,
 * failure patterns, log streams).  Callers go through running/driver.h.
 *
 * Finds the compose CLI (`docker compose` v2 plugin or `docker-compose` v1,
 * from the version string: v1 is 1.x, v2 is 2.x and later — it jumped to
 * 5.x — or as --compose-cmd says), runs it with the stack's files plus
 * dsnflip's override file, and watches containers through the docker CLI:
 * found by the labels com.docker.compose.project/.service (never by name,
 * which v1 and v2 spell differently), state from `docker inspect`, logs
 * from `docker logs -f`.  Secrets reach compose only through its
 * environment (runtime.env); never an argv.
 *
 * Sessions are attributed to a container by their TCP source port:
 * pg_stat_activity.client_port is looked up among the sockets of the
 * container's processes (found by its cgroup) in the container's network
 * namespace (/proc/PID/net/tcp{,6}).  That works with host networking,
 * where client_addr and application_name say nothing about which service
 * connected, and with bridge networks alike; it needs dsnflip on the
 * docker host (it drives compose there) and no NAT between the client and
 * the server that rewrites source ports.
 */
#ifndef DSNFLIP_RUNTIME_H
#define DSNFLIP_RUNTIME_H

#include <regex.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/run.h"

struct driver_ops;

struct runtime {
	const struct driver_ops *ops; /* the driver working on it (running/driver.h) */
	struct strvec cmd;         /* {"docker","compose"} or {"docker-compose"} */
	int v2;
	char *version;
	const char *dir;           /* project directory (absolute) */
	const char *project;       /* project name */
	struct strvec files;       /* compose files, absolute */
	struct strvec env_files;
	struct strvec profiles;
	char *override;            /* dsnflip's override file when it is in use, else NULL */
	struct strvec env;         /* environment of compose children: process env + secrets */
	struct strvec docker_env;  /* environment of docker CLI children: no secrets */
	/* For the swarm driver (running/driver_swarm.h); the compose driver ignores them. */
	char *state_dir;           /* where dsnflip may write its own stack files (0700) */
	char *file_version;        /* the stack's compose file `version:`, or NULL */
	char *client_version;      /* the docker CLI's own version (`docker stack config` is 23.0+) */
	int update_order_start_first; /* the next switch replaces tasks start-first */
	int update_monitor_s;      /* at least this Swarm monitor (0: from the healthcheck) */
	const char *update_failure_action; /* Swarm's failure_action for the next switch; NULL: rollback */
	long long failed_at_ms;    /* set by a failed switch: when the first task failed (realtime), else 0 */
	long long detected_at_ms;  /* ... and when the driver saw the failure (Swarm began its rollback) */
	char *node_id;             /* the swarm driver: this engine's node id (docker info) */
};

void runtime_init(struct runtime *rt);
/*
 * Fill rt's two environments from the process environment env (PGPASSWORD
 * and DSNFLIP_FAULT left out: they are dsnflip's own).
 */
void runtime_env_from(struct runtime *rt, char *const *env);
void runtime_release(struct runtime *rt);
/*
 * Find the compose CLI (cmd: --compose-cmd, e.g. "docker-compose" or
 * "docker compose"; NULL = detect).  env: the process environment.
 * Returns 0 or -1 with d (what was tried and what it said).
 */
int runtime_detect(struct runtime *rt, const char *cmd, char *const *env, struct diag *d);
/*
 * A `docker` child (the caller adds the subcommand), output captured, the
 * quick timeout; its environment without secrets, or with them (secrets:
 * `docker stack deploy` interpolates the role passwords the override
 * references).
 */
void runtime_docker_child(struct runtime *rt, struct child *c, int secrets);
/* Set a variable for compose children only (a role password). */
void runtime_setenv(struct runtime *rt, const char *key, const char *value);
/* Use the override file (NULL: none) on every later compose command. */
void runtime_set_override(struct runtime *rt, const char *path);

/*
 * The Swarm services of the stack called rt->project (labelled
 * com.docker.stack.namespace=<project>) into *names, when the engine is a
 * swarm manager; none otherwise.  -1 with d when docker does not answer.
 */
int runtime_swarm_services(struct runtime *rt, struct strvec *names, struct diag *d);

/* `compose config -q`: the files and the override load. */
int runtime_check_config(struct runtime *rt, struct diag *d);
/* `compose up -d --no-deps --force-recreate SERVICE`. */
int runtime_recreate(struct runtime *rt, const char *service, int timeout_ms, struct diag *d);
/*
 * The same, started and left running, so the caller can watch the server
 * while compose works: poll with run_poll(c), then run_finish(c, d) for the
 * result, and child_release(c).  Returns 0, or -1 with d (c released).
 */
int runtime_recreate_start(struct runtime *rt, const char *service, int timeout_ms, struct child *c,
			   struct diag *d);

struct container {
	char id[80];
	char status[24];           /* created, running, restarting, exited, dead, ... */
	int running;
	int exit_code;
	int restart_count;
	char health[24];           /* "" without a healthcheck; starting, healthy, unhealthy */
	long pid;                  /* the main process on the host, 0 if not running */
	char started_at[40];
	char finished_at[40];
	char restart_policy[24];
	char cid[80];              /* a Swarm task's container (id is the task's), else "" */
	char node[64];             /* a Swarm task's node id, else "" */
	int remote;                /* a Swarm task on another node: pid is not this host's */
};

/* "2026-11-24T04:02:02.123456789Z" (docker's timestamps) as epoch ms; 0 if not one. */
long long runtime_parse_ts(const char *s);

/* The service's containers (not one-off runs), newest first: ids in *ids. */
int runtime_containers(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d);
int runtime_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d);
/* One value of the container's environment as configured (not printed anywhere). */
int runtime_container_env(struct runtime *rt, const char *id, const char *key, char **out,
			  struct diag *d);

/*
 * The TCP source ports of the container's processes' connections to any
 * of the nserver server_ports (any address), into *ports (malloc'd, *n of
 * them).  Returns 0 (possibly none), -1 when the container is not
 * running, -2 when its sockets cannot be read (its /proc/PID/net tables or
 * its main process's fds, or a Swarm task on another node): then "none"
 * is not known.
 */
int runtime_client_ports(const struct container *c, const int *server_ports, size_t nserver,
			 int **ports, size_t *n);

/* Failure patterns for the log stream: extended regexes, case-insensitive. */
struct failpats {
	regex_t *re;
	char **src;
	size_t n, alloc;
};
void failpat_init(struct failpats *p);
/* The defaults (password authentication failed, permission denied, ...). */
void failpat_add_defaults(struct failpats *p);
int failpat_add(struct failpats *p, const char *re, struct diag *d);
/* The first pattern matching line, or NULL. */
const char *failpat_match(const struct failpats *p, const char *line);
void failpat_release(struct failpats *p);

/*
 * A `docker logs -f --timestamps` stream, read line by line without
 * blocking.  Nothing a container writes is dropped: a line longer than
 * LOGS_LINE_MAX bytes is handed over in pieces of LOGS_LINE_MAX bytes, each
 * beginning with the last LOGS_LINE_OVERLAP bytes of the piece before, so
 * a pattern match up to LOGS_LINE_OVERLAP bytes long always lies whole in
 * one piece (the memory a line takes stays bounded); a NUL byte is handed
 * over as a space, so it cannot hide the rest of its line.
 */
#define LOGS_LINE_MAX 4096
#define LOGS_LINE_OVERLAP 1024
struct logstream {
	struct child child;
	struct buf partial[2];
	int open[2];
};
int logstream_start(struct logstream *ls, struct runtime *rt, const char *id, const char *since,
		    struct diag *d);
/* The same over `docker service logs -f --timestamps --raw` (a Swarm service or task). */
int logstream_start_service(struct logstream *ls, struct runtime *rt, const char *id,
			    const char *since, struct diag *d);
/* Call fn for every complete line now readable; returns lines seen. */
int logstream_poll(struct logstream *ls, int wait_ms,
		   void (*fn)(void *ctx, const char *line), void *ctx);
void logstream_stop(struct logstream *ls);

#endif

/*
 * attrib: which service of the stack a server session comes from.
 *
 * The way deploy and status attribute sessions (runtime.h): a session's
 * pg_stat_activity.client_port is looked up among the TCP source ports of
 * the sockets every running container of the project holds to the
 * server's port.  attrib_snapshot takes the containers once (docker ps,
 * docker inspect: their main pids); attrib_refresh re-reads the ports
 * (/proc only, cheap) before each sample, as connections come and go.
 * A port no container holds is "outside the stack" (an admin's psql, a
 * host cron, another stack): callers say so rather than guess.
 */
#ifndef DSNFLIP_ATTRIB_H
#define DSNFLIP_ATTRIB_H

#include <stddef.h>

#include "running/runtime.h"
#include "detect/model.h"
#include "stack/compose.h"

struct attrib_container {
	char *service;
	struct container ct;
	int unreadable_runs; /* refreshes in a row its sockets could not be read */
};

struct attrib {
	struct attrib_container *cts;
	size_t ncts, cts_alloc;
	/* The server's ports as the containers reach it: every port the plan's
	 * DSNs name (5432 when they name none) and the admin connection's.  A
	 * published port (127.0.0.1:15432 -> 5432) differs from the one the
	 * apps use inside the network; matching only --db's would count every
	 * app session "outside the stack". */
	int *server_ports;
	size_t nserver_ports;
	struct { int port; size_t ct; } *ports;
	size_t nports, ports_alloc;
	/* "service (container ID)" of running containers whose sockets could
	 * not be read at the last refresh, and of containers that could not be
	 * inspected: their sessions cannot be attributed.  unreadable_services:
	 * their services' names. */
	struct strvec unreadable, unreadable_services;
	struct strvec uninspected, uninspected_services; /* from the snapshot, index for index */
};
#define ATTRIB_INIT { NULL, 0, 0, NULL, 0, NULL, 0, 0, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT, STRVEC_INIT }

/*
 * The running containers of every service of p, whose connections to the
 * server are on the ports plan's DSNs name, 5432 or admin_port.  Returns 0
 * or -1 with d (docker failed).
 */
int attrib_snapshot(struct attrib *a, struct runtime *rt, const struct compose_project *p,
		    const struct plan *plan, int admin_port, struct diag *d);
/* Re-read the containers' client ports (and a->unreadable: containers
 * unreadable at two refreshes in a row, tasks on other nodes, and the
 * ones the snapshot could not inspect). */
void attrib_refresh(struct attrib *a);
/* The service holding client port, or NULL (outside the stack); *cid: its short container id. */
const char *attrib_service(const struct attrib *a, int port, const char **cid);
void attrib_release(struct attrib *a);

#endif

/*
 * ports: how a service is reached from this host, read from its compose
 * definition (published ports, container_name, hostname).  The one place
 * outside the loader that reads those keys, so later stages never touch
 * raw compose YAML.
 */
#ifndef DSNFLIP_PORTS_H
#define DSNFLIP_PORTS_H

#include "stack/compose.h"

/* A published port: where the host listens for a container port. */
struct published_port {
	int port;          /* on the host, 1..65535 */
	char ip[64];       /* the host IP it is bound to, without brackets; "" = every interface */
};

/*
 * Find the host port service s publishes for container port target (TCP).
 * Short syntax "[IP:]HOST:CONTAINER[/tcp]" (IPv6 as "[::1]:HOST:CONTAINER")
 * and long syntax {target, published, host_ip, protocol}.  Not a match: a
 * port with no host side ("5432", where Docker picks one at random), a
 * range ("5432-5433:5432-5433"), another protocol, a number that is not
 * one (strictly parsed, 1..65535).  Returns 1 with *out, else 0.  *out owns
 * its text, so it outlives nothing of s.
 */
int ports_published(const struct service *s, int target, struct published_port *out);

/* The enabled service a host name reaches (its name, container_name or hostname), or NULL. */
const struct service *ports_host_service(const struct compose_project *p, const char *host);

#endif

/*
 * driver_compose: the compose driver (docker compose v2 or docker-compose
 * v1), one table of driver.h's operations over runtime.c.  Switching and
 * restoring a service are both `up -d --no-deps --force-recreate SERVICE`:
 * the files plus (or without) dsnflip's override decide what it runs.
 */
#ifndef DSNFLIP_DRIVER_COMPOSE_H
#define DSNFLIP_DRIVER_COMPOSE_H

#include "running/driver.h"

extern const struct driver_ops driver_compose;

#endif

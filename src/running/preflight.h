/*
 * preflight: what must hold before deploy switches a service: every role
 * it moves to exists on the server with LOGIN, its planned connection
 * limit and settings, owns or may use what it must, and its password in
 * the secrets file logs in (checked from here, the password in memory
 * only).  Problems are listed all at once, so one run shows everything to
 * fix.
 */
#ifndef DSNFLIP_PREFLIGHT_H
#define DSNFLIP_PREFLIGHT_H

#include "running/deploy.h"

/* 0 when every service of todo can be switched; -1 with d listing the problems. */
int deploy_preflight(struct deploy_ctx *dc, const struct plan_service **todo, size_t ntodo,
		     struct diag *d);

#endif

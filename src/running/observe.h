/*
 * observe: the runbook's "set log_statement=ddl and watch", done precisely,
 * for services whose class the stack cannot tell (PRODUCT.md: held).
 *
 * In each database the observed services use it installs, as the admin:
 *
 *   schema   dsnflip_observe (no rights for PUBLIC)
 *   table    dsnflip_observe.ddl_log
 *   function dsnflip_observe.record()   SECURITY DEFINER, search_path pinned
 *   event triggers dsnflip_observe_ddl (ddl_command_end) and
 *                  dsnflip_observe_drop (sql_drop)
 *
 * The function only records — session_user, pg_backend_pid(), client
 * address and port, application_name, command tag, object type and
 * identity, the time — and never raises: its whole body sits in a block
 * with EXCEPTION WHEN OTHERS THEN NULL, so a failure to record can never
 * break the application's DDL.  During the window pg_stat_activity is
 * sampled every half second (the statement each session of the stack runs
 * or ran last, and whether it holds a transaction id: it wrote), and the
 * containers' client ports every 100 ms, so even a short migration
 * session is attributed to its service (attrib.h: client port against the
 * container's sockets).  With --restart each observed service is recreated
 * on its unchanged DSN (compose up --force-recreate; dsnflip's override
 * does not switch held services) while all this runs, supervised as
 * deploy supervises (restarts, a non-zero exit, unhealthy, failure
 * patterns in its logs); a service that fails is recreated once more on
 * the same config (the rollback) and reported.
 *
 * Result per service: migrator (DDL seen), writer (writes seen), reader
 * (only reads seen), unsettled (nothing seen: it says so), each with the
 * observed statements as evidence, and a dsnflip.yml snippet;
 * --write-config adds it to dsnflip.yml (only then; refused when the
 * merged file would not load with exactly those classes).
 *
 * Crash-safe: before installing, observe.json in the state directory
 * records the databases and objects; everything is removed at the end, on
 * SIGINT/SIGTERM, and — after a kill -9 — by the next observe or by
 * `observe --cleanup`, which also looks for dsnflip_observe objects by
 * name in every database of the plan.  The objects are removed triggers
 * first, so the application's DDL never meets a half-removed trigger.
 */
#ifndef DSNFLIP_OBSERVE_H
#define DSNFLIP_OBSERVE_H

#include "running/deploy.h"

/* What observe is told beyond deploy's options (services, --window, -q). */
struct observe_opts {
	int restart, cleanup, write_config;
	const char *config_path;    /* --config, or NULL: the project's dsnflip.yml */
};

/*
 * `observe [SERVICE...] [--window 10m] [--restart] [--cleanup] [--write-config]`:
 * the exit code; why it did not finish in err (the command prints it).
 */
int observe_run(struct deploy_ctx *dc, const struct observe_opts *oo, struct diag *err);

/* For status: an observe's objects may still be installed (observe.json exists). */
int observe_leftover(const char *dir, char **since, long *pid);

#endif

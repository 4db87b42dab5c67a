/*
 * finish: the runbook's last step — prove the move is complete, then take
 * the superuser's password away from everything but the admin.
 *
 * Proof first, nothing changed until it holds:
 *   - the plan: no service still connects as a superuser (held, pending or
 *     rolled back services on the superuser fail it; flipped ones — by
 *     deploy's journal or a merged branch — pass);
 *   - the window (--window, default 10 s): pg_stat_activity sampled every
 *     half second; a superuser session from any container of the stack
 *     (attributed by client port, attrib.h) fails it, sessions from
 *     outside the stack are listed as such;
 *   - every planned role within its connection limit (now and at the
 *     window's peak).
 * Any failure: a report, exit 1.
 *
 * Then the rotation, of the admin connection's role (it must be a
 * superuser): a new random password (secrets_random), written first to
 * superuser.env.new (0600) in the state directory, sent to the server only
 * as a SCRAM verifier computed here (roles_set_password), and proved by
 * opening a new connection with it (same target, new password) before the
 * old connection is closed.  When the proof fails the old verifier (read
 * from pg_authid before) is put back.  Proved: superuser.env.new becomes
 * superuser.env (<ROLE>_PASSWORD=..., 0600) and finish.json (no secret)
 * records when and what, for `status`.  The old password is then tried
 * once, when libpq had one, and must be refused.
 *
 * The report says what still holds the old password (the server service's
 * POSTGRES_PASSWORD, read by the image only at initdb; stack values and
 * .env lines equal to it; ~/.pgpass lines for the role), the budget
 * re-check per role (live, peak, limit) and a pg_hba.conf fragment
 * restricting the superuser to local and the admin's address.  It applies
 * nothing to pg_hba.conf.
 */
#ifndef DSNFLIP_FINISH_H
#define DSNFLIP_FINISH_H

#include "running/deploy.h"

/* `finish [--window 10s] [--format json]`: the exit code; err (empty on entry) holds what to print. */
int finish_run(struct deploy_ctx *dc, struct diag *err);

/* For status: has finish run for this state directory?  *when (malloc'd) and *role. */
int finish_recorded(const char *dir, char **when, char **role);

#endif

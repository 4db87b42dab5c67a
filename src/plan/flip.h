/*
 * flip: each flipped connection's switch to its role, worked out once.
 *
 * For every superuser connection of a flipped service, plan_build() calls
 * flip_plan() to fill plan_conn.flip (detect/model.h): the sites `branch`
 * edits, the variables deploy's override sets, and whether it can be done.
 * One rule decides what changes, for both:
 *  - a connection string: its user becomes the role (added when missing);
 *    its password becomes the reference when the string holds one or no
 *    PGPASSWORD beside it gives it;
 *  - PGUSER / PGPASSWORD beside it, or split settings (DB_USER,
 *    DB_PASSWORD, ...): the user variable becomes the role, the password
 *    variable the reference; a split connection without one of them cannot
 *    be flipped (dsnflip edits values, never adds variables).
 * Where a site is (rewrite.h explains why): a DSN reached through a
 * whole-value "${VAR}" at VAR's definition; a DSN written as the default of
 * "${VAR:-...}" inside that default (when VAR is unset, so the default is
 * what the service gets); a user or password reached through "${VAR}" at
 * the reference, so the shared VAR (often the server's) stays.
 *
 * It cannot be done (flip.blocked, a blocking plan warning naming the fix)
 * when a value comes from the process environment, its literal cannot be
 * decoded safely (several lines, a block scalar, an unknown escape), its
 * user and password cannot be separated from the references it is built
 * from, one literal would need two texts (two roles), or the literal is
 * also the value of a service or variable that does not flip with it (a
 * service in an inactive profile, the server, a held service).  A site in
 * a file git does not track is noted (flip.untracked), not blocked: branch
 * leaves that file out and the runbook gives the line.
 */
#ifndef DSNFLIP_FLIP_H
#define DSNFLIP_FLIP_H

#include "plan/plan.h"

/* Fill every flipped connection's flip; blocking ones become warnings.  Never fails. */
void flip_plan(struct plan *plan, const struct plan_opts *opts);

/* "ROLE_PASSWORD" for a role: upper case, other characters '_' (malloc'd). */
char *flip_password_var(const char *role);
/* "${ROLE_PASSWORD:?ROLE_PASSWORD must be set}", or "... must be set (why)}" (malloc'd). */
char *flip_password_ref(const char *role, const char *why);
/* Append t with ref at each reference. */
void flip_text_render(const struct flip_text *t, const char *ref, struct buf *out);

#endif

/*
 * secrets: the generated role passwords, kept outside the repository.
 *
 * One file per project: $XDG_STATE_HOME/dsnflip/<project>/secrets.env
 * (~/.local/state when XDG_STATE_HOME is unset), mode 0600 in a 0700
 * directory, lines "<ROLE>_PASSWORD=<48 hex chars>" (24 random bytes from
 * getrandom).  A password is generated once per role and reused by every
 * later command; the file is written atomically (temp file, fsync, rename).
 * Nothing here ever prints a password.
 */
#ifndef DSNFLIP_SECRETS_H
#define DSNFLIP_SECRETS_H

#include "util/buf.h"
#include "util/diag.h"

struct secrets;

/* The path for a project (malloc'd). env: the process environment. */
char *secrets_path(const char *project, char *const *env);
/*
 * The same path as documents show it (malloc'd): $XDG_STATE_HOME spelled out
 * when it is set, "~/.local/state/..." when it is not.
 */
char *secrets_shown_path(const char *project, char *const *env);
/* Load (a missing file is an empty set). Refuses a file readable by others. */
int secrets_load(const char *path, struct secrets **out, struct diag *d);
/* The password of a role, or NULL. */
const char *secrets_get(const struct secrets *s, const char *role);
/* Generate one for role unless present; *created = 1 when new. */
int secrets_ensure(struct secrets *s, const char *role, int *created, struct diag *d);
/* A fresh password: SECRETS_PASSWORD_LEN hex chars from getrandom; what names it in errors. */
#define SECRETS_PASSWORD_LEN 48
int secrets_random(char out[SECRETS_PASSWORD_LEN + 1], const char *what, struct diag *d);
/* Write the file (0600, atomic) if anything changed. */
int secrets_save(struct secrets *s, struct diag *d);
/*
 * The state directory's trust check, as ssh's StrictModes: dir (BASE/dsnflip/
 * PROJECT, BASE being $XDG_STATE_HOME or ~/.local/state) must be a real
 * directory of yours; BASE/dsnflip and BASE must be yours or root's; none
 * of the three may be writable by group or others, except a root-owned
 * sticky parent such as /tmp (others may add entries there, not replace
 * ours).  Anyone else who can write
 * there can swap the secrets, the journal or the override file deploy
 * hands to docker compose.  A component that does not exist yet passes
 * (it will be created 0700).  Returns 0, or -1 with d naming the directory,
 * its owner or mode and the fix.
 */
int state_dir_check(const char *dir, struct diag *d);
/* "<ROLE>_PASSWORD", upper case (malloc'd). */
char *secrets_var_name(const char *role);
void secrets_free(struct secrets *s);

#endif

/*
 * mask: keep passwords out of anything dsnflip prints.
 *
 * Messages, evidence and `config` quote user input (a command line, a
 * scalar that did not parse, an environment value), and user input may hold
 * a password.  There is one rule, applied to every output (diag messages,
 * plan evidence, `config`, child command descriptions, deploy logs):
 *
 *  - a URI's userinfo password, whatever the scheme and whether or not the
 *    URI parses: `postgres://u:PW@`, `redis://:PW@`, `amqp://u:PW@`,
 *    `ecto://`, `db+postgresql://`, a password holding `?`, `/`, `%zz`;
 *  - the value after a secret-looking name followed by `=`, `: ` or a
 *    space-separated command-line flag: `password=PW`, `PGPASSWORD=PW`,
 *    `DB_PASS=PW`, `--password PW`, `POSTGRES_PW: PW`, `?password=PW&`,
 *    and a quoted literal after one: SQL's `PASSWORD 'PW'` (what an app's
 *    CREATE/ALTER ROLE shows in pg_stat_activity);
 *  - for an environment entry (mask_env_value), the whole value when its
 *    key looks secret (mask_key_is_secret), else the text rule above.
 *
 * A masked value is shown as ****.  Masking errs on the side of hiding:
 * a non-secret that looks like one is shown masked.
 */
#ifndef DSNFLIP_MASK_H
#define DSNFLIP_MASK_H

#include "util/buf.h"

#define MASK "****"

/* Append s to out with every password the text rule finds masked. */
void mask_secrets(const char *s, struct buf *out);
/*
 * Does a variable or parameter name look like it holds a secret?  It holds
 * PASSWORD, PASSWD, SECRET, TOKEN or CREDENTIAL anywhere, or one of its
 * words (split on _ - ., any case) is PASS, PW, PWD (not the
 * shell's PWD/OLDPWD), APIKEY or PASSPHRASE, or its last word is KEY
 * (API_KEY, ACCESS_KEY) or ends in PASS (redis's --requirepass).  Not AUTH: POSTGRES_HOST_AUTH_METHOD=trust is a
 * finding, not a secret.
 */
int mask_key_is_secret(const char *key, size_t len);
/* An environment value as printed: masked whole when key is secret, else mask_secrets(). */
void mask_env_value(const char *key, const char *value, struct buf *out);

#endif

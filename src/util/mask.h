/*
 * mask: keep passwords out of anything dsnflip prints.
 *
 * Messages and evidence quote user input (a command line, a scalar that did
 * not parse), and user input may hold a DSN with its password.  Every
 * message goes through mask_secrets() on its way into a struct diag or the
 * plan, so a password typed into a compose file is never echoed back.
 */
#ifndef DSNFLIP_MASK_H
#define DSNFLIP_MASK_H

#include "util/buf.h"

/* Append s to out with URI userinfo passwords and password=VALUE masked. */
void mask_secrets(const char *s, struct buf *out);

#endif

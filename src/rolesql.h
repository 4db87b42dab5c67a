/*
 * rolesql: the reviewable SQL for one database, rendered from templates/.
 *
 * sql/dsnflip/<database>.sql is self-contained, idempotent, runnable with
 * `psql -v ON_ERROR_STOP=1 -f` as the superuser, decides at run time from
 * the catalogs what to re-own (TimescaleDB-aware when the extension is
 * present), and holds no password (POSTGRES.md, PRODUCT.md §6).
 */
#ifndef DSNFLIP_ROLESQL_H
#define DSNFLIP_ROLESQL_H

#include "buf.h"
#include "diag.h"

struct plan;
struct config;

/* The databases the plan touches, in plan order (pointers into the plan). */
size_t rolesql_databases(const struct plan *plan, const char **out, size_t max);
/* Render the SQL for one database into out.  templates_dir: where templates live. */
int rolesql_render(const struct plan *plan, const struct config *cfg, const char *database,
		   const char *templates_dir, struct buf *out, struct diag *d);

#endif

/*
 * appsource: what an application's own files in its build context say
 * about its database, where no start-up command or environment shows it.
 *
 *  - appsource_find_ddl: a schema statement (CREATE/ALTER/DROP TABLE,
 *    CREATE INDEX/SCHEMA/EXTENSION) in the source or in a shipped .sql
 *    file: the application may change the schema from its own code at
 *    start-up (a Go main creating its table, Spring's schema.sql);
 *  - appsource_find_conn: a connection in a config file
 *    (application.properties, application.yml, database.yml, *.toml,
 *    *.ini, a Python settings file, ...) -- a connection string, or a host
 *    key ("HOST": "db", host: db) -- whose host is one the caller
 *    recognises (a server of the stack, or a pooler in front of one): the
 *    connection lives in the image or a mounted file, not in the
 *    environment.  The path may be a directory (walked) or one file (a
 *    bind-mounted config file);
 *  - appsource_has_stem: whether a file of that name (any extension) is in
 *    the context: `node index.js` with no index.* anywhere in it runs the
 *    base image's application.
 *
 * Every walk is bounded (depth and entries) and skips dependency, build
 * output and test directories; files are read up to 256 KiB.  Paths
 * returned are relative to the context directory, in the arena.
 */
#ifndef DSNFLIP_APPSOURCE_H
#define DSNFLIP_APPSOURCE_H

#include "util/arena.h"

struct appsource_hit {
	const char *file;   /* relative to the context */
	int line;
	const char *text;   /* the line, trimmed and cut to 120 bytes */
	const char *host;   /* appsource_find_conn: the connection's host */
	const char *user;   /* appsource_find_conn: its user, or NULL */
};

/* Returns 1 with *out filled, 0 when none is found. */
int appsource_find_ddl(struct arena *a, const char *context_dir, struct appsource_hit *out);

/* is_server(ctx, host): is host one of the stack's servers? */
int appsource_find_conn(struct arena *a, const char *context_dir,
			int (*is_server)(void *ctx, const char *host), void *ctx,
			struct appsource_hit *out);

int appsource_has_stem(struct arena *a, const char *context_dir, const char *stem);

#endif

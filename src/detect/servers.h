/*
 * servers: which services of a stack are PostgreSQL servers, and who their
 * superusers are.
 *
 * A superuser connection is only recognised when its server is: a server
 * taken for a client hides its POSTGRES_USER, and every app connecting as
 * that user looks safe.  So a server is recognised by what it is, not by one
 * spelling of its image:
 *  - its image belongs to a server family by name (postgres, postgis,
 *    timescaledb, pgvector, citus, bitnami/postgresql, supabase/postgres,
 *    and images named after PostgreSQL with an extension: postgres-partman,
 *    pg_repack builds ...); images that merely mention PostgreSQL but are
 *    clients (exporters, meta APIs, poolers, admin UIs, backup tools,
 *    PostgREST) are not servers, whatever else they carry;
 *  - or its build's Dockerfile starts FROM such an image;
 *  - or its environment is the official image's (PGDATA,
 *    POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD) with no host of its own;
 *  - or its healthcheck runs pg_isready against itself;
 *  - or (servers_mark_target) other services' connections point at it.
 *
 * Each family knows its superusers: the official image (and everything
 * built on it) makes POSTGRES_USER (default postgres) the one superuser;
 * Bitnami's creates POSTGRESQL_USERNAME (or POSTGRES_USER) as a plain owner
 * beside the superuser postgres; Supabase's adds supabase_admin.  When the
 * family is not known (a server recognised only by behaviour) its
 * superusers are not known either: `superusers_known` is 0 and a user that
 * is not postgres or its POSTGRES_USER is undecided offline.
 *
 * Users created by init scripts mounted into /docker-entrypoint-initdb.d
 * with SUPERUSER are superusers too (the script is read).
 */
#ifndef DSNFLIP_SERVERS_H
#define DSNFLIP_SERVERS_H

#include <stddef.h>

#include "stack/compose.h"
#include "util/arena.h"
#include "util/buf.h"

enum pg_family {
	PGF_NONE,      /* not a server */
	PGF_OFFICIAL,  /* the official image or one built on it */
	PGF_BITNAMI,
	PGF_SUPABASE,
	PGF_UNKNOWN    /* a server by behaviour; its image's users are not known */
};

struct pg_server {
	const struct service *svc;
	enum pg_family family;
	const char *why;          /* "image postgres:16", "Dockerfile db/Dockerfile: FROM postgis/postgis:16", ... */
	struct strvec superusers; /* known superusers */
	int superusers_known;     /* 1: every superuser is in the list */
};

struct pg_servers {
	struct pg_server *v;
	size_t nr, alloc;
	size_t *of_service;       /* per project service: server index + 1, 0 = not a server */
	size_t nservices;
};

/*
 * The family an image name belongs to: PGF_NONE for clients and anything
 * else, otherwise the server family.  Registry, tag and digest are ignored.
 */
enum pg_family pg_image_family(const char *image);

/* Find the servers of p (enabled or not).  Strings live in a. */
void servers_find(const struct compose_project *p, struct arena *a, struct pg_servers *out);

/* Make service index i a server because connections point at it (no-op if it is one). */
void servers_mark_target(struct pg_servers *sv, const struct compose_project *p, struct arena *a,
			 size_t i);

/* The server a connection's host names (service name, container_name, hostname, alias), or NULL. */
const struct pg_server *servers_for_host(const struct pg_servers *sv, const struct compose_project *p,
					 const char *host);
/* Is service index i a server? */
int servers_is(const struct pg_servers *sv, size_t i);
/* Is user a known superuser of any server of the stack? */
int servers_any_superuser(const struct pg_servers *sv, const char *user);

void servers_release(struct pg_servers *sv);

#endif

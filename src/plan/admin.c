/*
 * admin: deriving the admin connection from the stack (see admin.h).
 */
#include "plan/admin.h"
#include "stack/ports.h"

#include <stdlib.h>
#include <string.h>

void admin_conninfo_release(struct admin_conninfo *a)
{
	if (a->password) {
		/* Do not leave the secret lying in freed memory. */
		volatile char *v = a->password;
		while (*v)
			*v++ = '\0';
	}
	free(a->host);
	free(a->port);
	free(a->user);
	free(a->password);
	free(a->dbname);
	free(a->how);
	free(a->server);
	memset(a, 0, sizeof(*a));
}

/* The address to dial for a port published on ip ("" or a wildcard: loopback). */
static const char *dial_host(const char *ip)
{
	if (!*ip || !strcmp(ip, "0.0.0.0"))
		return "127.0.0.1";
	if (!strcmp(ip, "::"))
		return "::1";
	return ip;
}

int admin_derive(const struct plan *plan, struct admin_conninfo *out)
{
	const struct compose_project *p = plan ? plan->project : NULL;
	memset(out, 0, sizeof(*out));
	if (!p)
		return 0;
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *c = &ps->conns[k];
			const char *user = c->user, *db = c->database;
			struct published_port pub;

			if (!c->superuser || !c->password || !*c->password || strstr(c->password, "${"))
				continue;
			const struct service *srv = ports_host_service(p, c->host);
			if (!srv || !ports_published(srv, c->port > 0 ? c->port : 5432, &pub))
				continue;
			if (!user || !*user) {
				const struct env_entry *pu = service_env(srv, "POSTGRES_USER");
				user = pu && pu->value && *pu->value ? pu->value : "postgres";
			}
			out->host = xstrdup(dial_host(pub.ip));
			out->port = xstrfmt("%d", pub.port);
			out->user = xstrdup(user);
			out->password = xstrdup(c->password);
			out->dbname = xstrdup(db && *db ? db : "postgres");
			out->server = xstrdup(c->server ? c->server : srv->name);
			out->how = xstrfmt("derived from %s of %s (%s:%d) via the published port %d",
					   c->variable, ps->name, c->defined_file ? c->defined_file : "?",
					   c->defined_line, pub.port);
			return 1;
		}
	}
	return 0;
}

static int loopback(const char *host)
{
	return !host || !*host || *host == '/' || !strcmp(host, "localhost") || !strncmp(host, "127.", 4) ||
	       !strcmp(host, "::1");
}

const char *admin_server_for(const struct plan *plan, const char *host, int port)
{
	if (plan->nservers == 1)
		return plan->servers[0];
	for (size_t i = 0; i < plan->nservers; i++) {
		const char *sv = plan->servers[i];
		const struct service *srv = sv ? compose_service(plan->project, sv) : NULL;
		struct published_port pub;
		if (!sv)
			continue;
		if (srv && host && !strcmp(host, sv) && (port == 5432 || port <= 0))
			return sv;
		if (srv && loopback(host) && ports_published(srv, 5432, &pub) && pub.port == port)
			return sv;
		if (!srv && host) {
			char *hp = xstrfmt("%s:%d", host, port > 0 ? port : 5432);
			int same = !strcmp(sv, port == 5432 || port <= 0 ? host : hp);
			free(hp);
			if (same)
				return sv;
		}
	}
	return NULL;
}

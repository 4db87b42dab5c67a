/*
 * attrib: sessions to services by client port.  See attrib.h.
 */
#include "running/attrib.h"
#include "running/driver.h"

#include <stdlib.h>
#include <string.h>

static void add_port(struct attrib *a, int port)
{
	for (size_t i = 0; i < a->nserver_ports; i++)
		if (a->server_ports[i] == port)
			return;
	a->server_ports = xrealloc(a->server_ports, (a->nserver_ports + 1) * sizeof(int));
	a->server_ports[a->nserver_ports++] = port;
}

int attrib_snapshot(struct attrib *a, struct runtime *rt, const struct compose_project *p,
		    const struct plan *plan, int admin_port, struct diag *d)
{
	/* libpq's default is what an undetected app uses. */
	add_port(a, 5432);
	if (admin_port > 0)
		add_port(a, admin_port);
	for (size_t i = 0; plan && i < plan->nservices; i++)
		for (size_t k = 0; k < plan->services[i].nconns; k++) {
			int port = plan->services[i].conns[k].port;
			add_port(a, port > 0 ? port : 5432); /* -1 (a reference): libpq's default too */
		}
	for (size_t i = 0; i < p->nservices; i++) {
		struct strvec ids = STRVEC_INIT;
		if (driver_tasks(rt, p->services[i].name, &ids, d)) {
			strvec_clear(&ids);
			return -1;
		}
		for (size_t k = 0; k < ids.nr; k++) {
			struct container ct;
			struct diag sub = DIAG_INIT;
			/* A container that went away between ps and inspect holds no
			 * session; one that could not be inspected for another reason
			 * may hold some, which then cannot be attributed. */
			if (driver_inspect(rt, ids.v[k], &ct, &sub)) {
				if (!strcasestr(sub.msg.buf ? sub.msg.buf : "", "no such")) {
					strvec_pushf(&a->uninspected, "%s (container %.12s: not inspected: %s)",
						     p->services[i].name, ids.v[k], sub.msg.buf);
					strvec_push(&a->uninspected_services, p->services[i].name);
				}
			} else if (ct.running) {
				ALLOC_GROW(a->cts, a->ncts + 1, a->cts_alloc);
				a->cts[a->ncts].service = xstrdup(p->services[i].name);
				a->cts[a->ncts].ct = ct;
				a->cts[a->ncts].unreadable_runs = 0;
				a->ncts++;
			}
			diag_release(&sub);
		}
		strvec_clear(&ids);
	}
	attrib_refresh(a);
	return 0;
}

void attrib_refresh(struct attrib *a)
{
	a->nports = 0;
	strvec_clear(&a->unreadable);
	strvec_clear(&a->unreadable_services);
	for (size_t i = 0; i < a->uninspected.nr; i++) {
		strvec_push(&a->unreadable, a->uninspected.v[i]);
		if (!strvec_contains(&a->unreadable_services, a->uninspected_services.v[i]))
			strvec_push(&a->unreadable_services, a->uninspected_services.v[i]);
	}
	for (size_t i = 0; i < a->ncts; i++) {
		int *ports = NULL;
		size_t n = 0;
		int r = runtime_client_ports(&a->cts[i].ct, a->server_ports, a->nserver_ports, &ports,
					     &n);
		/* Unreadable once may be a container caught mid-stop or mid-start;
		 * twice in a row, or a task on another node, it is unreadable. */
		a->cts[i].unreadable_runs = r == -2 ? a->cts[i].unreadable_runs + 1 : 0;
		if (r == -2 && a->cts[i].unreadable_runs < 2 && !a->cts[i].ct.remote)
			r = -1;
		if (r == -2 && !strvec_contains(&a->unreadable_services, a->cts[i].service))
			strvec_push(&a->unreadable_services, a->cts[i].service);
		if (r == -2 && a->cts[i].ct.remote)
			strvec_pushf(&a->unreadable, "%s (task %.12s, on node %.12s, not this one)",
				     a->cts[i].service, a->cts[i].ct.id, a->cts[i].ct.node);
		else if (r == -2)
			strvec_pushf(&a->unreadable, "%s (container %.12s)", a->cts[i].service,
				     a->cts[i].ct.id);
		if (!r)
			for (size_t k = 0; k < n; k++) {
				ALLOC_GROW(a->ports, a->nports + 1, a->ports_alloc);
				a->ports[a->nports].port = ports[k];
				a->ports[a->nports].ct = i;
				a->nports++;
			}
		free(ports);
	}
}

const char *attrib_service(const struct attrib *a, int port, const char **cid)
{
	for (size_t i = 0; port > 0 && i < a->nports; i++)
		if (a->ports[i].port == port) {
			if (cid)
				*cid = a->cts[a->ports[i].ct].ct.id;
			return a->cts[a->ports[i].ct].service;
		}
	return NULL;
}

void attrib_release(struct attrib *a)
{
	for (size_t i = 0; i < a->ncts; i++)
		free(a->cts[i].service);
	free(a->cts);
	free(a->ports);
	free(a->server_ports);
	strvec_clear(&a->unreadable);
	strvec_clear(&a->unreadable_services);
	strvec_clear(&a->uninspected);
	strvec_clear(&a->uninspected_services);
	memset(a, 0, sizeof(*a));
}

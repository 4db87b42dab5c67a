/*
 * attrib: sessions to services by client port.  See attrib.h.
 */
#include "running/attrib.h"
#include "running/driver.h"

#include <stdlib.h>
#include <string.h>

int attrib_snapshot(struct attrib *a, struct runtime *rt, const struct compose_project *p,
		    int server_port, struct diag *d)
{
	a->server_port = server_port;
	for (size_t i = 0; i < p->nservices; i++) {
		struct strvec ids = STRVEC_INIT;
		if (driver_tasks(rt, p->services[i].name, &ids, d)) {
			strvec_clear(&ids);
			return -1;
		}
		for (size_t k = 0; k < ids.nr; k++) {
			struct container ct;
			struct diag sub = DIAG_INIT;
			/* A container that went away between ps and inspect holds no session. */
			if (!driver_inspect(rt, ids.v[k], &ct, &sub) && ct.running) {
				ALLOC_GROW(a->cts, a->ncts + 1, a->cts_alloc);
				a->cts[a->ncts].service = xstrdup(p->services[i].name);
				a->cts[a->ncts].ct = ct;
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
	for (size_t i = 0; i < a->ncts; i++) {
		int *ports = NULL;
		size_t n = 0;
		if (!runtime_client_ports(&a->cts[i].ct, a->server_port, &ports, &n))
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
	memset(a, 0, sizeof(*a));
}

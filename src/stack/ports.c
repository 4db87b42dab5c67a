/*
 * ports: published ports and host names of services (see ports.h).
 */
#include "stack/ports.h"
#include "stack/service.h"

#include <stdio.h>
#include <string.h>

/* A port number, digits only, 1..65535; else 0. */
static int port_number(const char *s, size_t n)
{
	long v = 0;
	if (!n || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : 0;
}

static int set_ip(struct published_port *out, const char *ip, size_t n)
{
	if (n >= sizeof(out->ip))
		return 0;
	memcpy(out->ip, ip, n);
	out->ip[n] = '\0';
	return 1;
}

/* "[IP:]HOST:CONTAINER[/proto]" for target; 1 with *out. */
static int short_form(const char *s, int target, struct published_port *out)
{
	const char *end = s + strlen(s), *slash = strchr(s, '/');
	if (slash) {
		if (strcmp(slash + 1, "tcp"))
			return 0;
		end = slash;
	}
	const char *ipe = NULL, *hp = s;
	if (*s == '[') { /* [v6]:HOST:CONTAINER */
		const char *close = memchr(s, ']', (size_t)(end - s));
		if (!close || close[1] != ':')
			return 0;
		if (!set_ip(out, s + 1, (size_t)(close - s - 1)))
			return 0;
		hp = close + 2;
	} else {
		/* IP:HOST:CONTAINER or HOST:CONTAINER: the last two colons split it. */
		const char *c2 = NULL, *c1 = NULL;
		for (const char *p = s; p < end; p++)
			if (*p == ':') {
				c1 = c2;
				c2 = p;
			}
		if (!c2)
			return 0; /* "5432": no host side */
		if (c1) {
			ipe = c1;
			if (!set_ip(out, s, (size_t)(ipe - s)))
				return 0;
			hp = c1 + 1;
		} else {
			out->ip[0] = '\0';
		}
	}
	const char *colon = memchr(hp, ':', (size_t)(end - hp));
	if (!colon)
		return 0;
	int host = port_number(hp, (size_t)(colon - hp));
	int cont = port_number(colon + 1, (size_t)(end - colon - 1));
	if (!host || cont != target)
		return 0;
	out->port = host;
	return 1;
}

static const char *scalar(const struct ynode *n)
{
	return n && n->kind == YN_SCALAR ? n->str : NULL;
}

int ports_published(const struct service *s, int target, struct published_port *out)
{
	const struct ynode *ports = s && s->node ? ymap_get(s->node, "ports") : NULL;
	memset(out, 0, sizeof(*out));
	if (!ports || ports->kind != YN_SEQ)
		return 0;
	for (size_t i = 0; i < ports->n; i++) {
		const struct ynode *it = ports->items[i];
		struct published_port p = { 0 };
		if (scalar(it)) {
			if (!short_form(it->str, target, &p))
				continue;
		} else if (it->kind == YN_MAP) {
			const char *t = scalar(ymap_get(it, "target")), *pub = scalar(ymap_get(it, "published"));
			const char *ip = scalar(ymap_get(it, "host_ip")), *proto = scalar(ymap_get(it, "protocol"));
			if (!t || !pub || port_number(t, strlen(t)) != target)
				continue;
			if (proto && strcmp(proto, "tcp"))
				continue;
			p.port = port_number(pub, strlen(pub));
			if (!p.port)
				continue;
			if (ip) {
				size_t n = strlen(ip);
				if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
					ip++;
					n -= 2;
				}
				if (!set_ip(&p, ip, n))
					continue;
			}
		} else {
			continue;
		}
		*out = p;
		return 1;
	}
	return 0;
}

const struct service *ports_host_service(const struct compose_project *p, const char *host)
{
	if (!host || !*host)
		return NULL;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		if (!s->enabled)
			continue;
		if (!strcmp(s->name, host))
			return s;
		const char *cn = service_container_name(s), *hn = service_hostname(s);
		if ((cn && !strcmp(cn, host)) || (hn && !strcmp(hn, host)))
			return s;
	}
	return NULL;
}

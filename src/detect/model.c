/*
 * model: the names of the model's enums, lookups, and the two ways every
 * stage adds to a plan (evidence and warnings).  See model.h.
 */
#include "detect/model.h"
#include "util/mask.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

const char *class_name(enum svc_class c)
{
	static const char *const n[] = { "migrator", "writer", "reader", "unconfirmed" };
	return n[c];
}

const char *action_name(enum svc_action a)
{
	static const char *const n[] = { "flip", "hold", "skip" };
	return n[a];
}

const char *role_kind_name(enum role_kind k)
{
	static const char *const n[] = { "owner", "writer", "reader" };
	return n[k];
}

int class_parse(const char *s, enum svc_class *out)
{
	for (int i = 0; i <= CLASS_UNCONFIRMED; i++)
		if (!strcmp(s, class_name((enum svc_class)i))) {
			*out = (enum svc_class)i;
			return 0;
		}
	return -1;
}

const struct plan_service *plan_service(const struct plan *plan, const char *name)
{
	if (plan->service_index.nr) {
		size_t i = (size_t)(uintptr_t)strmap_get(&plan->service_index, name);
		return i ? &plan->services[i - 1] : NULL;
	}
	for (size_t i = 0; i < plan->nservices; i++)
		if (!strcmp(plan->services[i].name, name))
			return &plan->services[i];
	return NULL;
}

const struct plan_role *plan_role(const struct plan *plan, const char *name)
{
	size_t i = (size_t)(uintptr_t)strmap_get(&plan->role_index, name);
	return i ? &plan->roles[i - 1] : NULL;
}

int plan_same_server(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

const char *plan_server_label(const char *server)
{
	return server ? server : "(no host)";
}

int plan_role_on(const struct plan *plan, const struct plan_role *r, const char *server)
{
	return plan->nservers < 2 || plan_same_server(r->server, server);
}

void plan_add_evidence(struct plan *plan, struct plan_service *ps, const char *file, int line,
		       const char *text, const char *kind)
{
	ALLOC_GROW(ps->evidence, ps->nevidence + 1, ps->evidence_alloc);
	struct evidence_item *e = &ps->evidence[ps->nevidence++];
	e->file = file ? arena_strdup(&plan->arena, file) : NULL;
	e->line = line;
	struct buf masked = BUF_INIT, one = BUF_INIT;
	mask_secrets(text ? text : "", &masked);
	/* One line of evidence: a multi-line script body is not dumped into the
	 * plan; blanks collapse and the text stops at 160 bytes with "...". */
	for (size_t i = 0; i < masked.len && one.len < 160; i++) {
		char ch = masked.buf[i];
		if (ch == '\n' || ch == '\t' || ch == '\r')
			ch = ' ';
		if (ch == ' ' && (!one.len || one.buf[one.len - 1] == ' '))
			continue;
		buf_addch(&one, ch);
	}
	while (one.len && one.buf[one.len - 1] == ' ')
		buf_setlen(&one, one.len - 1);
	if (one.len >= 160) {
		/* never cut inside a UTF-8 character */
		size_t n = one.len;
		while (n && ((unsigned char)one.buf[n - 1] & 0xC0) == 0x80)
			n--;
		if (n && (unsigned char)one.buf[n - 1] >= 0xC0)
			n--;
		if (n < one.len && ((unsigned char)one.buf[one.len - 1] & 0x80))
			buf_setlen(&one, n);
		buf_addstr(&one, "...");
	}
	e->text = arena_strndup(&plan->arena, one.buf, one.len);
	buf_release(&masked);
	buf_release(&one);
	e->kind = kind;
	/* The same line saying the same thing twice (two literals shared with
	 * one service) is said once. */
	for (size_t i = 0; i + 1 < ps->nevidence; i++) {
		const struct evidence_item *o = &ps->evidence[i];
		if (o->line == e->line && !strcmp(o->text, e->text) &&
		    ((!o->file && !e->file) || (o->file && e->file && !strcmp(o->file, e->file)))) {
			ps->nevidence--;
			break;
		}
	}
}

void plan_warn(struct plan *plan, int blocking, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (!strmap_get(&plan->warning_index, b.buf)) {
		strvec_push(&plan->warnings, b.buf);
		strmap_put(&plan->warning_index, plan->warnings.v[plan->warnings.nr - 1], plan);
	}
	if (blocking)
		plan->blocking = 1;
	buf_release(&b);
}

/* The image name without registry host, tag or digest, lowercased. */

/*
 * override: the override file's text, from the plan's flips (see override.h).
 */
#include "running/override.h"
#include "plan/flip.h"
#include "stack/literal.h"

#include <stdlib.h>
#include <string.h>

/* One service's variables; 0, or -1 with d. */
static int service_settings(const struct plan_service *ps, struct buf *out, int *any, struct diag *d)
{
	struct strvec seen = STRVEC_INIT;
	struct buf value = BUF_INIT;
	int ret = -1;

	for (size_t k = 0; k < ps->nconns; k++) {
		const struct plan_flip *fl = ps->conns[k].flip;
		if (!fl)
			continue;
		if (!fl->nsettings) {
			diag_fail(d, "%s: cannot be switched: %s", ps->name,
				  fl->blocked ? fl->blocked : "no variable to set");
			goto out;
		}
		char *ref = flip_password_ref(fl->role, OVERRIDE_REF_WHY);
		for (size_t i = 0; i < fl->nsettings; i++) {
			const struct flip_setting *s = &fl->settings[i];
			if (strvec_contains(&seen, s->key))
				continue;
			strvec_push(&seen, s->key);
			if (!*any)
				buf_addf(out, "  %s:\n    environment:\n", ps->name);
			*any = 1;
			buf_reset(&value);
			flip_text_render(&s->value, ref, &value);
			buf_addf(out, "      %s: \"", s->key);
			literal_encode(1, YS_DOUBLE, value.buf, value.len, out);
			buf_addstr(out, "\"\n");
		}
		free(ref);
	}
	ret = 0;
out:
	strvec_clear(&seen);
	buf_release(&value);
	return ret;
}

int deploy_render_override(const struct plan *plan, const struct journal *j, struct buf *out,
			   struct diag *d)
{
	int any = 0;
	buf_addstr(out, "# Written by dsnflip deploy: the services below run as their new roles.\n"
			"# It holds no password: compose gets each <ROLE>_PASSWORD from dsnflip.\n"
			"# Do not edit; `dsnflip rollback` removes services from it.\n"
			"services:\n");
	for (size_t i = 0; i < j->n; i++) {
		const struct journal_service *js = &j->svcs[i];
		if (!js->in_override)
			continue;
		const struct plan_service *ps = plan_service(plan, js->name);
		if (!ps)
			return diag_fail(d, "the journal switches '%s', which the stack no longer has",
					 js->name);
		int svc_any = 0;
		if (service_settings(ps, out, &svc_any, d))
			return -1;
		any |= svc_any;
	}
	return any;
}

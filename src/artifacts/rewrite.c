/*
 * rewrite: byte-exact edits of connection literals (see rewrite.h).
 *
 * A literal is decoded into "units": each unit is a run of source bytes
 * and the decoded bytes it stands for (one character, or one escape
 * sequence such as \" or ''), so decoded offsets map back to source bytes
 * without ever splitting an escape.  An edit compares the decoded text
 * before and after, keeps the common prefix and suffix (widened to whole
 * units) byte for byte, and re-encodes only the middle in the literal's own
 * style.  Whatever the edit produces is checked by parsing the edited file
 * again (libyaml through ydoc, or the env-file parser) and decoding the
 * literal at its new place.
 */
#include "artifacts/rewrite.h"
#include "stack/literal.h"
#include "plan/flip.h"
#include "stack/envfile.h"
#include "artifacts/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- edits --- */

static int same_path(const struct srcfile *a, const struct srcfile *b)
{
	return a == b || !strcmp(a->path, b->path);
}

char *rewrite_password_ref(const char *role)
{
	return flip_password_ref(role, NULL);
}

/* The length of "KEY=" in a list-form item, or -1. */
/*
 * The smallest run of source bytes to replace so the literal decodes to
 * want: [*s0, *s1) in the file, standing for want[*w0, *w1).
 */
static void window(const struct literal *L, const char *want, size_t wlen, size_t *s0, size_t *s1,
		   size_t *w0, size_t *w1)
{
	const char *old = L->text.buf;
	size_t olen = L->text.len, p = 0, sfx = 0;

	while (p < olen && p < wlen && old[p] == want[p])
		p++;
	while (sfx < olen - p && sfx < wlen - p && old[olen - 1 - sfx] == want[wlen - 1 - sfx])
		sfx++;
	size_t a = p, b = olen - sfx;
	*s0 = *s1 = L->body1;
	for (size_t i = 0; i < L->nu; i++)
		if (L->u[i].d1 > a) {
			a = L->u[i].d0;
			*s0 = L->u[i].s0;
			break;
		}
	for (size_t i = 0; i < L->nu; i++)
		if (L->u[i].d1 >= b && L->u[i].d0 < b) {
			b = L->u[i].d1;
			*s1 = L->u[i].s1;
			break;
		} else if (L->u[i].d0 >= b) {
			*s1 = L->u[i].s0;
			break;
		}
	if (b >= olen)
		*s1 = L->body1;
	if (a >= olen)
		*s0 = L->body1;
	*w0 = a;
	*w1 = wlen - (olen - b);
}

static int edit_conflict(const struct rewrite_edit *e, const struct srcfile *f, size_t start,
			 size_t end)
{
	return same_path(e->file, f) && start < e->end && e->start < end;
}

int rewrite_set_value(struct rewrite *rw, const struct srcfile *f, int yaml, int list_form,
		      size_t start, size_t end, int line, int col, const char *value,
		      const char *label, struct diag *d)
{
	struct literal L = { 0 };
	struct buf raw = BUF_INIT, want = BUF_INIT, text = BUF_INIT;
	int ret = -1, style, whole = 0;

	buf_init(&L.text);
	if (literal_decode(f, yaml, start, end, line, col, label, &L, d) ||
	    literal_compose_text(&L, list_form, f, line, col, &raw, d))
		goto cleanup;
	style = L.style;
	if (!strcmp(raw.buf, value)) {
		ret = 0;
		goto cleanup;
	}
	if (yaml) {
		long k = list_form ? literal_list_prefix(&L) : 0;
		buf_add(&want, L.text.buf, (size_t)k);
		buf_addstr(&want, value);
	} else if (style == '\'') {
		/* Back to literal text; a lone '$' (a reference) needs interpolation. */
		int interp = 0;
		for (const char *c = value; *c; c++) {
			if (c[0] == '$' && c[1] == '$') {
				buf_addch(&want, '$');
				c++;
				continue;
			}
			interp |= *c == '$';
			buf_addch(&want, *c);
		}
		if (interp) {
			buf_reset(&want);
			buf_addstr(&want, value);
			style = '"';
			whole = 1;
			strvec_pushf(&rw->notes, "%s:%d: %s was single-quoted, which compose never "
				     "interpolates; it is now double-quoted so the password reference works",
				     f->display, line, label);
		}
	} else {
		buf_addstr(&want, value);
	}

	struct rewrite_edit e = { 0 };
	e.file = f;
	e.start = start;
	e.end = end;
	e.line = line;
	e.col = col;
	e.yaml = yaml;
	e.style = style;
	e.list_form = list_form;
	if (whole) {
		e.rstart = start;
		e.rend = end;
		buf_addch(&text, '"');
		literal_encode(0, '"', want.buf, want.len, &text);
		buf_addch(&text, '"');
	} else {
		size_t w0, w1;
		window(&L, want.buf, want.len, &e.rstart, &e.rend, &w0, &w1);
		if (literal_encode(yaml, style, want.buf + w0, w1 - w0, &text)) {
			diag_at(d, f->display, line, col, "%s: the new value cannot be written in this "
				"quoting style", label);
			goto cleanup;
		}
	}
	for (size_t i = 0; i < rw->nedits; i++) {
		struct rewrite_edit *o = &rw->edits[i];
		if (!edit_conflict(o, f, start, end))
			continue;
		if (o->start == start && o->end == end && !strcmp(o->want, want.buf)) {
			ret = 0; /* one literal shared by several services: one edit */
			goto cleanup;
		}
		diag_at(d, f->display, line, col, "this literal is shared by %s and %s, which would need "
			"different text (different roles): give them one role in dsnflip.yml, or split "
			"the literal", o->label, label);
		goto cleanup;
	}
	e.text = buf_detach(&text, &e.text_len);
	e.want = buf_detach(&want, NULL);
	e.label = xstrdup(label);
	ALLOC_GROW(rw->edits, rw->nedits + 1, rw->edits_alloc);
	rw->edits[rw->nedits++] = e;
	ret = 0;
cleanup:
	literal_release(&L);
	buf_release(&raw);
	buf_release(&want);
	buf_release(&text);
	return ret;
}

/* --- applying and checking --- */

static int cmp_edit(const void *a, const void *b)
{
	const struct rewrite_edit *x = *(const struct rewrite_edit *const *)a;
	const struct rewrite_edit *y = *(const struct rewrite_edit *const *)b;
	return x->rstart < y->rstart ? -1 : x->rstart > y->rstart;
}

/* Turn a plain YAML edit into a double-quoted literal (a flow collection needs it). */
static void to_double(struct rewrite *rw, struct rewrite_edit *e)
{
	struct literal L = { 0 };
	struct buf text = BUF_INIT;
	struct diag ignore = DIAG_INIT;

	buf_init(&L.text);
	if (!literal_decode(e->file, 1, e->start, e->end, e->line, e->col, e->label, &L, &ignore)) {
		e->rstart = L.body0;
		e->rend = L.body1;
	}
	buf_addch(&text, '"');
	literal_encode(1, YS_DOUBLE, e->want, strlen(e->want), &text);
	buf_addch(&text, '"');
	free(e->text);
	e->text = buf_detach(&text, &e->text_len);
	e->style = YS_DOUBLE;
	strvec_pushf(&rw->notes, "%s:%d: %s was a plain scalar where \"${...}\" cannot be written "
		     "plain (a flow collection); it is now double-quoted", e->file->display, e->line,
		     e->label);
	literal_release(&L);
	diag_release(&ignore);
}

/*
 * Build one file from its edits and check it: 0 ok, 1 a plain edit must
 * become double-quoted (done; try again), -1 error.
 */
static int build_file(struct rewrite *rw, struct rewrite_file *rf, struct rewrite_edit **v, size_t n,
		      struct diag *d)
{
	const struct srcfile *f = rf->src;
	struct buf out = BUF_INIT;
	size_t at = 0, *nstart = xcalloc(n, sizeof(*nstart)), *nend = xcalloc(n, sizeof(*nend));
	long delta = 0;
	int ret = -1;

	qsort(v, n, sizeof(*v), cmp_edit);
	for (size_t i = 0; i < n; i++) {
		if (i && v[i]->rstart < v[i - 1]->rend) {
			diag_at(d, f->display, v[i]->line, v[i]->col, "overlapping edits (%s and %s)",
				v[i - 1]->label, v[i]->label);
			goto cleanup;
		}
		buf_add(&out, f->data + at, v[i]->rstart - at);
		nstart[i] = (size_t)((long)v[i]->start + delta);
		buf_add(&out, v[i]->text, v[i]->text_len);
		at = v[i]->rend;
		delta += (long)v[i]->text_len - (long)(v[i]->rend - v[i]->rstart);
		nend[i] = (size_t)((long)v[i]->end + delta);
	}
	buf_add(&out, f->data + at, f->len - at);

	struct arena a = ARENA_INIT;
	struct srcfile *nf = srcfile_from(&a, f->display, out.buf, out.len);
	struct diag sub = DIAG_INIT;
	if (v[0]->yaml) {
		struct ylimits lim = YLIMITS_DEFAULT;
		struct yscalar_at *back = xcalloc(n, sizeof(*back));
		int again = 0;
		for (size_t i = 0; i < n; i++)
			back[i].start = nstart[i];
		if (ydoc_scalars_at(&a, nf, &lim, back, n, &sub)) {
			free(back);
			for (size_t i = 0; i < n; i++)
				if (v[i]->style == YS_PLAIN) {
					to_double(rw, v[i]);
					again = 1;
				}
			if (!again)
				diag_at(d, f->display, 0, 0, "the rewritten file does not parse (%s)",
					sub.msg.buf);
			ret = again ? 1 : -1;
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			int block = v[i]->style == YS_LITERAL || v[i]->style == YS_FOLDED;
			if (!block && (!back[i].str || back[i].len != strlen(v[i]->want) ||
				       memcmp(back[i].str, v[i]->want, back[i].len))) {
				if (v[i]->style == YS_PLAIN) {
					to_double(rw, v[i]);
					again = 1;
					continue;
				}
				diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value "
					"does not read back as intended", v[i]->label);
				free(back);
				goto done;
			}
		}
		free(back);
		if (again) {
			ret = 1;
			goto done;
		}
	} else {
		struct envfile ef = ENVFILE_INIT;
		if (envfile_parse(f->display, nf->data, nf->len, &ef, &sub)) {
			diag_at(d, f->display, 0, 0, "the rewritten file does not parse (%s)", sub.msg.buf);
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			const struct envfile_entry *e = NULL;
			for (size_t k = 0; k < ef.nr && !e; k++)
				if (ef.v[k].vstart == nstart[i] && ef.v[k].has_value)
					e = &ef.v[k];
			if (!e || strcmp(e->value, v[i]->want)) {
				envfile_release(&ef);
				diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value "
					"does not read back as intended", v[i]->label);
				goto done;
			}
		}
		envfile_release(&ef);
	}
	/* Our own decoder must agree too (block scalars are checked only here). */
	for (size_t i = 0; i < n; i++) {
		struct literal L = { 0 };
		buf_init(&L.text);
		int bad = literal_decode(nf, v[i]->yaml, nstart[i], nend[i], v[i]->line, v[i]->col, v[i]->label, &L, &sub) ||
			  strcmp(L.text.buf, v[i]->want);
		literal_release(&L);
		if (bad) {
			diag_at(d, f->display, v[i]->line, v[i]->col, "%s: the rewritten value does not "
				"read back as intended", v[i]->label);
			goto done;
		}
	}
	free(rf->data);
	rf->data = buf_detach(&out, &rf->len);
	ret = 0;
done:
	diag_release(&sub);
	arena_release(&a);
cleanup:
	buf_release(&out);
	free(nstart);
	free(nend);
	return ret;
}

int rewrite_apply(struct rewrite *rw, struct diag *d)
{
	for (size_t i = 0; i < rw->nfiles; i++)
		free(rw->files[i].data);
	rw->nfiles = 0;
	for (size_t i = 0; i < rw->nedits; i++) {
		size_t k;
		for (k = 0; k < rw->nfiles; k++)
			if (same_path(rw->files[k].src, rw->edits[i].file))
				break;
		if (k < rw->nfiles)
			continue;
		ALLOC_GROW(rw->files, rw->nfiles + 1, rw->files_alloc);
		memset(&rw->files[rw->nfiles], 0, sizeof(rw->files[0]));
		rw->files[rw->nfiles++].src = rw->edits[i].file;
	}
	for (size_t k = 0; k < rw->nfiles; k++) {
		struct rewrite_file *rf = &rw->files[k];
		struct rewrite_edit **v = xcalloc(rw->nedits, sizeof(*v));
		size_t n = 0;
		int r;
		for (size_t i = 0; i < rw->nedits; i++)
			if (same_path(rw->edits[i].file, rf->src))
				v[n++] = &rw->edits[i];
		for (int attempt = 0; (r = build_file(rw, rf, v, n, d)) == 1 && attempt < 2; attempt++)
			;
		free(v);
		if (r == 1)
			r = diag_at(d, rf->src->display, 0, 0, "the rewritten file does not parse");
		if (r)
			return -1;
	}
	return 0;
}

const struct rewrite_file *rewrite_file_for(const struct rewrite *rw, const struct srcfile *f)
{
	for (size_t i = 0; i < rw->nfiles; i++)
		if (same_path(rw->files[i].src, f))
			return &rw->files[i];
	return NULL;
}

/* --- from the plan --- */

static enum rewrite_kind target_kind(enum flip_kind k)
{
	return k == FLIP_USER ? RW_USER : k == FLIP_PASSWORD ? RW_PASSWORD : RW_DSN;
}

/* Record the target for one site (one per service variable), then its edit. */
static int add_target(struct rewrite *rw, const struct plan_service *ps, const struct plan_flip *fl,
		      const struct flip_site *s, const char *ref, struct diag *d)
{
	enum rewrite_kind kind = target_kind(s->kind);
	struct buf val = BUF_INIT;
	int ret = -1;

	for (size_t i = 0; i < rw->ntargets; i++) {
		struct rewrite_target *t = &rw->targets[i];
		if (strcmp(t->service, ps->name) || strcmp(t->key, s->key))
			continue;
		if (t->kind == kind && !strcmp(t->role, fl->role)) {
			t->user |= s->user;
			t->password |= s->password;
			return 0;
		}
		return diag_err(d, "%s would be rewritten for two roles (%s and %s)", s->label, t->role,
				fl->role);
	}
	flip_text_render(&s->text, ref, &val);
	if (rewrite_set_value(rw, s->file, s->yaml, s->list_form, s->start, s->end, s->line, s->col,
			      val.buf, s->label, d))
		goto out;
	ALLOC_GROW(rw->targets, rw->ntargets + 1, rw->targets_alloc);
	struct rewrite_target *t = &rw->targets[rw->ntargets++];
	memset(t, 0, sizeof(*t));
	t->service = xstrdup(ps->name);
	t->key = xstrdup(s->key);
	t->role = xstrdup(fl->role);
	t->kind = kind;
	t->user = s->user;
	t->password = s->password;
	t->file = s->file;
	t->line = s->line;
	t->start = s->start;
	if (s->password && !strvec_contains(&rw->roles, fl->role))
		strvec_push(&rw->roles, fl->role);
	ret = 0;
out:
	buf_release(&val);
	return ret;
}

int rewrite_compute(const struct plan *plan, struct rewrite *rw, struct diag *d)
{
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (ps->action != ACTION_FLIP)
			continue;
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_flip *fl = ps->conns[k].flip;
			if (!fl)
				continue;
			if (fl->blocked)
				return diag_err(d, "%s", fl->blocked);
			char *ref = flip_password_ref(fl->role, NULL);
			int r = 0;
			for (size_t s = 0; s < fl->nsites && !r; s++)
				r = add_target(rw, ps, fl, &fl->sites[s], ref, d);
			free(ref);
			if (r)
				return -1;
		}
	}
	return rewrite_apply(rw, d);
}

void rewrite_release(struct rewrite *rw)
{
	for (size_t i = 0; i < rw->ntargets; i++) {
		free(rw->targets[i].service);
		free(rw->targets[i].key);
		free(rw->targets[i].role);
	}
	free(rw->targets);
	for (size_t i = 0; i < rw->nedits; i++) {
		free(rw->edits[i].text);
		free(rw->edits[i].want);
		free(rw->edits[i].label);
	}
	free(rw->edits);
	for (size_t i = 0; i < rw->nfiles; i++)
		free(rw->files[i].data);
	free(rw->files);
	strvec_clear(&rw->roles);
	strvec_clear(&rw->notes);
	memset(rw, 0, sizeof(*rw));
}


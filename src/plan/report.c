/*
 * report: the plan as a readable terminal report and as a pull-request
 * description.  Both show the evidence behind every decision, because an
 * operator must be able to disagree with dsnflip before it touches anything.
 *
 * Every string that comes from the stack (names, databases decoded from
 * percent-escapes, evidence, file names, warnings quoting values) is escaped
 * for where it goes: control characters shown as \x1b (so ESC/BEL never reach
 * the terminal and a newline never forges a line), and in markdown the
 * metacharacters escaped and code spans fenced so a value cannot close them.
 */
#include "plan/report.h"
#include "plan/updateorder.h"
#include "util/escape.h"

#include <stdlib.h>
#include <string.h>

#define BAR_WIDTH 40
#define EVIDENCE_SHOWN 3

int report_format_parse(const char *s, enum report_format *out)
{
	if (!strcmp(s, "text"))
		*out = FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = FORMAT_JSON;
	else if (!strcmp(s, "markdown"))
		*out = FORMAT_MARKDOWN;
	else
		return -1;
	return 0;
}

static const char *paint(const struct report_opts *o, const char *code)
{
	return o->color ? code : "";
}
#define BOLD(o) paint(o, "\033[1m")
#define DIM(o) paint(o, "\033[2m")
#define RED(o) paint(o, "\033[31m")
#define GREEN(o) paint(o, "\033[32m")
#define YELLOW(o) paint(o, "\033[33m")
#define RESET(o) paint(o, "\033[0m")

static void bar(struct buf *out, int used, int total, int width, const char *full, const char *empty)
{
	int n = total > 0 ? (int)((long)used * width / total) : width;
	if (n > width)
		n = width;
	if (used > 0 && n == 0)
		n = 1;
	for (int i = 0; i < n; i++)
		buf_addstr(out, full);
	for (int i = n; i < width; i++)
		buf_addstr(out, empty);
}

static int width_of(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void pad(struct buf *out, const char *s, int w)
{
	buf_addstr(out, s);
	for (int n = width_of(s); n < w; n++)
		buf_addch(out, ' ');
}

/* Input-derived text for the terminal, in the report's scratch arena. */
static const char *tx(struct arena *a, const char *s)
{
	if (!s || !esc_text_needed(s))
		return s;
	struct buf b = BUF_INIT;
	esc_text(s, &b);
	char *r = arena_strndup(a, b.buf, b.len);
	buf_release(&b);
	return r;
}

static const char *action_color(const struct report_opts *o, enum svc_action a)
{
	return a == ACTION_FLIP ? GREEN(o) : a == ACTION_HOLD ? YELLOW(o) : DIM(o);
}

void report_text(const struct plan *plan, const struct report_opts *o, struct buf *out)
{
	const struct compose_project *p = plan->project;
	const struct plan_server *sv = &plan->server;
	int wname = 7, wrole = 4;
	struct arena a = ARENA_INIT;

	buf_addf(out, "%sdsnflip plan%s  project %s (", BOLD(o), RESET(o),
		 tx(&a, plan->project_name));
	for (size_t i = 0; i < p->nfiles; i++)
		buf_addf(out, "%s%s", i ? ", " : "", tx(&a, p->files[i]));
	buf_addstr(out, ")\n");
	buf_addf(out, "server: %s: max_connections %d, reserved %d, headroom %d -> %d available\n\n",
		 !strcmp(sv->source, "live") ? "live" : !strcmp(sv->source, "config") ? "from dsnflip.yml"
						    : "offline defaults",
		 sv->max_connections, sv->superuser_reserved + sv->reserved, sv->headroom,
		 plan->budget.available);

	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (width_of(tx(&a, ps->name)) > wname)
			wname = width_of(tx(&a, ps->name));
		if (ps->role && width_of(tx(&a, ps->role)) > wrole)
			wrole = width_of(tx(&a, ps->role));
	}
	for (size_t i = 0; i < plan->nroles; i++)
		if (width_of(tx(&a, plan->roles[i].name)) > wrole)
			wrole = width_of(tx(&a, plan->roles[i].name));
	buf_addf(out, "%sSERVICES%s\n", BOLD(o), RESET(o));
	buf_addstr(out, "  ");
	pad(out, "service", wname + 2);
	pad(out, "class", 13);
	pad(out, "action", 8);
	pad(out, "role", wrole + 2);
	buf_addstr(out, "why\n");
	if (!plan->nservices)
		buf_addstr(out, "  (no service connects to PostgreSQL)\n");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		buf_addstr(out, "  ");
		pad(out, tx(&a, ps->name), wname + 2);
		pad(out, class_name(ps->cls), 13);
		buf_addstr(out, action_color(o, ps->action));
		pad(out, action_name(ps->action), 8);
		buf_addstr(out, RESET(o));
		pad(out, ps->action == ACTION_SKIP || !ps->role ? "-" : tx(&a, ps->role), wrole + 2);
		buf_addf(out, "%s\n", ps->reason ? tx(&a, ps->reason) : "");
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *c = &ps->conns[k];
			buf_addf(out, "      %s%s %s@%s:%d/%s%s  %s:%d%s\n", DIM(o), tx(&a, c->variable),
				 c->user ? tx(&a, c->user) : "(default user)",
				 c->host ? tx(&a, c->host) : "(default host)", c->port,
				 c->database ? tx(&a, c->database) : "?", c->superuser ? " [superuser]" : "",
				 tx(&a, c->defined_file), c->defined_line, RESET(o));
		}
		size_t shown = o->verbose ? ps->nevidence : EVIDENCE_SHOWN;
		for (size_t k = 0; k < ps->nevidence && k < shown; k++) {
			const struct evidence_item *e = &ps->evidence[k];
			if (e->line > 0)
				buf_addf(out, "      %s:%d  %s\n", tx(&a, e->file), e->line, tx(&a, e->text));
			else
				buf_addf(out, "      %s  %s\n", e->file ? tx(&a, e->file) : "", tx(&a, e->text));
		}
		if (ps->nevidence > shown)
			buf_addf(out, "      %s(+%zu more; -v shows all)%s\n", DIM(o), ps->nevidence - shown,
				 RESET(o));
		/* Replicas: on a swarm the update order decides whether the pools briefly double. */
		if (ps->action == ACTION_FLIP && ps->role && ps->svc && ps->svc->replicas > 1) {
			struct buf why = BUF_INIT;
			enum swarm_order ord = swarm_update_order(plan, ps, &why);
			buf_addf(out, "      on Swarm: %s, %s\n", swarm_order_name(ord), tx(&a, why.buf));
			buf_release(&why);
		}
	}

	buf_addf(out, "\n%sROLES%s\n", BOLD(o), RESET(o));
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		buf_addstr(out, "  ");
		pad(out, tx(&a, r->name), wrole + 2);
		pad(out, role_kind_name(r->kind), 8);
		buf_addf(out, "limit %-4d ", r->connection_limit);
		for (size_t k = 0; k < r->ndatabases; k++)
			buf_addf(out, "%s%s", k ? "," : "", tx(&a, r->databases[k]));
		if (plan->nservers > 1)
			buf_addf(out, " on %s", tx(&a, plan_server_label(r->server)));
		buf_addstr(out, "  <- ");
		for (size_t k = 0; k < r->nservices; k++)
			buf_addf(out, "%s%s", k ? ", " : "", tx(&a, r->services[k]));
		if (r->shared_origin)
			buf_addstr(out, " (shared)");
		if (r->held)
			buf_addf(out, " %s(prepared; its services are held)%s", YELLOW(o), RESET(o));
		buf_addch(out, '\n');
		buf_addf(out, "      %s", DIM(o));
		for (size_t k = 0; k < r->nsettings; k++)
			buf_addf(out, "%s%s=%s", k ? " " : "", tx(&a, r->settings[k].key),
				 tx(&a, r->settings[k].value));
		buf_addf(out, "%s\n", RESET(o));
	}
	if (!plan->nroles)
		buf_addstr(out, "  (none)\n");

	/* One budget per server: each has its own max_connections. */
	size_t nb = plan->nservers > 1 ? plan->nbudgets : 1;
	for (size_t j = 0; j < nb; j++) {
		const struct plan_budget *b = plan->nservers > 1 ? &plan->budgets[j] : &plan->budget;
		buf_addf(out, "\n%sBUDGET%s", BOLD(o), RESET(o));
		if (plan->nservers > 1)
			buf_addf(out, " on %s (%s)", tx(&a, plan_server_label(b->server)), b->source);
		buf_addf(out, "  %d of %d connections %s%s%s\n  [", b->planned, b->available,
			 b->ok ? GREEN(o) : RED(o), b->ok ? "ok" : "EXCEEDED", RESET(o));
		bar(out, b->planned, b->available, BAR_WIDTH, "#", ".");
		buf_addstr(out, "]\n");
		for (size_t i = 0; i < b->nrows; i++) {
			const struct budget_row *r = &b->rows[i];
			buf_addstr(out, "  ");
			pad(out, tx(&a, r->role), wrole + 2);
			if (r->limit < 0) {
				buf_addf(out, "  unlimited (%s)\n", r->source);
				continue;
			}
			buf_addf(out, "%4d ", r->limit);
			bar(out, r->limit, b->available, BAR_WIDTH, "#", "");
			buf_addf(out, " %s\n", r->source);
		}
	}

	buf_addf(out, "\n%sORDER%s\n", BOLD(o), RESET(o));
	for (size_t i = 0; i < plan->norder; i++) {
		const struct plan_service *ps = plan_service(plan, plan->order[i]);
		buf_addf(out, "  %zu. %s (%s -> %s)\n", i + 1, tx(&a, ps->name), class_name(ps->cls),
			 tx(&a, ps->role));
	}
	if (!plan->norder)
		buf_addstr(out, "  (nothing to flip)\n");
	if (plan->warnings.nr) {
		buf_addf(out, "\n%sWARNINGS%s\n", BOLD(o), RESET(o));
		for (size_t i = 0; i < plan->warnings.nr; i++)
			buf_addf(out, "  - %s\n", tx(&a, plan->warnings.v[i]));
	}
	arena_release(&a);
}

/*
 * Markdown: m_text() for running text and table cells (metacharacters and
 * '|' escaped, control characters as \x1b, no line breaks); m_code() for a
 * code span, fenced with one backtick more than the longest run inside it
 * (CommonMark), '|' escaped for GFM tables.
 */
static void m_text(struct buf *out, const char *s)
{
	if (s)
		esc_markdown(s, out);
}

static void m_code(struct buf *out, const char *s)
{
	struct buf t = BUF_INIT;
	size_t run = 0, longest = 0;
	esc_text(s ? s : "", &t);
	for (const char *p = t.buf; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	int pad_sp = t.len && (t.buf[0] == '`' || t.buf[t.len - 1] == '`' ||
			       (t.buf[0] == ' ' && t.buf[t.len - 1] == ' '));
	for (size_t i = 0; i <= longest; i++)
		buf_addch(out, '`');
	if (pad_sp)
		buf_addch(out, ' ');
	for (const char *p = t.buf; *p; p++) {
		if (*p == '|')
			buf_addch(out, '\\');
		buf_addch(out, *p);
	}
	if (pad_sp)
		buf_addch(out, ' ');
	for (size_t i = 0; i <= longest; i++)
		buf_addch(out, '`');
	buf_release(&t);
}

/* "`file:line`" or "`file`" */
static void m_where(struct buf *out, const char *file, int line)
{
	char *w = line > 0 ? xstrfmt("%s:%d", file ? file : "", line) : xstrdup(file ? file : "");
	m_code(out, w);
	free(w);
}

void report_markdown(const struct plan *plan, struct buf *out)
{
	const struct plan_budget *b = &plan->budget;
	size_t nflip = 0, nhold = 0;
	for (size_t i = 0; i < plan->nservices; i++) {
		nflip += plan->services[i].action == ACTION_FLIP;
		nhold += plan->services[i].action == ACTION_HOLD;
	}
	buf_addstr(out, "## dsnflip: move ");
	m_text(out, plan->project_name);
	buf_addstr(out, " off the PostgreSQL superuser\n\n");
	buf_addf(out, "%zu service%s flip to least-privilege roles, %zu held for a decision. "
		 "Budget: %d of %d connections (%s, server facts: %s).\n\n",
		 nflip, nflip == 1 ? "" : "s", nhold, b->planned, b->available,
		 b->ok ? "ok" : "**exceeded**", plan->server.source);
	buf_addstr(out, "| service | class | action | role | why |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		buf_addstr(out, "| ");
		m_code(out, ps->name);
		buf_addf(out, " | %s | %s | ", class_name(ps->cls), action_name(ps->action));
		if (ps->action != ACTION_SKIP && ps->role)
			m_code(out, ps->role);
		buf_addstr(out, " | ");
		m_text(out, ps->reason);
		buf_addstr(out, " |\n");
	}
	buf_addstr(out, "\n### Evidence\n\n");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		buf_addstr(out, "- **");
		m_text(out, ps->name);
		buf_addstr(out, "**\n");
		for (size_t k = 0; k < ps->nevidence; k++) {
			const struct evidence_item *e = &ps->evidence[k];
			buf_addstr(out, "  - ");
			m_where(out, e->file, e->line);
			buf_addch(out, ' ');
			m_text(out, e->text);
			buf_addch(out, '\n');
		}
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *c = &ps->conns[k];
			buf_addstr(out, "  - ");
			m_where(out, c->defined_file, c->defined_line);
			buf_addch(out, ' ');
			m_text(out, c->variable);
			buf_addstr(out, " connects as ");
			if (c->user)
				m_text(out, c->user);
			else
				buf_addstr(out, "the default user");
			buf_addstr(out, " to ");
			m_text(out, c->database ? c->database : "?");
			buf_addch(out, '\n');
		}
	}
	buf_addstr(out, "\n### Roles\n\n| role | kind | databases | connection limit | services |\n"
			"|---|---|---|---|---|\n");
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		buf_addstr(out, "| ");
		m_code(out, r->name);
		buf_addf(out, " | %s | ", role_kind_name(r->kind));
		for (size_t k = 0; k < r->ndatabases; k++) {
			if (k)
				buf_addstr(out, ", ");
			m_text(out, r->databases[k]);
		}
		if (plan->nservers > 1) {
			buf_addstr(out, " (on ");
			m_text(out, plan_server_label(r->server));
			buf_addch(out, ')');
		}
		buf_addf(out, " | %d | ", r->connection_limit);
		for (size_t k = 0; k < r->nservices; k++) {
			if (k)
				buf_addstr(out, ", ");
			m_text(out, r->services[k]);
		}
		buf_addf(out, "%s |\n", r->held ? " (held)" : "");
	}
	buf_addstr(out, "\n### Cutover order\n\n");
	for (size_t i = 0; i < plan->norder; i++) {
		buf_addf(out, "%zu. ", i + 1);
		m_code(out, plan->order[i]);
		buf_addch(out, '\n');
	}
	if (plan->warnings.nr) {
		buf_addstr(out, "\n### Warnings\n\n");
		for (size_t i = 0; i < plan->warnings.nr; i++) {
			buf_addstr(out, "- ");
			m_text(out, plan->warnings.v[i]);
			buf_addch(out, '\n');
		}
	}
}

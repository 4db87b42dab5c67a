/*
 * report: the plan as a readable terminal report and as a pull-request
 * description.  Both show the evidence behind every decision, because an
 * operator must be able to disagree with dsnflip before it touches anything.
 */
#include "plan/report.h"

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

static const char *action_color(const struct report_opts *o, enum svc_action a)
{
	return a == ACTION_FLIP ? GREEN(o) : a == ACTION_HOLD ? YELLOW(o) : DIM(o);
}

void report_text(const struct plan *plan, const struct report_opts *o, struct buf *out)
{
	const struct compose_project *p = plan->project;
	const struct plan_server *sv = &plan->server;
	int wname = 7, wrole = 4;

	buf_addf(out, "%sdsnflip plan%s  project %s (", BOLD(o), RESET(o), plan->project_name);
	for (size_t i = 0; i < p->nfiles; i++)
		buf_addf(out, "%s%s", i ? ", " : "", p->files[i]);
	buf_addstr(out, ")\n");
	buf_addf(out, "server: %s: max_connections %d, reserved %d, headroom %d -> %d available\n\n",
		 !strcmp(sv->source, "live") ? "live" : !strcmp(sv->source, "config") ? "from dsnflip.yml"
						    : "offline defaults",
		 sv->max_connections, sv->superuser_reserved + sv->reserved, sv->headroom,
		 plan->budget.available);

	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		if (width_of(ps->name) > wname)
			wname = width_of(ps->name);
		if (ps->role && width_of(ps->role) > wrole)
			wrole = width_of(ps->role);
	}
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
		pad(out, ps->name, wname + 2);
		pad(out, class_name(ps->cls), 13);
		buf_addstr(out, action_color(o, ps->action));
		pad(out, action_name(ps->action), 8);
		buf_addstr(out, RESET(o));
		pad(out, ps->action == ACTION_SKIP || !ps->role ? "-" : ps->role, wrole + 2);
		buf_addf(out, "%s\n", ps->reason ? ps->reason : "");
		for (size_t k = 0; k < ps->nconns; k++) {
			const struct plan_conn *c = &ps->conns[k];
			buf_addf(out, "      %s%s %s@%s:%d/%s%s  %s:%d%s\n", DIM(o), c->variable,
				 c->user ? c->user : "(default user)", c->host ? c->host : "(default host)",
				 c->port, c->database ? c->database : "?", c->superuser ? " [superuser]" : "",
				 c->defined_file, c->defined_line, RESET(o));
		}
		size_t shown = o->verbose ? ps->nevidence : EVIDENCE_SHOWN;
		for (size_t k = 0; k < ps->nevidence && k < shown; k++) {
			const struct evidence_item *e = &ps->evidence[k];
			if (e->line > 0)
				buf_addf(out, "      %s:%d  %s\n", e->file, e->line, e->text);
			else
				buf_addf(out, "      %s  %s\n", e->file ? e->file : "", e->text);
		}
		if (ps->nevidence > shown)
			buf_addf(out, "      %s(+%zu more; -v shows all)%s\n", DIM(o), ps->nevidence - shown,
				 RESET(o));
	}

	buf_addf(out, "\n%sROLES%s\n", BOLD(o), RESET(o));
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		buf_addstr(out, "  ");
		pad(out, r->name, wrole + 2);
		pad(out, role_kind_name(r->kind), 8);
		buf_addf(out, "limit %-4d ", r->connection_limit);
		for (size_t k = 0; k < r->ndatabases; k++)
			buf_addf(out, "%s%s", k ? "," : "", r->databases[k]);
		buf_addstr(out, "  <- ");
		for (size_t k = 0; k < r->nservices; k++)
			buf_addf(out, "%s%s", k ? ", " : "", r->services[k]);
		if (r->shared_origin)
			buf_addstr(out, " (shared)");
		if (r->held)
			buf_addf(out, " %s(prepared; its services are held)%s", YELLOW(o), RESET(o));
		buf_addch(out, '\n');
		buf_addf(out, "      %s", DIM(o));
		for (size_t k = 0; k < r->nsettings; k++)
			buf_addf(out, "%s%s=%s", k ? " " : "", r->settings[k].key, r->settings[k].value);
		buf_addf(out, "%s\n", RESET(o));
	}
	if (!plan->nroles)
		buf_addstr(out, "  (none)\n");

	const struct plan_budget *b = &plan->budget;
	buf_addf(out, "\n%sBUDGET%s  %d of %d connections %s%s%s\n  [", BOLD(o), RESET(o), b->planned,
		 b->available, b->ok ? GREEN(o) : RED(o), b->ok ? "ok" : "EXCEEDED", RESET(o));
	bar(out, b->planned, b->available, BAR_WIDTH, "#", ".");
	buf_addstr(out, "]\n");
	for (size_t i = 0; i < b->nrows; i++) {
		const struct budget_row *r = &b->rows[i];
		buf_addstr(out, "  ");
		pad(out, r->role, wrole + 2);
		if (r->limit < 0) {
			buf_addf(out, "  unlimited (%s)\n", r->source);
			continue;
		}
		buf_addf(out, "%4d ", r->limit);
		bar(out, r->limit, b->available, BAR_WIDTH, "#", "");
		buf_addf(out, " %s\n", r->source);
	}

	buf_addf(out, "\n%sORDER%s\n", BOLD(o), RESET(o));
	for (size_t i = 0; i < plan->norder; i++) {
		const struct plan_service *ps = plan_service(plan, plan->order[i]);
		buf_addf(out, "  %zu. %s (%s -> %s)\n", i + 1, ps->name, class_name(ps->cls), ps->role);
	}
	if (!plan->norder)
		buf_addstr(out, "  (nothing to flip)\n");
	if (plan->warnings.nr) {
		buf_addf(out, "\n%sWARNINGS%s\n", BOLD(o), RESET(o));
		for (size_t i = 0; i < plan->warnings.nr; i++)
			buf_addf(out, "  - %s\n", plan->warnings.v[i]);
	}
}

/* Markdown table cells cannot hold '|' or newlines. */
static void md_cell(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			buf_addstr(out, "\\|");
		else if (*s == '\n')
			buf_addch(out, ' ');
		else
			buf_addch(out, *s);
	}
}

void report_markdown(const struct plan *plan, struct buf *out)
{
	const struct plan_budget *b = &plan->budget;
	size_t nflip = 0, nhold = 0;
	for (size_t i = 0; i < plan->nservices; i++) {
		nflip += plan->services[i].action == ACTION_FLIP;
		nhold += plan->services[i].action == ACTION_HOLD;
	}
	buf_addf(out, "## dsnflip: move %s off the PostgreSQL superuser\n\n", plan->project_name);
	buf_addf(out, "%zu service%s flip to least-privilege roles, %zu held for a decision. "
		 "Budget: %d of %d connections (%s, server facts: %s).\n\n",
		 nflip, nflip == 1 ? "" : "s", nhold, b->planned, b->available,
		 b->ok ? "ok" : "**exceeded**", plan->server.source);
	buf_addstr(out, "| service | class | action | role | why |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		buf_addstr(out, "| `");
		md_cell(out, ps->name);
		buf_addf(out, "` | %s | %s | ", class_name(ps->cls), action_name(ps->action));
		if (ps->action != ACTION_SKIP && ps->role) {
			buf_addstr(out, "`");
			md_cell(out, ps->role);
			buf_addstr(out, "`");
		}
		buf_addstr(out, " | ");
		md_cell(out, ps->reason);
		buf_addstr(out, " |\n");
	}
	buf_addstr(out, "\n### Evidence\n\n");
	for (size_t i = 0; i < plan->nservices; i++) {
		const struct plan_service *ps = &plan->services[i];
		buf_addf(out, "- **%s**\n", ps->name);
		for (size_t k = 0; k < ps->nevidence; k++) {
			const struct evidence_item *e = &ps->evidence[k];
			if (e->line > 0)
				buf_addf(out, "  - `%s:%d` %s\n", e->file, e->line, e->text);
			else
				buf_addf(out, "  - `%s` %s\n", e->file ? e->file : "", e->text);
		}
		for (size_t k = 0; k < ps->nconns; k++)
			buf_addf(out, "  - `%s:%d` %s connects as %s to %s\n", ps->conns[k].defined_file,
				 ps->conns[k].defined_line, ps->conns[k].variable,
				 ps->conns[k].user ? ps->conns[k].user : "the default user",
				 ps->conns[k].database ? ps->conns[k].database : "?");
	}
	buf_addstr(out, "\n### Roles\n\n| role | kind | databases | connection limit | services |\n"
			"|---|---|---|---|---|\n");
	for (size_t i = 0; i < plan->nroles; i++) {
		const struct plan_role *r = &plan->roles[i];
		buf_addf(out, "| `%s` | %s | ", r->name, role_kind_name(r->kind));
		for (size_t k = 0; k < r->ndatabases; k++)
			buf_addf(out, "%s%s", k ? ", " : "", r->databases[k]);
		buf_addf(out, " | %d | ", r->connection_limit);
		for (size_t k = 0; k < r->nservices; k++)
			buf_addf(out, "%s%s", k ? ", " : "", r->services[k]);
		buf_addf(out, "%s |\n", r->held ? " (held)" : "");
	}
	buf_addstr(out, "\n### Cutover order\n\n");
	for (size_t i = 0; i < plan->norder; i++)
		buf_addf(out, "%zu. `%s`\n", i + 1, plan->order[i]);
	if (plan->warnings.nr) {
		buf_addstr(out, "\n### Warnings\n\n");
		for (size_t i = 0; i < plan->warnings.nr; i++)
			buf_addf(out, "- %s\n", plan->warnings.v[i]);
	}
}

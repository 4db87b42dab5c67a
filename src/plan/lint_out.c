/*
 * lint_out: a lint report as text, JSON, SARIF 2.1.0 or GitHub workflow
 * commands (see lint.h).  JSON and SARIF go through jansson only.
 */
#include "plan/lint_out.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void counts(const struct lint_report *r, size_t n[3])
{
	n[0] = n[1] = n[2] = 0;
	for (size_t i = 0; i < r->nr; i++)
		n[r->v[i].rule->severity]++;
}

static void add_count(struct buf *out, size_t n, const char *what, int *first)
{
	if (!n)
		return;
	buf_addf(out, "%s%zu %s%s", *first ? "" : ", ", n, what, n == 1 ? "" : "s");
	*first = 0;
}

/* "not linted (--profile left them out): a (profiles: x), b (profiles: y)" */
static void not_linted_line(const struct lint_report *r, struct buf *out)
{
	buf_addstr(out, "not linted (--profile left them out):");
	for (size_t i = 0; i < r->not_linted.nr; i++)
		buf_addf(out, "%s %s (profiles: %s)", i ? "," : "", r->not_linted.v[i],
			 r->not_linted_profiles.v[i]);
}

void lint_write_text(const struct lint_report *r, const char *base, struct buf *out)
{
	size_t n[3];
	int first = 1;

	for (size_t i = 0; i < r->nr; i++) {
		const struct lint_finding *f = &r->v[i];
		if (*f->file)
			buf_addf(out, "%s:%d:%d: ", f->file, f->line, f->col);
		buf_addf(out, "%s: %s [%s]\n", lint_severity_name(f->rule->severity), f->message,
			 f->rule->id);
		if (f->also.nr) {
			buf_addf(out, "  read by: %s", f->service);
			for (size_t k = 0; k < f->also.nr; k++)
				buf_addf(out, "%s%s", k || *f->service ? ", " : "", f->also.v[k]);
			buf_addch(out, '\n');
		}
		buf_addf(out, "  fix: %s\n", f->fix);
	}
	counts(r, n);
	buf_addstr(out, "lint: ");
	add_count(out, n[LINT_ERROR], "error", &first);
	add_count(out, n[LINT_WARNING], "warning", &first);
	add_count(out, n[LINT_NOTE], "note", &first);
	if (first)
		buf_addstr(out, "no findings");
	if (base)
		buf_addf(out, " new since %s", base);
	if (r->suppressed)
		buf_addf(out, " (%zu disabled)", r->suppressed);
	buf_addch(out, '\n');
	if (r->not_linted.nr) {
		buf_addstr(out, "lint: ");
		not_linted_line(r, out);
		buf_addch(out, '\n');
	}
}

static void dump(json_t *j, struct buf *out)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	buf_addstr(out, s);
	buf_addch(out, '\n');
	free(s);
	json_decref(j);
}

void lint_write_json(const struct lint_report *r, const char *base, struct buf *out)
{
	json_t *root = json_object(), *list = json_array();
	size_t n[3];

	counts(r, n);
	for (size_t i = 0; i < r->nr; i++) {
		const struct lint_finding *f = &r->v[i];
		json_t *o = json_object();
		json_object_set_new(o, "rule", json_string(f->rule->id));
		json_object_set_new(o, "severity", json_string(lint_severity_name(f->rule->severity)));
		json_object_set_new(o, "service", *f->service ? json_string(f->service) : json_null());
		json_t *svcs = json_array();
		if (*f->service)
			json_array_append_new(svcs, json_string(f->service));
		for (size_t k = 0; k < f->also.nr; k++)
			json_array_append_new(svcs, json_string(f->also.v[k]));
		json_object_set_new(o, "services", svcs);
		json_object_set_new(o, "variable", *f->variable ? json_string(f->variable) : json_null());
		json_object_set_new(o, "file", *f->file ? json_string(f->file) : json_null());
		json_object_set_new(o, "line", json_integer(f->line));
		json_object_set_new(o, "col", json_integer(f->col));
		json_object_set_new(o, "message", json_string(f->message));
		json_object_set_new(o, "fix", json_string(f->fix));
		json_array_append_new(list, o);
	}
	json_object_set_new(root, "base", base ? json_string(base) : json_null());
	json_object_set_new(root, "findings", list);
	json_object_set_new(root, "errors", json_integer((json_int_t)n[LINT_ERROR]));
	json_object_set_new(root, "warnings", json_integer((json_int_t)n[LINT_WARNING]));
	json_object_set_new(root, "notes", json_integer((json_int_t)n[LINT_NOTE]));
	json_object_set_new(root, "disabled", json_integer((json_int_t)r->suppressed));
	json_t *skipped = json_array();
	for (size_t i = 0; i < r->not_linted.nr; i++) {
		json_t *pr = json_array();
		struct strvec names = STRVEC_INIT;
		strvec_split(&names, r->not_linted_profiles.v[i], ", ");
		for (size_t k = 0; k < names.nr; k++)
			json_array_append_new(pr, json_string(names.v[k]));
		strvec_clear(&names);
		json_array_append_new(skipped, json_pack("{s:s,s:o}", "service", r->not_linted.v[i],
							 "profiles", pr));
	}
	json_object_set_new(root, "not_linted", skipped);
	dump(root, out);
}

static json_t *text(const char *s)
{
	return json_pack("{s:s}", "text", s);
}

void lint_write_sarif(const struct lint_report *r, struct buf *out)
{
	size_t nrules;
	const struct lint_rule *rules = lint_rules(&nrules);
	json_t *jrules = json_array(), *results = json_array();

	for (size_t i = 0; i < nrules; i++) {
		json_t *rule = json_object();
		json_object_set_new(rule, "id", json_string(rules[i].id));
		json_object_set_new(rule, "name", json_string(rules[i].id));
		json_object_set_new(rule, "shortDescription", text(rules[i].title));
		json_object_set_new(rule, "fullDescription", text(rules[i].help));
		json_object_set_new(rule, "help", text(rules[i].help));
		json_object_set_new(rule, "defaultConfiguration",
				    json_pack("{s:s}", "level", lint_severity_name(rules[i].severity)));
		json_array_append_new(jrules, rule);
	}
	for (size_t i = 0; i < r->nr; i++) {
		const struct lint_finding *f = &r->v[i];
		json_t *res = json_object();
		struct buf msg = BUF_INIT, key = BUF_INIT;
		buf_addf(&msg, "%s. Fix: %s", f->message, f->fix);
		buf_addf(&key, "%s/%s/%s", f->rule->id, f->service, f->variable);
		/* Every service a literal finding stands for: a new reader of a
		 * dismissed literal is a new alert, as --base says. */
		for (size_t k = 0; k < f->also.nr; k++)
			buf_addf(&key, "+%s", f->also.v[k]);
		json_object_set_new(res, "ruleId", json_string(f->rule->id));
		json_object_set_new(res, "ruleIndex", json_integer((json_int_t)(f->rule - rules)));
		json_object_set_new(res, "level", json_string(lint_severity_name(f->rule->severity)));
		json_object_set_new(res, "message", text(msg.buf));
		if (*f->file) {
			json_t *region = json_pack("{s:i,s:i}", "startLine", f->line, "startColumn",
						   f->col > 0 ? f->col : 1);
			json_t *loc = json_pack("{s:{s:{s:s,s:s},s:o}}", "physicalLocation",
						"artifactLocation", "uri", f->file, "uriBaseId", "%SRCROOT%",
						"region", region);
			json_object_set_new(res, "locations", json_pack("[o]", loc));
		}
		/* What --base compares: code-scanning UIs match results across runs by it. */
		json_object_set_new(res, "partialFingerprints",
				    json_pack("{s:s}", "dsnflipFinding/v1", key.buf));
		json_array_append_new(results, res);
		buf_release(&msg);
		buf_release(&key);
	}
	json_t *driver = json_object();
	json_object_set_new(driver, "name", json_string("dsnflip"));
	json_object_set_new(driver, "rules", jrules);
	json_t *run = json_object();
	json_object_set_new(run, "tool", json_pack("{s:o}", "driver", driver));
	json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
	json_object_set_new(run, "results", results);
	if (r->not_linted.nr) {
		/* Said where code-scanning UIs show a run's own messages. */
		struct buf m = BUF_INIT;
		not_linted_line(r, &m);
		json_t *note = json_pack("{s:o,s:s}", "message", text(m.buf), "level", "warning");
		json_object_set_new(run, "invocations",
				    json_pack("[{s:b,s:[o]}]", "executionSuccessful", 1,
					      "toolExecutionNotifications", note));
		buf_release(&m);
	}
	json_t *root = json_object();
	json_object_set_new(root, "$schema",
			    json_string("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
					"schemas/sarif-schema-2.1.0.json"));
	json_object_set_new(root, "version", json_string("2.1.0"));
	json_object_set_new(root, "runs", json_pack("[o]", run));
	dump(root, out);
}

void lint_github_escape(const char *s, int property, struct buf *out)
{
	for (; *s; s++) {
		switch (*s) {
		case '%': buf_addstr(out, "%25"); break;
		case '\r': buf_addstr(out, "%0D"); break;
		case '\n': buf_addstr(out, "%0A"); break;
		case ':': if (property) buf_addstr(out, "%3A"); else buf_addch(out, ':'); break;
		case ',': if (property) buf_addstr(out, "%2C"); else buf_addch(out, ','); break;
		default: buf_addch(out, *s);
		}
	}
}

void lint_write_github(const struct lint_report *r, struct buf *out)
{
	static const char *const cmd[] = { "notice", "warning", "error" };
	for (size_t i = 0; i < r->nr; i++) {
		const struct lint_finding *f = &r->v[i];
		struct buf m = BUF_INIT;
		buf_addf(out, "::%s ", cmd[f->rule->severity]);
		if (*f->file) {
			buf_addstr(out, "file=");
			lint_github_escape(f->file, 1, out);
			buf_addf(out, ",line=%d,col=%d,", f->line, f->col);
		}
		buf_addstr(out, "title=");
		lint_github_escape(f->rule->id, 1, out);
		buf_addf(&m, "%s. Fix: %s", f->message, f->fix);
		buf_addstr(out, "::");
		lint_github_escape(m.buf, 0, out);
		buf_addch(out, '\n');
		buf_release(&m);
	}
	if (r->not_linted.nr) {
		struct buf m = BUF_INIT;
		not_linted_line(r, &m);
		buf_addstr(out, "::warning title=dsnflip lint::");
		lint_github_escape(m.buf, 0, out);
		buf_addch(out, '\n');
		buf_release(&m);
	}
}

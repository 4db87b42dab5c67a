/*
 * cmd-config: `dsnflip config` — the effective stack as dsnflip reads it,
 * like `docker compose config` but with the origin of every environment
 * value (file:line:col, or the variable a ${VAR} reference came through).
 * Secrets are masked: values of secret-looking keys, and DSN passwords.
 * This is how an operator checks dsnflip's reading of a stack, and how the
 * tests cross-check the loader against docker-compose.
 */
#include "session.h"
#include "detect/dsn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int secret_key(const char *k)
{
	static const char *const words[] = { "PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "_KEY",
					     "CREDENTIAL", NULL };
	for (const char *const *w = words; *w; w++)
		if (strcasestr(k, *w))
			return 1;
	return 0;
}

/* The value with its password (if a DSN) or itself (if secret) masked. */
static void masked(const char *key, const char *value, struct buf *out)
{
	if (secret_key(key) && *value) {
		buf_addstr(out, "****");
		return;
	}
	if (dsn_is_candidate(value)) {
		struct dsn dsn = DSN_INIT;
		struct diag d = DIAG_INIT;
		if (!dsn_parse(value, &dsn, &d) && dsn.password_span.present) {
			buf_add(out, value, dsn.password_span.start);
			buf_addstr(out, "****");
			buf_addstr(out, value + dsn.password_span.end);
			dsn_release(&dsn);
			return;
		}
		dsn_release(&dsn);
		diag_release(&d);
	}
	buf_addstr(out, value);
}

/*
 * s as a YAML scalar that reads back as the same string: plain when that is
 * safe, else single-quoted, or double-quoted with escapes when it holds
 * control characters.  A mask "****" plain would read as an alias, a value
 * with ": " or " #" would be cut, so they are quoted.
 */
static void yaml_scalar(const char *s, struct buf *out)
{
	size_t n = strlen(s);
	int plain = n > 0 && !strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) && s[n - 1] != ' ' &&
		    s[n - 1] != ':' && !strstr(s, ": ") && !strstr(s, " #");
	int ctrl = 0;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			ctrl = 1;
	if (plain && !ctrl) {
		buf_addstr(out, s);
		return;
	}
	if (!ctrl) {
		buf_addch(out, '\'');
		for (const char *c = s; *c; c++) {
			if (*c == '\'')
				buf_addch(out, '\'');
			buf_addch(out, *c);
		}
		buf_addch(out, '\'');
		return;
	}
	buf_addch(out, '"');
	for (const char *c = s; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (u == '"' || u == '\\')
			buf_addf(out, "\\%c", u);
		else if (u == '\n')
			buf_addstr(out, "\\n");
		else if (u == '\t')
			buf_addstr(out, "\\t");
		else if (u < 0x20 || u == 0x7f)
			buf_addf(out, "\\x%02x", u);
		else
			buf_addch(out, (int)u);
	}
	buf_addch(out, '"');
}

static void origin_text(const struct origin *o, struct buf *out)
{
	if (o->kind == ORIGIN_PROCESS)
		buf_addstr(out, "environment");
	else
		buf_addf(out, "%s:%d:%d", o->pos.file ? o->pos.file->display : "?", o->pos.line,
			 o->pos.col);
	if (o->via)
		buf_addf(out, " via ${%s} at %s:%d:%d", o->var ? o->var : "?",
			 o->via->pos.file ? o->via->pos.file->display : "?", o->via->pos.line,
			 o->via->pos.col);
}

/* command/entrypoint: a string as it is, a list as a JSON-style array. */
static void node_text(const struct ynode *n, struct buf *out)
{
	if (n->kind != YN_SEQ) {
		buf_addstr(out, n->str);
		return;
	}
	buf_addch(out, '[');
	for (size_t i = 0; i < n->n; i++) {
		buf_addstr(out, i ? ", \"" : "\"");
		for (const char *c = n->items[i]->str; *c; c++) {
			if (*c == '"' || *c == '\\')
				buf_addch(out, '\\');
			buf_addch(out, *c);
		}
		buf_addch(out, '"');
	}
	buf_addch(out, ']');
}

static json_t *node_json(const struct ynode *n)
{
	if (n->kind != YN_SEQ)
		return json_string(n->str);
	json_t *a = json_array();
	for (size_t i = 0; i < n->n; i++)
		json_array_append_new(a, json_string(n->items[i]->str));
	return a;
}

int cmd_config(struct cli *cli)
{
	struct diag d = DIAG_INIT;
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct compose_project *p = NULL;
	enum report_format fmt = FORMAT_TEXT;
	struct buf out = BUF_INIT, v = BUF_INIT, o = BUF_INIT;

	cli_compose_opts(cli, &co);
	if (cli_check_options(cli, CLI_OPT_FORMAT, &d) ||
	    (cli->format && (report_format_parse(cli->format, &fmt) || fmt == FORMAT_MARKDOWN) &&
	     diag_err(&d, "--format must be text or json for 'config', not '%s'", cli->format)) ||
	    compose_load(&co, &p, &d))
		return cli_fail(&d);
	json_t *root = json_object(), *svcs = json_object();
	json_object_set_new(root, "name", json_string(p->name));
	json_t *jfiles = json_array();
	for (size_t i = 0; i < p->nfiles; i++)
		json_array_append_new(jfiles, json_string(p->files[i]));
	json_object_set_new(root, "files", jfiles);
	if (fmt == FORMAT_TEXT) {
		buf_addf(&out, "name: %s\nfiles:", p->name);
		for (size_t i = 0; i < p->nfiles; i++)
			buf_addf(&out, " %s", p->files[i]);
		buf_addstr(&out, "\nservices:\n");
	}
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		json_t *js = json_object(), *env = json_object(), *origins = json_object();
		if (fmt == FORMAT_TEXT) {
			buf_addf(&out, "  %s:%s\n", s->name, s->enabled ? "" : "  # profile not active");
			if (s->image) {
				buf_addstr(&out, "    image: ");
				yaml_scalar(s->image, &out);
				buf_addch(&out, '\n');
			}
			if (s->build_context)
				buf_addf(&out, "    build: %s (%s)\n", s->build_context, s->dockerfile);
			if (s->replicas != 1)
				buf_addf(&out, "    replicas: %d\n", s->replicas);
			if (s->extends_from) {
				buf_addstr(&out, "    extends: ");
				yaml_scalar(s->extends_from, &out);
				buf_addch(&out, '\n');
			}
			const struct ynode *cmds[] = { s->entrypoint, s->command };
			for (size_t c = 0; c < 2; c++)
				if (cmds[c]) {
					struct buf t = BUF_INIT;
					buf_addf(&out, "    %s: ", c ? "command" : "entrypoint");
					node_text(cmds[c], &t);
					if (cmds[c]->kind == YN_SEQ)
						buf_addstr(&out, t.buf);
					else
						yaml_scalar(t.buf, &out);
					buf_addch(&out, '\n');
					buf_release(&t);
				}
			buf_addstr(&out, "    environment:\n");
		}
		for (size_t k = 0; k < s->nenv; k++) {
			const struct env_entry *e = &s->env[k];
			buf_reset(&v);
			buf_reset(&o);
			if (e->value)
				masked(e->key, e->value, &v);
			origin_text(&e->origin, &o);
			if (fmt == FORMAT_TEXT) {
				buf_addf(&out, "      %s: ", e->key);
				yaml_scalar(v.buf, &out);
				buf_addf(&out, "    # %s\n", o.buf);
			}
			json_object_set_new(env, e->key, e->value ? json_string(v.buf) : json_null());
			json_object_set_new(origins, e->key, json_string(o.buf));
		}
		json_object_set_new(js, "enabled", json_boolean(s->enabled));
		if (s->image)
			json_object_set_new(js, "image", json_string(s->image));
		if (s->build_context)
			json_object_set_new(js, "build", json_string(s->build_context));
		if (s->entrypoint)
			json_object_set_new(js, "entrypoint", node_json(s->entrypoint));
		if (s->command)
			json_object_set_new(js, "command", node_json(s->command));
		json_object_set_new(js, "replicas", json_integer(s->replicas));
		json_object_set_new(js, "environment", env);
		json_object_set_new(js, "origins", origins);
		json_object_set_new(svcs, s->name, js);
	}
	json_object_set_new(root, "services", svcs);
	if (fmt == FORMAT_JSON) {
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		buf_addstr(&out, s);
		buf_addch(&out, '\n');
		free(s);
	}
	for (size_t i = 0; i < p->warnings.nr && !cli->quiet; i++)
		fprintf(stderr, "warning: %s\n", p->warnings.v[i]);
	fwrite(out.buf, 1, out.len, stdout);
	json_decref(root);
	buf_release(&out);
	buf_release(&v);
	buf_release(&o);
	compose_free(p);
	return EXIT_OK;
}

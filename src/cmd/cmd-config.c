/*
 * cmd-config: `dsnflip config` — the effective stack as dsnflip reads it,
 * like `docker compose config` but with the origin of every environment
 * value (file:line:col, or the variable a ${VAR} reference came through).
 * Secrets are masked by the one rule of util/mask.h (secret-looking keys,
 * URI and key=value passwords, also inside command and entrypoint), and
 * the text form is valid YAML: every input-derived string goes through
 * esc_yaml (a mask "****" would otherwise read as an alias, a value with
 * ESC or a newline would reach the terminal raw).
 * This is how an operator checks dsnflip's reading of a stack, and how the
 * tests cross-check the loader against docker-compose.
 */
#include "session.h"
#include "util/escape.h"
#include "util/mask.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* command/entrypoint, masked: a string as a YAML scalar, a list as a flow sequence. */
static void cmd_text(const struct service_cmd *n, struct buf *out)
{
	struct buf m = BUF_INIT;
	if (n->shell) {
		mask_secrets(n->shell, &m);
		esc_yaml(m.buf, out);
		buf_release(&m);
		return;
	}
	buf_addch(out, '[');
	for (size_t i = 0; i < n->argc; i++) {
		buf_reset(&m);
		mask_secrets(n->argv[i], &m);
		if (i)
			buf_addstr(out, ", ");
		esc_yaml_quoted(m.buf, out);
	}
	buf_addch(out, ']');
	buf_release(&m);
}

static json_t *masked_json(const char *s)
{
	struct buf m = BUF_INIT;
	mask_secrets(s, &m);
	json_t *j = json_string(m.buf);
	buf_release(&m);
	return j;
}

static json_t *cmd_json(const struct service_cmd *n)
{
	if (n->shell)
		return masked_json(n->shell);
	json_t *a = json_array();
	for (size_t i = 0; i < n->argc; i++)
		json_array_append_new(a, masked_json(n->argv[i]));
	return a;
}

/* "KEY: VALUE" text for a YAML line, both escaped. */
static void yaml_pair(struct buf *out, const char *key, const char *value)
{
	esc_yaml(key, out);
	buf_addstr(out, ": ");
	esc_yaml(value, out);
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
		struct buf files = BUF_INIT;
		for (size_t i = 0; i < p->nfiles; i++)
			buf_addf(&files, "%s%s", i ? " " : "", p->files[i]);
		yaml_pair(&out, "name", p->name);
		buf_addch(&out, '\n');
		yaml_pair(&out, "files", files.buf);
		buf_addstr(&out, "\nservices:\n");
		buf_release(&files);
	}
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		json_t *js = json_object(), *env = json_object(), *origins = json_object();
		if (fmt == FORMAT_TEXT) {
			buf_addstr(&out, "  ");
			esc_yaml(s->name, &out);
			buf_addf(&out, ":%s\n", s->enabled ? "" : "  # profile not active");
			if (s->image) {
				buf_addstr(&out, "    ");
				yaml_pair(&out, "image", s->image);
				buf_addch(&out, '\n');
			}
			if (s->build_context) {
				char *b = xstrfmt("%s (%s)", s->build_context, s->dockerfile);
				buf_addstr(&out, "    ");
				yaml_pair(&out, "build", b);
				buf_addch(&out, '\n');
				free(b);
			}
			if (s->replicas != 1)
				buf_addf(&out, "    replicas: %d\n", s->replicas);
			if (s->extends_from) {
				buf_addstr(&out, "    ");
				yaml_pair(&out, "extends", s->extends_from);
				buf_addch(&out, '\n');
			}
			const struct service_cmd *cmds[] = { s->entrypoint, s->command };
			for (size_t c = 0; c < 2; c++)
				if (cmds[c]) {
					buf_addf(&out, "    %s: ", c ? "command" : "entrypoint");
					cmd_text(cmds[c], &out);
					buf_addch(&out, '\n');
				}
			buf_addstr(&out, "    environment:\n");
		}
		for (size_t k = 0; k < s->nenv; k++) {
			const struct env_entry *e = &s->env[k];
			buf_reset(&v);
			buf_reset(&o);
			if (e->value)
				mask_env_value(e->key, e->value, &v);
			origin_text(&e->origin, &o);
			if (fmt == FORMAT_TEXT) {
				buf_addstr(&out, "      ");
				yaml_pair(&out, e->key, v.buf);
				buf_addstr(&out, "    # ");
				esc_text(o.buf, &out);
				buf_addch(&out, '\n');
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
			json_object_set_new(js, "entrypoint", cmd_json(s->entrypoint));
		if (s->command)
			json_object_set_new(js, "command", cmd_json(s->command));
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

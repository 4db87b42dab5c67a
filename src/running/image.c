/*
 * image: images read through the docker CLI, nothing run.  See image.h.
 */
#include "running/image.h"
#include "util/run.h"
#include "util/num.h"
#include "util/escape.h"
#include "util/mask.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOCKER_MS 30000
#define PROBE_LABEL "dsnflip.probe"

struct cached_file {
	char *path;
	int answer;
	struct buf data;
	char *why;
};

struct cached_image {
	char *ref;
	int answer;
	struct image_config cfg;
	char *why;
	char *container;        /* created for file reads, removed at the end */
	int create_failed;
	struct cached_file *files;
	size_t nfiles, files_alloc;
};

struct image_engine {
	struct strvec env;
	int probed, up;
	char *down_why;
	int swept;
	struct cached_image *imgs;
	size_t nimgs, imgs_alloc;
	struct image_source src;
};

static void docker_child(struct image_engine *e, struct child *c)
{
	child_init(c);
	for (size_t i = 0; i < e->env.nr; i++)
		strvec_push(&c->env, e->env.v[i]);
	strvec_push(&c->args, "docker");
	c->out_mode = c->err_mode = RUN_CAPTURE;
	c->timeout_ms = DOCKER_MS;
}

/* The last line of a child's stderr, trimmed, masked and escaped, for a message. */
static void err_tail(const struct child *c, struct buf *why)
{
	struct buf raw = BUF_INIT, masked = BUF_INIT;
	const char *s = c->err.buf;
	size_t n = c->err.len;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	size_t start = n;
	while (start && s[start - 1] != '\n')
		start--;
	buf_add(&raw, s + start, n - start > 300 ? 300 : n - start);
	mask_secrets(raw.buf ? raw.buf : "", &masked);
	esc_text(masked.buf ? masked.buf : "", why);
	buf_release(&raw);
	buf_release(&masked);
}

static int engine_up(struct image_engine *e)
{
	if (e->probed)
		return e->up;
	e->probed = 1;
	struct child c;
	struct diag d = DIAG_INIT;
	docker_child(e, &c);
	strvec_push(&c.args, "version");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.Server.Version}}");
	c.timeout_ms = 15000;
	if (run_command(&c, &d)) {
		struct buf why = BUF_INIT;
		buf_addstr(&why, "no Docker engine answered (");
		if (c.err.len)
			err_tail(&c, &why);
		else
			buf_addstr(&why, d.msg.buf);
		buf_addch(&why, ')');
		e->down_why = buf_detach(&why, NULL);
	} else {
		e->up = 1;
	}
	child_release(&c);
	diag_release(&d);
	return e->up;
}

static void strvec_from_json(const json_t *a, struct strvec *out, int *present)
{
	if (present)
		*present = json_is_array(a);
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		strvec_push(out, s ? s : "");
	}
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static int do_inspect(struct image_engine *e, struct cached_image *ci)
{
	struct child c;
	struct diag d = DIAG_INIT;
	struct buf why = BUF_INIT;

	docker_child(e, &c);
	strvec_push(&c.args, "image");
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{json .}}");
	strvec_push(&c.args, "--");
	strvec_push(&c.args, ci->ref);
	if (run_command(&c, &d)) {
		if (c.exited && c.exit_code == 1 && strcasestr(c.err.buf, "no such image")) {
			ci->answer = IMAGE_ABSENT;
		} else {
			ci->answer = IMAGE_FAILED;
			buf_addf(&why, "docker image inspect %s: ", ci->ref);
			if (c.err.len)
				err_tail(&c, &why);
			else
				buf_addstr(&why, d.msg.buf);
		}
		goto out;
	}
	json_error_t jerr;
	json_t *root = json_loadb(c.out.buf, c.out.len, 0, &jerr);
	if (!json_is_object(root)) {
		ci->answer = IMAGE_FAILED;
		buf_addf(&why, "docker image inspect %s: unreadable output (%s)", ci->ref, jerr.text);
		json_decref(root);
		goto out;
	}
	const json_t *cfg = json_object_get(root, "Config");
	const json_t *rd = json_object_get(root, "RepoDigests");
	const char *digest = jstr(root, "Id");
	/* A repo digest ("name@sha256:...") names the image as a registry does. */
	if (json_is_array(rd) && json_array_size(rd)) {
		const char *first = json_string_value(json_array_get(rd, 0));
		const char *at = first ? strchr(first, '@') : NULL;
		if (at)
			digest = at + 1;
	}
	ci->cfg.ref = xstrdup(ci->ref);
	ci->cfg.digest = xstrdup(digest);
	strvec_from_json(json_object_get(cfg, "Entrypoint"), &ci->cfg.entrypoint, &ci->cfg.has_entrypoint);
	strvec_from_json(json_object_get(cfg, "Cmd"), &ci->cfg.cmd, &ci->cfg.has_cmd);
	strvec_from_json(json_object_get(cfg, "Env"), &ci->cfg.env, NULL);
	ci->cfg.workdir = xstrdup(jstr(cfg, "WorkingDir"));
	ci->cfg.user = xstrdup(jstr(cfg, "User"));
	ci->answer = IMAGE_OK;
	json_decref(root);
out:
	ci->why = why.len ? buf_detach(&why, NULL) : NULL;
	buf_release(&why);
	child_release(&c);
	diag_release(&d);
	return ci->answer;
}

static struct cached_image *get_image(struct image_engine *e, const char *ref)
{
	for (size_t i = 0; i < e->nimgs; i++)
		if (!strcmp(e->imgs[i].ref, ref))
			return &e->imgs[i];
	ALLOC_GROW(e->imgs, e->nimgs + 1, e->imgs_alloc);
	struct cached_image *ci = &e->imgs[e->nimgs++];
	memset(ci, 0, sizeof(*ci));
	ci->ref = xstrdup(ref);
	do_inspect(e, ci);
	return ci;
}

static void copy_config(const struct image_config *from, struct image_config *to)
{
	memset(to, 0, sizeof(*to));
	to->ref = xstrdup(from->ref);
	to->digest = xstrdup(from->digest);
	for (size_t i = 0; i < from->entrypoint.nr; i++)
		strvec_push(&to->entrypoint, from->entrypoint.v[i]);
	for (size_t i = 0; i < from->cmd.nr; i++)
		strvec_push(&to->cmd, from->cmd.v[i]);
	for (size_t i = 0; i < from->env.nr; i++)
		strvec_push(&to->env, from->env.v[i]);
	to->has_entrypoint = from->has_entrypoint;
	to->has_cmd = from->has_cmd;
	to->workdir = xstrdup(from->workdir);
	to->user = xstrdup(from->user);
}

static int src_inspect(void *ctx, const char *ref, struct image_config *out, struct buf *why)
{
	struct image_engine *e = ctx;
	if (!engine_up(e)) {
		buf_addstr(why, e->down_why);
		return IMAGE_NO_ENGINE;
	}
	struct cached_image *ci = get_image(e, ref);
	if (ci->answer == IMAGE_OK)
		copy_config(&ci->cfg, out);
	else if (ci->why)
		buf_addstr(why, ci->why);
	return ci->answer;
}

/* Remove probe containers whose dsnflip (on this host) is gone. */
static void sweep_stale(struct image_engine *e)
{
	struct child c;
	struct diag d = DIAG_INIT;
	char host[256] = "";

	e->swept = 1;
	gethostname(host, sizeof(host) - 1);
	docker_child(e, &c);
	strvec_push(&c.args, "ps");
	strvec_push(&c.args, "-a");
	strvec_push(&c.args, "--filter");
	strvec_push(&c.args, "label=" PROBE_LABEL);
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.ID}} {{.Label \"" PROBE_LABEL "\"}}");
	if (!run_command(&c, &d)) {
		char *line = c.out.buf;
		while (*line) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			char *sp = strchr(line, ' ');
			char *colon = sp ? strrchr(sp + 1, ':') : NULL;
			if (sp && colon) {
				*sp = '\0';
				*colon = '\0';
				long long pid = 0;
				int dead = !num_parse_ll(colon + 1, 1, INT_MAX, &pid) &&
					   kill((pid_t)pid, 0) && errno == ESRCH;
				if (!strcmp(sp + 1, host) && dead) {
					struct child rm;
					struct diag ignore = DIAG_INIT;
					docker_child(e, &rm);
					strvec_push(&rm.args, "rm");
					strvec_push(&rm.args, "-f");
					strvec_push(&rm.args, line);
					run_command(&rm, &ignore);
					child_release(&rm);
					diag_release(&ignore);
				}
			}
			if (!nl)
				break;
			line = nl + 1;
		}
	}
	child_release(&c);
	diag_release(&d);
}

static int create_container(struct image_engine *e, struct cached_image *ci, struct buf *why)
{
	struct child c;
	struct diag d = DIAG_INIT;
	char host[256] = "";

	if (!e->swept)
		sweep_stale(e);
	gethostname(host, sizeof(host) - 1);
	docker_child(e, &c);
	strvec_push(&c.args, "create");
	strvec_push(&c.args, "--network");
	strvec_push(&c.args, "none");
	strvec_push(&c.args, "--label");
	strvec_pushf(&c.args, PROBE_LABEL "=%s:%ld", host, (long)getpid());
	/* An entrypoint that cannot exist: should anything ever start this
	 * container, nothing of the image would run. */
	strvec_push(&c.args, "--entrypoint");
	strvec_push(&c.args, "/dsnflip-never-started");
	strvec_push(&c.args, "--");
	strvec_push(&c.args, ci->ref);
	int r = run_command(&c, &d);
	if (!r) {
		size_t n = strcspn(c.out.buf, " \r\n");
		if (n)
			ci->container = xstrndup(c.out.buf, n);
	}
	if (!ci->container) {
		buf_addf(why, "docker create %s: ", ci->ref);
		if (c.err.len)
			err_tail(&c, why);
		else
			buf_addstr(why, d.msg.buf[0] ? d.msg.buf : "no container id");
	}
	child_release(&c);
	diag_release(&d);
	return ci->container ? 0 : -1;
}

static unsigned long long octal(const char *s, size_t n)
{
	unsigned long long v = 0;
	for (size_t i = 0; i < n && s[i]; i++) {
		if (s[i] == ' ')
			continue;
		if (s[i] < '0' || s[i] > '7')
			break;
		v = v * 8 + (unsigned long long)(s[i] - '0');
	}
	return v;
}

/* The first regular file of a tar stream (pax/long-name headers skipped). */
static int untar_one(const char *t, size_t len, size_t max, struct buf *out, struct buf *why)
{
	size_t off = 0;
	while (off + 512 <= len) {
		const char *h = t + off;
		if (!h[0])
			break;
		unsigned long long size = octal(h + 124, 12);
		char type = h[156];
		size_t body = off + 512;
		if (size > len - body) {
			buf_addstr(why, "truncated tar stream from docker cp");
			return IMAGE_FAILED;
		}
		if (type == '0' || type == '\0' || type == '7') {
			if (size > max) {
				buf_addf(why, "over %zu bytes", max);
				return IMAGE_ABSENT;
			}
			buf_add(out, t + body, (size_t)size);
			return IMAGE_OK;
		}
		if (type != 'x' && type != 'g' && type != 'L' && type != 'K') {
			buf_addstr(why, type == '5' ? "a directory" : "not a regular file");
			return IMAGE_ABSENT;
		}
		off = body + (size_t)((size + 511) / 512 * 512);
	}
	buf_addstr(why, "no file in the tar stream from docker cp");
	return IMAGE_ABSENT;
}

static int src_read_file(void *ctx, const char *ref, const char *path, size_t max, struct buf *data,
			 struct buf *why)
{
	struct image_engine *e = ctx;
	if (!engine_up(e)) {
		buf_addstr(why, e->down_why);
		return IMAGE_FAILED;
	}
	struct cached_image *ci = get_image(e, ref);
	if (ci->answer != IMAGE_OK) {
		buf_addstr(why, ci->why ? ci->why : "image not on the engine");
		return ci->answer;
	}
	for (size_t i = 0; i < ci->nfiles; i++)
		if (!strcmp(ci->files[i].path, path)) {
			if (ci->files[i].answer == IMAGE_OK)
				buf_add(data, ci->files[i].data.buf, ci->files[i].data.len);
			else if (ci->files[i].why)
				buf_addstr(why, ci->files[i].why);
			return ci->files[i].answer;
		}
	if (!ci->container) {
		if (ci->create_failed || create_container(e, ci, why)) {
			ci->create_failed = 1;
			if (!why->len)
				buf_addf(why, "no container of %s could be created", ref);
			return IMAGE_FAILED;
		}
	}
	ALLOC_GROW(ci->files, ci->nfiles + 1, ci->files_alloc);
	struct cached_file *cf = &ci->files[ci->nfiles++];
	memset(cf, 0, sizeof(*cf));
	buf_init(&cf->data);
	cf->path = xstrdup(path);

	struct child c;
	struct diag d = DIAG_INIT;
	struct buf w = BUF_INIT;
	docker_child(e, &c);
	c.capture_max = max + 64 * 1024;
	strvec_push(&c.args, "cp");
	strvec_push(&c.args, "-L");
	strvec_pushf(&c.args, "%s:%s", ci->container, path);
	strvec_push(&c.args, "-");
	if (run_command(&c, &d)) {
		if (c.exited && strcasestr(c.err.buf, "could not find the file")) {
			cf->answer = IMAGE_ABSENT;
			buf_addstr(&w, "no such file");
		} else {
			cf->answer = IMAGE_FAILED;
			buf_addf(&w, "docker cp %s: ", path);
			if (c.err.len)
				err_tail(&c, &w);
			else
				buf_addstr(&w, d.msg.buf);
		}
	} else if (c.truncated) {
		cf->answer = IMAGE_ABSENT;
		buf_addf(&w, "over %zu bytes", max);
	} else {
		cf->answer = untar_one(c.out.buf, c.out.len, max, &cf->data, &w);
	}
	cf->why = w.len ? buf_detach(&w, NULL) : NULL;
	buf_release(&w);
	child_release(&c);
	diag_release(&d);
	if (cf->answer == IMAGE_OK)
		buf_add(data, cf->data.buf, cf->data.len);
	else if (cf->why)
		buf_addstr(why, cf->why);
	return cf->answer;
}

struct image_engine *image_engine_new(char *const *env)
{
	struct image_engine *e = xcalloc(1, sizeof(*e));
	for (; env && *env; env++)
		if (strchr(*env, '=') && !str_starts(*env, "PGPASSWORD=") &&
		    !str_starts(*env, "DSNFLIP_FAULT="))
			strvec_push(&e->env, *env);
	e->src.ctx = e;
	e->src.inspect = src_inspect;
	e->src.read_file = src_read_file;
	return e;
}

const struct image_source *image_engine_source(struct image_engine *e)
{
	return &e->src;
}

void image_engine_free(struct image_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nimgs; i++) {
		struct cached_image *ci = &e->imgs[i];
		if (ci->container) {
			struct child c;
			struct diag d = DIAG_INIT;
			docker_child(e, &c);
			strvec_push(&c.args, "rm");
			strvec_push(&c.args, "-f");
			strvec_push(&c.args, ci->container);
			if (run_command(&c, &d))
				fprintf(stderr, "dsnflip: could not remove temporary container %.12s of %s: %s\n",
					ci->container, ci->ref, d.msg.buf);
			child_release(&c);
			diag_release(&d);
			free(ci->container);
		}
		for (size_t k = 0; k < ci->nfiles; k++) {
			free(ci->files[k].path);
			buf_release(&ci->files[k].data);
			free(ci->files[k].why);
		}
		free(ci->files);
		image_config_release(&ci->cfg);
		free(ci->ref);
		free(ci->why);
	}
	free(e->imgs);
	free(e->down_why);
	strvec_clear(&e->env);
	free(e);
}

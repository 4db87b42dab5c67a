/*
 * image: images read through the docker CLI, nothing run.  See image.h.
 */
#include "running/image.h"
#include "util/run.h"
#include "util/num.h"
#include "util/escape.h"
#include "util/mask.h"
#include "util/strmap.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
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
	struct strmap by_ref;   /* ref -> index + 1 in imgs */
	struct strvec expect;   /* refs detection may ask for (image_engine_expect) */
	size_t expect_done;     /* expect[0..expect_done) are in imgs */
	struct image_source src;
};

/*
 * One `docker image inspect` answers for many images: the first question
 * inspects every expected image not asked yet, at most BATCH_REFS (or
 * BATCH_BYTES of argv, and so of output) per docker process.
 */
#define BATCH_REFS 1000
#define BATCH_BYTES (96 * 1024)

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

/* ci's answer and config from one image's `{{json .}}` text. */
static void parse_config(struct cached_image *ci, const char *text, size_t len, struct buf *why)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(root)) {
		ci->answer = IMAGE_FAILED;
		buf_addf(why, "docker image inspect %s: unreadable output (%s)", ci->ref, jerr.text);
		json_decref(root);
		return;
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
}

/* One image, one docker process: the exact answer for ref, whatever went wrong. */
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
	parse_config(ci, c.out.buf, c.out.len, &why);
out:
	ci->why = why.len ? buf_detach(&why, NULL) : NULL;
	buf_release(&why);
	child_release(&c);
	diag_release(&d);
	return ci->answer;
}

static struct cached_image *cached(const struct image_engine *e, const char *ref)
{
	uintptr_t ix = (uintptr_t)strmap_get(&e->by_ref, ref);
	return ix ? &e->imgs[ix - 1] : NULL;
}

static struct cached_image *new_image(struct image_engine *e, const char *ref)
{
	ALLOC_GROW(e->imgs, e->nimgs + 1, e->imgs_alloc);
	struct cached_image *ci = &e->imgs[e->nimgs++];
	memset(ci, 0, sizeof(*ci));
	ci->ref = xstrdup(ref);
	ci->answer = IMAGE_FAILED;
	strmap_put(&e->by_ref, ci->ref, (void *)(uintptr_t)e->nimgs);
	return ci;
}

/*
 * How a reference names an image, for matching it with what inspect
 * printed: registry docker.io and namespace library/ left out, ":latest"
 * added when there is neither a tag nor a digest.
 */
static void ref_norm(const char *ref, struct buf *out)
{
	buf_reset(out);
	if (str_starts(ref, "docker.io/"))
		ref += strlen("docker.io/");
	if (str_starts(ref, "library/"))
		ref += strlen("library/");
	buf_addstr(out, ref);
	const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	if (!strchr(ref, '@') && (!colon || (slash && colon < slash)))
		buf_addstr(out, ":latest");
}

static int names_in(const json_t *a, const char *want, struct buf *tmp)
{
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (s) {
			ref_norm(s, tmp);
			if (!strcmp(tmp->buf, want))
				return 1;
		}
	}
	return 0;
}

/*
 * Whether the inspect object text is plausibly the image ref names: its
 * id (or an id prefix), one of its tags or repo digests.  A check on the
 * order docker prints in; a "no" only sends the batch to the slow path.
 */
static int json_names(const char *text, size_t len, const char *ref)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	struct buf want = BUF_INIT, tmp = BUF_INIT;
	const char *id = json_is_object(root) ? jstr(root, "Id") : "";
	const char *hex = str_starts(id, "sha256:") ? id + 7 : id;
	int ok = 0;
	if (json_is_object(root)) {
		ref_norm(ref, &want);
		ok = !strcmp(ref, id) || (*ref && str_starts(hex, str_starts(ref, "sha256:") ? ref + 7 : ref)) ||
		     names_in(json_object_get(root, "RepoTags"), want.buf, &tmp) ||
		     names_in(json_object_get(root, "RepoDigests"), want.buf, &tmp);
	}
	json_decref(root);
	buf_release(&want);
	buf_release(&tmp);
	return ok;
}

/*
 * The name a "No such image" line of docker's stderr is about, or NULL.
 * Clients word it "Error: No such image: NAME" or "Error response from
 * daemon: no such image: NAME: No such image: NAME:latest": the name is
 * what follows the first "no such image: ", up to ": " or the line's end.
 */
static char *missing_name(const char *line, size_t len)
{
	static const char mark[] = "no such image: ";
	size_t m = sizeof(mark) - 1;
	for (size_t i = 0; i + m <= len; i++)
		if (!strncasecmp(line + i, mark, m)) {
			const char *n = line + i + m, *end = line + len;
			for (const char *q = n; q + 1 < end; q++)
				if (q[0] == ':' && q[1] == ' ') {
					end = q;
					break;
				}
			while (end > n && (end[-1] == ' ' || end[-1] == '\r'))
				end--;
			return end > n ? xstrndup(n, (size_t)(end - n)) : NULL;
		}
	return NULL;
}

/*
 * Inspect imgs[from..to) (all unanswered) in one docker process.  docker
 * prints one line per image it has, in the order asked, and names each one
 * it has not on stderr (exit 1).  Every image gets its exact answer only
 * when the output accounts for every one of them: a line for each present
 * one (and the line names it), a "No such image" for each absent one, and
 * nothing else; otherwise each is asked again on its own (do_inspect),
 * which reports a failure against the image it concerns.
 */
static void inspect_batch(struct image_engine *e, size_t from, size_t to)
{
	size_t n = to - from;
	struct child c;
	struct diag d = DIAG_INIT;
	struct strvec lines = STRVEC_INIT;
	char *absent = xcalloc(n, 1);
	size_t nabsent = 0;
	int ok;

	docker_child(e, &c);
	c.capture_max = 64u << 20;
	strvec_push(&c.args, "image");
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{json .}}");
	strvec_push(&c.args, "--");
	for (size_t i = from; i < to; i++)
		strvec_push(&c.args, e->imgs[i].ref);
	int failed = run_command(&c, &d);
	ok = c.exited && !c.truncated && (c.exit_code == 0 || c.exit_code == 1);
	/* stderr: only "No such image" lines, each naming one image asked. */
	for (const char *p = c.err.buf, *end = c.err.buf + c.err.len; ok && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && !(len == 1 && *p == '\r')) {
			char *name = missing_name(p, len);
			size_t k = 0;
			while (name && k < n && (absent[k] || strcmp(e->imgs[from + k].ref, name)))
				k++;
			if (!name || k == n)
				ok = 0;
			else
				absent[k] = 1, nabsent++;
			free(name);
		}
		p += len + 1;
	}
	ok = ok && (failed ? nabsent > 0 : nabsent == 0);
	for (const char *p = c.out.buf, *end = c.out.buf + c.out.len; ok && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len)
			strvec_pushf(&lines, "%.*s", (int)len, p);
		p += len + 1;
	}
	ok = ok && lines.nr == n - nabsent;
	for (size_t i = 0, l = 0; ok && i < n; i++)
		if (!absent[i]) {
			ok = json_names(lines.v[l], strlen(lines.v[l]), e->imgs[from + i].ref);
			l++;
		}
	for (size_t i = 0, l = 0; i < n; i++) {
		struct cached_image *ci = &e->imgs[from + i];
		if (!ok) {
			do_inspect(e, ci);
			continue;
		}
		if (absent[i]) {
			ci->answer = IMAGE_ABSENT;
			continue;
		}
		struct buf why = BUF_INIT;
		parse_config(ci, lines.v[l], strlen(lines.v[l]), &why);
		l++;
		ci->why = why.len ? buf_detach(&why, NULL) : NULL;
		buf_release(&why);
	}
	free(absent);
	strvec_clear(&lines);
	child_release(&c);
	diag_release(&d);
}

static struct cached_image *get_image(struct image_engine *e, const char *ref)
{
	struct cached_image *ci = cached(e, ref);
	if (ci)
		return ci;
	/* ref first, then every expected image not asked yet, in batches. */
	size_t from = e->nimgs, bytes = strlen(ref);
	new_image(e, ref);
	for (;;) {
		while (e->expect_done < e->expect.nr && e->nimgs - from < BATCH_REFS && bytes < BATCH_BYTES) {
			const char *x = e->expect.v[e->expect_done++];
			if (!cached(e, x)) {
				new_image(e, x);
				bytes += strlen(x) + 1;
			}
		}
		if (e->nimgs - from == 1)
			do_inspect(e, &e->imgs[from]);
		else if (e->nimgs > from)
			inspect_batch(e, from, e->nimgs);
		if (e->expect_done >= e->expect.nr)
			break;
		from = e->nimgs;
		bytes = 0;
	}
	return cached(e, ref);
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

void image_engine_expect(struct image_engine *e, const char *ref)
{
	strvec_push(&e->expect, ref);
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
	strmap_clear(&e->by_ref);
	strvec_clear(&e->expect);
	free(e->down_why);
	strvec_clear(&e->env);
	free(e);
}

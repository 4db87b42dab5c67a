/*
 * test_imagescan: classing a service from its image (detect/imagescan.c),
 * through a fake image source: images and their files held in memory, as
 * the engine module would answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/imagescan.h"
#include "stack/compose.h"
#include "stack/config.h"
#include "plan/plan.h"

struct fake_file { const char *path, *data; };
struct fake_image {
	const char *ref;
	const char *const *entrypoint, *const *cmd, *const *env;
	const char *workdir;
	const struct fake_file *files;
};
struct fake {
	const struct fake_image *imgs;
	int reads, inspects, no_engine;
};

static void push_all(struct strvec *v, const char *const *s)
{
	for (; s && *s; s++)
		strvec_push(v, *s);
}

static int fake_inspect(void *ctx, const char *ref, struct image_config *out, struct buf *why)
{
	struct fake *f = ctx;
	f->inspects++;
	if (f->no_engine)
		return IMAGE_NO_ENGINE;
	for (const struct fake_image *i = f->imgs; i->ref; i++)
		if (!strcmp(i->ref, ref)) {
			memset(out, 0, sizeof(*out));
			out->ref = strdup(ref);
			out->digest = strdup("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
			push_all(&out->entrypoint, i->entrypoint);
			push_all(&out->cmd, i->cmd);
			push_all(&out->env, i->env);
			out->workdir = strdup(i->workdir ? i->workdir : "");
			out->user = strdup("");
			return IMAGE_OK;
		}
	(void)why;
	return IMAGE_ABSENT;
}

static int fake_read(void *ctx, const char *ref, const char *path, size_t max, struct buf *data,
		     struct buf *why)
{
	struct fake *f = ctx;
	f->reads++;
	for (const struct fake_image *i = f->imgs; i->ref; i++)
		if (!strcmp(i->ref, ref))
			for (const struct fake_file *ff = i->files; ff && ff->path; ff++)
				if (!strcmp(ff->path, path) && strlen(ff->data) <= max) {
					buf_addstr(data, ff->data);
					return IMAGE_OK;
				}
	buf_addstr(why, "no such file");
	return IMAGE_ABSENT;
}

static const char *const ep_script[] = { "/app/entrypoint.sh", NULL };
static const char *const cmd_app[] = { "node", "server.js", NULL };
static const struct fake_file mig_files[] = {
	{ "/app/entrypoint.sh", "#!/bin/sh\nset -e\n. ./lib/env.sh\nnpx prisma migrate deploy\nexec \"$@\"\n" },
	{ "/app/lib/env.sh", "export NODE_ENV=production\n" },
	{ NULL, NULL },
};
static const struct fake_file app_files[] = {
	{ "/usr/local/bin/docker-entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n" },
	{ NULL, NULL },
};
static const char *const ep_bare[] = { "docker-entrypoint.sh", NULL };
static const char *const env_switch[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "RUN_MIGRATIONS=true", NULL };
static const char *const env_off[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "AUTO_MIGRATE=0", NULL };
static const struct fake_image images[] = {
	{ "example/web:4", ep_script, cmd_app, NULL, "/app", mig_files },
	{ "example/api:2", ep_bare, cmd_app, env_off, "/srv", app_files },
	{ "example/switch:1", ep_bare, cmd_app, env_switch, "/srv", app_files },
	{ "example/broken:1", ep_script, cmd_app, NULL, "/app", NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const char compose_yml[] =
	"services:\n"
	"  db:\n    image: postgres:16\n"
	"  web:\n    image: example/web:4\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n"
	"  api:\n    image: example/api:2\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n"
	"  sw:\n    image: example/switch:1\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n"
	"  broken:\n    image: example/broken:1\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n"
	"  gone:\n    image: example/gone:9\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n"
	"  repo:\n    image: example/web:4\n    command: [\"python\", \"app.py\"]\n    environment:\n      DATABASE_URL: postgres://postgres:pw@db/app\n";

struct world {
	char dir[64];
	struct compose_project *p;
	struct config *cfg;
	struct plan *plan;
	struct fake fake;
	struct image_source src;
};

static void build(struct world *w, int no_engine, int with_source)
{
	struct compose_opts co = COMPOSE_OPTS_INIT;
	struct diag d = DIAG_INIT;
	char *const env[] = { NULL };
	char path[128];

	memset(w, 0, sizeof(*w));
	strcpy(w->dir, "/tmp/test_imagescan.XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(path, sizeof(path), "%s/compose.yaml", w->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(compose_yml, fp);
	fclose(fp);
	co.dir = w->dir;
	co.environ = env;
	if (compose_load(&co, &w->p, &d))
		fail_msg("%s", d.msg.buf);
	w->cfg = config_empty();
	w->fake.imgs = images;
	w->fake.no_engine = no_engine;
	w->src = (struct image_source){ &w->fake, fake_inspect, fake_read };
	struct plan_opts po = { .images = with_source ? &w->src : NULL };
	if (plan_build(w->p, w->cfg, NULL, &po, &w->plan, &d))
		fail_msg("%s", d.msg.buf);
	unlink(path);
	rmdir(w->dir);
}

static void destroy(struct world *w)
{
	plan_free(w->plan);
	config_free(w->cfg);
	compose_free(w->p);
}

static int has_evidence(const struct plan_service *ps, const char *file, int line, const char *text)
{
	for (size_t i = 0; i < ps->nevidence; i++)
		if (!strcmp(ps->evidence[i].file ? ps->evidence[i].file : "", file) &&
		    ps->evidence[i].line == line && strstr(ps->evidence[i].text, text))
			return 1;
	return 0;
}

static int warned(const struct plan *plan, const char *text)
{
	for (size_t i = 0; i < plan->warnings.nr; i++)
		if (strstr(plan->warnings.v[i], text))
			return 1;
	return 0;
}

static void entrypoint_script_migrates(void **state)
{
	struct world w;
	build(&w, 0, 1);
	const struct plan_service *ps = plan_service(w.plan, "web");
	assert_int_equal(ps->cls, CLASS_MIGRATOR);
	assert_true(has_evidence(ps, "image example/web:4@sha256:0123456789ab /app/entrypoint.sh", 4,
				 "npx prisma migrate deploy"));
	/* The sourced script (relative to the caller) was read too. */
	assert_true(has_evidence(ps, "image example/web:4@sha256:0123456789ab /app/lib/env.sh", 1,
				 "no migration command"));
	assert_non_null(strstr(ps->reason, "prisma migrate deploy"));
	destroy(&w);
}

static void app_only_is_writer_and_path_lookup(void **state)
{
	struct world w;
	build(&w, 0, 1);
	const struct plan_service *ps = plan_service(w.plan, "api");
	assert_int_equal(ps->cls, CLASS_WRITER);
	/* A bare entrypoint name is found through the image's PATH; a switch set to 0 is off. */
	assert_true(has_evidence(ps, "image example/api:2@sha256:0123456789ab /usr/local/bin/docker-entrypoint.sh",
				 1, "no migration command"));
	assert_non_null(strstr(ps->reason, "node server.js"));
	destroy(&w);
}

static void env_switch_migrates(void **state)
{
	struct world w;
	build(&w, 0, 1);
	const struct plan_service *ps = plan_service(w.plan, "sw");
	assert_int_equal(ps->cls, CLASS_MIGRATOR);
	assert_true(has_evidence(ps, "image example/switch:1@sha256:0123456789ab Env", 0, "RUN_MIGRATIONS=true"));
	destroy(&w);
}

static void missing_script_and_absent_image_stay_unconfirmed(void **state)
{
	struct world w;
	build(&w, 0, 1);
	const struct plan_service *b = plan_service(w.plan, "broken");
	assert_int_equal(b->cls, CLASS_UNCONFIRMED);
	assert_non_null(strstr(b->reason, "/app/entrypoint.sh is not in image example/web") ||
			strstr(b->reason, "/app/entrypoint.sh is not in image example/broken:1"));
	const struct plan_service *g = plan_service(w.plan, "gone");
	assert_int_equal(g->cls, CLASS_UNCONFIRMED);
	assert_non_null(strstr(g->reason, "image example/gone:9 is not on the engine"));
	assert_true(warned(w.plan, "image example/gone:9 (gone) is not on the engine"));
	destroy(&w);
}

static void repository_decides_first(void **state)
{
	struct world w;
	build(&w, 0, 1);
	/* A command visible in the repository is not second-guessed from the image. */
	const struct plan_service *ps = plan_service(w.plan, "repo");
	assert_int_equal(ps->cls, CLASS_WRITER);
	for (size_t i = 0; i < ps->nevidence; i++)
		assert_null(strstr(ps->evidence[i].file ? ps->evidence[i].file : "", "image example"));
	destroy(&w);
}

static void no_engine_or_no_source_reads_nothing(void **state)
{
	struct world w;
	build(&w, 1, 1);
	assert_int_equal(plan_service(w.plan, "web")->cls, CLASS_UNCONFIRMED);
	assert_int_equal(w.fake.reads, 0);
	assert_false(warned(w.plan, "not on the engine"));
	destroy(&w);
	build(&w, 0, 0);
	assert_int_equal(plan_service(w.plan, "web")->cls, CLASS_UNCONFIRMED);
	assert_int_equal(w.fake.inspects, 0);
	destroy(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entrypoint_script_migrates),
		cmocka_unit_test(app_only_is_writer_and_path_lookup),
		cmocka_unit_test(env_switch_migrates),
		cmocka_unit_test(missing_script_and_absent_image_stay_unconfirmed),
		cmocka_unit_test(repository_decides_first),
		cmocka_unit_test(no_engine_or_no_source_reads_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

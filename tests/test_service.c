/*
 * Tests for stack/service: the typed reads detection and the mirror check
 * make of a service's definition (names it answers to, healthcheck test,
 * depends_on in both syntaxes, command/entrypoint words, the same
 * definition but for the environment), on stacks written to a temporary
 * directory and loaded by the compose loader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

#include "stack/service.h"
#include "util/path.h"

struct fx {
	char dir[64];
	struct compose_project *p, *q;
	struct diag d;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	strcpy(fx->dir, "/tmp/dsnflip-service-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->d = (struct diag)DIAG_INIT;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	if (path_remove_tree(fx->dir))
		fprintf(stderr, "could not remove %s\n", fx->dir);
	compose_free(fx->p);
	compose_free(fx->q);
	diag_release(&fx->d);
	free(fx);
	return 0;
}

/* Write name in the fixture directory and load it as the only compose file. */
static struct compose_project *load(struct fx *fx, const char *name, const char *text)
{
	char *path = xstrfmt("%s/%s", fx->dir, name);
	assert_int_equal(path_write_file(path, text, strlen(text)), 0);
	free(path);
	struct compose_opts o = COMPOSE_OPTS_INIT;
	const char *files[1] = { name };
	static char *const no_env[] = { NULL };
	o.dir = fx->dir;
	o.files = files;
	o.nfiles = 1;
	o.environ = no_env;
	struct compose_project *p = NULL;
	if (compose_load(&o, &p, &fx->d))
		fail_msg("load failed: %s", fx->d.msg.buf);
	return p;
}

static const struct service *svc(const struct compose_project *p, const char *name)
{
	const struct service *s = compose_service(p, name);
	if (!s)
		fail_msg("no service %s", name);
	return s;
}

static const char stack[] =
	"services:\n"
	"  db:\n"
	"    image: postgres:16\n"
	"    container_name: pg-main\n"
	"    hostname: database\n"
	"    working_dir: /srv\n"
	"    healthcheck:\n"
	"      test: [\"CMD-SHELL\", \"pg_isready -U postgres\"]\n"
	"    networks:\n"
	"      back:\n"
	"        aliases: [pg, primary]\n"
	"      front: {}\n"
	"  api:\n"
	"    image: acme/api\n"
	"    command: serve --db postgres://u@db/app\n"
	"    entrypoint: [\"/init\", \"--\"]\n"
	"    healthcheck:\n"
	"      test: curl -f localhost\n"
	"    depends_on: [cache, db]\n"
	"    environment:\n"
	"      A: \"1\"\n"
	"  worker:\n"
	"    image: acme/api\n"
	"    depends_on:\n"
	"      db:\n"
	"        condition: service_healthy\n"
	"  cache:\n"
	"    image: redis\n"
	"networks:\n"
	"  back: {}\n"
	"  front: {}\n";

static void test_names(void **state)
{
	struct fx *fx = *state;
	fx->p = load(fx, "compose.yaml", stack);
	const struct service *db = svc(fx->p, "db"), *api = svc(fx->p, "api");
	assert_string_equal(service_container_name(db), "pg-main");
	assert_string_equal(service_hostname(db), "database");
	assert_string_equal(service_working_dir(db), "/srv");
	assert_null(service_container_name(api));
	assert_null(service_working_dir(api));
	const char *yes[] = { "db", "pg-main", "database", "pg", "primary" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		assert_true(service_answers_to(db, yes[i]));
	assert_false(service_answers_to(db, "back"));
	assert_false(service_answers_to(db, "api"));
	assert_false(service_answers_to(api, "pg"));
}

static void test_healthcheck(void **state)
{
	struct fx *fx = *state;
	struct buf b = BUF_INIT;
	fx->p = load(fx, "compose.yaml", stack);
	service_healthcheck_test(svc(fx->p, "db"), &b);
	assert_string_equal(b.buf, "CMD-SHELL pg_isready -U postgres");
	buf_reset(&b);
	service_healthcheck_test(svc(fx->p, "api"), &b);
	assert_string_equal(b.buf, "curl -f localhost");
	buf_reset(&b);
	service_healthcheck_test(svc(fx->p, "cache"), &b);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_depends_on(void **state)
{
	struct fx *fx = *state;
	struct service_dep *deps;
	struct ypos at;
	fx->p = load(fx, "compose.yaml", stack);
	size_t n = service_depends_on(svc(fx->p, "api"), &deps, &at);
	assert_int_equal(n, 2);
	assert_string_equal(deps[0].name, "cache");
	assert_string_equal(deps[1].name, "db");
	assert_int_equal(at.line, 19);
	assert_int_equal(deps[1].pos.line, 19);
	assert_string_equal(at.file->display, "compose.yaml");
	free(deps);
	n = service_depends_on(svc(fx->p, "worker"), &deps, &at);
	assert_int_equal(n, 1);
	assert_string_equal(deps[0].name, "db");
	assert_int_equal(deps[0].pos.line, 25);
	free(deps);
	n = service_depends_on(svc(fx->p, "cache"), &deps, &at);
	assert_int_equal(n, 0);
	assert_null(deps);
	assert_int_equal(at.line, 0);
}

static void test_cmd_words(void **state)
{
	struct fx *fx = *state;
	struct strvec w = STRVEC_INIT;
	const char *sh = NULL;
	fx->p = load(fx, "compose.yaml", stack);
	const struct service *api = svc(fx->p, "api");
	assert_int_equal(service_cmd_words(api->command, &w, &sh), 1);
	assert_string_equal(sh, "serve --db postgres://u@db/app");
	assert_int_equal(w.nr, 0);
	assert_int_equal(api->command->pos.line, 15);
	sh = NULL;
	assert_int_equal(service_cmd_words(api->entrypoint, &w, &sh), 1);
	assert_null(sh);
	assert_int_equal(w.nr, 2);
	assert_string_equal(w.v[0], "/init");
	assert_string_equal(w.v[1], "--");
	assert_int_equal(service_cmd_words(svc(fx->p, "db")->command, &w, &sh), 0);
	assert_int_equal(w.nr, 2);
	strvec_clear(&w);
}

/* Only the environment may differ, and an absolute path may sit below the prefix. */
static void test_same_definition(void **state)
{
	struct fx *fx = *state;
	fx->p = load(fx, "compose.yaml",
		     "services:\n  api:\n    image: acme/api\n    volumes: [\"/data:/data\"]\n"
		     "    environment: {A: \"1\"}\n");
	fx->q = load(fx, "other.yaml",
		     "services:\n  api:\n    image: acme/api\n    volumes: [\"/data:/data\"]\n"
		     "    environment: {A: \"2\", B: \"3\"}\n");
	assert_true(service_same_definition(svc(fx->p, "api"), svc(fx->q, "api"), "/mirror"));
	compose_free(fx->q);
	fx->q = load(fx, "other.yaml",
		     "services:\n  api:\n    image: acme/api\n    volumes: [\"/data:/data\"]\n"
		     "    command: x\n    environment: {A: \"1\"}\n");
	assert_false(service_same_definition(svc(fx->p, "api"), svc(fx->q, "api"), "/mirror"));
	compose_free(fx->q);
	fx->q = load(fx, "other.yaml",
		     "services:\n  api:\n    image: /mirror/acme/api\n    volumes: [\"/data:/data\"]\n"
		     "    environment: {A: \"1\"}\n");
	assert_false(service_same_definition(svc(fx->p, "api"), svc(fx->q, "api"), "/mirror"));
	compose_free(fx->q);
	fx->q = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_healthcheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depends_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_definition, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

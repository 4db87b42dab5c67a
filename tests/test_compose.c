/*
 * Tests for the compose loader on stacks written into a temporary
 * directory: the origin (file, line, column, exact byte span) of every kind
 * of value, the merge rules the fixture tier cannot see (command and
 * entrypoint replaced, sequences appended, bare keys, env_file listed
 * twice, !reset in a first file), warnings, the project directory and the
 * two rounds of .env, include scopes, names, profiles, documents, and the
 * errors with their messages.  The data-driven cases are in
 * fixtures/compose (cross-checked against docker-compose v1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/compose.h"
#include "util/path.h"

struct fx {
	char dir[64];
	struct compose_project *p;
	struct diag d;
	struct compose_opts o;
	const char *env[16];
	size_t nenv;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	strcpy(fx->dir, "/tmp/dsnflip-compose-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->d = (struct diag)DIAG_INIT;
	fx->o = (struct compose_opts)COMPOSE_OPTS_INIT;
	fx->o.dir = fx->dir;
	fx->o.environ = (char *const *)fx->env;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char *cmd = xstrfmt("rm -rf '%s'", fx->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(cmd);
	compose_free(fx->p);
	diag_release(&fx->d);
	free(fx);
	return 0;
}

/* Write dir/path (making its directories). */
static void put(struct fx *fx, const char *path, const char *text)
{
	char *full = xstrfmt("%s/%s", fx->dir, path);
	for (char *s = full + strlen(fx->dir) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(full, 0755);
		*s = '/';
	}
	FILE *f = fopen(full, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(full);
}

static void setenv_(struct fx *fx, const char *kv)
{
	fx->env[fx->nenv++] = kv;
	fx->env[fx->nenv] = NULL;
}

static int load(struct fx *fx)
{
	compose_free(fx->p);
	fx->p = NULL;
	diag_release(&fx->d);
	fx->d = (struct diag)DIAG_INIT;
	return compose_load(&fx->o, &fx->p, &fx->d);
}

static void load_ok(struct fx *fx)
{
	if (load(fx))
		fail_msg("load failed: %s", fx->d.msg.buf);
}

static void load_err(struct fx *fx, const char *want)
{
	assert_int_equal(load(fx), -1);
	assert_string_equal(fx->d.msg.buf, want);
}

static const struct service *svc(struct fx *fx, const char *name)
{
	const struct service *s = compose_service(fx->p, name);
	if (!s)
		fail_msg("no service %s", name);
	return s;
}

static const struct env_entry *env(struct fx *fx, const char *service, const char *key)
{
	const struct env_entry *e = service_env(svc(fx, service), key);
	if (!e)
		fail_msg("%s has no %s", service, key);
	return e;
}

/* The origin's literal is exactly `lit` in file `file` at line:col. */
static void check_origin(const struct origin *o, const char *file, int line, int col, const char *lit)
{
	assert_non_null(o->pos.file);
	assert_string_equal(o->pos.file->display, file);
	assert_int_equal(o->pos.line, line);
	assert_int_equal(o->pos.col, col);
	size_t len = o->pos.end - o->pos.start;
	if (len != strlen(lit) || memcmp(o->pos.file->data + o->pos.start, lit, len))
		fail_msg("span is \"%.*s\", want \"%s\"", (int)len, o->pos.file->data + o->pos.start, lit);
}

static int has_warning(struct fx *fx, const char *w)
{
	for (size_t i = 0; i < fx->p->warnings.nr; i++)
		if (!strcmp(fx->p->warnings.v[i], w))
			return 1;
	for (size_t i = 0; i < fx->p->warnings.nr; i++)
		fprintf(stderr, "warning: %s\n", fx->p->warnings.v[i]);
	return 0;
}

/* compose's normalisation of a directory name (mkdtemp's has capitals). */
static const char *lower(const char *s)
{
	static char out[64];
	size_t n = 0;
	for (; *s && n + 1 < sizeof(out); s++) {
		char c = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || ((c == '-' || c == '_') && n))
			out[n++] = c;
	}
	out[n] = 0;
	return out;
}

static void test_origins(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "x-db: &db\n"
	    "  DATABASE_URL: \"postgresql://app@db/app\"\n"
	    "services:\n"
	    "  api:\n"
	    "    image: acme/api\n"
	    "    env_file: api.env\n"
	    "    environment:\n"
	    "      <<: *db\n"
	    "      PLAIN: plain value\n"
	    "      QUOTED: 'single'\n"
	    "      VIA: ${SECRET}\n"
	    "      MIXED: pre-${SECRET}\n"
	    "  worker:\n"
	    "    image: acme/worker\n"
	    "    environment:\n"
	    "      - LIST=caf\xc3\xa9 au lait\n"
	    "      - VIA_LIST=${SECRET}\n");
	put(fx, "api.env", "FROM_FILE=\"quoted value\"\nBARE_FILE=x\n");
	put(fx, ".env", "# secrets\nSECRET='s3cr3t'\n");
	load_ok(fx);
	const struct env_entry *e = env(fx, "api", "DATABASE_URL");
	assert_int_equal(e->origin.kind, ORIGIN_YAML);
	check_origin(&e->origin, "compose.yaml", 2, 17, "\"postgresql://app@db/app\"");
	check_origin(&env(fx, "api", "PLAIN")->origin, "compose.yaml", 9, 14, "plain value");
	check_origin(&env(fx, "api", "QUOTED")->origin, "compose.yaml", 10, 15, "'single'");
	/* A whole-value ${VAR}: the literal is in .env, reached via the reference. */
	e = env(fx, "api", "VIA");
	assert_string_equal(e->value, "s3cr3t");
	assert_int_equal(e->origin.kind, ORIGIN_ENVFILE);
	assert_int_equal(e->origin.quote, '\'');
	check_origin(&e->origin, ".env", 2, 8, "'s3cr3t'");
	assert_non_null(e->origin.via);
	assert_string_equal(e->origin.var, "SECRET");
	check_origin(e->origin.via, "compose.yaml", 11, 12, "${SECRET}");
	assert_string_equal(e->origin.via->raw, "${SECRET}");
	/* Part of a value: the literal is the compose file's. */
	e = env(fx, "api", "MIXED");
	assert_string_equal(e->value, "pre-s3cr3t");
	assert_null(e->origin.via);
	check_origin(&e->origin, "compose.yaml", 12, 14, "pre-${SECRET}");
	assert_string_equal(e->origin.raw, "pre-${SECRET}");
	e = env(fx, "api", "FROM_FILE");
	assert_string_equal(e->value, "quoted value");
	assert_int_equal(e->origin.quote, '"');
	check_origin(&e->origin, "api.env", 1, 11, "\"quoted value\"");
	/* A list item: the span is the whole item, marked as such. */
	e = env(fx, "worker", "LIST");
	assert_string_equal(e->value, "caf\xc3\xa9 au lait");
	assert_true(e->origin.list_form);
	check_origin(&e->origin, "compose.yaml", 16, 9, "LIST=caf\xc3\xa9 au lait");
	e = env(fx, "worker", "VIA_LIST");
	check_origin(&e->origin, ".env", 2, 8, "'s3cr3t'");
	check_origin(e->origin.via, "compose.yaml", 17, 9, "VIA_LIST=${SECRET}");
	assert_true(e->origin.via->list_form);
	/* Every file read is a source. */
	assert_true(fx->p->nsources >= 3);
	struct buf b = BUF_INIT;
	origin_describe(&env(fx, "api", "PLAIN")->origin, &b);
	assert_string_equal(b.buf, "compose.yaml:9");
	buf_release(&b);
}

static void test_origin_from_extends_base(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  app:\n"
	    "    extends: {file: base/common.yml, service: base}\n"
	    "    environment:\n"
	    "      LOCAL: here\n");
	put(fx, "base/ctx/Dockerfile", "FROM python:3.12\n");
	put(fx, "base/common.yml",
	    "services:\n"
	    "  base:\n"
	    "    image: acme/base\n"
	    "    build: ctx\n"
	    "    env_file: [base.env]\n"
	    "    environment:\n"
	    "      DATABASE_URL: postgresql://base@db/app\n");
	put(fx, "base/base.env", "POOL=3\n");
	load_ok(fx);
	check_origin(&env(fx, "app", "DATABASE_URL")->origin, "base/common.yml", 7, 21,
		     "postgresql://base@db/app");
	check_origin(&env(fx, "app", "POOL")->origin, "base/base.env", 1, 6, "3");
	check_origin(&env(fx, "app", "LOCAL")->origin, "compose.yaml", 5, 14, "here");
	assert_string_equal(svc(fx, "app")->build_context, "base/ctx");
	assert_string_equal(svc(fx, "app")->dockerfile, "base/ctx/Dockerfile");
	assert_string_equal(svc(fx, "app")->extends_from, "base/common.yml:base");
}

static void test_command_replaced(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  api:\n"
	    "    image: acme/api\n"
	    "    command: [\"serve\", \"--port\", \"80\"]\n"
	    "    entrypoint: [\"/init\", \"--\"]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost\"]\n"
	    "    ports: [\"80:80\"]\n"
	    "    env_file: [a.env, b.env]\n");
	put(fx, "compose.override.yaml",
	    "services:\n"
	    "  api:\n"
	    "    command: [\"serve\", \"--reload\"]\n"
	    "    entrypoint: [\"/dev-init\"]\n"
	    "    healthcheck:\n"
	    "      test: [\"CMD\", \"true\"]\n"
	    "    ports: [\"8080:8080\"]\n"
	    "    env_file: [a.env]\n");
	put(fx, "a.env", "V=a\n");
	put(fx, "b.env", "V=b\n");
	load_ok(fx);
	const struct service *s = svc(fx, "api");
	assert_null(s->command->shell);
	assert_int_equal(s->command->argc, 2);
	assert_string_equal(s->command->argv[1], "--reload");
	assert_int_equal(s->entrypoint->argc, 1);
	assert_string_equal(s->entrypoint->argv[0], "/dev-init");
	const struct ynode *hc = ymap_get(ymap_get(s->node, "healthcheck"), "test");
	assert_int_equal(hc->n, 2);
	/* Other sequences append. */
	assert_int_equal(ymap_get(s->node, "ports")->n, 2);
	assert_true(s->publishes_ports);
	/* An env_file listed again is not listed twice: b.env still wins. */
	assert_int_equal(ymap_get(s->node, "env_file")->n, 2);
	assert_string_equal(env(fx, "api", "V")->value, "b");
}

static void test_bare_keys(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  api:\n"
	    "    image: acme/api\n"
	    "    env_file: api.env\n"
	    "    environment:\n"
	    "      FROM_PROCESS:\n"
	    "      NOWHERE:\n"
	    "      KEPT: base\n"
	    "      EMPTY: ${EMPTY_VAR}\n");
	put(fx, "override.yml",
	    "services:\n"
	    "  api:\n"
	    "    environment:\n"
	    "      - KEPT\n");
	put(fx, "api.env", "NOWHERE=from-env-file\nFROM_PROCESS=from-env-file\n");
	setenv_(fx, "FROM_PROCESS=proc");
	setenv_(fx, "EMPTY_VAR=");
	const char *files[] = { "compose.yaml", "override.yml" };
	fx->o.files = files;
	fx->o.nfiles = 2;
	load_ok(fx);
	const struct env_entry *e = env(fx, "api", "FROM_PROCESS");
	assert_string_equal(e->value, "proc");
	assert_int_equal(e->origin.kind, ORIGIN_PROCESS);
	/* A bare key with nothing to inherit is unset: the env_file's value too. */
	assert_null(service_env(svc(fx, "api"), "NOWHERE"));
	/* A later bare key overrides an earlier value (and is unset here). */
	assert_null(service_env(svc(fx, "api"), "KEPT"));
	/* An interpolated empty string is a value, not a null. */
	assert_string_equal(env(fx, "api", "EMPTY")->value, "");
}

static void test_reset_in_first_file(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  api:\n"
	    "    image: acme/api\n"
	    "    command: !reset [\"x\"]\n"
	    "    environment:\n"
	    "      A: !reset 1\n"
	    "      B: 2\n");
	put(fx, "compose.override.yaml",
	    "services:\n"
	    "  new:\n"
	    "    image: acme/new\n"
	    "    environment: !reset {C: 3}\n"
	    "  api:\n"
	    "    environment: !override\n"
	    "      D: 4\n"
	    "      E: !reset 5\n");
	load_ok(fx);
	assert_null(svc(fx, "api")->command);
	assert_null(service_env(svc(fx, "api"), "A"));
	assert_null(service_env(svc(fx, "api"), "B"));
	assert_string_equal(env(fx, "api", "D")->value, "4");
	assert_null(service_env(svc(fx, "api"), "E"));
	assert_int_equal(svc(fx, "new")->nenv, 0);
}

/* Many services over several files, with a service removed midway: every
 * override lands on the right service (the services map's index is kept
 * from one file's merge to the next, and rebuilt after a removal). */
static void test_many_files_reset_between(void **state)
{
	struct fx *fx = *state;
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT, d = BUF_INIT;
	buf_addstr(&a, "services:\n");
	for (int i = 0; i < 40; i++)
		buf_addf(&a, "  s%02d:\n    image: acme/s%02d\n    environment:\n      N: \"%d\"\n", i, i, i);
	/* The removal comes last, so the index the next merge finds is stale. */
	buf_addstr(&b, "services:\n  s39:\n    environment:\n      B: b39\n"
		       "  x40:\n    image: acme/x40\n  s05: !reset {}\n");
	buf_addstr(&c, "services:\n  s39:\n    environment:\n      C: c39\n  s06:\n    environment:\n"
		       "      C: c06\n  x40:\n    environment:\n      C: c40\n  x41:\n    image: acme/x41\n");
	buf_addstr(&d, "services:\n  x41:\n    environment:\n      D: d41\n  s00:\n    environment:\n"
		       "      D: d00\n");
	put(fx, "a.yml", a.buf);
	put(fx, "b.yml", b.buf);
	put(fx, "c.yml", c.buf);
	put(fx, "d.yml", d.buf);
	static const char *const files[] = { "a.yml", "b.yml", "c.yml", "d.yml" };
	fx->o.files = files;
	fx->o.nfiles = 4;
	load_ok(fx);
	assert_null(compose_service(fx->p, "s05"));
	assert_int_equal(fx->p->nservices, 41);
	assert_string_equal(env(fx, "s39", "N")->value, "39");
	assert_string_equal(env(fx, "s39", "B")->value, "b39");
	assert_string_equal(env(fx, "s39", "C")->value, "c39");
	assert_string_equal(env(fx, "s06", "N")->value, "6");
	assert_string_equal(env(fx, "s06", "C")->value, "c06");
	assert_null(service_env(svc(fx, "s07"), "C"));
	assert_string_equal(env(fx, "x40", "C")->value, "c40");
	assert_string_equal(env(fx, "x41", "D")->value, "d41");
	assert_string_equal(env(fx, "s00", "D")->value, "d00");
	assert_string_equal(env(fx, "s00", "N")->value, "0");
	assert_null(service_env(svc(fx, "s01"), "D"));
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	buf_release(&d);
}

static void test_warnings(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  api:\n"
	    "    image: acme/api:${TAG}\n"
	    "    env_file: api.env\n"
	    "    environment:\n"
	    "      - URL=postgresql://${USER_}@db/${DB:-app}\n");
	put(fx, "docker-compose.yml", "services: {}\n");
	put(fx, "api.env", "X=${NOPE}\n");
	load_ok(fx);
	assert_true(has_warning(fx, "found both compose.yaml and docker-compose.yml; using compose.yaml"));
	assert_true(has_warning(fx, "compose.yaml:3:12: services.api.image: variable 'TAG' is not set, "
				    "using \"\""));
	assert_true(has_warning(fx, "compose.yaml:6:9: services.api.environment[0]: variable 'USER_' "
				    "is not set, using \"\""));
	assert_true(has_warning(fx, "api.env:1:3: X: variable 'NOPE' is not set, using \"\""));
	assert_int_equal(fx->p->warnings.nr, 4);
	assert_string_equal(env(fx, "api", "URL")->value, "postgresql://@db/app");
}

static void test_project_dir_and_dotenv(void **state)
{
	struct fx *fx = *state;
	/* Found in a parent: that is the project directory; a .env in the
	 * current directory is read first and wins over the project's. */
	put(fx, "compose.yaml",
	    "services:\n  api:\n    image: acme/api:${TAG}\n    environment:\n"
	    "      A: ${A}\n      B: ${B}\n      ENV: ${SHARED}\n");
	put(fx, ".env", "TAG=project\nA=project\n");
	put(fx, "sub/dir/.env", "A=cwd\nB=cwd\n");
	char *cwd = xstrfmt("%s/sub/dir", fx->dir);
	fx->o.dir = cwd;
	load_ok(fx);
	assert_string_equal(fx->p->dir, fx->dir);
	assert_string_equal(fx->p->name, lower(path_basename(fx->dir)));
	assert_string_equal(svc(fx, "api")->image, "acme/api:project");
	assert_string_equal(env(fx, "api", "A")->value, "cwd");
	check_origin(&env(fx, "api", "A")->origin, "sub/dir/.env", 1, 3, "cwd");
	assert_string_equal(env(fx, "api", "B")->value, "cwd");
	free(cwd);
}


static void test_subdir_file(void **state)
{
	struct fx *fx = *state;
	/* -f sub/x.yml: the project directory is sub (compose v2's working dir). */
	put(fx, "sub/x.yml", "services:\n  api:\n    image: acme/api:${TAG}\n    build: .\n");
	put(fx, "sub/Dockerfile", "FROM python:3.12\n");
	put(fx, "sub/.env", "TAG=sub\n");
	put(fx, ".env", "TAG=top\n");
	const char *files[] = { "sub/x.yml" };
	fx->o.files = files;
	fx->o.nfiles = 1;
	load_ok(fx);
	assert_string_equal(svc(fx, "api")->image, "acme/api:sub");
	assert_string_equal(fx->p->name, "sub");
	assert_string_equal(fx->p->files[0], "x.yml");
	assert_string_equal(svc(fx, "api")->build_context, ".");
}

static void test_compose_file_var(void **state)
{
	struct fx *fx = *state;
	put(fx, "a/one.yml", "services:\n  api:\n    image: one\n    environment: {A: \"1\"}\n");
	put(fx, "two.yml", "services:\n  api:\n    environment: {A: \"2\", B: \"2\"}\n");
	put(fx, "compose.yaml", "services:\n  wrong:\n    image: x\n");
	setenv_(fx, "COMPOSE_PATH_SEPARATOR=::");
	setenv_(fx, "COMPOSE_FILE=a/one.yml::two.yml");
	load_ok(fx);
	assert_int_equal(fx->p->nfiles, 2);
	assert_null(compose_service(fx->p, "wrong"));
	assert_string_equal(env(fx, "api", "A")->value, "2");
	/* The project directory is the first file's. */
	assert_string_equal(fx->p->name, "a");
	assert_string_equal(fx->p->files[1], "../two.yml");
	check_origin(&env(fx, "api", "B")->origin, "../two.yml", 3, 30, "\"2\"");
}

static void test_names(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml", "name: \"${APP} Platform!\"\nservices: {}\n");
	put(fx, ".env", "APP=Billing\n");
	load_ok(fx);
	assert_string_equal(fx->p->name, "billingplatform");
	put(fx, ".env", "APP=x\nCOMPOSE_PROJECT_NAME=Bad Name\n");
	load_err(fx, ".env:2:22: invalid project name 'Bad Name' (COMPOSE_PROJECT_NAME): use only "
		     "lower-case letters, digits, '_' and '-', starting with a letter or digit");
	fx->o.project_name = "good_name-2";
	load_ok(fx);
	assert_string_equal(fx->p->name, "good_name-2");
	fx->o.project_name = "-lead";
	load_err(fx, "invalid project name '-lead' (-p): use only lower-case letters, digits, '_' "
		     "and '-', starting with a letter or digit");
}

static void test_include_scopes(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "include:\n"
	    "  - sub/compose.yaml\n"
	    "  - path: [other/a.yml, other/b.yml]\n"
	    "    env_file: [vars/one.env, vars/two.env]\n"
	    "  - sub/compose.yaml\n"
	    "services:\n"
	    "  main:\n"
	    "    image: main:${SUB_ONLY:-unset-here}\n"
	    "    env_file: main.env\n");
	put(fx, "main.env", "FROM_MAIN_ENV_FILE=${SUB_ONLY:-unset-here}\n");
	put(fx, ".env", "SHARED=main\n");
	put(fx, "sub/.env", "SUB_ONLY=sub\nSHARED=sub\n");
	put(fx, "sub/compose.yaml",
	    "services:\n"
	    "  s:\n"
	    "    image: s:${SUB_ONLY}-${SHARED}\n"
	    "    env_file: s.env\n");
	put(fx, "sub/s.env", "IN_ENV_FILE=${SUB_ONLY:-main-scope}\n");
	put(fx, "other/a.yml", "services:\n  o:\n    image: o:${ONE}-${TWO}\n");
	put(fx, "other/b.yml", "services:\n  o:\n    environment: [\"X=${TWO}\"]\n");
	put(fx, "vars/one.env", "ONE=1\nTWO=one\n");
	put(fx, "vars/two.env", "TWO=2\n");
	load_ok(fx);
	assert_string_equal(svc(fx, "main")->image, "main:unset-here");
	assert_string_equal(env(fx, "main", "FROM_MAIN_ENV_FILE")->value, "unset-here");
	/* The included file sees its .env, under the including project's. */
	assert_string_equal(svc(fx, "s")->image, "s:sub-main");
	/* env_file values (and bare keys) resolve from the main project (compose-go). */
	assert_string_equal(env(fx, "s", "IN_ENV_FILE")->value, "main-scope");
	assert_string_equal(svc(fx, "o")->image, "o:1-2");
	assert_string_equal(env(fx, "o", "X")->value, "2");
	check_origin(&env(fx, "o", "X")->origin, "vars/two.env", 1, 5, "2");
}

static void test_include_errors(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml", "include:\n  - a.yml\nservices: {}\n");
	put(fx, "a.yml", "include:\n  - path: b.yml\n");
	put(fx, "b.yml", "include:\n  - a.yml\n");
	load_err(fx, "b.yml:2:5: include cycle: a.yml -> b.yml -> a.yml");
	put(fx, "compose.yaml", "include:\n  - {path: a.yml, bogus: 1}\n");
	load_err(fx, "compose.yaml:2:19: include[0]: unknown key 'bogus' (expected path, "
		     "project_directory or env_file)");
	put(fx, "compose.yaml", "include:\n  - path: x.yml\n    env_file: none.env\n");
	put(fx, "x.yml", "services: {}\n");
	load_err(fx, "compose.yaml:3:15: include[0]: env file 'none.env' not found");
	put(fx, "compose.yaml", "include: x.yml\n");
	load_err(fx, "compose.yaml:1:10: include must be a list, not a string");
}

static void test_profiles(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n"
	    "  always: {image: a}\n"
	    "  dbg: {image: d, profiles: [debug]}\n"
	    "  ops: {image: o, profiles: [ops, jobs]}\n");
	load_ok(fx);
	assert_true(svc(fx, "always")->enabled);
	assert_false(svc(fx, "dbg")->enabled);
	assert_int_equal(svc(fx, "ops")->nprofiles, 2);
	setenv_(fx, "COMPOSE_PROFILES=  jobs ,,debug ");
	load_ok(fx);
	assert_true(svc(fx, "dbg")->enabled);
	assert_true(svc(fx, "ops")->enabled);
	const char *prof[] = { "ops" };
	fx->o.profiles = prof;
	fx->o.nprofiles = 1;
	load_ok(fx);
	assert_false(svc(fx, "dbg")->enabled);
	assert_true(svc(fx, "ops")->enabled);
	prof[0] = "*";
	load_ok(fx);
	assert_true(svc(fx, "dbg")->enabled);
}

static void test_dotenv_rules(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n  api:\n    image: x\n    environment:\n"
	    "      A: ${A}\n      B: ${B}\n      C: ${C}\n      D: ${D}\n");
	/* In .env, a reference sees the file's earlier lines before the process. */
	put(fx, ".env", "A=file\nB=${A}\nC='${A}'\nD=\"${MISSING:-d}\"\n");
	setenv_(fx, "A=process");
	load_ok(fx);
	assert_string_equal(env(fx, "api", "A")->value, "process");
	assert_int_equal(env(fx, "api", "A")->origin.kind, ORIGIN_PROCESS);
	assert_string_equal(env(fx, "api", "B")->value, "file");
	assert_string_equal(env(fx, "api", "C")->value, "${A}");
	assert_string_equal(env(fx, "api", "D")->value, "d");
	/* --env-file replaces .env; later files win; missing ones are errors. */
	put(fx, "one.env", "B=one\nC=one\n");
	put(fx, "two.env", "C=two\n");
	const char *ef[] = { "one.env", "two.env", "three.env" };
	fx->o.env_files = ef;
	fx->o.nenv_files = 2;
	load_ok(fx);
	assert_string_equal(env(fx, "api", "B")->value, "one");
	assert_string_equal(env(fx, "api", "C")->value, "two");
	assert_string_equal(env(fx, "api", "D")->value, "");
	fx->o.nenv_files = 3;
	load_err(fx, "--env-file: env file 'three.env' not found");
	fx->o.nenv_files = 0;
	setenv_(fx, "COMPOSE_DISABLE_ENV_FILE=1");
	load_ok(fx);
	assert_string_equal(env(fx, "api", "B")->value, "");
}

static void test_documents(void **state)
{
	struct fx *fx = *state;
	put(fx, "compose.yaml",
	    "services:\n  api:\n    image: x\n    environment: &e {A: \"1\"}\n"
	    "---\n"
	    "services:\n  api:\n    environment: {A: \"2\", B: \"2\"}\n"
	    "---\n");
	load_ok(fx);
	assert_string_equal(env(fx, "api", "A")->value, "2");
	check_origin(&env(fx, "api", "A")->origin, "compose.yaml", 8, 22, "\"2\"");
}

static void test_loader_errors(void **state)
{
	struct fx *fx = *state;
	char *want = xstrfmt("no compose file found in %s or its parents (looked for compose.yaml, "
			     "compose.yml, docker-compose.yml, docker-compose.yaml)", fx->dir);
	load_err(fx, want);
	free(want);
	put(fx, "compose.yaml", "services:\n  api:\n    image: x\n    env_file:\n"
				"      - path: a.env\n        required: false\n"
				"      - path: b.env\n");
	load_err(fx, "compose.yaml:7:15: services.api.env_file: env file 'b.env' not found");
	put(fx, "compose.yaml", "services:\n  api:\n    extends: {file: ../../nowhere.yml, service: x}\n");
	assert_int_equal(load(fx), -1);
	assert_non_null(strstr(fx->d.msg.buf, "services.api.extends: file '../../nowhere.yml' not found"));
	put(fx, "compose.yaml", "services:\n  api:\n    env_file: [{bogus: x}]\n");
	load_err(fx, "compose.yaml:3:17: services.api.env_file: unknown key 'bogus'");
	put(fx, "compose.yaml", "services:\n  api:\n    env_file: {path: a.env}\n");
	load_err(fx, "compose.yaml:3:15: services.api.env_file must be a string or a list, not a mapping");
	put(fx, "compose.yaml", "services:\n  a: {extends: b}\n  b: {extends: {service: a}}\n");
	load_err(fx, "compose.yaml:2:16: extends cycle: a -> b -> a");
	fx->o.limits.max_bytes = 8;
	load_err(fx, "compose.yaml: file is larger than the limit of 8 bytes");
	fx->o.limits = (struct ylimits)YLIMITS_DEFAULT;
	put(fx, "compose.yaml", "services:\n  api:\n    image: x\n");
	setenv_(fx, "COMPOSE_FILE=compose.yaml:nope.yaml");
	load_err(fx, "COMPOSE_FILE (from the environment): 'nope.yaml' not found");
	fx->o.dir = "/nonexistent/dsnflip";
	load_err(fx, "project directory '/nonexistent/dsnflip' does not exist");
}

/*
 * Containment: a file the stack names that resolves outside the repository
 * (or the project directory) is refused at its reference, unless
 * dsnflip.yml's allow_paths lists it; a symlink is judged by its target.
 */
static void test_outside_refused_unless_allowed(void **state)
{
	struct fx *fx = *state;
	char *proj = xstrfmt("%s/proj", fx->dir), *shared = xstrfmt("%s/shared/db.env", fx->dir);
	put(fx, "shared/db.env", "DB_HOST=db\n");
	put(fx, "proj/.git/HEAD", "ref: refs/heads/main\n");
	put(fx, "proj/compose.yml", "services:\n  api:\n    image: a\n    env_file: ../shared/db.env\n");
	fx->o.dir = proj;
	char *want = xstrfmt("compose.yml:4:15: services.api.env_file: '%s' resolves outside the "
			     "repository: not read; list it under allow_paths in dsnflip.yml to allow it",
			     shared);
	load_err(fx, want);
	free(want);
	/* allowed by dsnflip.yml, relative to its own directory */
	put(fx, "proj/dsnflip.yml", "allow_paths: [../shared]\n");
	load_ok(fx);
	assert_string_equal(env(fx, "api", "DB_HOST")->value, "db");
	/* a symlink inside the repository pointing out of it */
	put(fx, "proj/dsnflip.yml", "headroom: 2\n");
	put(fx, "proj/compose.yml", "services:\n  api:\n    image: a\n    env_file: db.env\n");
	char *link = xstrfmt("%s/db.env", proj);
	assert_int_equal(symlink(shared, link), 0);
	load_err(fx, "compose.yml:4:15: services.api.env_file: 'db.env' resolves outside the "
		 "repository: not read; list it under allow_paths in dsnflip.yml to allow it");
	/* --env-file names a file the operator chose: read */
	put(fx, "proj/compose.yml", "services:\n  api:\n    image: a\n    environment: [\"X=${DB_HOST}\"]\n");
	const char *ef[] = { shared };
	fx->o.env_files = ef;
	fx->o.nenv_files = 1;
	load_ok(fx);
	assert_string_equal(env(fx, "api", "X")->value, "db");
	fx->o.nenv_files = 0;
	/* no repository: the project directory is the bound */
	char *git = xstrfmt("rm -rf '%s/.git'", proj);
	assert_int_equal(system(git), 0);
	put(fx, "proj/compose.yml", "include: [../shared/x.yml]\nservices: {}\n");
	put(fx, "shared/x.yml", "services:\n  b:\n    image: b\n");
	want = xstrfmt("compose.yml:1:11: include[0]: '%s/shared/x.yml' resolves outside the project "
		       "directory: not read; list it under allow_paths in dsnflip.yml to allow it", fx->dir);
	load_err(fx, want);
	free(want);
	free(git);
	free(link);
	free(proj);
	free(shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outside_refused_unless_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin_from_extends_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_first_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_files_reset_between, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_project_dir_and_dotenv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subdir_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compose_file_var, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotenv_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_errors, setup, teardown),
	};
	return cmocka_run_group_tests_name("compose", tests, NULL, NULL);
}

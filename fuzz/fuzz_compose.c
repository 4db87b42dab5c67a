/*
 * fuzz_compose: the compose loader — YAML, interpolation, merging and the
 * plan built on it.  The input is split at the first "\n---ENV---\n" into
 * compose.yml and .env, written to a scratch project directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/compose.h"
#include "plan/plan.h"

static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return;
	fwrite(p, 1, n, fp);
	fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/dsnflip-fuzz-compose-XXXXXX";
	static const char sep[] = "\n---ENV---\n";
	if (!mkdtemp(dir))
		return 0;
	const uint8_t *env = memmem(data, size, sep, sizeof(sep) - 1);
	size_t ylen = env ? (size_t)(env - data) : size;
	put(dir, "compose.yml", data, ylen);
	if (env)
		put(dir, ".env", env + sizeof(sep) - 1, size - ylen - (sizeof(sep) - 1));

	struct compose_opts co = COMPOSE_OPTS_INIT;
	char *const environ_[] = { "HOME=/nonexistent", NULL };
	struct compose_project *p = NULL;
	struct diag d = DIAG_INIT;
	co.dir = dir;
	co.environ = environ_;
	co.limits.max_expanded = 100000;
	if (!compose_load(&co, &p, &d)) {
		struct plan *plan = NULL;
		if (!plan_build(p, NULL, NULL, NULL, &plan, &d))
			plan_free(plan);
		compose_free(p);
	}
	diag_release(&d);
	char path[256];
	snprintf(path, sizeof(path), "%s/compose.yml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.env", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

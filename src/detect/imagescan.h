/*
 * imagescan: class a service from its image when its start-up is not in the
 * repository.
 *
 * A service whose image has no build context here (or whose start-up script
 * does not resolve into the repository) is unconfirmed from the repository
 * alone.  On the host that runs the stack the image itself is at hand, so
 * this reads it: its config (Entrypoint, Cmd, WorkingDir, Env, User) and the
 * start-up scripts in its filesystem, and applies the same evidence
 * analysis as for repository files (evidence.c: exec/source chains, one
 * level of called scripts, migration commands), plus migration switches in
 * the environment (RUN_MIGRATIONS=true, AUTO_MIGRATE=1, ...).
 *
 * Detection is earlier than the engine in the pipeline, so it never talks
 * to Docker: the caller (the command, before planning) passes a struct
 * image_source whose callbacks answer from wherever the images are
 * (running/image.c reads them from the engine without running anything).
 * With no source (--offline, --no-engine) nothing here runs and the
 * service stays unconfirmed with the repository's reason.
 */
#ifndef DSNFLIP_IMAGESCAN_H
#define DSNFLIP_IMAGESCAN_H

#include <stddef.h>

#include "util/buf.h"

/* An image's config as `docker image inspect` gives it. */
struct image_config {
	char *ref;              /* the reference asked for ("example/web:4") */
	char *digest;           /* "sha256:<64 hex>": the repo digest when it has one, else the image id */
	struct strvec entrypoint;
	int has_entrypoint;
	struct strvec cmd;
	int has_cmd;
	char *workdir;          /* "" when unset */
	char *user;             /* "" when unset */
	struct strvec env;      /* "K=V" */
};
void image_config_release(struct image_config *c);

/* IMAGE_NO_ENGINE: nothing answers (no docker CLI, no daemon): the plan is
 * made as without a source, and says nothing of images. */
enum image_answer { IMAGE_OK = 0, IMAGE_ABSENT = 1, IMAGE_FAILED = -1, IMAGE_NO_ENGINE = 2 };

struct image_source {
	void *ctx;
	/*
	 * The config of image ref: IMAGE_OK and *out filled (release it),
	 * IMAGE_ABSENT (not on the engine), IMAGE_FAILED with why (the engine
	 * answered but could not say), IMAGE_NO_ENGINE.
	 */
	int (*inspect)(void *ctx, const char *ref, struct image_config *out, struct buf *why);
	/*
	 * The content of the absolute path in the image's filesystem (symlinks
	 * followed) into data: IMAGE_OK, IMAGE_ABSENT (no such regular file,
	 * or over max bytes: why says which), IMAGE_FAILED with why.
	 */
	int (*read_file)(void *ctx, const char *ref, const char *path, size_t max, struct buf *data,
			 struct buf *why);
};

struct plan;
struct plan_service;
struct patterns;
struct compose_project;
struct service;

/*
 * The images that stand for service s, in the order they are tried: its
 * `image:`, or for a service that only builds, the names compose gives a
 * built image.  Appended to out.
 */
void imagescan_candidates(const struct compose_project *p, const struct service *s,
			  struct strvec *out);

/*
 * Class ps from its image through src.  The image is the service's
 * `image:`, or for a service that only builds, the names compose gives a
 * built image (<project>-<service>, <project>_<service>).  Adds evidence
 * ("image REF@sha256:… /app/entrypoint.sh:94  prisma migrate deploy") and,
 * when the image settles it, sets ps->cls and ps->reason and returns 1.
 * Returns 0 when it could not (no image, image absent — a plan warning
 * names the absent images —, or no engine): ps->reason is then extended
 * with why, the class left as it was.
 */
int imagescan_classify(struct plan *plan, struct plan_service *ps, const struct patterns *pat,
		       const struct image_source *src);

#endif

/*
 * image: read images on the Docker engine without running anything.
 *
 * Implements detect's struct image_source (detect/imagescan.h) with the
 * docker CLI: the config from `docker image inspect`, a file from
 * `docker create` (never started: no process of the image ever runs) and
 * `docker cp -L CONTAINER:PATH -` (a tar stream, read here).  The
 * container of an image is created on the first file read, reused for the
 * next ones, and removed (`docker rm -f`) by image_engine_free — on every
 * path, errors included.  Each carries the label dsnflip.probe=HOST:PID; a
 * container left behind by a dsnflip that was killed (its pid gone on this
 * host) is removed by the next one that creates a container.
 *
 * The engine is asked lazily: nothing runs until detection needs an image,
 * and when the first `docker version` fails every later call answers
 * IMAGE_FAILED with that reason at once.  Answers are cached per image and
 * per file, because `plan` builds its plan twice (offline, then live).
 * Secrets: the docker CLI gets the process environment minus PGPASSWORD;
 * no argv here holds a secret.
 */
#ifndef DSNFLIP_IMAGE_H
#define DSNFLIP_IMAGE_H

#include "detect/imagescan.h"

struct image_engine;

/* env: the process environment.  Never fails; talks to nobody yet. */
struct image_engine *image_engine_new(char *const *env);
/*
 * ref is an image detection may ask about (imagescan_candidates).  Still
 * nothing runs; the first question inspects ref with every expected image
 * in one `docker image inspect` (per thousand images) instead of one docker
 * process each, and answers the later questions from that.
 */
void image_engine_expect(struct image_engine *e, const char *ref);
/* The source detection reads through (valid until image_engine_free). */
const struct image_source *image_engine_source(struct image_engine *e);
/* Remove the containers it created; free. */
void image_engine_free(struct image_engine *e);

#endif

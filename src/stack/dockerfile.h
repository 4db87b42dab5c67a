/*
 * dockerfile: just enough of a Dockerfile to know how the final stage starts
 * and where its files come from.
 *
 * detect needs two things from a service's build context: the ENTRYPOINT and
 * CMD the container will run (to look for migration evidence and to follow
 * entrypoint scripts), and a way back from a path inside the image
 * ("/usr/local/bin/docker-entrypoint.sh") to the file in the repository that
 * was copied there.  Everything else (RUN, ENV, ARG values, the base image's
 * own settings) is out of scope: ARG/ENV references are kept as written, not
 * expanded.
 *
 * The reader follows BuildKit's syntax: parser directives (# escape=`),
 * comments, line continuations with the escape character, JSON exec form
 * (anything that is not a valid JSON array of strings is shell form, as
 * Docker does), heredoc bodies (skipped), stage aliases and inheritance
 * between stages.  Input is bounded: a file over DOCKERFILE_MAX bytes is an
 * error.
 */
#ifndef DSNFLIP_DOCKERFILE_H
#define DSNFLIP_DOCKERFILE_H

#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/diag.h"

#define DOCKERFILE_MAX (1024 * 1024)

/* One instruction: its first physical line and its text with continuations joined. */
struct df_instr {
	int line;
	char *text;
};

struct df_copy {
	int line;
	struct strvec srcs;   /* as written; URLs for ADD stay URLs */
	char *dest;           /* absolute: resolved against the WORKDIR in effect, trailing '/' kept */
	int is_add;
	char *from_stage;     /* --from=X as written, or NULL */
	int heredoc;          /* COPY <<EOF: content is inline, not from the context */
};

struct dockerfile {
	char *final_from;        /* what the final FROM names, e.g. a stage alias */
	char *final_base_image;  /* the external image at the end of the alias chain */

	/*
	 * ENTRYPOINT and CMD in effect for the final stage.  Exec form: argv,
	 * *_shell = 0.  Shell form: *_shell = 1 and one element, the string
	 * (Docker runs it as /bin/sh -c STRING).  *_line is the instruction's
	 * line, 0 when no stage in the chain set it (the base image's value,
	 * unknown here, applies).  When entrypoint_line > 0 and cmd_line == 0
	 * the CMD is known to be empty: setting ENTRYPOINT resets an inherited
	 * CMD, as Docker does.
	 */
	struct strvec entrypoint;
	int entrypoint_shell;
	int entrypoint_line;
	struct strvec cmd;
	int cmd_shell;
	int cmd_line;

	char *workdir;           /* final WORKDIR, absolute and cleaned; "/" by default */

	/* COPY/ADD of the final stage and of the stages it inherits from, in order. */
	struct df_copy *copies;
	size_t ncopies;

	/*
	 * Every stage and every COPY/ADD of every stage (file order), so that a
	 * COPY --from=<stage> can be followed back to where that stage got the
	 * file.  all_stage[i] is the stage index of all_copies[i]; stage_parent
	 * is the stage a stage is built FROM (-1: an external image).
	 */
	char **stage_names;      /* alias or NULL, per stage */
	int *stage_parent;
	size_t nstages;
	struct df_copy *all_copies;
	int *all_stage;
	size_t nall_copies;

	/* Every instruction in the file, in order (FROM lines included). */
	struct df_instr *instrs;
	size_t ninstrs;

	struct arena arena;      /* owns every string above except the strvecs */
};

/*
 * Parse `data` (len bytes; need not be NUL-terminated) into *out, which the
 * caller provides uninitialised.  `display` names the file in errors.
 * Returns 0, or -1 with d set to "display:line: message" (the file is too
 * large or binary, no FROM, an unknown instruction, an instruction before
 * FROM, a bad escape directive, COPY/ADD with fewer than two arguments).
 * On success the caller releases *out with dockerfile_release(); on failure
 * there is nothing to release.
 */
int dockerfile_parse(const char *display, const char *data, size_t len,
		     struct dockerfile *out, struct diag *d);
void dockerfile_release(struct dockerfile *df);

/*
 * Map a container path back to the build-context path it was copied from,
 * using the COPY/ADD instructions: the last instruction that covers the path
 * wins.  "COPY . /app" maps /app/x to x; "COPY scripts/ /usr/local/bin/"
 * maps /usr/local/bin/run.sh to scripts/run.sh; "COPY run.sh /entry.sh"
 * maps exactly; "COPY *.sh /bin/" maps /bin/a.sh to a.sh.  A relative
 * container_path is taken relative to the final WORKDIR.  A source without
 * a trailing '/' is only taken for a directory when its name has no '.'
 * (Docker decides by looking at the context, which we do not).  Copies
 * --from=<a stage of this file> is followed into that stage (to a bounded
 * depth); --from= an image, heredoc copies and ADD of a URL map to nothing.
 * Returns a malloc'd path relative to the context ("." for its root), or
 * NULL.
 */
char *dockerfile_map_path(const struct dockerfile *df, const char *container_path);

#endif

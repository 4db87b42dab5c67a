/*
 * plan_json: the plan as JSON, the one codec between a plan and its file.
 *
 * report_json (report.h) writes the shape PRODUCT.md §4 fixes (keys may
 * be added, never renamed; additions are listed in README.md, "JSON
 * additions") as a stream; plan_to_json gives the same as a tree, read
 * back from that text, for callers that add to it.
 * plan_from_json reads that shape back into a plan_record: what a later
 * command needs to know of a plan committed earlier (dsnflip.plan.json on
 * the branch, once merged): each service's action and role, each
 * connection's variable, user and role.  Unknown keys are ignored (a newer
 * dsnflip may have added some); a wrong type where a known key is is an
 * input error naming the key.
 */
#ifndef DSNFLIP_PLAN_JSON_H
#define DSNFLIP_PLAN_JSON_H

#include <jansson.h>
#include "util/arena.h"
#include "util/buf.h"
#include "util/diag.h"
#include "plan/plan.h"

/* The committed plan's file name, in the project directory. */
#define PLAN_JSON_FILE "dsnflip.plan.json"

/* The plan as JSON (report_json's text, parsed); the caller json_decref()s it. */
json_t *plan_to_json(const struct plan *plan);
/* The same, as text (two-space indent, keys in order, final newline). */
void plan_json_text(const json_t *root, struct buf *out);

struct plan_record_conn {
	const char *variable, *user, *role;
};
struct plan_record_service {
	const char *name;
	const char *action;   /* "flip", "hold", "skip" */
	const char *role;     /* NULL when none */
	struct plan_record_conn *conns;
	size_t nconns;
};
struct plan_record {
	struct arena arena;   /* owns every string and array */
	const char *project;
	struct plan_record_service *services;
	size_t nservices;
};

/*
 * Parse a plan's JSON text (what plan_to_json wrote).  Returns 0 with *out
 * filled (release with plan_record_release), or -1 with d naming what
 * (label) and where: "dsnflip.plan.json:LINE:COL: ...".
 */
int plan_from_json(const char *text, size_t len, const char *label, struct plan_record *out,
		   struct diag *d);
/*
 * Load dir/PLAN_JSON_FILE.  Returns 1 with *out, 0 when there is no such
 * file (*out empty), -1 with d when it cannot be read or parsed.
 */
int plan_record_load(const char *dir, struct plan_record *out, struct diag *d);
void plan_record_release(struct plan_record *r);
const struct plan_record_service *plan_record_service(const struct plan_record *r, const char *name);

#endif

/*
 * rewrite: the flip as byte-exact edits at each value's origin.
 *
 * For every connection of a flipped service, the user becomes the planned
 * role and the password a reference to <ROLE>_PASSWORD that makes compose
 * fail loudly when it is unset.  The edit is made where the literal text
 * lives (a compose scalar, an anchor, an extends base, an env_file, .env)
 * by replacing bytes inside its span and nothing else: the literal is
 * decoded per its syntax (YAML plain / 'single' / "double" / a one-line
 * block scalar; env-file unquoted / 'single' / "double"), the DSN is
 * rewritten on the compose-level text (so references stay references and
 * `$$` stays `$$`), and only the decoded characters that changed are
 * re-encoded, in the same style.  Every other byte of every file stays:
 * comments, quoting, order, indentation, line endings, the final newline.
 * Two style changes are unavoidable and reported as notes: a plain YAML
 * scalar inside a flow collection ({K: v}) cannot hold "${...}" and
 * becomes "double-quoted"; a 'single-quoted' env-file value is never
 * interpolated, so one that must hold the password reference becomes
 * "double-quoted" (its literal `$` written as `$$`).
 *
 * Where the edit goes when a value was reached through a whole-value
 * "${VAR}" reference written elsewhere (origin.via):
 *  - a DSN: VAR's value is the whole connection string, so VAR's
 *    definition is edited (the origin);
 *  - a user or password setting (DB_PASSWORD: ${POSTGRES_PASSWORD}): the
 *    variable is usually shared with the server, so the reference itself
 *    is replaced and the shared variable is never touched.
 * A literal shared by several services (an anchor, an extends base, a
 * shared env_file) is edited once; the plan gave them one role.
 *
 * mirror.h's rewrite_verify() then loads the edited stack and accepts the rewrite only
 * if exactly the intended effective values changed (see there).
 *
 * Refused (an input error; nothing is written): a value from the process
 * environment, a multi-line scalar, a block scalar of more than one line,
 * a value whose user and password cannot be separated from the references
 * it is built from, a split setting with no user or password variable to
 * rewrite, and one literal that would need two different texts.
 */
#ifndef DSNFLIP_REWRITE_H
#define DSNFLIP_REWRITE_H

#include <stddef.h>

#include "util/buf.h"
#include "stack/compose.h"
#include "util/diag.h"
#include "plan/plan.h"

enum rewrite_kind { RW_DSN, RW_USER, RW_PASSWORD };

/* One effective value the flip changes, and how. */
struct rewrite_target {
	char *service;
	char *key;
	char *role;
	enum rewrite_kind kind;
	int user, password;     /* RW_DSN: the user / password field is rewritten */
	const struct srcfile *file; /* where its literal is edited */
	int line;
	size_t start;           /* the literal's first byte in file */
};

/* One replacement of bytes in one file. */
struct rewrite_edit {
	const struct srcfile *file;
	size_t start, end;      /* the literal's span in the original bytes */
	size_t rstart, rend;    /* the bytes replaced, inside the span */
	char *text;             /* their replacement (text_len bytes) */
	size_t text_len;
	char *want;             /* what the literal decodes to afterwards */
	int line, col;
	int yaml;               /* else an env-file value */
	int style;              /* after the edit: YS_* for YAML, 0/'\''/'"' for env */
	int list_form;
	char *label;            /* "services.web.environment.DATABASE_URL", for messages */
};

/* A file the rewrite changes, with its edits applied. */
struct rewrite_file {
	const struct srcfile *src;
	char *data;
	size_t len;
};

struct rewrite {
	struct rewrite_target *targets;
	size_t ntargets, targets_alloc;
	struct rewrite_edit *edits;
	size_t nedits, edits_alloc;
	struct rewrite_file *files;   /* in the order the stack read them */
	size_t nfiles, files_alloc;
	struct strvec roles;          /* roles whose <ROLE>_PASSWORD the edits reference */
	struct strvec notes;          /* unavoidable style changes, "file:line: ..." */
};
#define REWRITE_INIT { NULL, 0, 0, NULL, 0, 0, NULL, 0, 0, STRVEC_INIT, STRVEC_INIT }

/*
 * Compute the edits for every flipped connection of plan and apply them in
 * memory (out->files).  Returns 0, or -1 with d set ("file:line:col:
 * message" for a literal that cannot be rewritten).  Release out with
 * rewrite_release() either way.
 */
int rewrite_compute(const struct plan *plan, struct rewrite *out, struct diag *d);

void rewrite_release(struct rewrite *rw);

/* "${ROLE_PASSWORD:?ROLE_PASSWORD must be set}" for a role (malloc'd). */
char *rewrite_password_ref(const char *role);

/* The edited text of the file at f's path, or NULL when the rewrite leaves it alone. */
const struct rewrite_file *rewrite_file_for(const struct rewrite *rw, const struct srcfile *f);

/*
 * Record an edit making that literal's compose-level text `value`, and
 * (re)build rw->files.  label names the value in messages.  An identical
 * edit already recorded is not repeated; a different one for the same
 * literal is an error.
 */
int rewrite_set_value(struct rewrite *rw, const struct srcfile *f, int yaml, int list_form,
		      size_t start, size_t end, int line, int col, const char *value,
		      const char *label, struct diag *d);
/* Apply the recorded edits to rw->files and check each file still parses
 * with every edited literal decoding to what was intended. */
int rewrite_apply(struct rewrite *rw, struct diag *d);

#endif

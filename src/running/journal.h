/*
 * journal: what deploy and rollback have done, so a crash can be finished.
 *
 * Lives in dsnflip's state directory for the project,
 * $XDG_STATE_HOME/dsnflip/<project>/ (~/.local/state when unset), beside
 * the secrets file and the compose override file deploy writes:
 *
 *   journal.json   per service: its state (pending, in_flight, flipped,
 *                  rolling_back, rolled_back, failed), the last step
 *                  reached, its role, and whether the override switches
 *                  it.  Rewritten atomically (temp file, fsync, rename,
 *                  fsync of the directory) before and after every step,
 *                  so after a kill at any instant it holds either the old
 *                  or the new record, never a torn one.
 *   lock           O_EXCL; pid, user, host, start time and command of the
 *                  holder.  A lock whose process is gone (same host; pid
 *                  dead or reused) is stale and is taken over, with a note.
 *
 * The override file is a function of the journal (the services marked
 * in_override), so it can always be rewritten from it: the journal says
 * "about to switch X" before the override does.
 */
#ifndef DSNFLIP_JOURNAL_H
#define DSNFLIP_JOURNAL_H

#include <stddef.h>
#include "util/buf.h"
#include "util/diag.h"

/* Where a service is in a rollout; JS_UNCHANGED only as journal_step's "keep it". */
enum journal_state {
	JS_UNCHANGED = -1,
	JS_PENDING, JS_IN_FLIGHT, JS_FLIPPED, JS_ROLLING_BACK, JS_ROLLED_BACK, JS_FAILED,
};
/* "pending", "in_flight", ... as journal.json spells them. */
const char *journal_state_name(enum journal_state s);
/* The state spelled s; -1 when it is none. */
int journal_state_parse(const char *s, enum journal_state *out);

struct journal_service {
	char *name;
	enum journal_state state;
	char *step;         /* the last step written (see deploy.c) */
	char *role;
	int in_override;    /* the override file switches this service */
	char *detail;       /* why it failed, masked; or NULL */
	/*
	 * What the service ran before its first switch, as far as its
	 * connections go: "VAR=user ..." for each connection's DSN (or user)
	 * variable, read from its tasks — users only, never a password.
	 * Rollback checks every task against it, so a rollback is verified
	 * without the runtime's own memory of the previous spec (Swarm keeps
	 * one level only).  NULL when unknown.
	 */
	char *previous;
	char *updated;      /* ISO 8601 UTC */
};

struct journal {
	char *dir;          /* the state directory */
	char *path;         /* dir/journal.json */
	char *operation;    /* "deploy" / "rollback" of the last writer */
	char *updated;
	struct journal_service *svcs;
	size_t n, alloc;
	struct strvec rollout; /* the services of the last deploy, in order */
	int active;         /* that deploy has not finished (it crashed or runs) */
	char *const *env;   /* for the fault seam */
};

/* The state directory of a project (malloc'd); env: the process environment. */
char *state_dir(const char *project, char *const *env);

/* An empty journal in memory (no file: journal_save refuses); free with journal_free. */
struct journal *journal_new(char *const *env);
/* Load dir/journal.json (missing: empty).  *out is freed with journal_free. */
int journal_load(const char *dir, char *const *env, struct journal **out, struct diag *d);
void journal_free(struct journal *j);
/* The record of a service; with create, a new "pending" one when absent. */
struct journal_service *journal_get(struct journal *j, const char *name, int create);
/* Write the journal atomically.  Returns 0 or -1 with d. */
int journal_save(struct journal *j, struct diag *d);
/*
 * Record state/step for s (JS_UNCHANGED: keep the state), save, then pass
 * the fault seam for step ("DSNFLIP_FAULT=step[@service]").  d may be NULL
 * when the caller is already reporting an earlier error.
 */
int journal_step(struct journal *j, struct journal_service *s, enum journal_state state,
		 const char *step, struct diag *d);
void journal_set_detail(struct journal_service *s, const char *detail);
/* Does the journal leave work unfinished (a service in_flight or rolling_back)? */
int journal_unfinished(const struct journal *j);

struct lock {
	char *path;
	int held;
};
#define LOCK_INIT { NULL, 0 }
/*
 * Take dir/lock for command.  Returns 0 (a stale lock taken over is
 * described in note); -1 with d naming the holder and since when when
 * another live process holds it.
 */
int lock_acquire(struct lock *lk, const char *dir, const char *command, struct buf *note,
		 struct diag *d);
void lock_release(struct lock *lk);

/* Now as ISO 8601 UTC ("2026-11-24T04:02:02Z"). */
void iso_now(char out[32]);

#endif

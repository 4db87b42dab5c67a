/*
 * run: child processes, described by a struct (after git's run-command).
 *
 * A child gets an argv and an environment, never a shell string: nothing
 * here can interpret a value as shell syntax, and a secret handed to a
 * child travels in its environment, where `ps` and /proc/PID/cmdline do
 * not show it.  Output can be captured into bounded buffers (past the
 * bound the tail is kept and ->truncated set), or read as a stream from a
 * pipe (`docker logs -f`).  A caller that sets capture_max handles a cut
 * answer itself; with the default bound, a child whose stdout was cut
 * fails (run_finish says so): an answer missing its start must not pass
 * for the whole one.  Every wait is bounded by a timeout; a child
 * that outlives it is killed with its whole process group.
 *
 * Children start in their own process group with SIGINT/SIGTERM at their
 * defaults and an empty signal mask: a Ctrl-C at the terminal reaches
 * dsnflip (which blocks those signals and rolls back) but not a
 * `docker compose up` half-way through recreating a container.
 */
#ifndef DSNFLIP_RUN_H
#define DSNFLIP_RUN_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/diag.h"

enum run_stdio {
	RUN_NULL = 0,   /* /dev/null */
	RUN_INHERIT,    /* dsnflip's own descriptor */
	RUN_CAPTURE,    /* into ->out / ->err (bounded) by run_finish */
	RUN_PIPE,       /* a pipe the caller reads: ->out_fd / ->err_fd */
};

/* Captured output past this is dropped from the front (the tail is kept). */
#define RUN_CAPTURE_MAX (256 * 1024)

struct child {
	/* Set by the caller. */
	struct strvec args;        /* argv; args.v[0] is looked up in PATH */
	struct strvec env;         /* the complete environment, "K=V" */
	const char *dir;           /* working directory, or NULL */
	enum run_stdio out_mode, err_mode; /* stdin is always /dev/null */
	size_t capture_max;        /* 0 = RUN_CAPTURE_MAX */
	int timeout_ms;            /* run_finish: 0 = no limit */

	/* Set by run_start / run_finish. */
	pid_t pid;
	int out_fd, err_fd;        /* RUN_PIPE: read ends (non-blocking), else -1 */
	struct buf out, err;       /* RUN_CAPTURE */
	int truncated;             /* stdout or stderr was cut */
	int out_truncated;         /* stdout was */
	int status;                /* waitpid status */
	int exited, exit_code;     /* exited normally, and its code */
	int timed_out;
};

#define CHILD_INIT { STRVEC_INIT, STRVEC_INIT, NULL, RUN_NULL, RUN_NULL, 0, 0, \
		     0, -1, -1, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, 0 }

void child_init(struct child *c);
/* Free argv, env and captures; closes pipes.  Does not wait for the child. */
void child_release(struct child *c);
/* Copy env ("K=V" strings) into c->env, leaving out the names in drop. */
void child_env_from(struct child *c, char *const *env, const char *const *drop);
/* Set K=V in c->env, replacing an earlier K. */
void child_setenv(struct child *c, const char *key, const char *value);

/* Start the child.  Returns 0, or -1 with d naming the command. */
int run_start(struct child *c, struct diag *d);
/*
 * Wait for the child, capturing RUN_CAPTURE output, at most timeout_ms
 * (then the process group is killed and ->timed_out set).  Returns 0 when
 * it exited with code 0; -1 otherwise with d holding the command, how it
 * ended and the tail of its stderr (secrets masked).
 */
int run_finish(struct child *c, struct diag *d);
/* run_start + run_finish. */
int run_command(struct child *c, struct diag *d);
/* Kill the child's process group (TERM, then KILL after grace_ms) and reap it. */
void run_kill(struct child *c, int grace_ms);
/* Has the child exited?  1 (reaped, status set), 0 still running. */
int run_poll(struct child *c);

/* "docker compose up ..." for messages: argv joined, never the environment. */
void run_describe(const struct child *c, struct buf *out);

/*
 * The fault-injection seam for the kill tests: when the environment holds
 * DSNFLIP_FAULT=<step> (or <step>@<service>) and step matches (and the
 * service when given), the process ends at once with _exit(137), as if
 * SIGKILLed, without flushing or cleaning anything.
 */
void run_fault_point(char *const *env, const char *step, const char *service);
/* The same test without the exit: 1 when DSNFLIP_FAULT names step (and service). */
int run_fault_armed(char *const *env, const char *step, const char *service);

/* Monotonic milliseconds. */
long long run_now_ms(void);
/* Wall-clock milliseconds since the epoch (docker's timestamps are wall-clock). */
long long run_real_ms(void);

#endif

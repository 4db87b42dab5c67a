/*
 * run: spawn children with posix_spawn, no shell; bounded capture and
 * timeouts.  See run.h for the contract.
 */
#include "util/run.h"
#include "util/mask.h"
#include "util/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long run_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long run_real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void child_init(struct child *c)
{
	struct child init = CHILD_INIT;
	*c = init;
}

void child_release(struct child *c)
{
	strvec_clear(&c->args);
	strvec_clear(&c->env);
	buf_release(&c->out);
	buf_release(&c->err);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->out_fd = c->err_fd = -1;
}

static int env_key_is(const char *kv, const char *key)
{
	size_t n = strlen(key);
	return !strncmp(kv, key, n) && kv[n] == '=';
}

void child_env_from(struct child *c, char *const *env, const char *const *drop)
{
	for (; env && *env; env++) {
		int skip = !strchr(*env, '=');
		for (const char *const *k = drop; !skip && k && *k; k++)
			skip = env_key_is(*env, *k);
		if (!skip)
			strvec_push(&c->env, *env);
	}
}

void child_setenv(struct child *c, const char *key, const char *value)
{
	for (size_t i = 0; i < c->env.nr; i++)
		if (env_key_is(c->env.v[i], key)) {
			free(c->env.v[i]);
			c->env.v[i] = xstrfmt("%s=%s", key, value);
			return;
		}
	strvec_pushf(&c->env, "%s=%s", key, value);
}

void run_describe(const struct child *c, struct buf *out)
{
	for (size_t i = 0; i < c->args.nr; i++) {
		if (i)
			buf_addch(out, ' ');
		mask_secrets(c->args.v[i], out);
	}
}

static int set_stdio(posix_spawn_file_actions_t *fa, int target, enum run_stdio mode, int pipefd[2])
{
	switch (mode) {
	case RUN_INHERIT:
		return 0;
	case RUN_NULL:
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
							target ? O_WRONLY : O_RDONLY, 0);
	case RUN_CAPTURE:
	case RUN_PIPE:
		if (posix_spawn_file_actions_adddup2(fa, pipefd[1], target))
			return -1;
		posix_spawn_file_actions_addclose(fa, pipefd[0]);
		return posix_spawn_file_actions_addclose(fa, pipefd[1]);
	}
	return 0;
}

int run_start(struct child *c, struct diag *d)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defs;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int r, ret = -1;
	struct buf what = BUF_INIT;

	if (!c->args.nr)
		return diag_err(d, "no command to run");
	run_describe(c, &what);
	if ((c->out_mode >= RUN_CAPTURE && pipe2(outp, O_CLOEXEC)) ||
	    (c->err_mode >= RUN_CAPTURE && pipe2(errp, O_CLOEXEC))) {
		diag_fail(d, "'%s': pipe: %s", what.buf, strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defs);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					POSIX_SPAWN_SETPGROUP);
	set_stdio(&fa, 0, RUN_NULL, NULL);
	set_stdio(&fa, 1, c->out_mode, outp);
	set_stdio(&fa, 2, c->err_mode, errp);
	if (c->dir)
		posix_spawn_file_actions_addchdir_np(&fa, c->dir);
	{
		char *empty[] = { NULL };
		r = posix_spawnp(&c->pid, c->args.v[0], &fa, &attr, c->args.v,
				 c->env.nr ? c->env.v : empty);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		diag_fail(d, "cannot run '%s': %s", what.buf, strerror(r));
		c->pid = 0;
		goto out;
	}
	if (outp[1] >= 0) {
		close(outp[1]);
		outp[1] = -1;
		c->out_fd = outp[0];
		outp[0] = -1;
		fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	}
	if (errp[1] >= 0) {
		close(errp[1]);
		errp[1] = -1;
		c->err_fd = errp[0];
		errp[0] = -1;
		fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	}
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	buf_release(&what);
	return ret;
}

static void set_status(struct child *c, int status)
{
	c->status = status;
	c->exited = WIFEXITED(status);
	c->exit_code = c->exited ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	c->pid = 0;
}

int run_poll(struct child *c)
{
	int status;
	if (c->pid <= 0)
		return 1;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	if (r == c->pid) {
		set_status(c, status);
		return 1;
	}
	if (r < 0 && errno == ECHILD) {
		c->pid = 0;
		c->exited = 0;
		c->exit_code = 255;
		return 1;
	}
	return 0;
}

void run_kill(struct child *c, int grace_ms)
{
	if (c->pid <= 0)
		return;
	kill(-c->pid, SIGTERM);
	long long end = run_now_ms() + grace_ms;
	while (!run_poll(c)) {
		if (run_now_ms() >= end) {
			kill(-c->pid, SIGKILL);
			int status;
			if (waitpid(c->pid, &status, 0) == c->pid)
				set_status(c, status);
			c->pid = 0;
			break;
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Append what is readable on fd to b, keeping at most max bytes (the tail). */
static int drain(int fd, struct buf *b, size_t max, int *truncated)
{
	char tmp[8192];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n > 0) {
			buf_add(b, tmp, (size_t)n);
			if (b->len > max) {
				size_t cut = b->len - max;
				memmove(b->buf, b->buf + cut, max);
				buf_setlen(b, max);
				*truncated = 1;
			}
			continue;
		}
		if (n == 0)
			return 1; /* EOF */
		if (errno == EINTR)
			continue;
		return 0; /* EAGAIN */
	}
}

int run_finish(struct child *c, struct diag *d)
{
	size_t max = c->capture_max ? c->capture_max : RUN_CAPTURE_MAX;
	long long end = c->timeout_ms > 0 ? run_now_ms() + c->timeout_ms : 0;
	int out_open = c->out_mode == RUN_CAPTURE && c->out_fd >= 0;
	int err_open = c->err_mode == RUN_CAPTURE && c->err_fd >= 0;

	while (out_open || err_open) {
		struct pollfd pf[2];
		int n = 0, wait_ms = 200;
		if (out_open)
			pf[n++] = (struct pollfd){ c->out_fd, POLLIN, 0 };
		if (err_open)
			pf[n++] = (struct pollfd){ c->err_fd, POLLIN, 0 };
		if (end) {
			long long left = end - run_now_ms();
			if (left <= 0) {
				c->timed_out = 1;
				break;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		poll(pf, (nfds_t)n, wait_ms);
		if (out_open && drain(c->out_fd, &c->out, max, &c->out_truncated))
			out_open = 0;
		if (err_open && drain(c->err_fd, &c->err, max, &c->truncated))
			err_open = 0;
	}
	while (!c->timed_out && !run_poll(c)) {
		if (end && run_now_ms() >= end) {
			c->timed_out = 1;
			break;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (c->timed_out)
		run_kill(c, 2000);

	if (c->out_truncated)
		c->truncated = 1;
	if (!c->timed_out && c->exited && c->exit_code == 0) {
		if (c->out_truncated && !c->capture_max) {
			struct buf cut = BUF_INIT;
			run_describe(c, &cut);
			diag_fail(d, "'%s' printed more than %d bytes, more than dsnflip reads: its "
				  "answer cannot be used cut", cut.buf, RUN_CAPTURE_MAX);
			buf_release(&cut);
			return -1;
		}
		return 0;
	}
	struct buf what = BUF_INIT;
	run_describe(c, &what);
	if (c->timed_out)
		diag_fail(d, "'%s' did not finish within %d s", what.buf, (c->timeout_ms + 999) / 1000);
	else if (c->exited)
		diag_fail(d, "'%s' exited with code %d", what.buf, c->exit_code);
	else
		diag_fail(d, "'%s' was killed by signal %d", what.buf, c->exit_code - 128);
	/* The tail of stderr (or stdout) says why; masked, last lines only. */
	const struct buf *why = c->err.len ? &c->err : &c->out;
	if (why->len) {
		size_t start = why->len > 1500 ? why->len - 1500 : 0;
		struct buf tail = BUF_INIT;
		buf_add(&tail, why->buf + start, why->len - start);
		while (tail.len && (tail.buf[tail.len - 1] == '\n' || tail.buf[tail.len - 1] == ' '))
			buf_setlen(&tail, tail.len - 1);
		struct buf masked = BUF_INIT;
		mask_secrets(tail.buf, &masked);
		buf_addch(&d->msg, ':');
		esc_quote_lines(masked.buf ? masked.buf : "", "    ", &d->msg);
		buf_release(&masked);
		buf_release(&tail);
	}
	buf_release(&what);
	return -1;
}

int run_command(struct child *c, struct diag *d)
{
	if (run_start(c, d))
		return -1;
	return run_finish(c, d);
}

int run_fault_armed(char *const *env, const char *step, const char *service)
{
	const char *v = NULL;
	for (; env && *env; env++)
		if (env_key_is(*env, "DSNFLIP_FAULT")) {
			v = *env + strlen("DSNFLIP_FAULT=");
			break;
		}
	if (!v || !*v)
		return 0;
	const char *at = strchr(v, '@');
	size_t n = at ? (size_t)(at - v) : strlen(v);
	if (strlen(step) != n || strncmp(v, step, n))
		return 0;
	if (at && (!service || strcmp(at + 1, service)))
		return 0;
	return 1;
}

void run_fault_point(char *const *env, const char *step, const char *service)
{
	if (run_fault_armed(env, step, service))
		_exit(137);
}

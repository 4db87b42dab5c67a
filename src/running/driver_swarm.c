/*
 * driver_swarm: the swarm driver's table (see driver_swarm.h).
 */
#include "running/driver_swarm.h"
#include "running/swarmspec.h"
#include "util/fs.h"
#include "util/mask.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 300
#define EVIDENCE_TASKS 3
#define EVIDENCE_TAIL "8"
/* The manager's clock against dsnflip's, for "failed since we deployed". */
#define CLOCK_SLACK_MS 2000

/* "<stack>_<service>": the name Swarm gives a stack's service. */
static char *full_name(const struct runtime *rt, const char *service)
{
	return xstrfmt("%s_%s", rt->project, service);
}

static int swarm_detect(struct runtime *rt, const char *cmd, char *const *env, struct diag *d)
{
	struct child c;
	(void)cmd; /* --compose-cmd names a compose CLI: not this driver's */
	runtime_env_from(rt, env);
	strvec_clear(&rt->cmd);
	strvec_push(&rt->cmd, "docker");
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "info");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.ServerVersion}}|{{.Swarm.ControlAvailable}}|{{.Swarm.NodeID}}");
	int r = run_command(&c, d);
	if (!r) {
		char *out = c.out.buf, *bar = strchr(out, '|'), *node = bar ? strchr(bar + 1, '|') : NULL;
		out[strcspn(out, "\n")] = '\0';
		if (node)
			*node++ = '\0';
		if (!bar || strcmp(bar + 1, "true")) {
			r = diag_fail(d, "the Docker engine is not a Swarm manager (docker info: %s): the "
					 "swarm driver deploys stacks from a manager node", out);
		} else {
			*bar = '\0';
			free(rt->version);
			rt->version = xstrdup(out);
			free(rt->node_id);
			rt->node_id = node && *node ? xstrdup(node) : NULL;
		}
	}
	child_release(&c);
	if (!r) {
		/* The client, not the engine, has `stack config`: Debian 12's is 20.10. */
		runtime_docker_child(rt, &c, 0);
		strvec_push(&c.args, "version");
		strvec_push(&c.args, "--format");
		strvec_push(&c.args, "{{.Client.Version}}");
		r = run_command(&c, d);
		if (!r) {
			c.out.buf[strcspn(c.out.buf, "\n")] = '\0';
			free(rt->client_version);
			rt->client_version = xstrdup(c.out.buf);
		}
		child_release(&c);
	}
	if (!r && rt->files.nr && !rt->file_version) {
		char *text = read_file(rt->files.v[0], NULL);
		if (text)
			rt->file_version = swarm_file_version(text);
		free(text);
	}
	return r;
}

/* -c FILE for every stack file, the override, and extra (when not NULL). */
static void add_files(const struct runtime *rt, struct child *c, const char *extra)
{
	for (size_t i = 0; i < rt->files.nr; i++) {
		strvec_push(&c->args, "-c");
		strvec_push(&c->args, rt->files.v[i]);
	}
	if (rt->override) {
		strvec_push(&c->args, "-c");
		strvec_push(&c->args, rt->override);
	}
	if (extra) {
		strvec_push(&c->args, "-c");
		strvec_push(&c->args, extra);
	}
}

/*
 * `docker stack config` loads the files as `stack deploy` will (CLI 23.0+).
 * An older client has no such command: the check is not made, and d says
 * so with 0 returned; `stack deploy` loads every file before it changes
 * anything, so a stack that does not load fails the first switch unchanged.
 */
static int swarm_check_config(struct runtime *rt, struct diag *d)
{
	struct child c;
	if (!swarm_client_has_stack_config(rt->client_version)) {
		buf_addf(&d->msg, "docker CLI %s has no `docker stack config` (23.0 and later): the stack "
				  "files and dsnflip's update file are loaded by `docker stack deploy` at the "
				  "first switch, before it changes anything",
			 rt->client_version ? rt->client_version : "(version unknown)");
		return 0;
	}
	runtime_docker_child(rt, &c, 1);
	c.dir = rt->dir;
	strvec_push(&c.args, "stack");
	strvec_push(&c.args, "config");
	add_files(rt, &c, NULL);
	int r = run_command(&c, d);
	/* The merged config holds the passwords it interpolated. */
	memset(c.out.buf, 0, c.out.len);
	child_release(&c);
	return r;
}

static int inspect_update(struct runtime *rt, const char *name, struct swarm_update *u,
			  struct diag *d)
{
	struct child c;
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "service");
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, swarm_update_format);
	strvec_push(&c.args, name);
	int r = run_command(&c, d);
	if (!r && swarm_parse_update(c.out.buf, u))
		r = diag_fail(d, "docker service inspect %s: unexpected output", name);
	memset(c.out.buf, 0, c.out.len);
	child_release(&c);
	return r;
}

/* Swarm's monitor for the service: its healthcheck (spec, else image) decides. */
static int monitor_for(struct runtime *rt, const char *name)
{
	static const char hc[] = "{{with .Spec.TaskTemplate.ContainerSpec.Healthcheck}}"
				 "{{printf \"%d %d %d %d\" .StartPeriod .Interval .Timeout .Retries}}{{end}}";
	struct child c;
	struct diag sub = DIAG_INIT;
	long long sp = 0, iv = 0, to = 0;
	int retries = 0;
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "service");
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, hc);
	strvec_push(&c.args, name);
	if (!run_command(&c, &sub) &&
	    swarm_parse_healthcheck(c.out.buf, &sp, &iv, &to, &retries))
		sp = iv = to = retries = 0;
	child_release(&c);
	diag_release(&sub);
	int m = swarm_monitor_seconds(sp, iv, to, retries);
	return rt->update_monitor_s > m ? rt->update_monitor_s : m;
}

/*
 * The last log lines of the service's tasks that failed since since_ms
 * (realtime; earlier failures are another update's), masked, into d's
 * message; rt->failed_at_ms the first such failure.
 */
static void failed_task_evidence(struct runtime *rt, const char *name, long long since_ms,
				 struct diag *d)
{
	struct child c;
	struct diag sub = DIAG_INIT;
	struct strvec failed = STRVEC_INIT;
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "service");
	strvec_push(&c.args, "ps");
	strvec_push(&c.args, "--no-trunc");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.ID}}|{{.CurrentState}}|{{.Error}}");
	strvec_push(&c.args, name);
	if (!run_command(&c, &sub)) {
		char *save = NULL;
		for (char *line = strtok_r(c.out.buf, "\n", &save); line && failed.nr < EVIDENCE_TASKS;
		     line = strtok_r(NULL, "\n", &save)) {
			char *bar = strchr(line, '|');
			if (!bar || (strncmp(bar + 1, "Failed", 6) && strncmp(bar + 1, "Rejected", 8)))
				continue;
			*bar = '\0';
			/* When it failed: the failure-to-rollback latency starts there. */
			struct container t;
			long long ms = 0;
			if (!driver_swarm.inspect(rt, line, &t, &sub))
				ms = runtime_parse_ts(t.finished_at);
			if (ms && ms < since_ms)
				continue;
			if (ms && (!rt->failed_at_ms || ms < rt->failed_at_ms))
				rt->failed_at_ms = ms;
			struct buf m = BUF_INIT;
			mask_secrets(bar + 1, &m);
			buf_addf(&d->msg, "\n    task %.12s: %s", line, m.buf);
			buf_release(&m);
			strvec_push(&failed, line);
		}
	}
	child_release(&c);
	for (size_t i = 0; i < failed.nr; i++) {
		runtime_docker_child(rt, &c, 0);
		strvec_push(&c.args, "service");
		strvec_push(&c.args, "logs");
		strvec_push(&c.args, "--raw");
		strvec_push(&c.args, "--tail");
		strvec_push(&c.args, EVIDENCE_TAIL);
		strvec_push(&c.args, failed.v[i]);
		c.timeout_ms = 15000;
		if (!run_command(&c, &sub)) {
			char *save = NULL;
			for (char *line = strtok_r(c.out.buf, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				struct buf m = BUF_INIT;
				mask_secrets(line, &m);
				buf_addf(&d->msg, "\n    %.12s | %s", failed.v[i], m.buf);
				buf_release(&m);
			}
		}
		child_release(&c);
	}
	diag_release(&sub);
	strvec_clear(&failed);
}

/*
 * Deploy the stack with the update file for service, then wait for Swarm's
 * update of it to end.  restore: failure_action pause (see driver_swarm.h).
 */
static int deploy_and_wait(struct runtime *rt, const char *service, int timeout_ms, int restore,
			   struct diag *d)
{
	char *name = full_name(rt, service), *upath = NULL;
	struct swarm_update pre, u;
	struct buf text = BUF_INIT;
	struct child c;
	int ret = -1;
	long long deadline = run_now_ms() + timeout_ms, t_deploy = 0;

	if (!rt->state_dir) {
		diag_fail(d, "the swarm driver has no state directory");
		goto out;
	}
	{
		struct diag sub = DIAG_INIT;
		int r = inspect_update(rt, name, &pre, &sub);
		if (r)
			diag_fail(d, "%s is not a service of stack %s: %s", service, rt->project, sub.msg.buf);
		diag_release(&sub);
		if (r)
			goto out;
	}
	upath = xstrfmt("%s/swarm-update.yml", rt->state_dir);
	enum swarm_order order = rt->update_order_start_first ? SWARM_START_FIRST : SWARM_STOP_FIRST;
	swarm_render_update(rt->file_version, service, order, monitor_for(rt, name),
			    restore ? "pause" : rt->update_failure_action ? rt->update_failure_action : "rollback",
			    &text);
	if (fs_write_atomic(upath, text.buf, text.len, 0600, d))
		goto out;
	t_deploy = run_real_ms();
	runtime_docker_child(rt, &c, 1);
	c.dir = rt->dir;
	c.timeout_ms = timeout_ms;
	strvec_push(&c.args, "stack");
	strvec_push(&c.args, "deploy");
	/* Unchanged images keep the digests they are pinned to; no registry query for them. */
	strvec_push(&c.args, "--resolve-image");
	strvec_push(&c.args, "changed");
	add_files(rt, &c, upath);
	strvec_push(&c.args, rt->project);
	int r = run_command(&c, d);
	child_release(&c);
	if (r)
		goto out;
	/* The spec as deployed: what a finished update must leave in place. */
	struct swarm_update want;
	if (inspect_update(rt, name, &want, d))
		goto out;
	int changed = want.spec_hash != pre.spec_hash;
	for (;;) {
		if (inspect_update(rt, name, &u, d))
			goto out;
		enum swarm_phase ph = swarm_phase_of(u.state);
		int started = strcmp(u.started, pre.started) != 0;
		/* Swarm saw a task fail: the failure is detected now, its rollback runs on. */
		if (!rt->detected_at_ms && !strcmp(u.state, "rollback_started"))
			rt->detected_at_ms = run_real_ms();
		if (ph != SWARM_UPDATING && (!changed || started)) {
			if (u.spec_hash == want.spec_hash &&
			    (ph == SWARM_COMPLETED || ph == SWARM_IDLE || !changed)) {
				ret = 0;
				goto out;
			}
			if (ph == SWARM_ROLLED_BACK)
				diag_fail(d, "Swarm rolled the update of %s back (%s)", name,
					  u.message[0] ? u.message : "no message");
			else if (ph == SWARM_PAUSED)
				diag_fail(d, "Swarm paused the update of %s (%s)", name,
					  u.message[0] ? u.message : "no message");
			else
				diag_fail(d, "the spec of %s changed while dsnflip waited for its update "
					     "(another deploy?)", name);
			failed_task_evidence(rt, name, t_deploy - CLOCK_SLACK_MS, d);
			goto out;
		}
		if (run_now_ms() > deadline) {
			diag_fail(d, "Swarm's update of %s did not finish within %d s (state %s)", name,
				  timeout_ms / 1000, u.state[0] ? u.state : "not started");
			goto out;
		}
		poll(NULL, 0, POLL_MS);
	}
out:
	free(name);
	free(upath);
	buf_release(&text);
	return ret;
}

static int swarm_switch(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	return deploy_and_wait(rt, service, timeout_ms, 0, d);
}

static int swarm_restore(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	return deploy_and_wait(rt, service, timeout_ms, 1, d);
}

static int swarm_tasks(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d)
{
	struct child c;
	char *name = full_name(rt, service);
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "service");
	strvec_push(&c.args, "ps");
	strvec_push(&c.args, "--no-trunc");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.ID}}|{{.Name}}|{{.DesiredState}}");
	strvec_push(&c.args, name);
	int r = run_command(&c, d);
	if (!r)
		swarm_parse_tasks(c.out.buf, ids);
	child_release(&c);
	free(name);
	return r;
}

static int swarm_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d)
{
	struct child c;
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--type");
	strvec_push(&c.args, "task");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, swarm_task_format);
	strvec_push(&c.args, id);
	int r = run_command(&c, d);
	if (!r && swarm_parse_task(id, c.out.buf, out))
		r = diag_fail(d, "docker inspect task %s: unexpected output", id);
	/* A task on another node: its PID is that host's, and reading this
	 * host's /proc/PID would be some other process's sockets. */
	if (!r && out->node[0] && (!rt->node_id || strcmp(out->node, rt->node_id))) {
		out->remote = 1;
		out->pid = 0;
	}
	child_release(&c);
	return r;
}

static int swarm_task_env(struct runtime *rt, const char *id, const char *key, char **out,
			  struct diag *d)
{
	struct child c;
	runtime_docker_child(rt, &c, 0);
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--type");
	strvec_push(&c.args, "task");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{range .Spec.ContainerSpec.Env}}{{println .}}{{end}}");
	strvec_push(&c.args, id);
	*out = NULL;
	int r = run_command(&c, d);
	if (!r) {
		size_t n = strlen(key);
		char *save = NULL;
		for (char *line = strtok_r(c.out.buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, key, n) && line[n] == '=') {
				free(*out);
				*out = xstrdup(line + n + 1);
			}
	}
	/* The task's environment holds secrets: wipe it before freeing. */
	memset(c.out.buf, 0, c.out.len);
	child_release(&c);
	return r;
}

static void swarm_describe(const struct runtime *rt, struct buf *out)
{
	if (rt->version)
		buf_addf(out, "swarm (docker engine %s)", rt->version);
}

/* observe --restart: new tasks on the same spec, waited for by the CLI. */
static int swarm_restart_start(struct runtime *rt, const char *service, int timeout_ms,
			       struct child *c, struct diag *d)
{
	char *name = full_name(rt, service);
	runtime_docker_child(rt, c, 0);
	c->timeout_ms = timeout_ms;
	strvec_push(&c->args, "service");
	strvec_push(&c->args, "update");
	strvec_push(&c->args, "--force");
	strvec_push(&c->args, "--quiet");
	strvec_push(&c->args, "--detach=false");
	strvec_push(&c->args, name);
	free(name);
	if (run_start(c, d)) {
		child_release(c);
		return -1;
	}
	return 0;
}

const struct driver_ops driver_swarm = {
	.name = "swarm",
	.detect = swarm_detect,
	.check_config = swarm_check_config,
	.switch_to = swarm_switch,
	.restore = swarm_restore,
	.tasks = swarm_tasks,
	.inspect = swarm_inspect,
	.task_env = swarm_task_env,
	.client_ports = runtime_client_ports,
	.logs_start = logstream_start_service,
	.describe = swarm_describe,
	.restart_start = swarm_restart_start,
};

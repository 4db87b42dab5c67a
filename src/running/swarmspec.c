/*
 * swarmspec: the swarm driver's rendering and parsing (see swarmspec.h).
 */
#include "running/swarmspec.h"
#include "stack/literal.h"
#include "util/num.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int swarm_monitor_seconds(long long start_period_ns, long long interval_ns, long long timeout_ns,
			  int retries)
{
	const long long s = 1000000000LL, cap = 3600LL * s;
	long long total = 0;
	if (start_period_ns > 0)
		total += start_period_ns < cap ? start_period_ns : cap;
	if (interval_ns > 0 || retries > 0 || timeout_ns > 0) {
		/* Docker's defaults where the spec leaves them out: 30 s, 3, 30 s. */
		long long iv = interval_ns > 0 ? (interval_ns < cap ? interval_ns : cap) : 30 * s;
		long long to = timeout_ns > 0 ? (timeout_ns < cap ? timeout_ns : cap) : 30 * s;
		int n = retries > 0 ? (retries < 100 ? retries : 100) : 3;
		total += iv * n + to;
	}
	long long secs = (total + s - 1) / s;
	if (secs < SWARM_MONITOR_MIN_S)
		secs = SWARM_MONITOR_MIN_S;
	return secs > INT_MAX ? INT_MAX : (int)secs;
}

int swarm_parse_healthcheck(const char *text, long long *start_period_ns, long long *interval_ns,
			    long long *timeout_ns, int *retries)
{
	long long v[4];
	const char *p = text;
	for (int i = 0; i < 4; i++) {
		size_t n = strcspn(p, i < 3 ? " " : "\n");
		if (num_parse_lln(p, n, 0, i < 3 ? LLONG_MAX : INT_MAX, &v[i]) != NUM_OK)
			return -1;
		p += n;
		if (i < 3) {
			if (*p != ' ')
				return -1;
			p++;
		}
	}
	if (*p && strcmp(p, "\n"))
		return -1;
	*start_period_ns = v[0];
	*interval_ns = v[1];
	*timeout_ns = v[2];
	*retries = (int)v[3];
	return 0;
}

int swarm_client_has_stack_config(const char *client_version)
{
	long long major;
	if (!client_version)
		return 0;
	size_t n = strcspn(client_version, ".");
	if (!client_version[n] ||
	    num_parse_lln(client_version, n, 0, 9999, &major) != NUM_OK)
		return 0;
	return major >= 23;
}

char *swarm_file_version(const char *text)
{
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > 8 && !strncmp(p, "version", 7)) {
			const char *v = p + 7;
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == ':') {
				v++;
				while (*v == ' ' || *v == '\t')
					v++;
				char q = (*v == '"' || *v == '\'') ? *v++ : 0;
				size_t k = 0;
				while (v + k < p + n && (isdigit((unsigned char)v[k]) || v[k] == '.'))
					k++;
				if (k && (!q || v[k] == q))
					return xstrndup(v, k);
				return NULL;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return NULL;
}

void swarm_render_update(const char *version, const char *service, enum swarm_order order,
			 int monitor_s, const char *failure_action, struct buf *out)
{
	buf_addstr(out, "# Written by dsnflip deploy: how Swarm replaces the tasks of the service it\n"
			"# switches (one at a time, rolled back by Swarm when a task fails).\n");
	if (version)
		buf_addf(out, "version: \"%s\"\n", version);
	buf_addstr(out, "services:\n  \"");
	literal_encode(1, YS_DOUBLE, service, strlen(service), out);
	buf_addf(out, "\":\n    deploy:\n      update_config:\n        parallelism: 1\n"
		      "        failure_action: %s\n        monitor: %ds\n        max_failure_ratio: 0\n"
		      "        order: %s\n      rollback_config:\n        parallelism: 1\n"
		      "        monitor: %ds\n        order: %s\n",
		 failure_action, monitor_s, swarm_order_name(order), SWARM_ROLLBACK_MONITOR_S,
		 swarm_order_name(order));
}

void swarm_parse_tasks(char *text, struct strvec *ids)
{
	struct strvec names = STRVEC_INIT, first = STRVEC_INIT, live = STRVEC_INIT;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *b1 = strchr(line, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
		if (!b2)
			continue;
		*b1 = *b2 = '\0';
		const char *name = b1 + 1, *desired = b2 + 1;
		while (*name == ' ')
			name++;
		/* The table format marks history " \\_ name"; --format does not. */
		if (!strncmp(name, "\\_", 2) || !*line || !*name)
			continue;
		size_t k = 0;
		while (k < names.nr && strcmp(names.v[k], name))
			k++;
		if (k == names.nr) {
			strvec_push(&names, name);
			strvec_push(&first, line);
			strvec_push(&live, "");
		}
		/* The slot's task Swarm wants running: the others are history, or a
		 * task on its way out (a failed one's restart superseded by a rollback). */
		int wanted = strcasecmp(desired, "shutdown") && strcasecmp(desired, "remove") &&
			     strcasecmp(desired, "complete");
		if (wanted && !*live.v[k]) {
			free(live.v[k]);
			live.v[k] = xstrdup(line);
		}
	}
	for (size_t k = 0; k < names.nr; k++)
		strvec_push(ids, *live.v[k] ? live.v[k] : first.v[k]);
	strvec_clear(&names);
	strvec_clear(&first);
	strvec_clear(&live);
}

const char swarm_task_format[] =
	"{{.NodeID}}|{{.Status.State}}|{{.DesiredState}}|"
	"{{with .Status.ContainerStatus}}{{.ContainerID}}|{{.PID}}|{{.ExitCode}}{{else}}||{{end}}|"
	"{{.Status.Timestamp.UTC.Format \"2006-01-02T15:04:05.000000000Z\"}}|{{.Status.Err}}";

int swarm_parse_task(const char *id, char *line, struct container *out)
{
	if (!id)
		return -1;
	char *f[8] = { 0 };
	char *p = line;
	int nf = 0;
	p[strcspn(p, "\n")] = '\0';
	while (nf < 8 && p) {
		f[nf++] = p;
		p = nf < 8 ? strchr(p, '|') : NULL;
		if (p)
			*p++ = '\0';
	}
	if (nf < 8 || !*f[1])
		return -1;
	char keep[sizeof(out->id)];
	snprintf(keep, sizeof(keep), "%s", id); /* id may be out->id */
	memset(out, 0, sizeof(*out));
	memcpy(out->id, keep, sizeof(keep));
	snprintf(out->node, sizeof(out->node), "%s", f[0]);
	snprintf(out->cid, sizeof(out->cid), "%s", f[3]);
	long long pid = 0;
	if (*f[4] && num_parse_ll(f[4], 0, INT_MAX, &pid))
		pid = 0;
	int code = 0;
	if (*f[5] && num_parse_int(f[5], INT_MIN, INT_MAX, &code))
		code = 0;
	const char *st = f[1];
	snprintf(out->restart_policy, sizeof(out->restart_policy), "swarm");
	if (!strcmp(st, "running")) {
		snprintf(out->status, sizeof(out->status), "running");
		out->running = 1;
		out->pid = (long)pid;
		snprintf(out->started_at, sizeof(out->started_at), "%s", f[6]);
	} else if (!strcmp(st, "complete")) {
		snprintf(out->status, sizeof(out->status), "exited");
		out->exit_code = code;
		snprintf(out->finished_at, sizeof(out->finished_at), "%s", f[6]);
	} else if (!strcmp(st, "failed") || !strcmp(st, "shutdown") || !strcmp(st, "orphaned") ||
		   !strcmp(st, "remove")) {
		snprintf(out->status, sizeof(out->status), "exited");
		/* A failed task without a container exit code failed all the same. */
		out->exit_code = code ? code : (!strcmp(st, "shutdown") ? 0 : -1);
		snprintf(out->finished_at, sizeof(out->finished_at), "%s", f[6]);
	} else if (!strcmp(st, "rejected")) {
		snprintf(out->status, sizeof(out->status), "rejected");
		out->exit_code = -1;
		snprintf(out->finished_at, sizeof(out->finished_at), "%s", f[6]);
	} else {
		/* new, pending, assigned, accepted, preparing, ready, starting */
		snprintf(out->status, sizeof(out->status), "created");
	}
	return 0;
}

const char swarm_update_format[] =
	"{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.StartedAt}}|"
	"{{.UpdateStatus.Message}}{{else}}||{{end}}\n{{json .Spec.TaskTemplate}}";

int swarm_parse_update(char *text, struct swarm_update *out)
{
	memset(out, 0, sizeof(*out));
	char *nl = strchr(text, '\n');
	if (!nl)
		return -1;
	*nl = '\0';
	char *b1 = strchr(text, '|'), *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
	if (!b2)
		return -1;
	*b1 = *b2 = '\0';
	snprintf(out->state, sizeof(out->state), "%s", text);
	snprintf(out->started, sizeof(out->started), "%s", b1 + 1);
	snprintf(out->message, sizeof(out->message), "%s", b2 + 1);
	unsigned long long h = 1469598103934665603ULL;
	char *spec = nl + 1;
	size_t len = strcspn(spec, "\n");
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)spec[i];
		h *= 1099511628211ULL;
	}
	/* The template holds the service's environment, passwords included. */
	memset(spec, 0, len);
	out->spec_hash = h;
	return len ? 0 : -1;
}

enum swarm_phase swarm_phase_of(const char *state)
{
	if (!strcmp(state, "updating") || !strcmp(state, "rollback_started"))
		return SWARM_UPDATING;
	if (!strcmp(state, "completed"))
		return SWARM_COMPLETED;
	if (!strcmp(state, "rollback_completed"))
		return SWARM_ROLLED_BACK;
	if (!strcmp(state, "paused") || !strcmp(state, "rollback_paused"))
		return SWARM_PAUSED;
	return SWARM_IDLE;
}

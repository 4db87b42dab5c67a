/*
 * runtime: drive `docker compose` / `docker-compose` and the docker CLI.
 * See runtime.h.
 */
#include "running/runtime.h"
#include "util/num.h"
#include "util/mask.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* docker/compose calls that should be quick; recreate has its own timeout. */
#define QUICK_MS 60000

void runtime_init(struct runtime *rt)
{
	memset(rt, 0, sizeof(*rt));
}

void runtime_release(struct runtime *rt)
{
	strvec_clear(&rt->cmd);
	strvec_clear(&rt->files);
	strvec_clear(&rt->env_files);
	strvec_clear(&rt->profiles);
	strvec_clear(&rt->env);
	strvec_clear(&rt->docker_env);
	free(rt->version);
	free(rt->override);
	free(rt->state_dir);
	free(rt->file_version);
	free(rt->client_version);
	free(rt->node_id);
	memset(rt, 0, sizeof(*rt));
}

static void env_set(struct strvec *env, const char *key, const char *value)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < env->nr; i++)
		if (!strncmp(env->v[i], key, n) && env->v[i][n] == '=') {
			free(env->v[i]);
			env->v[i] = xstrfmt("%s=%s", key, value);
			return;
		}
	strvec_pushf(env, "%s=%s", key, value);
}

void runtime_setenv(struct runtime *rt, const char *key, const char *value)
{
	env_set(&rt->env, key, value);
}

void runtime_set_override(struct runtime *rt, const char *path)
{
	free(rt->override);
	rt->override = path ? xstrdup(path) : NULL;
}

static void child_for_docker(struct runtime *rt, struct child *c)
{
	child_init(c);
	for (size_t i = 0; i < rt->docker_env.nr; i++)
		strvec_push(&c->env, rt->docker_env.v[i]);
	strvec_push(&c->args, "docker");
	c->out_mode = RUN_CAPTURE;
	c->err_mode = RUN_CAPTURE;
	c->timeout_ms = QUICK_MS;
}

void runtime_docker_child(struct runtime *rt, struct child *c, int secrets)
{
	child_for_docker(rt, c);
	if (secrets) {
		strvec_clear(&c->env);
		for (size_t i = 0; i < rt->env.nr; i++)
			strvec_push(&c->env, rt->env.v[i]);
	}
}

/* A compose child with the global options; the caller adds the subcommand. */
static void child_for_compose(struct runtime *rt, struct child *c)
{
	child_init(c);
	for (size_t i = 0; i < rt->env.nr; i++)
		strvec_push(&c->env, rt->env.v[i]);
	for (size_t i = 0; i < rt->cmd.nr; i++)
		strvec_push(&c->args, rt->cmd.v[i]);
	strvec_pushf(&c->args, "--project-directory=%s", rt->dir);
	strvec_push(&c->args, "-p");
	strvec_push(&c->args, rt->project);
	for (size_t i = 0; i < rt->files.nr; i++) {
		strvec_push(&c->args, "-f");
		strvec_push(&c->args, rt->files.v[i]);
	}
	if (rt->override) {
		strvec_push(&c->args, "-f");
		strvec_push(&c->args, rt->override);
	}
	for (size_t i = 0; i < rt->env_files.nr; i++) {
		strvec_push(&c->args, "--env-file");
		strvec_push(&c->args, rt->env_files.v[i]);
	}
	for (size_t i = 0; i < rt->profiles.nr; i++) {
		strvec_push(&c->args, "--profile");
		strvec_push(&c->args, rt->profiles.v[i]);
	}
	c->dir = rt->dir;
	c->out_mode = RUN_CAPTURE;
	c->err_mode = RUN_CAPTURE;
	c->timeout_ms = QUICK_MS;
}

/* Run cmd... version --short; *out the trimmed version on success. */
static int try_version(struct runtime *rt, const char *const *cmd, char **out, struct buf *tried)
{
	struct child c;
	struct diag sub = DIAG_INIT;
	int r;
	child_init(&c);
	for (size_t i = 0; i < rt->docker_env.nr; i++)
		strvec_push(&c.env, rt->docker_env.v[i]);
	for (; *cmd; cmd++)
		strvec_push(&c.args, *cmd);
	strvec_push(&c.args, "version");
	strvec_push(&c.args, "--short");
	c.out_mode = c.err_mode = RUN_CAPTURE;
	c.timeout_ms = 20000;
	r = run_command(&c, &sub);
	if (!r) {
		char *v = c.out.buf;
		while (*v && isspace((unsigned char)*v))
			v++;
		if (*v == 'v')
			v++;
		size_t n = strcspn(v, " \n\r\t");
		if (n && isdigit((unsigned char)*v))
			*out = xstrndup(v, n);
		else
			r = -1;
	}
	if (r) {
		if (tried->len)
			buf_addstr(tried, "; ");
		buf_addstr(tried, sub.set ? sub.msg.buf : "no version number");
	}
	diag_release(&sub);
	child_release(&c);
	return r;
}

void runtime_env_from(struct runtime *rt, char *const *env)
{
	static const char *const secret_vars[] = { "PGPASSWORD", NULL };
	strvec_clear(&rt->env);
	strvec_clear(&rt->docker_env);
	for (; env && *env; env++) {
		int skip = !strchr(*env, '=');
		for (const char *const *k = secret_vars; *k && !skip; k++)
			skip = !strncmp(*env, *k, strlen(*k)) && (*env)[strlen(*k)] == '=';
		/* DSNFLIP_FAULT is for dsnflip only. */
		skip = skip || !strncmp(*env, "DSNFLIP_FAULT=", 14);
		if (skip)
			continue;
		strvec_push(&rt->env, *env);
		strvec_push(&rt->docker_env, *env);
	}
}

int runtime_detect(struct runtime *rt, const char *cmd, char *const *env, struct diag *d)
{
	static const char *const plugin[] = { "docker", "compose", NULL };
	static const char *const v1[] = { "docker-compose", NULL };
	struct buf tried = BUF_INIT;
	char *ver = NULL;
	int ret = -1;

	runtime_env_from(rt, env);
	strvec_clear(&rt->cmd);
	if (cmd) {
		struct strvec words = STRVEC_INIT;
		strvec_split(&words, cmd, " ");
		if (!words.nr) {
			strvec_clear(&words);
			return diag_err(d, "--compose-cmd is empty");
		}
		if (try_version(rt, (const char *const *)words.v, &ver, &tried)) {
			diag_fail(d, "--compose-cmd '%s' does not work: %s", cmd, tried.buf);
			strvec_clear(&words);
			goto out;
		}
		for (size_t i = 0; i < words.nr; i++)
			strvec_push(&rt->cmd, words.v[i]);
		strvec_clear(&words);
	} else if (!try_version(rt, plugin, &ver, &tried)) {
		strvec_push(&rt->cmd, "docker");
		strvec_push(&rt->cmd, "compose");
	} else if (!try_version(rt, v1, &ver, &tried)) {
		strvec_push(&rt->cmd, "docker-compose");
	} else {
		diag_fail(d, "no compose CLI found (tried 'docker compose' and 'docker-compose'): %s",
			  tried.buf);
		goto out;
	}
	rt->version = ver;
	ver = NULL;
	/* "2.24.6" or "v2.24.6-desktop.1": the major version is the leading digits. */
	const char *vs = rt->version + (rt->version[0] == 'v');
	long long major = 0;
	rt->v2 = !num_parse_lln(vs, strspn(vs, "0123456789"), 0, INT_MAX, &major) && major >= 2;
	ret = 0;
out:
	free(ver);
	buf_release(&tried);
	return ret;
}

int runtime_swarm_services(struct runtime *rt, struct strvec *names, struct diag *d)
{
	struct child c;
	child_for_docker(rt, &c);
	strvec_push(&c.args, "info");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.Swarm.ControlAvailable}}");
	int r = run_command(&c, d);
	int manager = !r && !strncmp(c.out.buf, "true", 4);
	child_release(&c);
	if (r || !manager)
		return r;
	child_for_docker(rt, &c);
	strvec_push(&c.args, "service");
	strvec_push(&c.args, "ls");
	strvec_push(&c.args, "--filter");
	strvec_pushf(&c.args, "label=com.docker.stack.namespace=%s", rt->project);
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.Name}}");
	r = run_command(&c, d);
	if (!r) {
		char *save = NULL;
		for (char *line = strtok_r(c.out.buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			if (*line)
				strvec_push(names, line);
	}
	child_release(&c);
	return r;
}

int runtime_check_config(struct runtime *rt, struct diag *d)
{
	struct child c;
	child_for_compose(rt, &c);
	strvec_push(&c.args, "config");
	strvec_push(&c.args, "-q");
	int r = run_command(&c, d);
	child_release(&c);
	return r;
}

int runtime_recreate_start(struct runtime *rt, const char *service, int timeout_ms, struct child *c,
			   struct diag *d)
{
	child_for_compose(rt, c);
	strvec_push(&c->args, "up");
	strvec_push(&c->args, "-d");
	strvec_push(&c->args, "--no-deps");
	strvec_push(&c->args, "--force-recreate");
	strvec_push(&c->args, service);
	c->timeout_ms = timeout_ms;
	if (run_start(c, d)) {
		child_release(c);
		return -1;
	}
	return 0;
}

int runtime_recreate(struct runtime *rt, const char *service, int timeout_ms, struct diag *d)
{
	struct child c;
	if (runtime_recreate_start(rt, service, timeout_ms, &c, d))
		return -1;
	int r = run_finish(&c, d);
	child_release(&c);
	return r;
}

int runtime_containers(struct runtime *rt, const char *service, struct strvec *ids, struct diag *d)
{
	struct child c;
	child_for_docker(rt, &c);
	strvec_push(&c.args, "ps");
	strvec_push(&c.args, "-a");
	strvec_push(&c.args, "--no-trunc");
	strvec_push(&c.args, "--filter");
	strvec_pushf(&c.args, "label=com.docker.compose.project=%s", rt->project);
	strvec_push(&c.args, "--filter");
	strvec_pushf(&c.args, "label=com.docker.compose.service=%s", service);
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.ID}} {{.Label \"com.docker.compose.oneoff\"}}");
	int r = run_command(&c, d);
	if (!r) {
		char *save = NULL;
		for (char *line = strtok_r(c.out.buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strchr(line, ' ');
			if (sp) {
				*sp++ = '\0';
				if (!strcasecmp(sp, "true"))
					continue;
			}
			if (*line)
				strvec_push(ids, line);
		}
	}
	child_release(&c);
	return r;
}

/* One fixed-width field of a timestamp, strictly, in range; -1 if not. */
static int ts_field(const char *s, size_t at, size_t n, int min, int max)
{
	long long v;
	return num_parse_lln(s + at, n, min, max, &v) ? -1 : (int)v;
}

/* "2026-11-24T04:02:02.123456789Z" (docker's timestamps) as epoch ms; 0 if not one. */
long long runtime_parse_ts(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return 0;
	tm.tm_year = ts_field(s, 0, 4, 2000, 9999);
	tm.tm_mon = ts_field(s, 5, 2, 1, 12);
	tm.tm_mday = ts_field(s, 8, 2, 1, 31);
	tm.tm_hour = ts_field(s, 11, 2, 0, 23);
	tm.tm_min = ts_field(s, 14, 2, 0, 59);
	tm.tm_sec = ts_field(s, 17, 2, 0, 60);
	if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
	    tm.tm_sec < 0)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	long long ms = (long long)timegm(&tm) * 1000;
	if (s[19] == '.')
		for (int i = 0, scale = 100; i < 3 && s[20 + i] >= '0' && s[20 + i] <= '9'; i++, scale /= 10)
			ms += (s[20 + i] - '0') * scale;
	return ms;
}

static void copy_field(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int runtime_inspect(struct runtime *rt, const char *id, struct container *out, struct diag *d)
{
	struct child c;
	child_for_docker(rt, &c);
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--type");
	strvec_push(&c.args, "container");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{.State.Status}}|{{.State.Running}}|{{.State.ExitCode}}|{{.RestartCount}}|"
			     "{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Pid}}|"
			     "{{.State.StartedAt}}|{{.State.FinishedAt}}|{{.HostConfig.RestartPolicy.Name}}");
	strvec_push(&c.args, id);
	int r = run_command(&c, d);
	if (!r) {
		char *f[9] = { 0 };
		char *p = c.out.buf;
		p[strcspn(p, "\n")] = '\0';
		for (int i = 0; i < 9 && p; i++) {
			f[i] = p;
			p = strchr(p, '|');
			if (p)
				*p++ = '\0';
		}
		char keep[sizeof(out->id)];
		copy_field(keep, sizeof(keep), id);
		memset(out, 0, sizeof(*out));
		memcpy(out->id, keep, sizeof(keep));
		copy_field(out->status, sizeof(out->status), f[0]);
		out->running = f[1] && !strcmp(f[1], "true");
		if (f[2])
			num_parse_int(f[2], INT_MIN, INT_MAX, &out->exit_code);
		if (f[3])
			num_parse_int(f[3], 0, INT_MAX, &out->restart_count);
		copy_field(out->health, sizeof(out->health), f[4]);
		long long pid = 0;
		if (f[5])
			num_parse_ll(f[5], 0, INT_MAX, &pid);
		out->pid = (long)pid;
		copy_field(out->started_at, sizeof(out->started_at), f[6]);
		copy_field(out->finished_at, sizeof(out->finished_at), f[7]);
		copy_field(out->restart_policy, sizeof(out->restart_policy), f[8]);
	}
	child_release(&c);
	return r;
}

int runtime_container_env(struct runtime *rt, const char *id, const char *key, char **out,
			  struct diag *d)
{
	struct child c;
	child_for_docker(rt, &c);
	strvec_push(&c.args, "inspect");
	strvec_push(&c.args, "--type");
	strvec_push(&c.args, "container");
	strvec_push(&c.args, "--format");
	strvec_push(&c.args, "{{range .Config.Env}}{{println .}}{{end}}");
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
	/* The captured environment holds secrets: wipe it before freeing. */
	memset(c.out.buf, 0, c.out.len);
	child_release(&c);
	return r;
}

/*
 * Socket inodes of every process in the container (its cgroup names the
 * id).  *complete: 1 when the main process was found in the container's
 * cgroup and every process of it had its fds read; 0 when the sockets are
 * not all known (another uid's worker, a PID that is not the container's);
 * -1 when the main process is gone (the container is stopping: it holds
 * no session, as for a container that is not running).
 */
static size_t container_inodes(const struct container *ct, unsigned long **inodes, int *complete)
{
	size_t n = 0, alloc = 0;
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int main_read = 0, denied = 0;
	*inodes = NULL;
	*complete = 0;
	if (!proc)
		return 0;
	while ((de = readdir(proc))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], line[1024];
		int mine = 0;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* exited meanwhile (a process we cannot read has a readable cgroup) */
		/* A Swarm task's container is cid; a compose container's is id. */
		const char *cid = ct->cid[0] ? ct->cid : ct->id;
		while (!mine && cid[0] && fgets(line, sizeof(line), f))
			mine = strstr(line, cid) != NULL;
		fclose(f);
		long long dpid = 0;
		num_parse_ll(de->d_name, 0, INT_MAX, &dpid);
		if (!mine)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		DIR *fds = opendir(path);
		struct dirent *fe;
		if (!fds) {
			denied |= errno != ENOENT; /* ENOENT: it exited meanwhile */
			continue;
		}
		if (dpid == ct->pid)
			main_read = 1;
		while ((fe = readdir(fds))) {
			char link[600], target[128];
			snprintf(link, sizeof(link), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			ssize_t len = readlink(link, target, sizeof(target) - 1);
			if (len <= 0)
				continue;
			target[len] = '\0';
			long long ino;
			static const char pre[] = "socket:[";
			size_t np = sizeof(pre) - 1;
			if ((size_t)len > np + 1 && !strncmp(target, pre, np) && target[len - 1] == ']' &&
			    !num_parse_lln(target + np, (size_t)len - np - 1, 0, LLONG_MAX, &ino)) {
				ALLOC_GROW(*inodes, n + 1, alloc);
				(*inodes)[n++] = (unsigned long)ino;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	*complete = main_read && !denied;
	if (!main_read) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld", ct->pid);
		if (access(path, F_OK) && errno == ENOENT)
			*complete = -1;
	}
	return n;
}

static int is_server_port(unsigned long long port, const int *server_ports, size_t nserver)
{
	for (size_t i = 0; i < nserver; i++)
		if ((unsigned long long)server_ports[i] == port)
			return 1;
	return 0;
}

int runtime_client_ports(const struct container *ct, const int *server_ports, size_t nserver,
			 int **ports, size_t *n)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	unsigned long *inodes = NULL;
	size_t ninodes, alloc = 0;

	*ports = NULL;
	*n = 0;
	if (ct->running && ct->remote)
		return -2;
	if (!ct->running || ct->pid <= 0)
		return -1;
	int main_read, tables_read = 0;
	ninodes = container_inodes(ct, &inodes, &main_read);
	if (main_read < 0) {
		free(inodes);
		return -1;
	}
	for (size_t t = 0; t < 2; t++) {
		char path[64], line[512];
		snprintf(path, sizeof(path), "/proc/%ld/net/%s", ct->pid, tables[t]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		tables_read++;
		if (!fgets(line, sizeof(line), f)) { /* header */
			fclose(f);
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			char local[64], remote[64], sts[8], inos[32];
			unsigned long long st, ino, lport, rport;
			long long inol;
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, "%*s %63s %63s %7s %*s %*s %*s %*s %*s %31s", local, remote, sts,
				   inos) != 4)
				continue;
			if (num_parse_hexn(sts, strlen(sts), 255, &st) || st != 1) /* TCP_ESTABLISHED */
				continue;
			char *lp = strrchr(local, ':'), *rp = strrchr(remote, ':');
			if (!lp || !rp || num_parse_hexn(rp + 1, strlen(rp + 1), 65535, &rport) ||
			    num_parse_hexn(lp + 1, strlen(lp + 1), 65535, &lport) ||
			    num_parse_ll(inos, 0, LLONG_MAX, &inol) ||
			    !is_server_port(rport, server_ports, nserver))
				continue;
			ino = (unsigned long long)inol;
			int mine = 0;
			for (size_t i = 0; i < ninodes && !mine; i++)
				mine = inodes[i] == ino;
			if (!mine)
				continue;
			ALLOC_GROW(*ports, *n + 1, alloc);
			(*ports)[(*n)++] = (int)lport;
		}
		fclose(f);
	}
	free(inodes);
	if (main_read && tables_read)
		return 0;
	/* Exited between the scan and the tables: stopping, not unreadable. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld", ct->pid);
	return access(path, F_OK) && errno == ENOENT ? -1 : -2;
}

void failpat_init(struct failpats *p)
{
	memset(p, 0, sizeof(*p));
}

int failpat_add(struct failpats *p, const char *re, struct diag *d)
{
	ALLOC_GROW(p->re, p->n + 1, p->alloc);
	p->src = xrealloc(p->src, p->alloc * sizeof(*p->src));
	int r = regcomp(&p->re[p->n], re, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (r) {
		char msg[256];
		regerror(r, &p->re[p->n], msg, sizeof(msg));
		return diag_err(d, "failure pattern '%s': %s", re, msg);
	}
	p->src[p->n++] = xstrdup(re);
	return 0;
}

void failpat_add_defaults(struct failpats *p)
{
	static const char *const defaults[] = {
		"password authentication failed",
		"permission denied",
		"must be owner of",
		"must be superuser",
		"must be a superuser",
		"too many connections",
		"too many clients already",
		"role \"?[^ ]*\"? does not exist",
		"no pg_hba\\.conf entry",
		"insufficient.privilege",
		"authentication failed for user",
	};
	struct diag d = DIAG_INIT;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		failpat_add(p, defaults[i], &d);
	diag_release(&d);
}

const char *failpat_match(const struct failpats *p, const char *line)
{
	for (size_t i = 0; i < p->n; i++)
		if (!regexec(&p->re[i], line, 0, NULL, 0))
			return p->src[i];
	return NULL;
}

void failpat_release(struct failpats *p)
{
	for (size_t i = 0; i < p->n; i++) {
		regfree(&p->re[i]);
		free(p->src[i]);
	}
	free(p->re);
	free(p->src);
	memset(p, 0, sizeof(*p));
}

static int logstream_open(struct logstream *ls, struct runtime *rt, int service, const char *id,
			  const char *since, struct diag *d)
{
	memset(ls, 0, sizeof(*ls));
	child_for_docker(rt, &ls->child);
	ls->child.out_mode = ls->child.err_mode = RUN_PIPE;
	if (service)
		strvec_push(&ls->child.args, "service");
	strvec_push(&ls->child.args, "logs");
	strvec_push(&ls->child.args, "-f");
	strvec_push(&ls->child.args, "--timestamps");
	/* service logs: the bare lines, as `docker logs` gives them (no task prefix). */
	if (service)
		strvec_push(&ls->child.args, "--raw");
	if (since && *since) {
		strvec_push(&ls->child.args, "--since");
		strvec_push(&ls->child.args, since);
	}
	strvec_push(&ls->child.args, id);
	for (int i = 0; i < 2; i++) {
		buf_init(&ls->partial[i]);
		ls->open[i] = 1;
	}
	if (run_start(&ls->child, d)) {
		ls->open[0] = ls->open[1] = 0;
		return -1;
	}
	return 0;
}

int logstream_start(struct logstream *ls, struct runtime *rt, const char *id, const char *since,
		    struct diag *d)
{
	return logstream_open(ls, rt, 0, id, since, d);
}

int logstream_start_service(struct logstream *ls, struct runtime *rt, const char *id,
			    const char *since, struct diag *d)
{
	return logstream_open(ls, rt, 1, id, since, d);
}

int logstream_poll(struct logstream *ls, int wait_ms,
		   void (*fn)(void *ctx, const char *line), void *ctx)
{
	struct pollfd pf[2];
	int fds[2] = { ls->child.out_fd, ls->child.err_fd }, map[2], n = 0, lines = 0;
	for (int i = 0; i < 2; i++)
		if (ls->open[i] && fds[i] >= 0) {
			pf[n] = (struct pollfd){ fds[i], POLLIN, 0 };
			map[n++] = i;
		}
	if (!n) {
		if (wait_ms > 0)
			poll(NULL, 0, wait_ms);
		return 0;
	}
	poll(pf, (nfds_t)n, wait_ms);
	for (int k = 0; k < n; k++) {
		int i = map[k];
		char tmp[8192];
		for (;;) {
			ssize_t got = read(fds[i], tmp, sizeof(tmp));
			if (got < 0 && errno == EINTR)
				continue;
			if (got == 0)
				ls->open[i] = 0;
			if (got <= 0)
				break;
			for (ssize_t j = 0; j < got; j++) {
				struct buf *b = &ls->partial[i];
				if (tmp[j] == '\n') {
					fn(ctx, b->buf);
					lines++;
					buf_reset(b);
					continue;
				}
				buf_addch(b, tmp[j] ? tmp[j] : ' ');
				if (b->len >= LOGS_LINE_MAX) {
					/* A piece of a long line; the next starts with its tail. */
					fn(ctx, b->buf);
					lines++;
					memmove(b->buf, b->buf + b->len - LOGS_LINE_OVERLAP, LOGS_LINE_OVERLAP);
					buf_setlen(b, LOGS_LINE_OVERLAP);
				}
			}
		}
		if (!ls->open[i] && ls->partial[i].len) {
			fn(ctx, ls->partial[i].buf);
			lines++;
			buf_reset(&ls->partial[i]);
		}
	}
	return lines;
}

void logstream_stop(struct logstream *ls)
{
	run_kill(&ls->child, 500);
	child_release(&ls->child);
	for (int i = 0; i < 2; i++)
		buf_release(&ls->partial[i]);
	ls->open[0] = ls->open[1] = 0;
}

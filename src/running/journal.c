/*
 * journal: the deploy journal and the one-deploy-at-a-time lock, both in
 * the project's state directory.  See journal.h.
 */
#include "running/journal.h"
#include "util/num.h"
#include "util/fs.h"
#include "util/run.h"
#include "artifacts/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void iso_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *state_dir(const char *project, char *const *env)
{
	/* The directory of the secrets file: one rule for both (secrets.c). */
	char *p = secrets_path(project, env);
	char *slash = strrchr(p, '/');
	if (slash && slash != p)
		*slash = '\0';
	return p;
}

static const char *const state_names[] = {
	"pending", "in_flight", "flipped", "rolling_back", "rolled_back", "failed",
};

const char *journal_state_name(enum journal_state s)
{
	return s >= JS_PENDING && s <= JS_FAILED ? state_names[s] : "unchanged";
}

int journal_state_parse(const char *s, enum journal_state *out)
{
	for (int i = JS_PENDING; i <= JS_FAILED; i++)
		if (!strcmp(s, state_names[i])) {
			*out = (enum journal_state)i;
			return 0;
		}
	return -1;
}

struct journal *journal_new(char *const *env)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	j->env = env;
	return j;
}

static char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? xstrdup(s) : NULL;
}

struct journal_service *journal_get(struct journal *j, const char *name, int create)
{
	for (size_t i = 0; i < j->n; i++)
		if (!strcmp(j->svcs[i].name, name))
			return &j->svcs[i];
	if (!create)
		return NULL;
	ALLOC_GROW(j->svcs, j->n + 1, j->alloc);
	struct journal_service *s = &j->svcs[j->n++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->state = JS_PENDING;
	s->step = xstrdup("none");
	return s;
}

int journal_load(const char *dir, char *const *env, struct journal **out, struct diag *d)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	json_error_t err;
	j->dir = xstrdup(dir);
	j->path = xstrfmt("%s/journal.json", dir);
	j->env = env;
	if (state_dir_check(dir, d)) {
		journal_free(j);
		return -1;
	}
	if (access(j->path, F_OK)) {
		*out = j;
		return 0;
	}
	size_t len = 0;
	char *text = read_file(j->path, &len);
	if (!text) {
		diag_fail(d, "%s: cannot read the journal: %s", j->path, open_regular_strerror(errno));
		journal_free(j);
		return -1;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (!root || !json_is_object(root)) {
		diag_fail(d, "%s:%d: the journal does not parse: %s", j->path, err.line, err.text);
		json_decref(root);
		journal_free(j);
		return -1;
	}
	j->operation = jstr(root, "operation");
	j->updated = jstr(root, "updated");
	j->active = json_is_true(json_object_get(root, "active"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(root, "rollout"), i, v)
		if (json_is_string(v))
			strvec_push(&j->rollout, json_string_value(v));
	json_array_foreach(json_object_get(root, "services"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		if (!name)
			continue;
		struct journal_service *s = journal_get(j, name, 1);
		free(s->step);
		const char *st = json_string_value(json_object_get(v, "state"));
		s->state = JS_PENDING;
		if (st && journal_state_parse(st, &s->state)) {
			diag_fail(d, "%s: the journal gives %s the unknown state '%s'", j->path, name, st);
			json_decref(root);
			journal_free(j);
			return -1;
		}
		s->step = jstr(v, "step");
		if (!s->step)
			s->step = xstrdup("none");
		s->role = jstr(v, "role");
		s->detail = jstr(v, "detail");
		s->previous = jstr(v, "previous");
		s->updated = jstr(v, "updated");
		s->in_override = json_is_true(json_object_get(v, "in_override"));
	}
	json_decref(root);
	*out = j;
	return 0;
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		struct journal_service *s = &j->svcs[i];
		free(s->name);
		free(s->step);
		free(s->role);
		free(s->detail);
		free(s->previous);
		free(s->updated);
	}
	free(j->svcs);
	strvec_clear(&j->rollout);
	free(j->dir);
	free(j->path);
	free(j->operation);
	free(j->updated);
	free(j);
}

int journal_save(struct journal *j, struct diag *d)
{
	if (!j->path)
		return diag_fail(d, "this journal lives in memory only: it cannot be saved");
	char now[32];
	iso_now(now);
	free(j->updated);
	j->updated = xstrdup(now);
	json_t *root = json_object(), *arr = json_array();
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "operation", json_string(j->operation ? j->operation : "deploy"));
	json_object_set_new(root, "updated", json_string(now));
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "active", json_boolean(j->active));
	json_t *ro = json_array();
	for (size_t i = 0; i < j->rollout.nr; i++)
		json_array_append_new(ro, json_string(j->rollout.v[i]));
	json_object_set_new(root, "rollout", ro);
	for (size_t i = 0; i < j->n; i++) {
		struct journal_service *s = &j->svcs[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(s->name));
		json_object_set_new(o, "state", json_string(journal_state_name(s->state)));
		json_object_set_new(o, "step", json_string(s->step));
		json_object_set_new(o, "role", s->role ? json_string(s->role) : json_null());
		json_object_set_new(o, "in_override", json_boolean(s->in_override));
		if (s->detail)
			json_object_set_new(o, "detail", json_string(s->detail));
		if (s->previous)
			json_object_set_new(o, "previous", json_string(s->previous));
		if (s->updated)
			json_object_set_new(o, "updated", json_string(s->updated));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "services", arr);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	struct buf b = BUF_INIT;
	buf_addstr(&b, text);
	buf_addch(&b, '\n');
	free(text);
	int r = fs_write_atomic(j->path, b.buf, b.len, 0600, d);
	buf_release(&b);
	return r;
}

void journal_set_detail(struct journal_service *s, const char *detail)
{
	free(s->detail);
	s->detail = detail ? xstrdup(detail) : NULL;
}

int journal_step(struct journal *j, struct journal_service *s, enum journal_state state,
		 const char *step, struct diag *d)
{
	char now[32];
	iso_now(now);
	if (state != JS_UNCHANGED)
		s->state = state;
	free(s->step);
	s->step = xstrdup(step);
	free(s->updated);
	s->updated = xstrdup(now);
	struct diag scratch = DIAG_INIT;
	int r = journal_save(j, d ? d : &scratch);
	diag_release(&scratch);
	if (r)
		return -1;
	run_fault_point(j->env, step, s->name);
	return 0;
}

int journal_unfinished(const struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->svcs[i].state == JS_IN_FLIGHT || j->svcs[i].state == JS_ROLLING_BACK)
			return 1;
	return 0;
}

/* Field 22 of /proc/PID/stat: the start time in clock ticks since boot; 0 if unknown. */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	unsigned long long v = 0;
	int field = 2;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
	{
		long long t;
		if (!num_parse_lln(p, strspn(p, "0123456789"), 0, LLONG_MAX, &t))
			v = (unsigned long long)t;
	}
	return v;
}

struct lock_info {
	long pid;
	unsigned long long start;
	char user[64], host[256], since[32], command[32];
};

static int lock_read(const char *path, struct lock_info *li)
{
	char line[512];
	int fd = open_regular(path);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	memset(li, 0, sizeof(*li));
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "pid"))
		{
			long long pid;
			if (!num_parse_ll(eq, 1, INT_MAX, &pid))
				li->pid = (long)pid;
		}
		else if (!strcmp(line, "start"))
			num_parse_ull(eq, ULLONG_MAX, &li->start);
		else if (!strcmp(line, "user"))
			snprintf(li->user, sizeof(li->user), "%s", eq);
		else if (!strcmp(line, "host"))
			snprintf(li->host, sizeof(li->host), "%s", eq);
		else if (!strcmp(line, "since"))
			snprintf(li->since, sizeof(li->since), "%s", eq);
		else if (!strcmp(line, "command"))
			snprintf(li->command, sizeof(li->command), "%s", eq);
	}
	fclose(f);
	return 0;
}

/* Is the holder gone?  Only decidable on the same host. */
static int lock_stale(const struct lock_info *li, const char *host)
{
	if (strcmp(li->host, host))
		return 0;
	if (li->pid <= 0)
		return 1;
	if (kill((pid_t)li->pid, 0) && errno == ESRCH)
		return 1;
	/* The pid was reused by another process. */
	unsigned long long st = proc_start(li->pid);
	return li->start && st && st != li->start;
}

int lock_acquire(struct lock *lk, const char *dir, const char *command, struct buf *note,
		 struct diag *d)
{
	char host[256] = "", now[32];
	struct passwd *pw = getpwuid(geteuid());
	gethostname(host, sizeof(host) - 1);
	iso_now(now);
	free(lk->path);
	lk->path = xstrfmt("%s/lock", dir);
	lk->held = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		int fd = open(lk->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			char *text = xstrfmt("pid=%ld\nstart=%llu\nuser=%s\nhost=%s\nsince=%s\ncommand=%s\n",
					     (long)getpid(), proc_start(getpid()),
					     pw ? pw->pw_name : "?", host, now, command);
			ssize_t w = write(fd, text, strlen(text));
			free(text);
			fsync(fd);
			close(fd);
			if (w < 0) {
				unlink(lk->path);
				return diag_fail(d, "cannot write the lock '%s': %s", lk->path,
						 strerror(errno));
			}
			fs_sync_dir_of(lk->path);
			lk->held = 1;
			return 0;
		}
		if (errno != EEXIST)
			return diag_fail(d, "cannot create the lock '%s': %s", lk->path, strerror(errno));
		struct lock_info li;
		if (lock_read(lk->path, &li))
			continue; /* removed meanwhile: try again */
		if (!li.pid && !li.host[0]) {
			/* Being written right now, or torn: give the writer a moment. */
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			if (lock_read(lk->path, &li))
				continue;
		}
		if (!lock_stale(&li, host))
			return diag_fail(d, "another '%s' is running: pid %ld (%s@%s) holds '%s' since %s",
					 li.command[0] ? li.command : "dsnflip", li.pid, li.user, li.host,
					 lk->path, li.since);
		/* Take a stale lock over: move it aside atomically, then retry O_EXCL. */
		char *aside = xstrfmt("%s.stale.%ld", lk->path, (long)getpid());
		if (!rename(lk->path, aside)) {
			struct lock_info moved;
			if (!lock_read(aside, &moved) && moved.pid != li.pid) {
				/* Another process took it over first: put its lock back. */
				if (link(aside, lk->path) == 0)
					unlink(aside);
				free(aside);
				continue;
			}
			buf_addf(note, "took over a stale lock: pid %ld (%s@%s, '%s' since %s) is gone",
				 li.pid, li.user, li.host, li.command, li.since);
			unlink(aside);
		}
		free(aside);
	}
	return diag_fail(d, "cannot take the lock '%s'", lk->path);
}

void lock_release(struct lock *lk)
{
	if (lk->held && lk->path)
		unlink(lk->path);
	lk->held = 0;
	free(lk->path);
	lk->path = NULL;
}

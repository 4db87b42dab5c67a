/*
 * deploy: staged cutover with automatic rollback, and rollback itself.
 * See deploy.h for the override design; the journal steps a service goes
 * through (each written before the action it names, then the fault seam
 * DSNFLIP_FAULT=<step> may kill the process right there):
 *
 *   flip:      begin -> override -> recreate -> watch -> done
 *   rollback:  rollback-begin -> rollback-override -> rollback-recreate
 *              -> rollback-verify -> rollback-done
 *
 * After a kill anywhere, `deploy --resume` redoes the step in flight
 * (writing the override and recreating are idempotent) and goes on, and
 * `rollback` takes every switched service back; both converge.
 */
#include "running/deploy.h"
#include "running/preflight.h"
#include "running/watch.h"
#include "running/swarmspec.h"
#include "plan/plan_json.h"
#include "util/fs.h"
#include "util/path.h"
#include "util/mask.h"
#include "artifacts/secrets.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECREATE_MS (5 * 60 * 1000)
#define ROLLBACK_STABLE_MS 2000

long long deploy_real_ms(void)
{
	return run_real_ms();
}

int deploy_signalled(struct deploy_ctx *dc)
{
	sigset_t pend;
	if (dc->interrupted)
		return 1;
	if (!sigpending(&pend) && (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM))) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&dc->sigs, NULL, &zero) > 0)
			;
		dc->interrupted = 1;
	}
	return dc->interrupted;
}

void deploy_print(const struct deploy_ctx *dc, json_t *root, const struct buf *text)
{
	if (dc->s.format == FORMAT_JSON) {
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		fwrite(text->buf, 1, text->len, stdout);
	}
}

void deploy_say(struct deploy_ctx *dc, const char *fmt, ...)
{
	va_list ap;
	struct buf raw = BUF_INIT, out = BUF_INIT;
	if (dc->o->quiet)
		return;
	va_start(ap, fmt);
	buf_vaddf(&raw, fmt, ap);
	va_end(ap);
	mask_secrets(raw.buf, &out);
	if (dc->tty)
		fputs("\r\033[K", stderr);
	fprintf(stdout, "%s\n", out.buf);
	fflush(stdout);
	buf_release(&raw);
	buf_release(&out);
}

/* One progress line on a terminal: service, phase, the window counting down. */
void deploy_progress(struct deploy_ctx *dc, const char *svc, const char *phase, const char *fmt, ...)
{
	va_list ap;
	if (!dc->tty || dc->o->quiet)
		return;
	fprintf(stderr, "\r\033[K%s%-16s%s %-12s ", dc->o->color ? "\033[1m" : "", svc,
		dc->o->color ? "\033[0m" : "", phase);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* Fill dc->merged from the committed plan: flipped in the files, on its planned role. */
static int find_merged(struct deploy_ctx *dc, struct diag *d)
{
	struct plan_record rec;
	int r = plan_record_load(dc->s.project->dir, &rec, d);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < rec.nservices; i++) {
		const struct plan_record_service *rs = &rec.services[i];
		const struct plan_service *ps = plan_service(dc->s.plan, rs->name);
		if (!ps || !rs->action || strcmp(rs->action, "flip") || !rs->role ||
		    ps->action != ACTION_SKIP || !ps->nconns)
			continue;
		int all = 1;
		for (size_t k = 0; k < ps->nconns; k++)
			all &= ps->conns[k].user && !strcmp(ps->conns[k].user, rs->role);
		if (all) {
			strvec_push(&dc->merged, rs->name);
			strvec_push(&dc->merged_roles, rs->role);
		}
	}
	plan_record_release(&rec);
	return 0;
}

/* The role a merged checkout gives the service, or NULL. */
const char *deploy_merged_role(const struct deploy_ctx *dc, const char *name)
{
	for (size_t i = 0; i < dc->merged.nr; i++)
		if (!strcmp(dc->merged.v[i], name))
			return dc->merged_roles.v[i];
	return NULL;
}

/*
 * The driver: --driver's, else swarm for a deployed Swarm stack of the
 * project's name, else compose; then its detect.  The compose driver on a
 * Swarm stack is refused (compose would start second copies beside
 * Swarm's tasks), and so is the swarm driver without a deployed stack.
 */
static int pick_driver(struct deploy_ctx *dc, int flags, struct diag *d)
{
	const struct deploy_opts *o = dc->o;
	const char *project = dc->s.project->name;
	const struct driver_ops *ops = NULL;
	struct diag sub = DIAG_INIT;
	int need = flags & DEPLOY_NEED_COMPOSE;

	if (o->driver && !(ops = driver_select(o->driver, d)))
		return -1;
	/* Whether the engine runs the project as a stack (the docker CLI needs the environment). */
	runtime_env_from(&dc->rt, o->environ);
	runtime_swarm_services(&dc->rt, &dc->swarm_services, &sub);
	diag_release(&sub);
	if (!ops)
		ops = driver_select(dc->swarm_services.nr ? "swarm" : "compose", d);
	if (!ops)
		return -1;
	if (need && !strcmp(ops->name, "compose") && dc->swarm_services.nr) {
		struct buf names = BUF_INIT;
		for (size_t i = 0; i < dc->swarm_services.nr; i++)
			buf_addf(&names, "%s%s", i ? ", " : "", dc->swarm_services.v[i]);
		diag_fail(d, "project %s runs as a Docker Swarm stack (services %s): the compose "
			     "driver would start second copies beside Swarm's tasks; nothing was changed "
			     "(leave --driver out, or give --driver swarm)",
			  project, names.buf);
		buf_release(&names);
		return -1;
	}
	if (need && !strcmp(ops->name, "swarm") && !dc->swarm_services.nr) {
		diag_fail(d, "--driver swarm: no Swarm service carries com.docker.stack.namespace=%s "
			     "(is the engine a swarm manager, and the stack deployed as '%s'?); nothing "
			     "was changed", project, project);
		return -1;
	}
	int r = driver_open(&dc->rt, ops, o->compose_cmd, o->environ, &sub);
	if (r && need) {
		diag_fail(d, "%s", sub.msg.buf);
		diag_release(&sub);
		return -1;
	}
	diag_release(&sub);
	/* `docker stack deploy` reads no .env: it gets the project's variables as the plan read
	 * them (the process environment over .env), as compose would. */
	if (!strcmp(ops->name, "swarm"))
		for (size_t i = 0; i < dc->s.project->nvars; i++) {
			const struct project_var *v = &dc->s.project->vars[i];
			if (v->value && strcmp(v->name, "PGPASSWORD") && strcmp(v->name, "DSNFLIP_FAULT"))
				runtime_setenv(&dc->rt, v->name, v->value);
		}
	return 0;
}

int deploy_open(struct deploy_ctx *dc, const struct deploy_opts *o, const struct deploy_stack *st,
		int flags, struct diag *d)
{
	struct buf note = BUF_INIT;
	memset(dc, 0, sizeof(*dc));
	dc->o = o;
	dc->s = *st;
	dc->tty = isatty(STDERR_FILENO) && !o->quiet;
	failpat_init(&dc->pats);
	sigemptyset(&dc->sigs);
	sigaddset(&dc->sigs, SIGINT);
	sigaddset(&dc->sigs, SIGTERM);
	const char *project = dc->s.project->name;
	dc->dir = state_dir(project, o->environ);
	dc->override_path = xstrfmt("%s/override.yml", dc->dir);

	dc->window_s = dc->s.config && dc->s.config->window_seconds > 0 ? dc->s.config->window_seconds : 30;
	if (o->window) {
		dc->window_s = parse_duration(o->window);
		if (dc->window_s <= 0)
			return diag_err(d, "--window must be a duration such as 30s or 2m, not '%s'",
					o->window);
	}
	failpat_add_defaults(&dc->pats);
	for (size_t i = 0; dc->s.config && i < dc->s.config->nfailure_patterns; i++)
		if (failpat_add(&dc->pats, dc->s.config->failure_patterns[i], d))
			return -1;

	if (flags & DEPLOY_LOCK) {
		/* StrictModes before anything is made or read there (secrets.h). */
		if (state_dir_check(dc->dir, d) || fs_mkdir_p(dc->dir, 0700, d) ||
		    state_dir_check(dc->dir, d))
			return -1;
		if (lock_acquire(&dc->lock, dc->dir, o->command, &note, d)) {
			buf_release(&note);
			return -1;
		}
		if (note.len)
			fprintf(stderr, "dsnflip: %s\n", note.buf);
		buf_release(&note);
	}
	if (journal_load(dc->dir, o->environ, &dc->j, d))
		return -1;

	char *spath = secrets_path(project, o->environ);
	int r = secrets_load(spath, &dc->sec, d);
	free(spath);
	if (r)
		return -1;

	runtime_init(&dc->rt);
	dc->have_runtime = 1;
	dc->rt.dir = dc->s.project->dir;
	dc->rt.project = project;
	for (size_t i = 0; i < dc->s.project->nfiles; i++) {
		const char *f = dc->s.project->files[i];
		if (f[0] == '/')
			strvec_push(&dc->rt.files, f);
		else
			strvec_pushf(&dc->rt.files, "%s/%s", dc->s.project->dir, f);
	}
	for (size_t i = 0; i < o->nenv_files; i++)
		strvec_push(&dc->rt.env_files, o->env_files[i]);
	for (size_t i = 0; i < o->nprofiles; i++)
		strvec_push(&dc->rt.profiles, o->profiles[i]);
	dc->rt.state_dir = xstrdup(dc->dir);
	if (pick_driver(dc, flags, d))
		return -1;
	/* Every role password the project has goes to compose children: the override
	 * (and a merged branch) reference them. */
	for (size_t i = 0; i < dc->s.plan->nroles; i++) {
		const char *role = dc->s.plan->roles[i].name;
		const char *pw = secrets_get(dc->sec, role);
		if (pw) {
			char *var = secrets_var_name(role);
			runtime_setenv(&dc->rt, var, pw);
			free(var);
		}
	}
	if (!access(dc->override_path, F_OK))
		runtime_set_override(&dc->rt, dc->override_path);
	if (find_merged(dc, d))
		return -1;

	return 0;
}

void deploy_close(struct deploy_ctx *dc)
{
	if (dc->have_pg)
		pgconn_close(&dc->pc);
	if (dc->have_runtime)
		runtime_release(&dc->rt);
	secrets_free(dc->sec);
	journal_free(dc->j);
	lock_release(&dc->lock);
	failpat_release(&dc->pats);
	strvec_clear(&dc->merged);
	strvec_clear(&dc->merged_roles);
	strvec_clear(&dc->swarm_services);
	free(dc->dir);
	free(dc->override_path);
	memset(dc, 0, sizeof(*dc));
}

/* --- the override file ------------------------------------------------- */

/* Rewrite the override from the journal (or remove it when it switches nothing). */
static int override_write(struct deploy_ctx *dc, struct diag *d)
{
	struct buf text = BUF_INIT;
	/* `docker stack deploy` refuses files of different versions. */
	if (dc->rt.file_version && !strcmp(dc->rt.ops->name, "swarm"))
		buf_addf(&text, "version: \"%s\"\n", dc->rt.file_version);
	int r = deploy_render_override(dc->s.plan, dc->j, &text, d);
	if (r < 0) {
		buf_release(&text);
		return -1;
	}
	if (r == 0) {
		if (unlink(dc->override_path) && errno != ENOENT) {
			buf_release(&text);
			return diag_fail(d, "cannot remove '%s': %s", dc->override_path, strerror(errno));
		}
		runtime_set_override(&dc->rt, NULL);
	} else {
		if (fs_write_atomic(dc->override_path, text.buf, text.len, 0600, d)) {
			buf_release(&text);
			return -1;
		}
		runtime_set_override(&dc->rt, dc->override_path);
	}
	buf_release(&text);
	return 0;
}

/* --- one service ---------------------------------------------------------- */

const struct plan_role *deploy_role_of(const struct plan *plan, const char *name)
{
	return name ? plan_role(plan, name) : NULL;
}

/*
 * The service's connection users as its tasks run now, when every task
 * agrees (malloc'd), else NULL: the journal's previous spec.
 */
static char *current_users(struct deploy_ctx *dc, const struct plan_service *ps, char **disagree)
{
	struct strvec ids = STRVEC_INIT;
	struct diag sub = DIAG_INIT;
	char *first = NULL;
	if (disagree)
		*disagree = NULL;
	if (!driver_tasks(&dc->rt, ps->name, &ids, &sub)) {
		for (size_t i = 0; i < ids.nr; i++) {
			struct buf b = BUF_INIT;
			watch_task_users(dc, ps, ids.v[i], &b);
			if (!first) {
				first = buf_detach(&b, NULL);
			} else if (strcmp(first, b.buf)) {
				if (disagree)
					*disagree = xstrfmt("task %.12s runs %s", ids.v[i], b.buf);
				buf_release(&b);
				free(first);
				first = NULL;
				break;
			}
			buf_release(&b);
		}
	}
	strvec_clear(&ids);
	diag_release(&sub);
	if (first && !*first) {
		free(first);
		first = NULL;
	}
	return first;
}

/*
 * How Swarm is to replace the service's tasks (swarmspec.h); said once per
 * service when say.  Nothing for the compose driver, which recreates the
 * service's containers stop-first always.
 */
static void choose_update_order(struct deploy_ctx *dc, const struct plan_service *ps, int say)
{
	if (strcmp(dc->rt.ops->name, "swarm"))
		return;
	struct buf why = BUF_INIT;
	enum swarm_order ord = swarm_update_order(dc->s.plan, ps, &why);
	dc->rt.update_order_start_first = ord == SWARM_START_FIRST;
	/* Swarm counts a one-shot task that exits within its monitor as a failed
	 * update, exit 0 or not: dsnflip judges the migrator's exit code itself. */
	dc->rt.update_failure_action = ps->cls == CLASS_MIGRATOR ? "continue" : NULL;
	if (say)
		deploy_say(dc, "  swarm update of %s: one task at a time, %s: %s%s", ps->name,
			   swarm_order_name(ord), why.buf,
			   ps->cls == CLASS_MIGRATOR ? "; failure_action continue (Swarm would take its "
						       "exit for a failure; dsnflip judges the exit code)" : "");
	buf_release(&why);
}

/*
 * Put a service back on its old DSN: out of the override, recreated,
 * verified running (and healthy).  Returns 0, or -1 with d when it is not
 * healthy again (the journal keeps it in rolled_back with the detail).
 */
static int rollback_one(struct deploy_ctx *dc, const struct plan_service *ps,
			struct journal_service *js, long long *healthy_ms, struct diag *d)
{
	struct watch w;
	if (journal_step(dc->j, js, JS_ROLLING_BACK, "rollback-begin", d))
		return -1;
	js->in_override = 0;
	if (journal_step(dc->j, js, JS_UNCHANGED, "rollback-override", d) || override_write(dc, d))
		return -1;
	if (journal_step(dc->j, js, JS_UNCHANGED, "rollback-recreate", d))
		return -1;
	deploy_progress(dc, ps->name, "rolling back", "recreating on the old DSN");
	choose_update_order(dc, ps, 0);
	if (driver_restore(&dc->rt, ps->name, RECREATE_MS, d))
		return -1;
	if (journal_step(dc->j, js, JS_UNCHANGED, "rollback-verify", d))
		return -1;
	watch_init(&w, ps);
	int r = watch_service(dc, &w, 10, ROLLBACK_STABLE_MS);
	if (healthy_ms)
		*healthy_ms = w.up_ms ? w.up_ms : deploy_real_ms();
	if (r < 0) {
		diag_fail(d, "%s is not healthy after rolling back: %s", ps->name, w.reason);
		for (size_t i = 0; i < w.evidence.nr; i++)
			buf_addf(&d->msg, "\n    %s", w.evidence.v[i]);
		journal_set_detail(js, d->msg.buf);
		journal_step(dc->j, js, JS_ROLLED_BACK, "rollback-unhealthy", NULL);
		watch_release(&w);
		return -1;
	}
	watch_release(&w);
	/* Every task back on what the journal says it ran before the switch. */
	if (js->previous) {
		char *disagree = NULL, *now = current_users(dc, ps, &disagree);
		if (!now || strcmp(now, js->previous)) {
			diag_fail(d, "%s is up after rolling back, but %s%s, not what it ran before the "
				     "switch (%s)", ps->name, now ? "it runs " : "",
				  now ? now : disagree ? disagree : "its tasks' users are unknown", js->previous);
			journal_set_detail(js, d->msg.buf);
			journal_step(dc->j, js, JS_ROLLED_BACK, "rollback-unverified", NULL);
			free(now);
			free(disagree);
			return -1;
		}
		free(now);
		free(disagree);
	}
	return journal_step(dc->j, js, JS_ROLLED_BACK, "rollback-done", d);
}

static void print_evidence(struct deploy_ctx *dc, const struct watch *w)
{
	fprintf(stdout, "  evidence:\n");
	for (size_t i = 0; i < w->evidence.nr; i++)
		fprintf(stdout, "    %s\n", w->evidence.v[i]);
	(void)dc;
}

/* Flip one service.  0 flipped; -1 failed (rolled back, d set); 1 interrupted (rolled back). */
static int flip_one(struct deploy_ctx *dc, const struct plan_service *ps, size_t idx, size_t total,
		    struct diag *d)
{
	struct journal_service *js = journal_get(dc->j, ps->name, 1);
	const char *merged = deploy_merged_role(dc, ps->name);
	const char *rname = merged ? merged : ps->role;
	const struct plan_role *role = deploy_role_of(dc->s.plan, rname);
	struct watch w;
	int r;

	free(js->role);
	js->role = xstrdup(rname);
	journal_set_detail(js, NULL);
	deploy_say(dc, "[%zu/%zu] %s -> %s%s", idx + 1, total, ps->name, rname,
	    merged ? " (the checkout already holds the flip: no override)" : "");
	/* The previous spec, before anything moves (a resumed flip keeps the first one's). */
	if (!merged && !js->in_override && js->state != JS_IN_FLIGHT && js->state != JS_FLIPPED &&
	    js->state != JS_ROLLING_BACK) {
		free(js->previous);
		js->previous = current_users(dc, ps, NULL);
	}
	if (journal_step(dc->j, js, JS_IN_FLIGHT, "begin", d))
		return -1;
	js->in_override = !merged;
	if (journal_step(dc->j, js, JS_UNCHANGED, "override", d) || override_write(dc, d))
		return -1;
	if (journal_step(dc->j, js, JS_UNCHANGED, "recreate", d))
		return -1;
	choose_update_order(dc, ps, 1);
	deploy_progress(dc, ps->name, "recreating", "through the %s driver", dc->rt.ops->name);
	struct diag up = DIAG_INIT;
	long long t_up = run_now_ms();
	watch_init(&w, ps);
	w.role = rname;
	w.role_limit = role ? role->connection_limit : 0;
	dc->rt.failed_at_ms = dc->rt.detected_at_ms = 0;
	if (driver_switch(&dc->rt, ps->name, RECREATE_MS, &up)) {
		struct buf tmp = BUF_INIT;
		mask_secrets(up.msg.buf, &tmp);
		/* The reason is the driver's first line; the rest (task logs) is evidence. */
		watch_fail(&w, dc->rt.failed_at_ms, "switching failed: %.*s", (int)strcspn(tmp.buf, "\n"),
			   tmp.buf);
		if (dc->rt.detected_at_ms && dc->rt.detected_at_ms >= w.event_ms)
			w.detect_ms = dc->rt.detected_at_ms;
		struct strvec lines = STRVEC_INIT;
		strvec_split(&lines, tmp.buf, "\n");
		for (size_t i = 0; i < lines.nr; i++)
			if (lines.v[i][strspn(lines.v[i], " ")])
				watch_evidence(&w, lines.v[i] + strspn(lines.v[i], " "));
		strvec_clear(&lines);
		buf_release(&tmp);
		r = -1;
	} else {
		if (journal_step(dc->j, js, JS_UNCHANGED, "watch", d)) {
			diag_release(&up);
			watch_release(&w);
			return -1;
		}
		r = watch_service(dc, &w, dc->window_s, 0);
	}
	diag_release(&up);
	if (r == 0) {
		if (journal_step(dc->j, js, JS_FLIPPED, "done", d)) {
			watch_release(&w);
			return -1;
		}
		if (w.done_early)
			deploy_say(dc, "  ok: %s ran its migrations as %s and exited 0 (%.1f s)", ps->name, rname,
			    (run_now_ms() - t_up) / 1000.0);
		else if (!dc->have_pg)
			deploy_say(dc, "  ok: %s stayed up for %d s as %s", ps->name, dc->window_s, rname);
		else if (w.own_role_sessions || w.role_sessions_max)
			deploy_say(dc, "  ok: %s stayed up for %d s; sessions as %s: %d from it (%d in all, limit %d), "
				"none as the superuser", ps->name, dc->window_s, rname, w.own_role_sessions,
			    w.role_sessions_max, w.role_limit);
		else
			deploy_say(dc, "  ok: %s stayed up for %d s with no failure; warning: no session as %s was "
				"seen (it may connect lazily)", ps->name, dc->window_s, rname);
		watch_release(&w);
		return 0;
	}
	/* Failed or interrupted: roll this service back at once. */
	long long healthy = 0;
	struct diag rb = DIAG_INIT;
	if (r == 1) {
		deploy_say(dc, "  interrupted: rolling %s back", ps->name);
		watch_fail(&w, 0, "interrupted");
	} else {
		deploy_say(dc, "  FAILED: %s", w.reason);
		print_evidence(dc, &w);
		deploy_say(dc, "  rolling %s back to its old DSN", ps->name);
	}
	journal_set_detail(js, w.reason);
	if (merged) {
		/* The old DSN is not in the files any more: only git has it. */
		diag_fail(d, "%s failed on %s and cannot be rolled back automatically: the checkout "
			     "itself holds the flip (the branch was merged).  Revert the merge (or check out "
			     "the commit before it) and run 'docker compose up -d %s'", ps->name, rname,
			  ps->name);
		journal_step(dc->j, js, JS_FAILED, "failed-in-checkout", NULL);
		watch_release(&w);
		return -1;
	}
	int rr = rollback_one(dc, ps, js, &healthy, &rb);
	if (rr) {
		diag_fail(d, "%s failed (%s) and rolling it back failed too: %s", ps->name, w.reason,
			  rb.msg.buf);
	} else {
		deploy_say(dc, "  rolled back: %s is healthy on its old DSN; detected %.1f s after the failure, "
			"healthy again %.1f s after detection (%.1f s in all)", ps->name,
		    (w.detect_ms - w.event_ms) / 1000.0, (healthy - w.detect_ms) / 1000.0,
		    (healthy - w.event_ms) / 1000.0);
		if (r == 1)
			diag_fail(d, "interrupted: %s was rolled back; the rollout stopped", ps->name);
		else
			diag_fail(d, "%s failed on its new role and was rolled back: %s", ps->name, w.reason);
	}
	/* Keep the failure in the journal for status and the next deploy. */
	journal_set_detail(js, w.reason);
	journal_step(dc->j, js, rr ? JS_FAILED : JS_ROLLED_BACK, rr ? "rollback-failed" : "rollback-done",
		     NULL);
	diag_release(&rb);
	watch_release(&w);
	return r == 1 ? 1 : -1;
}

/* --- commands ------------------------------------------------------------ */

/*
 * Ctrl-C and SIGTERM are blocked and polled (deploy_signalled()): no handler, no
 * global.  Dispositions go back to default first, because a shell starts a
 * background job with SIGINT ignored, and an ignored signal is never pending.
 */
static void catch_signals(struct deploy_ctx *dc)
{
	sigprocmask(SIG_BLOCK, &dc->sigs, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static int in_args(const struct deploy_opts *o, const char *name)
{
	return strvec_contains(&o->args, name);
}

int deploy_run(struct deploy_ctx *dc, struct diag *err)
{
	struct diag d = DIAG_INIT;
	const struct plan *plan = dc->s.plan;
	const struct plan_service **todo = xcalloc(plan->norder + dc->merged.nr + 1, sizeof(*todo));
	size_t ntodo = 0;
	int code = EXIT_FAILED, started = 0;

	for (size_t i = 0; i < dc->o->args.nr; i++) {
		const struct plan_service *ps = plan_service(plan, dc->o->args.v[i]);
		if (ps && deploy_merged_role(dc, ps->name))
			continue;
		if (!ps || ps->action != ACTION_FLIP) {
			diag_err(&d, "'%s' is not a service the plan flips%s", dc->o->args.v[i],
				 ps ? (ps->action == ACTION_HOLD ? " (it is held)" : " (nothing to do)") : "");
			code = EXIT_INPUT;
			goto out;
		}
	}
	if (journal_unfinished(dc->j) && !dc->o->resume) {
		for (size_t i = 0; i < dc->j->n; i++)
			if (dc->j->svcs[i].state == JS_IN_FLIGHT ||
			    dc->j->svcs[i].state == JS_ROLLING_BACK)
				diag_fail(&d, "an earlier run stopped while %s was %s (step %s, %s): run "
					      "'dsnflip deploy --resume' to finish it or 'dsnflip rollback --all'",
					  dc->j->svcs[i].name, journal_state_name(dc->j->svcs[i].state), dc->j->svcs[i].step,
					  dc->j->svcs[i].updated ? dc->j->svcs[i].updated : "?");
		goto out;
	}
	if (dc->o->resume && !dc->j->n) {
		diag_err(&d, "nothing to resume: no journal in %s", dc->dir);
		code = EXIT_INPUT;
		goto out;
	}
	if (dc->o->resume && dc->o->args.nr) {
		diag_err(&d, "--resume finishes the last rollout: name no services");
		code = EXIT_INPUT;
		goto out;
	}
	for (size_t i = 0; i < plan->norder; i++) {
		const struct plan_service *ps = plan_service(plan, plan->order[i]);
		if (!ps || ps->action != ACTION_FLIP)
			continue;
		if (dc->o->args.nr && !in_args(dc->o, ps->name))
			continue;
		if (dc->o->resume && (!dc->j->active || !strvec_contains(&dc->j->rollout, ps->name)))
			continue;
		const struct journal_service *js = journal_get(dc->j, ps->name, 0);
		if (js && js->state == JS_FLIPPED && js->in_override) {
			deploy_say(dc, "%s is already on %s", ps->name, js->role ? js->role : ps->role);
			continue;
		}
		todo[ntodo++] = ps;
	}
	/* Then those the merged checkout already flips: recreated and watched, no override. */
	for (size_t i = 0; i < dc->merged.nr; i++) {
		const struct plan_service *ps = plan_service(plan, dc->merged.v[i]);
		const struct journal_service *js = journal_get(dc->j, ps->name, 0);
		if (dc->o->args.nr && !in_args(dc->o, ps->name))
			continue;
		if (dc->o->resume && (!dc->j->active || !strvec_contains(&dc->j->rollout, ps->name)))
			continue;
		if (js && js->state == JS_FLIPPED && !dc->o->args.nr) {
			deploy_say(dc, "%s is already on %s (in the checkout)", ps->name, dc->merged_roles.v[i]);
			continue;
		}
		todo[ntodo++] = ps;
	}
	catch_signals(dc);
	/* Resume: a rollback that was cut short is finished first, and the rollout stops there. */
	for (size_t i = 0; dc->o->resume && i < dc->j->n; i++) {
		struct journal_service *js = &dc->j->svcs[i];
		if (js->state != JS_ROLLING_BACK)
			continue;
		const struct plan_service *ps = plan_service(plan, js->name);
		if (!ps) {
			diag_fail(&d, "the journal names '%s', which the stack no longer has", js->name);
			goto out;
		}
		deploy_say(dc, "resuming: finishing the rollback of %s", js->name);
		if (rollback_one(dc, ps, js, NULL, &d))
			goto out;
		dc->j->active = 0;
		if (journal_save(dc->j, &d))
			goto out;
		if (js->detail) {
			diag_fail(&d, "%s had failed and is rolled back: %s; fix it and deploy again", js->name,
				  js->detail);
			goto out;
		}
		deploy_say(dc, "finished rolling %s back; run 'dsnflip deploy' to go on", js->name);
		code = EXIT_OK;
		goto out;
	}
	if (!ntodo && dc->o->resume && !dc->j->active) {
		deploy_say(dc, "nothing to resume: the last rollout finished (journal %s)", dc->j->path);
		code = EXIT_OK;
		goto out;
	}
	if (!ntodo) {
		if (dc->o->resume) {
			dc->j->active = 0;
			if (journal_save(dc->j, &d))
				goto out;
		}
		deploy_say(dc, "nothing to deploy: every service to flip is on its new role");
		code = EXIT_OK;
		goto out;
	}
	/* The override must be renderable for every service before anything moves. */
	for (size_t i = 0; i < ntodo; i++)
		for (size_t k = 0; k < todo[i]->nconns; k++) {
			const struct plan_flip *fl = todo[i]->conns[k].flip;
			if (fl && !fl->nsettings) {
				diag_err(&d, "%s cannot be switched: %s", todo[i]->name,
					 fl->blocked ? fl->blocked : "no variable to set");
				code = EXIT_INPUT;
				goto out;
			}
		}
	if (deploy_preflight(dc, todo, ntodo, &d))
		goto out;
	started = 1;
	dc->j->operation = (free(dc->j->operation), xstrdup("deploy"));
	if (!dc->o->resume) {
		strvec_clear(&dc->j->rollout);
		for (size_t i = 0; i < ntodo; i++)
			strvec_push(&dc->j->rollout, todo[i]->name);
	}
	dc->j->active = 1;
	for (size_t i = 0; i < ntodo; i++) {
		struct journal_service *js = journal_get(dc->j, todo[i]->name, 1);
		if (js->state != JS_IN_FLIGHT) {
			js->state = JS_PENDING;
		}
	}
	if (journal_save(dc->j, &d))
		goto out;
	{
		struct buf how = BUF_INIT;
		driver_describe(&dc->rt, &how);
		deploy_say(dc, "deploying %zu service(s) with %s, window %d s", ntodo, how.buf,
			   dc->window_s);
		buf_release(&how);
	}
	for (size_t i = 0; i < ntodo; i++) {
		if (deploy_signalled(dc)) {
			diag_fail(&d, "interrupted before %s; nothing in flight", todo[i]->name);
			goto out;
		}
		int r = flip_one(dc, todo[i], i, ntodo, &d);
		if (r)
			goto out;
	}
	if (dc->tty)
		fputs("\r\033[K", stderr);
	deploy_say(dc, "deployed: %zu service(s) on their new roles", ntodo);
	code = EXIT_OK;
out:
	/* The rollout is over (done, rolled back or interrupted): --resume has nothing left. */
	if (started) {
		struct diag sub = DIAG_INIT;
		dc->j->active = 0;
		journal_save(dc->j, d.set ? &sub : &d);
		diag_release(&sub);
	}
	if (dc->tty)
		fputs("\r\033[K", stderr);
	if (code != EXIT_OK && d.code == EXIT_INPUT && !d.set)
		code = EXIT_FAILED;
	else if (code != EXIT_OK && d.set)
		code = d.code == EXIT_INPUT ? EXIT_INPUT : EXIT_FAILED;
	free(todo);
	if (d.set) {
		d.code = code;
		*err = d;
	} else {
		diag_release(&d);
	}
	return code;
}

int rollback_run(struct deploy_ctx *dc, struct diag *err)
{
	struct diag d = DIAG_INIT;
	const struct plan *plan = dc->s.plan;
	int code = EXIT_OK, did = 0;

	if (!dc->o->all && !dc->o->args.nr) {
		diag_err(err, "name the services to roll back, or --all");
		return EXIT_INPUT;
	}
	if (dc->o->all && dc->o->args.nr) {
		diag_err(err, "give service names or --all, not both");
		return EXIT_INPUT;
	}
	for (size_t i = 0; i < dc->o->args.nr; i++)
		if (!plan_service(plan, dc->o->args.v[i])) {
			diag_err(err, "'%s' is not a service with a connection in the plan",
				 dc->o->args.v[i]);
			return EXIT_INPUT;
		}
	for (size_t i = 0; i < dc->o->args.nr; i++)
		if (deploy_merged_role(dc, dc->o->args.v[i]) &&
		    !(journal_get(dc->j, dc->o->args.v[i], 0) &&
		      journal_get(dc->j, dc->o->args.v[i], 0)->in_override)) {
			fprintf(stderr, "dsnflip: %s: the checkout itself holds the flip (the branch was "
					"merged): revert the merge and run 'docker compose up -d %s'\n",
				dc->o->args.v[i], dc->o->args.v[i]);
			code = EXIT_FAILED;
		}
	catch_signals(dc);
	dc->j->operation = (free(dc->j->operation), xstrdup("rollback"));
	/* A rollback ends any rollout a crash left behind: --resume will not re-flip. */
	dc->j->active = 0;
	/* Reverse plan order: the last switched goes back first. */
	for (size_t k = plan->norder; k-- > 0;) {
		const char *name = plan->order[k];
		struct journal_service *js = journal_get(dc->j, name, 0);
		if (dc->o->args.nr && !in_args(dc->o, name))
			continue;
		if (!js)
			continue;
		/* "failed": a flip whose own rollback did not finish (compose refused,
		 * say); the container may still run on the new DSN, so it goes back too. */
		int switched = js->in_override || js->state == JS_IN_FLIGHT ||
			       js->state == JS_ROLLING_BACK || js->state == JS_FLIPPED ||
			       js->state == JS_FAILED;
		if (!switched) {
			if (dc->o->args.nr)
				deploy_say(dc, "%s is not switched (%s): nothing to roll back", name, journal_state_name(js->state));
			continue;
		}
		const struct plan_service *ps = plan_service(plan, name);
		long long t0 = deploy_real_ms(), healthy = 0;
		if (deploy_merged_role(dc, name) && !js->in_override) {
			fprintf(stderr, "dsnflip: %s: the checkout itself holds the flip (the branch was merged): "
					"revert the merge and run 'docker compose up -d %s'\n", name, name);
			code = EXIT_FAILED;
			continue;
		}
		deploy_say(dc, "rolling %s back to its old DSN", name);
		if (rollback_one(dc, ps, js, &healthy, &d)) {
			code = EXIT_FAILED;
			fprintf(stderr, "dsnflip: %s\n", d.msg.buf);
			diag_release(&d);
			continue;
		}
		did++;
		deploy_say(dc, "  %s is healthy on its old DSN (%.1f s)", name, (healthy - t0) / 1000.0);
		if (deploy_signalled(dc)) {
			diag_fail(err, "interrupted; the journal says what is left");
			code = EXIT_FAILED;
			break;
		}
	}
	/* Services the journal knows but the order does not (renamed stack): say so. */
	for (size_t i = 0; i < dc->j->n; i++)
		if (dc->j->svcs[i].in_override && !plan_service(plan, dc->j->svcs[i].name))
			fprintf(stderr, "dsnflip: the journal switches '%s', which the stack no longer has\n",
				dc->j->svcs[i].name);
	if (code == EXIT_OK && !did)
		deploy_say(dc, "nothing to roll back");
	if (dc->tty)
		fputs("\r\033[K", stderr);
	diag_release(&d);
	return code;
}

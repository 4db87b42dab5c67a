/*
 * test_journal: the deploy journal (atomic rewrite, round trip, unfinished
 * work), the one-deploy-at-a-time lock (refused with who and since when,
 * stale lock taken over), and the state directory rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "running/journal.h"

static char *tmpdir(void)
{
	char *t = xstrdup("/tmp/dsnflip-test-journal.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void rmrf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = xstrfmt("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void test_roundtrip(void **state)
{
	char *dir = tmpdir();
	struct journal *j = NULL;
	struct diag d = DIAG_INIT;
	char *const env[] = { NULL };

	assert_int_equal(journal_load(dir, env, &j, &d), 0);
	assert_int_equal(j->n, 0);
	struct journal_service *s = journal_get(j, "worker", 1);
	s->role = xstrdup("worker_app");
	s->in_override = 1;
	strvec_push(&j->rollout, "worker");
	j->active = 1;
	assert_int_equal(journal_step(j, s, JS_IN_FLIGHT, "recreate", &d), 0);
	assert_true(journal_unfinished(j));
	journal_free(j);

	struct stat st;
	char *path = xstrfmt("%s/journal.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(journal_load(dir, env, &j, &d), 0);
	s = journal_get(j, "worker", 0);
	assert_non_null(s);
	assert_string_equal(journal_state_name(s->state), "in_flight");
	assert_string_equal(s->step, "recreate");
	assert_string_equal(s->role, "worker_app");
	assert_int_equal(s->in_override, 1);
	assert_int_equal(j->active, 1);
	assert_int_equal(j->rollout.nr, 1);
	assert_true(journal_unfinished(j));
	assert_int_equal(journal_step(j, s, JS_FLIPPED, "done", &d), 0);
	assert_false(journal_unfinished(j));
	journal_free(j);
	/* No temp file is left behind. */
	DIR *dd = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(dd)))
		if (e->d_name[0] != '.')
			files++;
	closedir(dd);
	assert_int_equal(files, 1);
	free(path);
	rmrf(dir);
	free(dir);
	diag_release(&d);
}

static void test_torn_journal_is_an_error(void **state)
{
	char *dir = tmpdir();
	struct journal *j = NULL;
	struct diag d = DIAG_INIT;
	char *path = xstrfmt("%s/journal.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"services\": [", f);
	fclose(f);
	assert_int_equal(journal_load(dir, NULL, &j, &d), -1);
	assert_non_null(strstr(d.msg.buf, "does not parse"));
	free(path);
	rmrf(dir);
	free(dir);
	diag_release(&d);
}

/* The fault seam fires after the step is on disk. */
static void test_fault_after_write(void **state)
{
	char *dir = tmpdir();
	char *const env[] = { "DSNFLIP_FAULT=override@web", NULL };
	pid_t pid = fork();
	if (pid == 0) {
		struct journal *j = NULL;
		struct diag d = DIAG_INIT;
		if (journal_load(dir, env, &j, &d))
			_exit(1);
		struct journal_service *s = journal_get(j, "web", 1);
		journal_step(j, s, JS_IN_FLIGHT, "begin", &d);
		journal_step(j, s, JS_UNCHANGED, "override", &d);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 137);
	struct journal *j = NULL;
	struct diag d = DIAG_INIT;
	assert_int_equal(journal_load(dir, NULL, &j, &d), 0);
	assert_string_equal(journal_get(j, "web", 0)->step, "override");
	journal_free(j);
	rmrf(dir);
	free(dir);
	diag_release(&d);
}

static void test_lock_refused_then_stale(void **state)
{
	char *dir = tmpdir();
	struct lock a = LOCK_INIT, b = LOCK_INIT;
	struct buf note = BUF_INIT;
	struct diag d = DIAG_INIT;

	assert_int_equal(lock_acquire(&a, dir, "deploy", &note, &d), 0);
	assert_int_equal(note.len, 0);
	/* Held by a live process (us): refused, naming who and since when. */
	assert_int_equal(lock_acquire(&b, dir, "deploy", &note, &d), -1);
	assert_non_null(strstr(d.msg.buf, "another 'deploy' is running: pid"));
	assert_non_null(strstr(d.msg.buf, " since "));
	assert_non_null(strstr(d.msg.buf, "@"));
	lock_release(&b);
	lock_release(&a);
	diag_release(&d);

	/* A lock left by a process that is gone is taken over, with a note. */
	pid_t pid = fork();
	if (pid == 0) {
		struct lock c = LOCK_INIT;
		struct buf n2 = BUF_INIT;
		struct diag d2 = DIAG_INIT;
		_exit(lock_acquire(&c, dir, "rollback", &n2, &d2) ? 1 : 0); /* no release: "killed" */
	}
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	d = (struct diag)DIAG_INIT;
	assert_int_equal(lock_acquire(&a, dir, "deploy", &note, &d), 0);
	assert_non_null(strstr(note.buf, "took over a stale lock"));
	assert_non_null(strstr(note.buf, "'rollback'"));
	lock_release(&a);
	buf_release(&note);
	diag_release(&d);
	rmrf(dir);
	free(dir);
}

static void test_state_dir(void **state)
{
	char *const xdg[] = { "XDG_STATE_HOME=/srv/state", "HOME=/home/u", NULL };
	char *const home[] = { "HOME=/home/u", NULL };
	char *s = state_dir("shop", xdg);
	assert_string_equal(s, "/srv/state/dsnflip/shop");
	free(s);
	s = state_dir("shop", home);
	assert_string_equal(s, "/home/u/.local/state/dsnflip/shop");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_torn_journal_is_an_error),
		cmocka_unit_test(test_fault_after_write),
		cmocka_unit_test(test_lock_refused_then_stale),
		cmocka_unit_test(test_state_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests for secrets: where the file lives, what a generated password looks
 * like, that it is generated once and reused, that saving is atomic and
 * private (0600 file, 0700 directories, no temp file left behind), and that
 * a file others can read is refused without its content being quoted.
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
#include <unistd.h>

#include "artifacts/secrets.h"

struct fx {
	char dir[64];
	char path[256];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/dsnflip-test-secrets.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/state/dsnflip/proj/secrets.env", f->dir);
	*state = f;
	return 0;
}

static void rm_rf(const char *p)
{
	struct stat st;
	if (lstat(p, &st))
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(p);
		struct dirent *e;
		while (dir && (e = readdir(dir))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%s", p, e->d_name);
			rm_rf(sub);
		}
		if (dir)
			closedir(dir);
		rmdir(p);
	} else {
		unlink(p);
	}
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rm_rf(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_path_xdg(void **state)
{
	(void)state;
	char *env[] = { "HOME=/home/u", "XDG_STATE_HOME=/st", NULL };
	char *p = secrets_path("fleet", env);
	assert_string_equal(p, "/st/dsnflip/fleet/secrets.env");
	free(p);
}

static void test_path_home(void **state)
{
	(void)state;
	char *env[] = { "HOME=/home/u", "XDG_STATE_HOME=relative/ignored", NULL };
	char *p = secrets_path("fleet", env);
	assert_string_equal(p, "/home/u/.local/state/dsnflip/fleet/secrets.env");
	free(p);
}

/* What the runbook prints: the real XDG_STATE_HOME, else the default as "~". */
static void test_shown_path(void **state)
{
	(void)state;
	char *xdg[] = { "HOME=/home/u", "XDG_STATE_HOME=/srv/state", NULL };
	char *p = secrets_shown_path("fleet", xdg);
	assert_string_equal(p, "/srv/state/dsnflip/fleet/secrets.env");
	free(p);
	char *home[] = { "HOME=/home/u", NULL };
	p = secrets_shown_path("fleet", home);
	assert_string_equal(p, "~/.local/state/dsnflip/fleet/secrets.env");
	free(p);
	char *rel[] = { "HOME=/home/u", "XDG_STATE_HOME=relative", NULL };
	p = secrets_shown_path("a/b", rel);
	assert_string_equal(p, "~/.local/state/dsnflip/a_b/secrets.env");
	free(p);
}

static void test_path_project_cannot_escape(void **state)
{
	(void)state;
	char *env[] = { "XDG_STATE_HOME=/st", NULL };
	char *p = secrets_path("../../etc", env);
	assert_null(strstr(p, "/../"));
	assert_string_equal(p, "/st/dsnflip/.._.._etc/secrets.env");
	free(p);
	p = secrets_path("..", env);
	assert_string_equal(p, "/st/dsnflip/_../secrets.env");
	free(p);
}

static void test_var_name(void **state)
{
	(void)state;
	char *v = secrets_var_name("berth_app");
	assert_string_equal(v, "BERTH_APP_PASSWORD");
	free(v);
	v = secrets_var_name("a-b.c");
	assert_string_equal(v, "A_B_C_PASSWORD");
	free(v);
}

static void test_missing_file_is_empty(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	assert_int_equal(secrets_load(f->path, &s, &d), 0);
	assert_null(secrets_get(s, "x_app"));
	/* Nothing changed: saving writes nothing. */
	assert_int_equal(secrets_save(s, &d), 0);
	assert_int_equal(access(f->path, F_OK), -1);
	secrets_free(s);
}

static int is_hex48(const char *p)
{
	if (strlen(p) != 48)
		return 0;
	for (; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static void test_generate_save_reload(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	int created = -1;
	char first[64], second[64];

	assert_int_equal(secrets_load(f->path, &s, &d), 0);
	assert_int_equal(secrets_ensure(s, "tracksolid_owner", &created, &d), 0);
	assert_int_equal(created, 1);
	assert_true(is_hex48(secrets_get(s, "tracksolid_owner")));
	strcpy(first, secrets_get(s, "tracksolid_owner"));
	assert_int_equal(secrets_ensure(s, "dashboard_app", &created, &d), 0);
	strcpy(second, secrets_get(s, "dashboard_app"));
	assert_string_not_equal(first, second);
	/* Generated once: ensure again keeps it. */
	assert_int_equal(secrets_ensure(s, "tracksolid_owner", &created, &d), 0);
	assert_int_equal(created, 0);
	assert_string_equal(secrets_get(s, "tracksolid_owner"), first);
	assert_int_equal(secrets_save(s, &d), 0);
	secrets_free(s);

	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/state/dsnflip/proj", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(dir, sizeof(dir), "%s/state/dsnflip", f->dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* No temp file left beside it. */
	snprintf(dir, sizeof(dir), "%s/state/dsnflip/proj", f->dir);
	DIR *dp = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			files++;
	closedir(dp);
	assert_int_equal(files, 1);

	s = NULL;
	assert_int_equal(secrets_load(f->path, &s, &d), 0);
	assert_string_equal(secrets_get(s, "tracksolid_owner"), first);
	assert_string_equal(secrets_get(s, "dashboard_app"), second);
	assert_int_equal(secrets_ensure(s, "dashboard_app", &created, &d), 0);
	assert_int_equal(created, 0);
	secrets_free(s);
	diag_release(&d);
}

static void test_refuses_group_readable(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char path[256];
	snprintf(path, sizeof(path), "%s/secrets.env", f->dir);
	write_file(path, "X_APP_PASSWORD=not-a-real-secret\n", 0640);
	assert_int_equal(secrets_load(path, &s, &d), -1);
	assert_null(s);
	assert_non_null(strstr(d.msg.buf, "0640"));
	assert_non_null(strstr(d.msg.buf, "chmod 600"));
	assert_null(strstr(d.msg.buf, "not-a-real-secret"));
	diag_release(&d);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(secrets_load(path, &s, &d), -1);
	diag_release(&d);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(secrets_load(path, &s, &d), 0);
	assert_string_equal(secrets_get(s, "x_app"), "not-a-real-secret");
	secrets_free(s);
}

static void test_refuses_symlink(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char target[256], link[256];
	snprintf(target, sizeof(target), "%s/real", f->dir);
	snprintf(link, sizeof(link), "%s/secrets.env", f->dir);
	write_file(target, "A_PASSWORD=x\n", 0600);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(secrets_load(link, &s, &d), -1);
	assert_non_null(strstr(d.msg.buf, "symbolic link"));
	diag_release(&d);
}

/* A FIFO in place of the secrets file is refused at once, not waited on. */
static void test_refuses_fifo(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char path[256];
	snprintf(path, sizeof(path), "%s/secrets.env", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10); /* a blocking open would hang here: the alarm turns that into a failure */
	assert_int_equal(secrets_load(path, &s, &d), -1);
	alarm(0);
	assert_non_null(strstr(d.msg.buf, "not a regular file"));
	diag_release(&d);
}

static void test_bad_line_not_quoted(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char path[256];
	snprintf(path, sizeof(path), "%s/secrets.env", f->dir);
	write_file(path, "# c\n\nA_PASSWORD=ok\nhunter2 is the password\n", 0600);
	assert_int_equal(secrets_load(path, &s, &d), -1);
	assert_non_null(strstr(d.msg.buf, ":4: not a KEY=VALUE line"));
	assert_null(strstr(d.msg.buf, "hunter2"));
	diag_release(&d);
}

static void test_keeps_other_keys_and_tightens_dir(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char dir[128], path[256];
	snprintf(dir, sizeof(dir), "%s/open", f->dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/secrets.env", dir);
	write_file(path, "OTHER_PASSWORD=keepme\r\n", 0600);
	assert_int_equal(secrets_load(path, &s, &d), 0);
	assert_int_equal(secrets_ensure(s, "new_app", NULL, &d), 0);
	assert_int_equal(secrets_save(s, &d), 0);
	secrets_free(s);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	s = NULL;
	assert_int_equal(secrets_load(path, &s, &d), 0);
	assert_string_equal(secrets_get(s, "other"), "keepme");
	assert_true(is_hex48(secrets_get(s, "new_app")));
	secrets_free(s);
}

/* StrictModes: a state directory (or a parent up to the state base) that
 * someone else owns or can write is refused, for reading and for writing. */
static void test_refuses_untrusted_state_dir(void **state)
{
	struct fx *f = *state;
	struct secrets *s = NULL;
	struct diag d = DIAG_INIT;
	char base[128], dsn[160], proj[192], want[512];
	snprintf(base, sizeof(base), "%s/state", f->dir);
	snprintf(dsn, sizeof(dsn), "%s/dsnflip", base);
	snprintf(proj, sizeof(proj), "%s/proj", dsn);
	assert_int_equal(mkdir(base, 0700), 0);
	assert_int_equal(mkdir(dsn, 0700), 0);
	assert_int_equal(mkdir(proj, 0700), 0);

	/* the state base writable by others (chmod overrides the umask) */
	assert_int_equal(chmod(base, 0777), 0);
	assert_int_equal(secrets_load(f->path, &s, &d), -1);
	snprintf(want, sizeof(want), "state directory '%s' has mode 0777: group or others may write "
		 "it; refusing to use it (chmod go-w '%s', and check what is in it)", base, base);
	assert_string_equal(d.msg.buf, want);
	diag_release(&d);
	assert_int_equal(state_dir_check(proj, &d), -1);
	diag_release(&d);
	assert_int_equal(chmod(base, 0755), 0);

	/* the project directory group-writable */
	assert_int_equal(chmod(proj, 0770), 0);
	assert_int_equal(state_dir_check(proj, &d), -1);
	diag_release(&d);
	assert_int_equal(chmod(proj, 0700), 0);
	assert_int_equal(state_dir_check(proj, &d), 0);

	/* owned by someone else (only root can arrange that here) */
	if (geteuid() == 0) {
		assert_int_equal(chown(dsn, 65534, 65534), 0);
		assert_int_equal(secrets_load(f->path, &s, &d), -1);
		snprintf(want, sizeof(want), "state directory '%s' belongs to uid 65534, not to you "
			 "(uid 0); refusing to use it (anyone who owns it can swap what dsnflip keeps "
			 "there)", dsn);
		assert_string_equal(d.msg.buf, want);
		diag_release(&d);
		assert_int_equal(chown(dsn, 0, 0), 0);
	}
	/* a symlink in place of the project directory */
	assert_int_equal(rmdir(proj), 0);
	assert_int_equal(symlink("/tmp", proj), 0);
	assert_int_equal(state_dir_check(proj, &d), -1);
	diag_release(&d);
	assert_int_equal(unlink(proj), 0);
	assert_int_equal(secrets_load(f->path, &s, &d), 0);
	secrets_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_xdg),
		cmocka_unit_test(test_path_home),
		cmocka_unit_test(test_shown_path),
		cmocka_unit_test(test_path_project_cannot_escape),
		cmocka_unit_test(test_var_name),
		cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generate_save_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_group_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_line_not_quoted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeps_other_keys_and_tightens_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_untrusted_state_dir, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

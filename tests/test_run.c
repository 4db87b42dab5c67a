/*
 * test_run: child processes — argv without a shell, the environment as
 * given (secrets there, never in argv), bounded capture, timeouts that kill
 * the whole process group, exit codes, and the fault seam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/run.h"

static void sh(struct child *c, const char *script)
{
	child_init(c);
	strvec_push(&c->args, "/bin/sh");
	strvec_push(&c->args, "-c");
	strvec_push(&c->args, script);
	strvec_push(&c->env, "PATH=/usr/bin:/bin");
	c->out_mode = c->err_mode = RUN_CAPTURE;
}

static void test_capture_and_exit_code(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	sh(&c, "echo out; echo err >&2; exit 0");
	assert_int_equal(run_command(&c, &d), 0);
	assert_string_equal(c.out.buf, "out\n");
	assert_string_equal(c.err.buf, "err\n");
	child_release(&c);

	sh(&c, "echo why it broke >&2; exit 7");
	assert_int_equal(run_command(&c, &d), -1);
	assert_int_equal(c.exit_code, 7);
	assert_non_null(strstr(d.msg.buf, "exited with code 7"));
	assert_non_null(strstr(d.msg.buf, "why it broke"));
	child_release(&c);
	diag_release(&d);
}

/*
 * A child's stderr quoted in the failure is masked and escaped: no raw
 * control character reaches the terminal, and each of its lines is
 * indented under the message, so none can pass for dsnflip's own line.
 */
static void test_stderr_escaped_and_masked(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	(void)state;
	sh(&c, "printf 'pull failed\033]0;pwned\007\r\ndsnflip: all clear, safe to merge\n"
	       "retry with postgres://app:hunter2@db/app\n' >&2; exit 3");
	assert_int_equal(run_command(&c, &d), -1);
	assert_null(strchr(d.msg.buf, '\033'));
	assert_null(strchr(d.msg.buf, '\007'));
	assert_null(strchr(d.msg.buf, '\r'));
	assert_null(strstr(d.msg.buf, "hunter2"));
	assert_non_null(strstr(d.msg.buf, "\n    pull failed\\x1b]0;pwned\\x07\n"));
	assert_non_null(strstr(d.msg.buf, "\n    dsnflip: all clear"));
	assert_null(strstr(d.msg.buf, "\ndsnflip:"));
	assert_non_null(strstr(d.msg.buf, "postgres://app:****@db/app"));
	child_release(&c);
	diag_release(&d);
}

/* With the default bound, an answer cut at its start fails instead of passing for the whole. */
static void test_cut_answer_fails(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	(void)state;
	/* 300 KiB of container ids, one per line */
	sh(&c, "i=0; while [ $i -lt 4800 ]; do printf '%064d\\n' $i; i=$((i+1)); done");
	assert_int_equal(run_command(&c, &d), -1);
	assert_int_equal(c.out_truncated, 1);
	assert_int_equal(d.code, EXIT_FAILED);
	assert_non_null(strstr(d.msg.buf, "printed more than 262144 bytes"));
	child_release(&c);
	diag_release(&d);
	/* stderr past the bound keeps its tail and is no failure */
	sh(&c, "i=0; while [ $i -lt 4800 ]; do printf '%064d\\n' $i >&2; i=$((i+1)); done; echo ok");
	assert_int_equal(run_command(&c, &d), 0);
	assert_string_equal(c.out.buf, "ok\n");
	child_release(&c);
	diag_release(&d);
}

/* The argv is passed as is: no shell ever sees a value. */
static void test_no_shell(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	child_init(&c);
	strvec_push(&c.args, "printf");
	strvec_push(&c.args, "%s|");
	strvec_push(&c.args, "$(touch /tmp/dsnflip-run-pwned); `id`");
	strvec_push(&c.args, "a b");
	strvec_push(&c.env, "PATH=/usr/bin:/bin");
	c.out_mode = RUN_CAPTURE;
	assert_int_equal(run_command(&c, &d), 0);
	assert_string_equal(c.out.buf, "$(touch /tmp/dsnflip-run-pwned); `id`|a b|");
	assert_int_not_equal(access("/tmp/dsnflip-run-pwned", F_OK), 0);
	child_release(&c);
	diag_release(&d);
}

/* Secrets go in the environment; the described command never shows it. */
static void test_env_not_argv(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	struct buf what = BUF_INIT;
	char *const penv[] = { "PATH=/usr/bin:/bin", "APP_PASSWORD=old", "DSNFLIP_FAULT=x", NULL };
	const char *const drop[] = { "DSNFLIP_FAULT", NULL };
	sh(&c, "printf '%s,%s' \"$APP_PASSWORD\" \"${DSNFLIP_FAULT-unset}\"");
	strvec_clear(&c.env);
	child_env_from(&c, penv, drop);
	child_setenv(&c, "APP_PASSWORD", "s3cret-in-env");
	assert_int_equal(run_command(&c, &d), 0);
	assert_string_equal(c.out.buf, "s3cret-in-env,unset");
	run_describe(&c, &what);
	assert_null(strstr(what.buf, "s3cret"));
	buf_release(&what);
	child_release(&c);
	diag_release(&d);
}

static void test_bounded_capture(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	sh(&c, "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done; echo last");
	c.capture_max = 1000;
	assert_int_equal(run_command(&c, &d), 0);
	assert_true(c.out.len <= 1000);
	assert_int_equal(c.truncated, 1);
	assert_non_null(strstr(c.out.buf, "last\n")); /* the tail is kept */
	child_release(&c);
	diag_release(&d);
}

/* A timeout kills the child and its whole process group. */
static void test_timeout_kills_group(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	long long t0 = run_now_ms();
	sh(&c, "sleep 30 & echo $!; wait");
	c.timeout_ms = 400;
	assert_int_equal(run_command(&c, &d), -1);
	assert_int_equal(c.timed_out, 1);
	assert_true(run_now_ms() - t0 < 5000);
	assert_non_null(strstr(d.msg.buf, "did not finish"));
	pid_t grandchild = (pid_t)atoi(c.out.buf);
	assert_true(grandchild > 0);
	usleep(200 * 1000);
	/* Gone with its group (or a zombie waiting for its new parent to reap it). */
	char path[64], st[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)grandchild);
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(st, 1, sizeof(st) - 1, f);
		st[n] = '\0';
		fclose(f);
		char *p = strrchr(st, ')');
		assert_non_null(p);
		assert_int_equal(p[2], 'Z');
	}
	child_release(&c);
	diag_release(&d);
}

static void test_pipe_stream(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	sh(&c, "echo one; sleep 0.2; echo two");
	c.out_mode = RUN_PIPE;
	assert_int_equal(run_start(&c, &d), 0);
	assert_true(c.out_fd >= 0);
	struct buf got = BUF_INIT;
	long long end = run_now_ms() + 5000;
	char tmp[64];
	while (run_now_ms() < end) {
		ssize_t n = read(c.out_fd, tmp, sizeof(tmp));
		if (n > 0)
			buf_add(&got, tmp, (size_t)n);
		else if (n == 0)
			break;
		else
			usleep(10000);
	}
	assert_string_equal(got.buf, "one\ntwo\n");
	while (!run_poll(&c))
		usleep(10000);
	assert_int_equal(c.exit_code, 0);
	buf_release(&got);
	child_release(&c);
	diag_release(&d);
}

static void test_missing_command(void **state)
{
	struct child c;
	struct diag d = DIAG_INIT;
	child_init(&c);
	strvec_push(&c.args, "dsnflip-no-such-command");
	strvec_push(&c.env, "PATH=/usr/bin:/bin");
	assert_int_equal(run_command(&c, &d), -1);
	assert_non_null(strstr(d.msg.buf, "dsnflip-no-such-command"));
	child_release(&c);
	diag_release(&d);
}

/* DSNFLIP_FAULT=step[@service] ends the process with 137 right there. */
static void test_fault_point(void **state)
{
	char *const none[] = { "DSNFLIP_FAULT=", NULL };
	char *const other[] = { "DSNFLIP_FAULT=watch", NULL };
	char *const svc[] = { "DSNFLIP_FAULT=recreate@worker", NULL };
	run_fault_point(none, "recreate", "worker");
	run_fault_point(other, "recreate", "worker");
	run_fault_point(svc, "recreate", "reader");
	run_fault_point(svc, "recreat", "worker");

	pid_t pid = fork();
	if (pid == 0) {
		run_fault_point(svc, "recreate", "worker");
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 137);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_and_exit_code),
		cmocka_unit_test(test_stderr_escaped_and_masked),
		cmocka_unit_test(test_cut_answer_fails),
		cmocka_unit_test(test_no_shell),
		cmocka_unit_test(test_env_not_argv),
		cmocka_unit_test(test_bounded_capture),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_pipe_stream),
		cmocka_unit_test(test_missing_command),
		cmocka_unit_test(test_fault_point),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

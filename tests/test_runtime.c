/*
 * test_runtime: the failure patterns the log watch matches (the defaults
 * PRODUCT.md names, a config's own, a bad one refused with its text), and
 * the client ports sessions are attributed by (runtime, attrib).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "running/attrib.h"
#include "running/runtime.h"

static void test_failure_patterns(void **state)
{
	struct failpats p;
	struct diag d = DIAG_INIT;
	failpat_init(&p);
	failpat_add_defaults(&p);
	assert_non_null(failpat_match(&p, "FATAL:  password authentication failed for user \"x_app\""));
	assert_non_null(failpat_match(&p, "ERROR: permission denied for table audit_log"));
	assert_non_null(failpat_match(&p, "ERROR:  must be owner of table items"));
	assert_non_null(failpat_match(&p, "FATAL: too many connections for role \"x_app\""));
	assert_non_null(failpat_match(&p, "FATAL:  role \"x_app\" does not exist"));
	assert_null(failpat_match(&p, "connected as x_app"));
	assert_null(failpat_match(&p, "10 rows written"));
	assert_int_equal(failpat_add(&p, "relation .* does not exist", &d), 0);
	assert_string_equal(failpat_match(&p, "ERROR: relation \"t\" does not exist"),
			    "relation .* does not exist");
	assert_int_equal(failpat_add(&p, "broken (", &d), -1);
	assert_non_null(strstr(d.msg.buf, "failure pattern 'broken ('"));
	failpat_release(&p);
	diag_release(&d);
}

struct seen {
	int lines, hits;
	size_t longest;
};

static void on_piece(void *ctx, const char *line)
{
	struct seen *s = ctx;
	s->lines++;
	if (strstr(line, "password authentication failed"))
		s->hits++;
	if (strlen(line) > s->longest)
		s->longest = strlen(line);
}

/*
 * A log line longer than LOGS_LINE_MAX is still matched whole: the pattern
 * straddling the piece boundary (bytes were dropped past 4096) and one far
 * past it are both seen, and a NUL does not hide what follows it.
 */
static void test_long_log_line(void **state)
{
	(void)state;
	int p[2];
	struct logstream ls;
	struct seen s = { 0, 0, 0 };
	struct buf line = BUF_INIT;
	static const char pat[] = "password authentication failed";

	assert_int_equal(pipe(p), 0);
	memset(&ls, 0, sizeof(ls));
	ls.child.out_fd = p[0];
	ls.child.err_fd = -1;
	ls.open[0] = 1;
	buf_init(&ls.partial[0]);
	buf_init(&ls.partial[1]);
	while (line.len < LOGS_LINE_MAX - 10)
		buf_addch(&line, 'x');
	buf_addstr(&line, pat); /* crosses byte 4096 */
	while (line.len < 3 * LOGS_LINE_MAX)
		buf_addch(&line, 'y');
	buf_addstr(&line, "FATAL: ");
	buf_addstr(&line, pat);
	buf_addstr(&line, "\n");
	assert_int_equal(write(p[1], line.buf, line.len), (ssize_t)line.len);
	/* a NUL in the middle of a short line */
	assert_int_equal(write(p[1], "boot\0FATAL: password authentication failed for user x\n", 55), 55);
	close(p[1]);
	for (int k = 0; k < 50 && ls.open[0]; k++)
		logstream_poll(&ls, 20, on_piece, &s);
	assert_true(s.hits >= 3);
	assert_true(s.longest <= LOGS_LINE_MAX);
	close(p[0]);
	buf_release(&ls.partial[0]);
	buf_release(&ls.partial[1]);
	buf_release(&line);
}

/* A loopback connection of this process: the listener's port, the client's port. */
static void connect_self(int *lfd, int *cfd, int *lport, int *cport)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t n = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(*lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(*lfd, 1), 0);
	assert_int_equal(getsockname(*lfd, (struct sockaddr *)&a, &n), 0);
	*lport = ntohs(a.sin_port);
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(*cfd, (struct sockaddr *)&a, sizeof(a)), 0);
	n = sizeof(a);
	assert_int_equal(getsockname(*cfd, (struct sockaddr *)&a, &n), 0);
	*cport = ntohs(a.sin_port);
}

/*
 * Client ports: matched against every server port given (a published
 * port and the DSN's differ); a process whose sockets cannot be read is
 * -2 ("none" is not known), not "no connections".
 */
static void test_client_ports(void **state)
{
	int lfd, cfd, lport, cport, *ports = NULL;
	size_t n = 0;
	connect_self(&lfd, &cfd, &lport, &cport);
	/* This process stands for a container: its "id" is its own longest
	 * cgroup line (the most particular to it), which the process scan finds
	 * in /proc/PID/cgroup. */
	struct container ct = { .running = 1, .pid = getpid() };
	FILE *cg = fopen("/proc/self/cgroup", "re");
	char line[256];
	assert_non_null(cg);
	while (fgets(line, sizeof(line), cg)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) > strlen(ct.id) && strlen(line) < sizeof(ct.id))
			snprintf(ct.id, sizeof(ct.id), "%s", line);
	}
	fclose(cg);
	assert_true(ct.id[0]);

	int one[] = { 1 }, both[] = { 1, lport };
	assert_int_equal(runtime_client_ports(&ct, one, 1, &ports, &n), 0);
	assert_int_equal(n, 0);
	free(ports);
	assert_int_equal(runtime_client_ports(&ct, both, 2, &ports, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ports[0], cport);
	free(ports);

	/* A PID that is not in the container's cgroup is not read as its main
	 * process (a reused PID, another PID namespace). */
	struct container other = ct;
	snprintf(other.id, sizeof(other.id), "no-such-cgroup-0123456789");
	assert_int_equal(runtime_client_ports(&other, both, 2, &ports, &n), -2);
	free(ports);

	/* A main process that is gone: the container is stopping, it holds no
	 * session (as one that is not running), not "cannot read". */
	pid_t child = fork();
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	struct container gone = { .running = 1, .pid = child };
	snprintf(gone.id, sizeof(gone.id), "gonecontainer0");
	assert_int_equal(runtime_client_ports(&gone, both, 2, &ports, &n), -1);
	free(ports);
	/* A Swarm task on another node: its pid is that host's, never read here. */
	struct container elsewhere = { .running = 1, .remote = 1, .pid = getpid() };
	snprintf(elsewhere.id, sizeof(elsewhere.id), "task0000remote");
	snprintf(elsewhere.node, sizeof(elsewhere.node), "node2abcdefghijk");
	assert_int_equal(runtime_client_ports(&elsewhere, both, 2, &ports, &n), -2);
	free(ports);
	struct container stopped = { .running = 0 };
	assert_int_equal(runtime_client_ports(&stopped, both, 2, &ports, &n), -1);
	free(ports);

	/* attrib: the session is the service's; the unreadable one is named. */
	struct attrib at = ATTRIB_INIT;
	at.server_ports = xcalloc(2, sizeof(int));
	at.server_ports[0] = 1;
	at.server_ports[1] = lport;
	at.nserver_ports = 2;
	at.cts = xcalloc(3, sizeof(*at.cts));
	at.cts[0].service = xstrdup("web");
	at.cts[0].ct = ct;
	at.cts[1].service = xstrdup("worker");
	at.cts[1].ct = other;
	at.cts[2].service = xstrdup("api");
	at.cts[2].ct = elsewhere;
	at.ncts = at.cts_alloc = 3;
	/* Once may be a container caught mid-stop: only the remote task yet. */
	attrib_refresh(&at);
	assert_int_equal(at.unreadable.nr, 1);
	attrib_refresh(&at);
	const char *cid = NULL;
	assert_string_equal(attrib_service(&at, cport, &cid), "web");
	assert_string_equal(cid, ct.id);
	assert_int_equal(at.unreadable.nr, 2);
	assert_string_equal(at.unreadable.v[0], "worker (container no-such-cgro)");
	assert_string_equal(at.unreadable.v[1], "api (task task0000remo, on node node2abcdefg, not this one)");
	attrib_release(&at);
	close(cfd);
	close(lfd);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_patterns),
		cmocka_unit_test(test_long_log_line),
		cmocka_unit_test(test_client_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

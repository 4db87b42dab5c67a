/*
 * roles-writer: the concurrent writer of bench/roles-bench.sh.
 *
 * Inserts one row at a time into a random table app<i%4>.t_<i> (1..TABLES),
 * autocommit, as the connection string says (the superuser, as the apps
 * still are while roles are applied), until SIGTERM or MAX_SECONDS, then
 * writes one line per insert to LOG: "<start epoch us> <latency us>".
 * Every insert is kept (a stall that ends after the signal is still timed to
 * its end), and the log is written only after the loop, so stopping the
 * writer never loses the slowest inserts (pgbench's per-transaction log is
 * buffered and dropped on SIGINT).
 *
 * usage: roles-writer CONNINFO TABLES MAX_SECONDS LOG
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: roles-writer CONNINFO TABLES MAX_SECONDS LOG\n");
		return 2;
	}
	int tables = atoi(argv[2]);
	long long deadline = now_us() + atoll(argv[3]) * 1000000LL;
	PGconn *c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "roles-writer: %s", PQerrorMessage(c));
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	srand((unsigned)(now_us() ^ (long long)getpid()));
	size_t n = 0, alloc = 1 << 16;
	long long *rec = malloc(alloc * 2 * sizeof(*rec));
	char sql[160];
	int errors = 0;
	while (!stop && now_us() < deadline && rec) {
		int t = 1 + rand() % tables;
		snprintf(sql, sizeof(sql), "INSERT INTO app%d.t_%d (v) VALUES (%d)", t % 4, t, t);
		long long s = now_us();
		PGresult *r = PQexec(c, sql);
		long long e = now_us();
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			errors++;
		PQclear(r);
		if (n == alloc) {
			alloc *= 2;
			rec = realloc(rec, alloc * 2 * sizeof(*rec));
			if (!rec)
				break;
		}
		rec[2 * n] = s;
		rec[2 * n + 1] = e - s;
		n++;
	}
	FILE *fp = fopen(argv[4], "w");
	if (!fp || !rec) {
		fprintf(stderr, "roles-writer: cannot write %s\n", argv[4]);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%lld %lld\n", rec[2 * i], rec[2 * i + 1]);
	fclose(fp);
	free(rec);
	PQfinish(c);
	if (errors)
		fprintf(stderr, "roles-writer: %d inserts failed\n", errors);
	return 0;
}

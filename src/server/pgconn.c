/*
 * pgconn: the admin connection and server errors (see pgconn.h).
 *
 * Everything that talks to libpq goes through here so that three rules hold
 * in one place: a password is never shown (conninfo strings are parsed with
 * libpq and rebuilt with the password masked; the derived admin conninfo is
 * handed to libpq as keyword arrays and never formatted into text), every
 * failure carries the server's SQLSTATE (connection failures included: the
 * connection is started with verbose errors so the FATAL's code can be read
 * back, and a client-side failure such as "connection refused" is reported
 * as 08001, the standard "unable to establish connection"), and every wait
 * on the network is bounded (connect_timeout, default 10 s).
 */
#include "server/pgconn.h"
#include "util/run.h"
#include "plan/admin.h"
#include "util/num.h"
#include "util/mask.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGCONN_DEFAULT_TIMEOUT 10

/* Append v as a key=value value: quoted when it has to be (libpq's rules). */
static void add_kv_value(struct buf *out, const char *v)
{
	int plain = *v != '\0';
	for (const char *p = v; *p && plain; p++)
		if (isspace((unsigned char)*p) || *p == '\'' || *p == '\\' || *p == '=')
			plain = 0;
	if (plain) {
		buf_addstr(out, v);
		return;
	}
	buf_addch(out, '\'');
	for (const char *p = v; *p; p++) {
		if (*p == '\'' || *p == '\\')
			buf_addch(out, '\\');
		buf_addch(out, *p);
	}
	buf_addch(out, '\'');
}

/*
 * Replace every "..." quoted part of a libpq message by "...": a parse
 * error quotes the offending token, which may be (part of) a password.
 */
static void add_unquoted(struct buf *out, const char *msg)
{
	int in = 0;
	for (const char *p = msg; *p; p++) {
		if (*p == '"') {
			buf_addstr(out, in ? "...\"" : "\"");
			in = !in;
		} else if (!in) {
			buf_addch(out, *p);
		}
	}
	if (in)
		buf_addstr(out, "...\"");
}

static void chomp(struct buf *b)
{
	while (b->len && (b->buf[b->len - 1] == '\n' || b->buf[b->len - 1] == ' '))
		buf_setlen(b, b->len - 1);
}

int pgconn_mask_conninfo(const char *conninfo, struct buf *out, struct diag *d)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &err);
	size_t start = out->len;

	if (!opts) {
		struct buf why = BUF_INIT;
		if (err) {
			add_unquoted(&why, err);
			chomp(&why);
		} else {
			buf_addstr(&why, "out of memory");
		}
		PQfreemem(err);
		diag_err(d, "--db: not a libpq connection string (URI or key=value): %s", why.buf);
		buf_release(&why);
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (out->len > start)
			buf_addch(out, ' ');
		buf_addstr(out, o->keyword);
		buf_addch(out, '=');
		/* The one masking rule (util/mask): secret keywords whole, and a
		 * password inside any other value (options, application_name). */
		if (mask_key_is_secret(o->keyword, strlen(o->keyword))) {
			buf_addstr(out, MASK);
		} else {
			struct buf v = BUF_INIT;
			mask_secrets(o->val, &v);
			add_kv_value(out, v.buf ? v.buf : "");
			buf_release(&v);
		}
	}
	PQconninfoFree(opts);
	return 0;
}

/*
 * Split a (verbose) libpq error text into a one-line message and the
 * SQLSTATE it names: "FATAL:  28P01: password ..." becomes "FATAL:  password
 * ..." with state 28P01; LOCATION lines are dropped.
 */
static void clean_error(const char *raw, struct buf *msg, char state[6])
{
	const char *p = raw ? raw : "";
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *t = p;
		while (t < p + n && (*t == ' ' || *t == '\t'))
			t++;
		if (t < p + n && strncmp(t, "LOCATION:", 9)) {
			struct buf line = BUF_INIT;
			buf_add(&line, t, (size_t)(p + n - t));
			static const char *const sev[] = { "FATAL:  ", "ERROR:  ", "PANIC:  " };
			for (size_t s = 0; s < 3; s++) {
				char *at = strstr(line.buf, sev[s]);
				if (!at)
					continue;
				char *code = at + strlen(sev[s]);
				int ok = strlen(code) > 7 && code[5] == ':' && code[6] == ' ';
				for (int i = 0; ok && i < 5; i++)
					ok = isdigit((unsigned char)code[i]) || isupper((unsigned char)code[i]);
				if (ok) {
					if (!state[0]) {
						memcpy(state, code, 5);
						state[5] = '\0';
					}
					memmove(code, code + 7, strlen(code + 7) + 1);
					line.len -= 7;
				}
				break;
			}
			if (msg->len)
				buf_addstr(msg, "; ");
			buf_addstr(msg, line.buf);
			buf_release(&line);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	chomp(msg);
	/*
	 * One attempt: the caller names the target already, so drop libpq's
	 * "connection to server at "h", port p failed: " (kept for several
	 * hosts, where it says which attempt failed how).
	 */
	static const char *const pre[] = { "connection to server at ", "connection to server on socket " };
	for (size_t i = 0; i < 2; i++) {
		char *at = strstr(msg->buf, pre[i]), *f;
		if (at == msg->buf && !strstr(at + 1, pre[i]) && (f = strstr(at, " failed: "))) {
			size_t cut = (size_t)(f - at) + strlen(" failed: ");
			memmove(msg->buf, msg->buf + cut, msg->len - cut + 1);
			msg->len -= cut;
		}
	}
}

/* The connect_timeout libpq resolved for c (conninfo, PGCONNECT_TIMEOUT), or the default. */
static int conn_timeout(PGconn *c)
{
	int t = PGCONN_DEFAULT_TIMEOUT;
	PQconninfoOption *opts = PQconninfo(c);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "connect_timeout") && o->val && *o->val) {
			/* Not a number: libpq refuses the connection itself, with its own message. */
			if (num_parse_int(o->val, INT_MIN, INT_MAX, &t) || t <= 0)
				t = PGCONN_DEFAULT_TIMEOUT;
			else if (t < 2)
				t = 2; /* as libpq: one second is too short to mean anything */
		}
	PQconninfoFree(opts);
	return t;
}

/*
 * Connect with keyword arrays, bounded in time.  Returns 0 and *out, or -1
 * with d naming shown (the masked target) and the SQLSTATE.
 */
static int connect_params(const char *const *kw, const char *const *val, int expand,
			  const char *shown, PGconn **out, struct diag *d)
{
	PGconn *c = PQconnectStartParams(kw, val, expand);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int timed_out = 0;

	if (!c)
		return diag_fail(d, "cannot connect to %s: out of memory", shown);
	if (PQstatus(c) != CONNECTION_BAD) {
		PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
		long long deadline = run_now_ms() + 1000L * conn_timeout(c);
		while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
			long left = deadline - run_now_ms();
			struct pollfd pfd = { PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };
			if (left <= 0) {
				timed_out = 1;
				break;
			}
			int r = poll(&pfd, 1, (int)left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0) {
				timed_out = 1;
				break;
			}
			st = PQconnectPoll(c);
		}
	}
	if (!timed_out && PQstatus(c) == CONNECTION_OK) {
		PQsetErrorVerbosity(c, PQERRORS_DEFAULT);
		*out = c;
		return 0;
	}
	struct buf msg = BUF_INIT;
	char state[6] = "";
	if (timed_out)
		buf_addstr(&msg, "timeout expired");
	else
		clean_error(PQerrorMessage(c), &msg, state);
	diag_fail(d, "cannot connect to %s: %s (SQLSTATE %s)", shown, msg.len ? msg.buf : "unknown error",
		  state[0] ? state : "08001");
	buf_release(&msg);
	PQfinish(c);
	return -1;
}

/*
 * Pin what every statement dsnflip sends relies on, whatever the server,
 * database or role defaults say: standard_conforming_strings=on (a
 * backslash inside '...' is an ordinary character, so no quoted value can
 * end its literal early), a search_path of pg_catalog then pg_temp (an
 * object a database owner creates in another schema, or a temporary one,
 * can never stand in for a catalog table, function or operator a superuser
 * session calls unqualified), and UTF8 (what names in the stack and the
 * config are).  libpq reads the first and the last back from the server's
 * ParameterStatus, so PQescapeLiteral and PQescapeIdentifier follow them;
 * the check below is that the server really took them.
 */
static int pin_session(PGconn *c, const char *shown, struct diag *d)
{
	PGresult *res = PQexec(c, "SET standard_conforming_strings = on; "
				  "SET search_path = pg_catalog, pg_temp; SET client_encoding = 'UTF8'");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	const char *scs = PQparameterStatus(c, "standard_conforming_strings");
	const char *enc = PQparameterStatus(c, "client_encoding");
	if (ok && scs && !strcmp(scs, "on") && enc && !strcmp(enc, "UTF8"))
		return 0;
	diag_fail(d, "cannot connect to %s: the session would not take standard_conforming_strings=on, "
		  "search_path=pg_catalog, pg_temp and client_encoding=UTF8, which every statement dsnflip "
		  "sends relies on (SQLSTATE 0A000)", shown);
	return -1;
}

/* Fill pc->shown with the effective target, never the password. */
static void describe(struct pgconn *pc)
{
	struct buf b = BUF_INIT;
	const char *host = PQhost(pc->conn);
	buf_addstr(&b, "host=");
	add_kv_value(&b, host && *host ? host : "(default)");
	buf_addf(&b, " port=%s user=", PQport(pc->conn));
	add_kv_value(&b, PQuser(pc->conn));
	buf_addstr(&b, " dbname=");
	add_kv_value(&b, PQdb(pc->conn));
	free(pc->shown);
	pc->shown = buf_detach(&b, NULL);
	pc->server_version = PQserverVersion(pc->conn);
}

int pgconn_open(struct pgconn *pc, const char *conninfo, const struct admin_conninfo *derived,
		struct diag *d)
{
	struct buf shown = BUF_INIT;
	int r;

	memset(pc, 0, sizeof(*pc));
	if (!conninfo && derived && derived->host) {
		const struct admin_conninfo dv = *derived;
		const char *kw[] = { "fallback_application_name", "host", "port", "user", "password",
				     "dbname", NULL };
		const char *val[] = { "dsnflip", dv.host, dv.port, dv.user, dv.password, dv.dbname, NULL };
		buf_addf(&shown, "host=%s port=%s user=", dv.host, dv.port);
		add_kv_value(&shown, dv.user);
		buf_addstr(&shown, " dbname=");
		add_kv_value(&shown, dv.dbname);
		buf_addf(&shown, " (%s)", dv.how);
		r = connect_params(kw, val, 0, shown.buf, &pc->conn, d);
		if (!r)
			pc->derived = xstrdup(dv.how);
	} else {
		const char *ci = conninfo ? conninfo : "";
		const char *kw[] = { "fallback_application_name", "dbname", NULL };
		const char *val[] = { "dsnflip", ci, NULL };
		if (pgconn_mask_conninfo(ci, &shown, d)) {
			buf_release(&shown);
			return -1;
		}
		if (!shown.len)
			buf_addstr(&shown, "the libpq defaults (PG* variables)");
		r = connect_params(kw, val, 1, shown.buf, &pc->conn, d);
	}
	if (!r && (r = pin_session(pc->conn, shown.buf, d))) {
		PQfinish(pc->conn);
		pc->conn = NULL;
		free(pc->derived);
		pc->derived = NULL;
	}
	buf_release(&shown);
	if (r)
		return -1;
	describe(pc);
	return 0;
}

int pgconn_open_db(struct pgconn *out, const struct pgconn *admin, const char *dbname, struct diag *d)
{
	PQconninfoOption *opts = PQconninfo(admin->conn);
	size_t n = 0, k = 0;
	struct buf shown = BUF_INIT;
	int r;

	memset(out, 0, sizeof(*out));
	if (!opts)
		return diag_fail(d, "cannot connect to database '%s': out of memory", dbname);
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	const char **kw = xcalloc(n + 2, sizeof(*kw));
	const char **val = xcalloc(n + 2, sizeof(*val));
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !strcmp(o->keyword, "dbname"))
			continue;
		kw[k] = o->keyword;
		val[k++] = o->val;
	}
	kw[k] = "dbname";
	val[k++] = dbname;
	buf_addf(&shown, "database '%s' on host=%s port=%s user=%s", dbname, PQhost(admin->conn),
		 PQport(admin->conn), PQuser(admin->conn));
	r = connect_params(kw, val, 0, shown.buf, &out->conn, d);
	if (!r && (r = pin_session(out->conn, shown.buf, d))) {
		PQfinish(out->conn);
		out->conn = NULL;
	}
	free(kw);
	free(val);
	PQconninfoFree(opts);
	buf_release(&shown);
	if (r)
		return -1;
	if (admin->derived)
		out->derived = xstrdup(admin->derived);
	describe(out);
	return 0;
}

int pgconn_port(const struct pgconn *pc)
{
	int port = 5432;
	const char *p = pc->conn ? PQport(pc->conn) : NULL;
	if (p && *p && num_parse_int(p, 1, 65535, &port) != NUM_OK)
		port = 5432;
	return port;
}

void pgconn_close(struct pgconn *pc)
{
	if (pc->conn)
		PQfinish(pc->conn);
	free(pc->shown);
	free(pc->derived);
	memset(pc, 0, sizeof(*pc));
}

const char *pg_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

/* Turn a failed result (or none) into "what: MESSAGE (SQLSTATE x)"; clears res. */
static int result_error(struct pgconn *pc, PGresult *res, const char *what, struct diag *d)
{
	struct buf msg = BUF_INIT;
	char st[6] = "";
	const char *state = pg_sqlstate(res);
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (primary) {
		buf_addstr(&msg, primary);
		const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		if (detail)
			buf_addf(&msg, " (%s)", detail);
	} else {
		const char *raw = res ? PQresultErrorMessage(res) : "";
		clean_error(*raw ? raw : PQerrorMessage(pc->conn), &msg, st);
		if (!*state)
			state = st[0] ? st : PQstatus(pc->conn) == CONNECTION_BAD ? "08006" : "";
	}
	if (!msg.len)
		buf_addstr(&msg, res ? PQresStatus(PQresultStatus(res)) : "no result");
	if (*state)
		diag_fail(d, "%s%s%s (SQLSTATE %s)", what ? what : "", what ? ": " : "", msg.buf, state);
	else
		diag_fail(d, "%s%s%s", what ? what : "", what ? ": " : "", msg.buf);
	buf_release(&msg);
	PQclear(res);
	return -1;
}

int pg_result_error(struct pgconn *pc, PGresult *res, const char *what, struct diag *d)
{
	return result_error(pc, res, what, d);
}

static int finish(struct pgconn *pc, PGresult *res, const char *what, PGresult **out, struct diag *d)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return result_error(pc, res, what, d);
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int pg_exec(struct pgconn *pc, const char *sql, const char *what, PGresult **out, struct diag *d)
{
	return finish(pc, PQexec(pc->conn, sql), what, out, d);
}

int pg_execp(struct pgconn *pc, const char *sql, int nparams, const char *const *params,
	     const char *what, PGresult **out, struct diag *d)
{
	return finish(pc, PQexecParams(pc->conn, sql, nparams, NULL, params, NULL, NULL, 0), what, out, d);
}

static int quote(struct pgconn *pc, const char *s, int ident, struct buf *out, struct diag *d)
{
	char *q = ident ? PQescapeIdentifier(pc->conn, s, strlen(s)) : PQescapeLiteral(pc->conn, s, strlen(s));
	if (!q) {
		struct buf msg = BUF_INIT;
		char st[6] = "";
		clean_error(PQerrorMessage(pc->conn), &msg, st);
		diag_fail(d, "cannot quote %s: %s", ident ? "an identifier" : "a literal",
			  msg.len ? msg.buf : "invalid encoding");
		buf_release(&msg);
		return -1;
	}
	buf_addstr(out, q);
	PQfreemem(q);
	return 0;
}

int pg_quote_ident(struct pgconn *pc, const char *ident, struct buf *out, struct diag *d)
{
	return quote(pc, ident, 1, out, d);
}

int pg_quote_literal(struct pgconn *pc, const char *lit, struct buf *out, struct diag *d)
{
	return quote(pc, lit, 0, out, d);
}

/*
 * dsn: PostgreSQL connection strings (see dsn.h for the contract).
 *
 * One parser serves both dsn_parse and dsn_rewrite.  Besides filling a
 * struct dsn it records every place a user or password is written (an
 * "occurrence": userinfo field, query value or KV value token) and where the
 * form would take a new one, so the rewrite is a list of byte edits applied
 * to the original text; nothing is ever re-serialised.
 *
 * Where clients disagree, the rules are libpq's, except:
 *  - the userinfo ends at the last '@' of the authority (as in most URL
 *    parsers), and when the authority has none but the path does, at that
 *    one: an unencoded '@' or '/' in a password then still finds the user;
 *  - query values may contain '=' (libpq rejects them; drivers accept them);
 *  - JDBC follows pgjdbc: '+' decodes to a space in the path and query, and
 *    a query key without '=' has the value "".
 */
#include "detect/dsn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* libpq's connection keywords (PostgreSQL 18); anything else is not KV. */
static const char *const kv_keywords[] = {
	"application_name", "channel_binding", "client_encoding",
	"connect_timeout", "dbname", "fallback_application_name", "gssdelegation",
	"gssencmode", "gsslib", "host", "hostaddr", "keepalives",
	"keepalives_count", "keepalives_idle", "keepalives_interval",
	"krbsrvname", "load_balance_hosts", "max_protocol_version",
	"min_protocol_version", "oauth_client_id", "oauth_client_secret",
	"oauth_issuer", "oauth_scope", "options", "passfile", "password",
	"port", "replication", "require_auth", "requirepeer", "scram_client_key",
	"scram_server_key", "service", "ssl_max_protocol_version",
	"ssl_min_protocol_version", "sslcert", "sslcertmode", "sslcompression",
	"sslcrl", "sslcrldir", "sslkey", "sslkeylogfile", "sslmode",
	"sslnegotiation", "sslpassword", "sslrootcert", "sslsni",
	"target_session_attrs", "tcp_user_timeout", "user",
};

#define JDBC_PREFIX "jdbc:postgresql:"
#define JDBC_PREFIX_LEN 16

enum where { W_USERINFO, W_QUERY, W_KV };

/* One place a user or password value is written. */
struct occ {
	int is_password;
	enum where where;
	size_t key;        /* start of "key=" (query, KV) */
	size_t start, end; /* the value as written; KV includes the quotes */
	int quoted;        /* KV value in single quotes */
	char *value;       /* decoded */
};

struct parser {
	const char *s;
	size_t len;
	struct diag *d;
	struct dsn dsn; /* being built */
	size_t params_alloc;
	int jdbc;

	struct occ *occ;
	size_t nocc, occ_alloc;

	/* Host and port lists, zipped into dsn.hosts at the end. */
	struct strvec hostv, hostaddrv;
	int *portv;
	size_t nportv, portv_alloc;
	size_t port_off; /* where the port list was given, for errors */

	/* Layout, for inserting a missing user or password. */
	size_t userinfo_at; /* URI: just after "//" */
	int has_query;
	size_t query_start; /* just after the '?' */
	/*
	 * KV: the last token.  When its value is unquoted and empty or ends in
	 * a lone backslash, text appended after it would be read as part of
	 * it, so additions go in front of it instead.
	 */
	size_t kv_end, kv_last_key, kv_last_value;
	int kv_last_open;
};

static int is_ws(char c)
{
	return isspace((unsigned char)c);
}

/*
 * If s[i] starts a compose "$$" escape or a complete ${...} reference
 * before end, return the index after it, else i.  Braces nest as in
 * compose; a reference does not cross a newline.
 */
static size_t ref_skip(const char *s, size_t i, size_t end)
{
	size_t j;
	int depth = 1;

	if (s[i] != '$' || i + 1 >= end)
		return i;
	if (s[i + 1] == '$')
		return i + 2;
	if (s[i + 1] != '{')
		return i;
	for (j = i + 2; j < end; j++) {
		if (s[j] == '\n')
			return i;
		if (s[j] == '{')
			depth++;
		else if (s[j] == '}' && --depth == 0)
			return j + 1;
	}
	return i;
}

/* First index in [i, end) holding one of stops, outside references; else end. */
static size_t scan_to(const char *s, size_t i, size_t end, const char *stops)
{
	while (i < end) {
		size_t j = ref_skip(s, i, end);
		if (j != i) {
			i = j;
			continue;
		}
		if (strchr(stops, s[i]))
			return i;
		i++;
	}
	return end;
}

/* Last index in [i, end) holding c, outside references; else end. */
static size_t scan_last(const char *s, size_t i, size_t end, char c)
{
	size_t found = end;

	while (i < end) {
		size_t j = ref_skip(s, i, end);
		if (j != i) {
			i = j;
			continue;
		}
		if (s[i] == c)
			found = i;
		i++;
	}
	return found;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode s[start, end) into *out (caller frees), keeping references
 * as written; '+' becomes ' ' when plus_space.  what names the field in the
 * error ("the password"), never its text.
 */
static int decode(struct parser *p, size_t start, size_t end, int plus_space,
		  const char *what, char **out)
{
	const char *s = p->s;
	struct buf b = BUF_INIT;
	size_t i = start;

	while (i < end) {
		size_t j = ref_skip(s, i, end);
		if (j != i) {
			buf_add(&b, s + i, j - i);
			i = j;
			continue;
		}
		if (s[i] == '%') {
			int hi = i + 2 < end ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < end ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				buf_release(&b);
				return diag_err(p->d, "bad percent-encoding in %s at offset %zu",
						what, i + 1);
			}
			if (!hi && !lo) {
				buf_release(&b);
				return diag_err(p->d, "forbidden %%00 in %s at offset %zu",
						what, i + 1);
			}
			buf_addch(&b, hi * 16 + lo);
			i += 3;
		} else {
			buf_addch(&b, plus_space && s[i] == '+' ? ' ' : s[i]);
			i++;
		}
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/*
 * Parse one port t[0, n) found at offset off: 1..65535, or a whole ${...}
 * reference (-1).  The text is not quoted in the error: after a misplaced
 * '@' or '?' it may be part of a password.
 */
static int port_value(struct parser *p, const char *t, size_t n, size_t off, int *out)
{
	long v = 0;
	size_t i;

	if (n > 2 && t[0] == '$' && t[1] == '{' && ref_skip(t, 0, n) == n) {
		*out = -1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)t[i])) {
			v = 0;
			break;
		}
		if (v <= 65535)
			v = v * 10 + (t[i] - '0');
	}
	if (!n || v < 1 || v > 65535)
		return diag_err(p->d, "bad port at offset %zu: expected a number from 1 to 65535",
				off + 1);
	*out = (int)v;
	return 0;
}

static void push_port(struct parser *p, int port)
{
	ALLOC_GROW(p->portv, p->nportv + 1, p->portv_alloc);
	p->portv[p->nportv++] = port;
}

/* Replace the port list by the comma-separated decoded value v (given at off). */
static int set_ports(struct parser *p, const char *v, size_t off)
{
	p->nportv = 0;
	p->port_off = off;
	for (;;) {
		size_t n = strcspn(v, ",");
		int port = 0;
		if (n && port_value(p, v, n, off, &port) < 0)
			return -1;
		push_port(p, port);
		if (!v[n])
			return 0;
		v += n + 1;
	}
}

/* Replace a host list by the comma-separated decoded value v. */
static void set_hosts(struct strvec *sv, const char *v)
{
	strvec_clear(sv);
	for (;;) {
		size_t n = strcspn(v, ",");
		char *h = xstrndup(v, n);
		strvec_push(sv, h);
		free(h);
		if (!v[n])
			return;
		v += n + 1;
	}
}

static struct occ *add_occ(struct parser *p, int is_password, enum where where,
			   size_t key, size_t start, size_t end, char *value)
{
	struct occ *o;

	ALLOC_GROW(p->occ, p->nocc + 1, p->occ_alloc);
	o = &p->occ[p->nocc++];
	memset(o, 0, sizeof(*o));
	o->is_password = is_password;
	o->where = where;
	o->key = key;
	o->start = start;
	o->end = end;
	o->value = value;
	return o;
}

static void add_param(struct parser *p, char *key, char *value)
{
	struct dsn *dsn = &p->dsn;

	ALLOC_GROW(dsn->params, dsn->nparams + 1, p->params_alloc);
	dsn->params[dsn->nparams].key = key;
	dsn->params[dsn->nparams].value = value;
	dsn->nparams++;
}

static void set_dbname(struct parser *p, char *v)
{
	free(p->dsn.dbname);
	p->dsn.dbname = v;
}

/* Parse the comma-separated host[:port] list s[a, b). */
static int parse_netloc(struct parser *p, size_t a, size_t b)
{
	const char *s = p->s;
	size_t i = a;

	p->port_off = a;
	for (;;) {
		size_t hs, he;
		int port = 0;
		char *host;

		if (i < b && s[i] == '[') {
			size_t close = scan_to(s, i + 1, b, "]");
			if (close >= b)
				return diag_err(p->d, "missing ']' after IPv6 host at offset %zu", i + 1);
			if (close == i + 1)
				return diag_err(p->d, "empty IPv6 host at offset %zu", i + 1);
			hs = i + 1;
			he = close;
			i = close + 1;
			if (i < b && s[i] != ':' && s[i] != ',')
				return diag_err(p->d, "unexpected character after ']' at offset %zu",
						i + 1);
		} else {
			hs = i;
			i = scan_to(s, i, b, ":,");
			he = i;
		}
		if (decode(p, hs, he, 0, "the host", &host) < 0)
			return -1;
		strvec_push(&p->hostv, host);
		free(host);
		if (i < b && s[i] == ':') {
			size_t ps = ++i;
			i = scan_to(s, ps, b, ",");
			if (i == ps)
				return diag_err(p->d, "missing port at offset %zu", ps + 1);
			if (port_value(p, s + ps, i - ps, ps, &port) < 0)
				return -1;
		}
		push_port(p, port);
		if (i >= b)
			return 0;
		i++; /* the ',' */
	}
}

/* Parse one query parameter s[a, b) (non-empty). */
static int parse_param(struct parser *p, size_t a, size_t b)
{
	const char *s = p->s;
	size_t eq = scan_to(s, a, b, "=");
	size_t vs = eq < b ? eq + 1 : b;
	char *key = NULL, *value = NULL;
	const char *what;
	struct buf wbuf = BUF_INIT;
	int ret = -1;

	if (eq == b && !p->jdbc)
		return diag_err(p->d, "query parameter without '=' at offset %zu", a + 1);
	if (eq == a && !p->jdbc)
		return diag_err(p->d, "query parameter without a name at offset %zu", a + 1);
	if (decode(p, a, eq, p->jdbc, "a query parameter name", &key) < 0)
		return -1;
	/* A bare JDBC "user" or "password" names nothing a rewrite could keep. */
	if (eq == b && (!strcmp(key, "user") || !strcmp(key, "password"))) {
		diag_err(p->d, "query parameter '%s' without '=' at offset %zu", key, a + 1);
		free(key);
		return -1;
	}
	if (!strcmp(key, "user")) {
		what = "the user";
	} else if (!strcmp(key, "password")) {
		what = "the password";
	} else {
		buf_addf(&wbuf, "query parameter '%s'", key);
		what = wbuf.buf;
	}
	if (decode(p, vs, b, p->jdbc, what, &value) < 0)
		goto cleanup;

	if (!strcmp(key, "user") || !strcmp(key, "password")) {
		add_occ(p, key[0] == 'p', W_QUERY, a, vs, b, value);
		value = NULL;
	} else if (!strcmp(key, "dbname") && !p->jdbc) {
		set_dbname(p, value);
		value = NULL;
	} else {
		if (!p->jdbc && !strcmp(key, "host"))
			set_hosts(&p->hostv, value);
		else if (!p->jdbc && !strcmp(key, "hostaddr"))
			set_hosts(&p->hostaddrv, value);
		else if (!p->jdbc && !strcmp(key, "port") && set_ports(p, value, vs) < 0)
			goto cleanup;
		add_param(p, key, value);
		key = value = NULL;
	}
	ret = 0;
cleanup:
	buf_release(&wbuf);
	free(key);
	free(value);
	return ret;
}

/* Parse the query s[a, len): '&'-separated; empty pieces are skipped. */
static int parse_query(struct parser *p, size_t a)
{
	size_t i = a;

	p->has_query = 1;
	p->query_start = a;
	while (i < p->len) {
		size_t amp = scan_to(p->s, i, p->len, "&");
		if (amp > i && parse_param(p, i, amp) < 0)
			return -1;
		i = amp + 1;
	}
	return 0;
}

/* Parse a URI or JDBC URL from just after its "//". */
static int parse_authority_form(struct parser *p, size_t start)
{
	const char *s = p->s;
	size_t len = p->len;
	size_t qpos = scan_to(s, start, len, "?");
	size_t aend = scan_to(s, start, qpos, "/");
	size_t at = scan_last(s, start, aend, '@');
	size_t hstart = start;

	p->userinfo_at = start;
	if (at == aend) {
		/* No '@' before the first '/': an unencoded '/' in a password? */
		size_t at2 = scan_last(s, aend, qpos, '@');
		if (at2 < qpos) {
			at = at2;
			aend = scan_to(s, at, qpos, "/");
		}
	}
	if (at < aend) {
		size_t colon = scan_to(s, start, at, ":");
		char *v;
		if (decode(p, start, colon, 0, "the user", &v) < 0)
			return -1;
		add_occ(p, 0, W_USERINFO, start, start, colon, v);
		if (colon < at) {
			if (decode(p, colon + 1, at, 0, "the password", &v) < 0)
				return -1;
			add_occ(p, 1, W_USERINFO, start, colon + 1, at, v);
		}
		hstart = at + 1;
	}
	if (hstart < aend && parse_netloc(p, hstart, aend) < 0)
		return -1;
	if (aend < qpos && qpos > aend + 1) {
		char *db;
		if (decode(p, aend + 1, qpos, p->jdbc, "the database name", &db) < 0)
			return -1;
		set_dbname(p, db);
	}
	if (qpos < len)
		return parse_query(p, qpos + 1);
	return 0;
}

/* jdbc:postgresql:dbname[?query] */
static int parse_jdbc_short(struct parser *p, size_t start)
{
	size_t qpos = scan_to(p->s, start, p->len, "?");

	if (qpos > start) {
		char *db;
		if (decode(p, start, qpos, 1, "the database name", &db) < 0)
			return -1;
		set_dbname(p, db);
	}
	if (qpos < p->len)
		return parse_query(p, qpos + 1);
	return 0;
}

/* A KV token: key [ws] = [ws] value. */
struct kv_tok {
	size_t kstart, kend, vstart, vend;
	int quoted;
	int open; /* unquoted and empty, or ending in a lone backslash */
};

enum { KV_OK, KV_END, KV_NOKEY, KV_NOEQ, KV_UNTERMINATED };

/*
 * Read the next KV token from *pos, as libpq's conninfo_parse does: a value
 * is single-quoted or runs to whitespace; a backslash escapes the next byte
 * in both.  Returns KV_OK (and advances *pos), KV_END, or an error kind
 * with *pos at the place of the error.
 */
static int kv_next(const char *s, size_t len, size_t *pos, struct kv_tok *t)
{
	size_t i = *pos;

	while (i < len && is_ws(s[i]))
		i++;
	if (i >= len)
		return KV_END;
	t->kstart = i;
	while (i < len && !is_ws(s[i]) && s[i] != '=')
		i++;
	t->kend = i;
	*pos = t->kstart;
	if (t->kend == t->kstart)
		return KV_NOKEY;
	while (i < len && is_ws(s[i]))
		i++;
	if (i >= len || s[i] != '=') {
		*pos = i;
		return KV_NOEQ;
	}
	i++;
	while (i < len && is_ws(s[i]))
		i++;
	t->vstart = i;
	t->open = 0;
	t->quoted = i < len && s[i] == '\'';
	if (t->quoted) {
		i++;
		for (;;) {
			size_t j;
			if (i >= len) {
				*pos = t->vstart;
				return KV_UNTERMINATED;
			}
			if ((j = ref_skip(s, i, len)) != i) {
				i = j;
			} else if (s[i] == '\\') {
				i += 2;
			} else if (s[i] == '\'') {
				i++;
				break;
			} else {
				i++;
			}
		}
	} else {
		t->open = i >= len || is_ws(s[i]);
		while (i < len && !is_ws(s[i])) {
			size_t j = ref_skip(s, i, len);
			if (j != i)
				i = j;
			else if (s[i] != '\\')
				i++;
			else if (i + 1 < len)
				i += 2;
			else {
				t->open = 1; /* a lone backslash at the end */
				i++;
			}
		}
	}
	t->vend = i;
	*pos = i;
	return KV_OK;
}

static int kv_known(const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(kv_keywords) / sizeof(kv_keywords[0]); i++)
		if (strlen(kv_keywords[i]) == n && !memcmp(kv_keywords[i], k, n))
			return 1;
	return 0;
}

static int kv_is(const char *s, const struct kv_tok *t, const char *key)
{
	size_t n = strlen(key);
	return t->kend - t->kstart == n && !memcmp(s + t->kstart, key, n);
}

/* The unquoted, unescaped value of a KV token (caller frees). */
static char *kv_value(const char *s, const struct kv_tok *t)
{
	struct buf b = BUF_INIT;
	size_t i = t->vstart, end = t->vend;

	if (t->quoted) {
		i++;
		end--;
	}
	while (i < end) {
		size_t j = ref_skip(s, i, end);
		if (j != i) {
			buf_add(&b, s + i, j - i);
			i = j;
		} else if (s[i] == '\\' && i + 1 < end) {
			buf_addch(&b, s[i + 1]);
			i += 2;
		} else {
			buf_addch(&b, s[i++]);
		}
	}
	return buf_detach(&b, NULL);
}

/* The candidate test for KV text (see dsn_is_candidate). */
static int kv_candidate(const char *s)
{
	size_t len = strlen(s), pos = 0;
	struct kv_tok t;
	int r, seen = 0;

	while ((r = kv_next(s, len, &pos, &t)) == KV_OK || r == KV_UNTERMINATED) {
		if (!kv_known(s + t.kstart, t.kend - t.kstart))
			return 0;
		if (kv_is(s, &t, "host") || kv_is(s, &t, "hostaddr") ||
		    kv_is(s, &t, "dbname") || kv_is(s, &t, "user"))
			seen = 1;
		if (r == KV_UNTERMINATED)
			return seen;
	}
	/* "host=db user=app dbname": libpq refuses it, so report it rather
	 * than pass over a connection (a keyword of libpq's, not free text). */
	if (r == KV_NOEQ && seen && kv_known(s + t.kstart, t.kend - t.kstart))
		return 1;
	return r == KV_END && seen;
}

static int parse_kv(struct parser *p)
{
	const char *s = p->s;
	size_t pos = 0;
	struct kv_tok t;
	int r;

	while ((r = kv_next(s, p->len, &pos, &t)) == KV_OK) {
		char *v;
		if (!kv_known(s + t.kstart, t.kend - t.kstart))
			return diag_err(p->d, "unknown keyword at offset %zu", t.kstart + 1);
		v = kv_value(s, &t);
		p->kv_end = t.vend;
		p->kv_last_key = t.kstart;
		p->kv_last_value = t.vstart;
		p->kv_last_open = t.open;
		if (kv_is(s, &t, "user") || kv_is(s, &t, "password")) {
			struct occ *o = add_occ(p, s[t.kstart] == 'p', W_KV, t.kstart,
						t.vstart, t.vend, v);
			o->quoted = t.quoted;
			continue;
		}
		if (kv_is(s, &t, "dbname")) {
			set_dbname(p, v);
			continue;
		}
		if (kv_is(s, &t, "host"))
			set_hosts(&p->hostv, v);
		else if (kv_is(s, &t, "hostaddr"))
			set_hosts(&p->hostaddrv, v);
		else if (kv_is(s, &t, "port") && set_ports(p, v, t.vstart) < 0) {
			free(v);
			return -1;
		}
		add_param(p, xstrndup(s + t.kstart, t.kend - t.kstart), v);
	}
	switch (r) {
	case KV_NOKEY:
		return diag_err(p->d, "missing keyword before '=' at offset %zu", pos + 1);
	case KV_NOEQ:
		return diag_err(p->d, "missing '=' after keyword at offset %zu", pos + 1);
	case KV_UNTERMINATED:
		return diag_err(p->d, "unterminated quoted value at offset %zu", pos + 1);
	}
	return 0;
}

/* Zip the host and port lists into dsn.hosts (libpq's matching rules). */
static int finish_hosts(struct parser *p)
{
	struct strvec *hv = p->hostv.nr ? &p->hostv : &p->hostaddrv;
	size_t nh = hv->nr, np = p->nportv, i;

	if (!nh && !np)
		return 0;
	if (!nh)
		strvec_push(hv, "");
	nh = hv->nr;
	if (np > 1 && np != nh)
		return diag_err(p->d, "could not match %zu port numbers to %zu hosts at offset %zu",
				np, nh, p->port_off + 1);
	p->dsn.hosts = xcalloc(nh, sizeof(*p->dsn.hosts));
	p->dsn.nhosts = nh;
	for (i = 0; i < nh; i++) {
		p->dsn.hosts[i].host = xstrdup(hv->v[i]);
		p->dsn.hosts[i].port = !np ? 0 : p->portv[np == 1 ? 0 : i];
	}
	return 0;
}

static struct occ *last_occ(struct parser *p, int is_password)
{
	size_t i;

	for (i = p->nocc; i-- > 0;)
		if (p->occ[i].is_password == is_password)
			return &p->occ[i];
	return NULL;
}

static void set_effective(struct parser *p, int is_password, char **field,
			  struct dsn_span *span)
{
	struct occ *o = last_occ(p, is_password);

	if (!o)
		return;
	*field = xstrdup(o->value);
	span->start = o->start;
	span->end = o->end;
	span->present = 1;
}

/*
 * Length of a PostgreSQL URI prefix of s, or 0; *scheme_len without "://".
 * The scheme is [PREFIX+]NAME[+DRIVER]: NAME is postgres, postgresql,
 * postgis (GeoDjango's dj-database-url), pgsql or ecto (Ecto's URL, which
 * Phoenix apps point at PostgreSQL); PREFIX is a library's own tag in front
 * (Celery's db+postgresql://), DRIVER a driver suffix (postgresql+psycopg2).
 */
static size_t uri_prefix(const char *s, size_t *scheme_len)
{
	static const char *const names[] = { "postgresql", "postgres", "postgis", "pgsql", "ecto", NULL };
	size_t n = 0, i;

	for (i = 0; isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'; i++)
		;
	if (i > 0 && s[i] == '+')
		n = i + 1; /* a prefix, unless the word is the name itself (postgresql+driver) */
	for (int pass = 0; pass < 2; pass++) {
		size_t at = pass ? 0 : n;
		if (pass && !n)
			break;
		for (const char *const *nm = names; *nm; nm++) {
			size_t l = strlen(*nm), m;
			if (strncasecmp(s + at, *nm, l))
				continue;
			m = at + l;
			if (s[m] == '+') {
				size_t e = m + 1;
				while (isalnum((unsigned char)s[e]) || s[e] == '_' || s[e] == '-' || s[e] == '.')
					e++;
				if (e == m + 1)
					continue;
				m = e;
			}
			if (strncmp(s + m, "://", 3))
				continue;
			*scheme_len = m;
			return m + 3;
		}
	}
	return 0;
}

static void parser_release(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nocc; i++)
		free(p->occ[i].value);
	free(p->occ);
	strvec_clear(&p->hostv);
	strvec_clear(&p->hostaddrv);
	free(p->portv);
	dsn_release(&p->dsn);
}

/* Parse s into p (released by the caller with parser_release either way). */
static int parse_all(struct parser *p, const char *s, struct diag *d)
{
	struct dsn init = DSN_INIT;
	size_t n, scheme_len = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	p->dsn = init;
	p->s = s;
	p->d = d;
	p->len = strnlen(s, DSN_MAX_LEN + 1);
	if (p->len > DSN_MAX_LEN)
		return diag_err(d, "longer than %d bytes", DSN_MAX_LEN);

	if ((n = uri_prefix(s, &scheme_len))) {
		p->dsn.form = DSN_URI;
		p->dsn.scheme = xstrndup(s, scheme_len);
		ret = parse_authority_form(p, n);
	} else if (!strncasecmp(s, JDBC_PREFIX, JDBC_PREFIX_LEN)) {
		p->dsn.form = DSN_JDBC;
		p->dsn.scheme = xstrndup(s, JDBC_PREFIX_LEN - 1);
		p->jdbc = 1;
		if (!strncmp(s + JDBC_PREFIX_LEN, "//", 2))
			ret = parse_authority_form(p, JDBC_PREFIX_LEN + 2);
		else
			ret = parse_jdbc_short(p, JDBC_PREFIX_LEN);
	} else if (kv_candidate(s)) {
		p->dsn.form = DSN_KV;
		ret = parse_kv(p);
	} else {
		return diag_err(d, "not a postgres connection string at offset 1");
	}
	if (ret < 0 || finish_hosts(p) < 0)
		return -1;
	set_effective(p, 0, &p->dsn.user, &p->dsn.user_span);
	set_effective(p, 1, &p->dsn.password, &p->dsn.password_span);
	return 0;
}

int dsn_is_candidate(const char *s)
{
	size_t scheme_len;

	if (uri_prefix(s, &scheme_len))
		return 1;
	if (!strncasecmp(s, JDBC_PREFIX, JDBC_PREFIX_LEN))
		return 1;
	return kv_candidate(s);
}

int dsn_parse(const char *s, struct dsn *out, struct diag *d)
{
	struct parser p;
	struct dsn init = DSN_INIT;

	if (parse_all(&p, s, d) < 0) {
		parser_release(&p);
		return -1;
	}
	*out = p.dsn;
	p.dsn = init;
	parser_release(&p);
	return 0;
}

void dsn_release(struct dsn *dsn)
{
	struct dsn init = DSN_INIT;
	size_t i;

	free(dsn->scheme);
	free(dsn->user);
	free(dsn->password);
	for (i = 0; i < dsn->nhosts; i++)
		free(dsn->hosts[i].host);
	free(dsn->hosts);
	free(dsn->dbname);
	for (i = 0; i < dsn->nparams; i++) {
		free(dsn->params[i].key);
		free(dsn->params[i].value);
	}
	free(dsn->params);
	*dsn = init;
}

const char *dsn_param(const struct dsn *dsn, const char *key)
{
	size_t i;

	for (i = dsn->nparams; i-- > 0;)
		if (!strcmp(dsn->params[i].key, key))
			return dsn->params[i].value;
	return NULL;
}

/* One replacement of s[start, end) (an insertion when start == end). */
struct edit {
	size_t start, end;
	struct buf text;
};

struct edits {
	struct edit *v;
	size_t nr, alloc;
};

/* Add an edit; edits at the same offset apply in the order added. */
static struct buf *add_edit(struct edits *e, size_t start, size_t end)
{
	struct edit *x;
	size_t i;

	ALLOC_GROW(e->v, e->nr + 1, e->alloc);
	for (i = e->nr; i > 0 && e->v[i - 1].start > start; i--)
		e->v[i] = e->v[i - 1];
	x = &e->v[i];
	x->start = start;
	x->end = end;
	buf_init(&x->text);
	e->nr++;
	return &x->text;
}

/* Append a role name as a URI/JDBC userinfo or query value needs it. */
static void add_pct(struct buf *b, const char *u)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *u; u++) {
		unsigned char c = (unsigned char)*u;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			buf_addch(b, c);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[c >> 4]);
			buf_addch(b, hex[c & 15]);
		}
	}
}

/* Append a role name as a KV value: quoted when asked or needed. */
static void add_kv_user(struct buf *b, const char *u, int quoted)
{
	const char *c;

	for (c = u; !quoted && *c; c++)
		if (is_ws(*c) || *c == '\'' || *c == '\\')
			quoted = 1;
	if (!*u)
		quoted = 1;
	if (!quoted) {
		buf_addstr(b, u);
		return;
	}
	buf_addch(b, '\'');
	for (c = u; *c; c++) {
		if (*c == '\'' || *c == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *c);
	}
	buf_addch(b, '\'');
}

static void add_user_text(struct buf *b, const struct parser *p, const char *u, int quoted)
{
	if (p->dsn.form == DSN_KV)
		add_kv_user(b, u, quoted);
	else
		add_pct(b, u);
}

/* Append a password reference as a KV value: verbatim, but never empty. */
static void add_kv_ref(struct buf *b, const char *ref, int quoted)
{
	if (quoted || !*ref)
		buf_addf(b, "'%s'", ref);
	else
		buf_addstr(b, ref);
}

/* Is there already an edit at offset at? */
static int edited(const struct edits *e, size_t at)
{
	size_t i;

	for (i = 0; i < e->nr; i++)
		if (e->v[i].start == at)
			return 1;
	return 0;
}

/*
 * Edits that add a missing user and/or password (NULL: not added).  Runs
 * after the replacements have been added, as it looks at them.
 */
static void add_missing(struct edits *e, struct parser *p, const char *user, const char *ref)
{
	struct occ *lu = last_occ(p, 0), *lp = last_occ(p, 1);
	int kv = p->dsn.form == DSN_KV;
	int front = kv && p->kv_last_open && !edited(e, p->kv_last_value);
	struct buf *b;

	if (user && lu)
		user = NULL;
	if (ref && lp)
		ref = NULL;
	if (user && lp) {
		/* Password in the query or KV (userinfo always has a user). */
		b = add_edit(e, lp->key, lp->key);
		buf_addstr(b, "user=");
		add_user_text(b, p, user, 0);
		buf_addstr(b, kv ? " " : "&");
		user = NULL;
	}
	if (ref && lu && !(front && lu->key == p->kv_last_key)) {
		b = add_edit(e, lu->end, lu->end);
		if (lu->where == W_USERINFO) {
			buf_addch(b, ':');
			buf_addstr(b, ref);
		} else if (kv) {
			buf_addstr(b, " password=");
			add_kv_ref(b, ref, 0);
			if (lu->end < p->len && !is_ws(p->s[lu->end]))
				buf_addch(b, ' '); /* user='x'host=... */
		} else {
			buf_addf(b, "&password=%s", ref);
		}
		ref = NULL;
	}
	if (!user && !ref)
		return;
	if (kv && front) {
		b = add_edit(e, p->kv_last_key, p->kv_last_key);
		if (user) {
			buf_addstr(b, "user=");
			add_kv_user(b, user, 0);
			buf_addch(b, ' ');
		}
		if (ref) {
			buf_addstr(b, "password=");
			add_kv_ref(b, ref, 0);
			buf_addch(b, ' ');
		}
	} else if (kv) {
		b = add_edit(e, p->kv_end, p->kv_end);
		if (user) {
			buf_addstr(b, " user=");
			add_kv_user(b, user, 0);
		}
		if (ref) {
			buf_addstr(b, " password=");
			add_kv_ref(b, ref, 0);
		}
	} else if (p->dsn.form == DSN_URI) {
		b = add_edit(e, p->userinfo_at, p->userinfo_at);
		if (user)
			add_pct(b, user);
		if (ref)
			buf_addf(b, ":%s", ref);
		buf_addch(b, '@');
	} else {
		b = add_edit(e, p->len, p->len);
		if (!p->has_query)
			buf_addch(b, '?');
		else if (p->query_start < p->len && p->s[p->len - 1] != '&')
			buf_addch(b, '&');
		if (user) {
			buf_addstr(b, "user=");
			add_pct(b, user);
		}
		if (ref)
			buf_addf(b, "%spassword=%s", user ? "&" : "", ref);
	}
}

int dsn_rewrite(const char *s, const char *new_user, const char *new_password_ref,
		struct buf *out, struct diag *d)
{
	struct parser p;
	struct edits e = { NULL, 0, 0 };
	size_t i, at = 0, start = out->len;

	if (parse_all(&p, s, d) < 0) {
		parser_release(&p);
		return -1;
	}
	for (i = 0; i < p.nocc; i++) {
		struct occ *o = &p.occ[i];
		const char *want = o->is_password ? new_password_ref : new_user;
		struct buf *b;

		if (!want || !strcmp(o->value, want))
			continue;
		b = add_edit(&e, o->start, o->end);
		if (!o->is_password)
			add_user_text(b, &p, want, o->quoted);
		else if (o->where == W_KV)
			add_kv_ref(b, want, o->quoted);
		else
			buf_addstr(b, want);
	}
	add_missing(&e, &p, new_user, new_password_ref);

	for (i = 0; i < e.nr; i++) {
		buf_add(out, s + at, e.v[i].start - at);
		buf_add(out, e.v[i].text.buf, e.v[i].text.len);
		at = e.v[i].end;
		buf_release(&e.v[i].text);
	}
	buf_add(out, s + at, p.len - at);
	free(e.v);
	parser_release(&p);
	/* The result must parse again (found by fuzz_dsn: many password
	 * occurrences, each replaced by a longer reference). */
	if (out->len - start > DSN_MAX_LEN) {
		buf_setlen(out, start);
		return diag_err(d, "the rewritten connection string would be longer than %d bytes",
				DSN_MAX_LEN);
	}
	return 0;
}

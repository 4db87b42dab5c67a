/*
 * servers: recognise PostgreSQL servers and their superusers (see servers.h).
 */
#include "detect/servers.h"
#include "stack/mounts.h"
#include "stack/dockerfile.h"
#include "stack/service.h"
#include "util/diag.h"
#include "util/path.h"
#include "util/strmap.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The image name without registry host, tag or digest, lowercased. */
static void image_base(const char *image, struct buf *out)
{
	const char *s = image, *slash = strchr(s, '/');
	/* A first component with '.' or ':' (or "localhost") is a registry. */
	if (slash) {
		size_t n = (size_t)(slash - s);
		if (memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !strncmp(s, "localhost", 9)))
			s = slash + 1;
	}
	if (!strncmp(s, "library/", 8))
		s += 8;
	size_t len = strcspn(s, "@");
	const char *colon = memchr(s, ':', len);
	if (colon && !memchr(colon, '/', len - (size_t)(colon - s)))
		len = (size_t)(colon - s);
	for (size_t i = 0; i < len; i++)
		buf_addch(out, tolower((unsigned char)s[i]));
}

/*
 * Words that make an image a client even when its name says PostgreSQL:
 * postgres-exporter, postgres-meta, pgbouncer, pgadmin4, postgres-backup-s3,
 * postgrest, pgweb, pgcat ...  Matched against the dash/underscore-separated
 * parts of the last path component, and against the whole of it.
 */
static int client_word(const char *w, size_t n)
{
	static const char *const words[] = {
		"exporter", "meta", "bouncer", "pgbouncer", "pgadmin", "pgadmin4", "admin", "backup",
		"backups", "dump", "pgdump", "s3", "restore", "postgrest", "pgweb", "pgcat", "odyssey",
		"pgpool", "pgpool2", "pooler", "proxy", "cli", "client", "operator", "rest", "graphql",
		"ui", "web", "studio", "sync", "cron", "migrate", "migrations", "migrator", "upgrade",
		"logical", "replicator", "wal", "walg", "barman", "pgbackrest", "pghero", "metabase",
		"adminer", "prometheus", "monitor", "agent", "init", NULL
	};
	for (const char *const *x = words; *x; x++)
		if (n && (*x)[0] == w[0] && strlen(*x) == n && !strncmp(*x, w, n))
			return 1;
	return 0;
}

/* Does a (dash/underscore separated) part name PostgreSQL or a server build of it? */
static int server_word(const char *w, size_t n)
{
	static const char *const words[] = {
		"postgres", "postgresql", "postgis", "timescaledb", "timescale", "pgvector",
		"pgvecto", "pgvectors", "citus", "pg", "paradedb", "pgrx", "pgduckdb", "orioledb", NULL
	};
	if (!n)
		return 0;
	for (const char *const *x = words; *x; x++)
		if ((*x)[0] == w[0] && strlen(*x) == n && !strncmp(*x, w, n))
			return 1;
	/* postgres16, postgresql15, pg16 */
	for (const char *const *x = words; *x; x++) {
		size_t l = strlen(*x);
		if ((*x)[0] == w[0] && n > l && !strncmp(*x, w, l)) {
			size_t i = l;
			while (i < n && isdigit((unsigned char)w[i]))
				i++;
			if (i == n)
				return 1;
		}
	}
	return 0;
}

enum pg_family pg_image_family(const char *image)
{
	struct buf b = BUF_INIT;
	enum pg_family fam = PGF_NONE;
	if (!image || !*image || strchr(image, '$'))
		return PGF_NONE;
	image_base(image, &b);
	const char *last = path_basename(b.buf);
	int server = 0, client = 0;
	if (client_word(last, strlen(last)))
		client = 1;
	for (const char *p = last; *p && !client;) {
		size_t n = strcspn(p, "-_.");
		if (client_word(p, n))
			client = 1;
		else if (server_word(p, n))
			server = 1;
		p += n;
		if (*p)
			p++;
	}
	/* Owner namespaces that are the server itself. */
	if (!client && (str_starts(b.buf, "postgis/") || str_starts(b.buf, "timescale/") ||
			str_starts(b.buf, "citusdata/citus") || str_starts(b.buf, "supabase/postgres")))
		server = 1;
	/* "pg" alone as a part is too weak unless the name is pg-something-server-like. */
	if (server && !client && !strcmp(last, "pg"))
		server = 0;
	if (server && !client) {
		if (str_starts(b.buf, "bitnami/"))
			fam = PGF_BITNAMI;
		else if (str_starts(b.buf, "supabase/"))
			fam = PGF_SUPABASE;
		else
			fam = PGF_OFFICIAL;
	}
	buf_release(&b);
	return fam;
}

static const char *env_val(const struct service *s, const char *key)
{
	const struct env_entry *e = service_env(s, key);
	return e && e->value ? e->value : NULL;
}

/* Any variable naming a host of its own (a client of another server)? */
static int has_host_var(const struct service *s)
{
	for (size_t i = 0; i < s->nenv; i++) {
		const char *k = s->env[i].key;
		size_t n = strlen(k);
		if ((n >= 4 && !strcasecmp(k + n - 4, "HOST")) || (n >= 8 && !strcasecmp(k + n - 8, "HOSTNAME")) ||
		    (n >= 3 && !strcasecmp(k + n - 3, "URL")) || (n >= 3 && !strcasecmp(k + n - 3, "DSN")))
			return 1;
	}
	return 0;
}

/* pg_isready against the container itself (no -h, or -h localhost). */
static int self_pg_isready(const char *t)
{
	const char *p = strstr(t, "pg_isready");
	if (!p)
		return 0;
	const char *h = strstr(p, "-h");
	if (!h)
		h = strstr(p, "--host");
	if (!h)
		return 1;
	h += h[1] == 'h' ? 2 : 6;
	while (*h == ' ' || *h == '=' || *h == '\'' || *h == '"')
		h++;
	return !strncmp(h, "localhost", 9) || !strncmp(h, "127.0.0.1", 9) || !strncmp(h, "::1", 3) ||
	       !strncmp(h, "$$(hostname", 11) || !strncmp(h, "$(hostname", 10) || !strncmp(h, "/", 1);
}

static const char *build_base_read(const struct compose_project *p, struct arena *a,
				   const struct service *s)
{
	const char *abs = path_join(a, p->dir, s->dockerfile);
	struct srcfile *f;
	struct diag d = DIAG_INIT;
	struct dockerfile df;
	const char *base = NULL;
	if (!path_exists(abs) || path_is_dir(abs))
		return NULL;
	if (srcfile_read(a, abs, s->dockerfile, DOCKERFILE_MAX, &f, &d) ||
	    dockerfile_parse(s->dockerfile, f->data, f->len, &df, &d)) {
		diag_release(&d);
		return NULL;
	}
	if (df.final_base_image)
		base = arena_strdup(a, df.final_base_image);
	dockerfile_release(&df);
	return base;
}

/*
 * The base image of a service's build, or NULL.  Services often share a
 * Dockerfile: each one is read once (seen: path -> base, or seen itself
 * for none).
 */
static const char *build_base(const struct compose_project *p, struct arena *a, const struct service *s,
			      struct strmap *seen)
{
	if (!s->build_context || !s->dockerfile)
		return NULL;
	const char *key = arena_strfmt(a, "%s\n%s", p->dir, s->dockerfile);
	const char *known = strmap_get(seen, key);
	if (known)
		return known == (const void *)seen ? NULL : known;
	known = build_base_read(p, a, s);
	strmap_put(seen, key, known ? (void *)known : (void *)seen);
	return known;
}

static void add_superuser(struct pg_server *sv, const char *u)
{
	if (u && *u && !strchr(u, '$') && !strvec_contains(&sv->superusers, u))
		strvec_push(&sv->superusers, u);
}

/* Scan one init script for CREATE/ALTER ROLE|USER name ... SUPERUSER. */
static void scan_init_sql(struct pg_server *sv, const char *data, size_t len)
{
	const char *end = data + len, *p = data;
	while (p < end) {
		const char *stmt_end = memchr(p, ';', (size_t)(end - p));
		if (!stmt_end)
			stmt_end = end;
		size_t n = (size_t)(stmt_end - p);
		char *st = xstrndup(p, n);
		for (char *q = st; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		char *kw = NULL;
		if (strstr(st, "superuser") && !strstr(st, "nosuperuser")) {
			kw = strstr(st, " user ");
			if (!kw)
				kw = strstr(st, " role ");
		}
		if (kw && (strstr(st, "create") || strstr(st, "alter"))) {
			const char *q = kw + 6;
			while (*q == ' ' || *q == '"' || *q == '\n' || *q == '\t')
				q++;
			size_t l = strcspn(q, " \"\n\t;");
			/* A shell variable ($POSTGRES_NON_ROOT_USER) is not a name we can know. */
			if (l && *q != '$' && *q != ':') {
				char *name = xstrndup(q, l);
				add_superuser(sv, name);
				free(name);
			} else if (l) {
				sv->superusers_known = 0;
			}
		}
		free(st);
		p = stmt_end + 1;
	}
}

#define INIT_FILES_MAX 64
#define INIT_FILE_MAX (1u << 20)

/*
 * Init scripts bind-mounted into /docker-entrypoint-initdb.d.  A script
 * that is not read whole (past the first INIT_FILES_MAX files, over
 * INIT_FILE_MAX bytes, compressed, unreadable) may create a superuser
 * dsnflip does not know of, so the server's superusers are then unknown
 * (connections as a user it does not list are not assumed safe).
 */
static void scan_init_scripts(const struct compose_project *p, struct arena *a, struct pg_server *sv)
{
	struct bind_mount *m;
	size_t n = mounts_bind(a, sv->svc, &m);
	for (size_t i = 0; i < n; i++) {
		const char *src = m[i].source;
		if (!str_starts(m[i].target, "/docker-entrypoint-initdb.d"))
			continue;
		const char *abs = path_join(a, p->dir, src);
		struct strvec files = STRVEC_INIT;
		if (path_is_dir(abs)) {
			DIR *dir = opendir(abs);
			struct dirent *de;
			while (dir && (de = readdir(dir)))
				if (de->d_name[0] != '.') {
					if (files.nr == INIT_FILES_MAX) {
						sv->superusers_known = 0;
						break;
					}
					strvec_push(&files, path_join(a, abs, de->d_name));
				}
			if (dir)
				closedir(dir);
		} else if (path_exists(abs)) {
			strvec_push(&files, abs);
		}
		for (size_t k = 0; k < files.nr; k++) {
			size_t len = 0;
			if (path_is_dir(files.v[k]))
				continue;
			const char *f = files.v[k];
			char *data = NULL;
			if (str_ends(f, ".gz") || str_ends(f, ".xz") || str_ends(f, ".zst") || str_ends(f, ".bz2") ||
			    !(data = read_file(f, &len)) || len > INIT_FILE_MAX)
				sv->superusers_known = 0;
			else
				scan_init_sql(sv, data, len);
			free(data);
		}
		strvec_clear(&files);
	}
}

static struct pg_server *add_server(struct pg_servers *out, size_t i, const struct service *s,
				    enum pg_family fam, const char *why)
{
	ALLOC_GROW(out->v, out->nr + 1, out->alloc);
	struct pg_server *sv = &out->v[out->nr++];
	memset(sv, 0, sizeof(*sv));
	sv->svc = s;
	sv->family = fam;
	sv->why = why;
	out->of_service[i] = out->nr;
	return sv;
}

/* The superusers each family creates (see servers.h). */
static void family_superusers(const struct compose_project *p, struct arena *a, struct pg_server *sv)
{
	const struct service *s = sv->svc;
	add_superuser(sv, "postgres");
	switch (sv->family) {
	case PGF_OFFICIAL:
		add_superuser(sv, env_val(s, "POSTGRES_USER"));
		sv->superusers_known = !env_val(s, "POSTGRES_USER") || !strchr(env_val(s, "POSTGRES_USER"), '$');
		break;
	case PGF_BITNAMI:
		/* POSTGRESQL_USERNAME / POSTGRES_USER is a plain owner here; postgres stays the superuser. */
		sv->superusers_known = 1;
		break;
	case PGF_SUPABASE:
		add_superuser(sv, "supabase_admin");
		add_superuser(sv, env_val(s, "POSTGRES_USER"));
		sv->superusers_known = 1;
		break;
	default:
		add_superuser(sv, env_val(s, "POSTGRES_USER"));
		add_superuser(sv, env_val(s, "POSTGRESQL_USERNAME"));
		sv->superusers_known = 0;
		break;
	}
	scan_init_scripts(p, a, sv);
}

void servers_find(const struct compose_project *p, struct arena *a, struct pg_servers *out)
{
	memset(out, 0, sizeof(*out));
	out->nservices = p->nservices;
	out->of_service = xcalloc(p->nservices ? p->nservices : 1, sizeof(size_t));
	struct strmap bases = STRMAP_INIT;
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		enum pg_family fam = pg_image_family(s->image);
		const char *why = NULL;
		if (fam != PGF_NONE)
			why = arena_strfmt(a, "image %s", s->image);
		if (fam == PGF_NONE) {
			const char *base = build_base(p, a, s, &bases);
			enum pg_family bf = pg_image_family(base);
			if (bf != PGF_NONE) {
				fam = bf;
				why = arena_strfmt(a, "%s: FROM %s", s->dockerfile, base);
			}
		}
		struct buf hc = BUF_INIT;
		service_healthcheck_test(s, &hc);
		int env_server = (env_val(s, "PGDATA") || env_val(s, "POSTGRES_INITDB_ARGS") ||
				  env_val(s, "POSTGRES_HOST_AUTH_METHOD") || env_val(s, "POSTGRES_INITDB_WALDIR")) &&
				 !has_host_var(s);
		int hc_server = hc.len && self_pg_isready(hc.buf);
		if (fam == PGF_NONE && (env_server || hc_server) && pg_image_family(s->image) == PGF_NONE) {
			/* A client named as one (postgres-exporter) is not made a server by its env. */
			struct buf b = BUF_INIT;
			if (s->image)
				image_base(s->image, &b);
			int named_client = 0;
			const char *last = path_basename(b.buf ? b.buf : "");
			for (const char *q = last; *q && !named_client;) {
				size_t n = strcspn(q, "-_.");
				named_client = client_word(q, n);
				q += n;
				if (*q)
					q++;
			}
			buf_release(&b);
			if (!named_client) {
				/* Its POSTGRES_USER is taken for a superuser; other users stay undecided. */
				fam = PGF_UNKNOWN;
				why = env_server ? "the official image's environment (PGDATA/POSTGRES_INITDB_ARGS)"
						 : "a pg_isready healthcheck on itself";
			}
		}
		buf_release(&hc);
		if (fam == PGF_NONE)
			continue;
		struct pg_server *sv = add_server(out, i, s, fam, why);
		family_superusers(p, a, sv);
	}
	strmap_clear(&bases);
}

void servers_mark_target(struct pg_servers *sv, const struct compose_project *p, struct arena *a,
			 size_t i)
{
	if (i >= sv->nservices || sv->of_service[i])
		return;
	struct pg_server *s = add_server(sv, i, &p->services[i], PGF_UNKNOWN,
					 "other services' connections point at it");
	family_superusers(p, a, s);
}

const struct pg_server *servers_for_host(const struct pg_servers *sv, const struct compose_project *p,
					 const char *host)
{
	if (!host || !*host)
		return NULL;
	for (size_t i = 0; i < sv->nr; i++)
		if (service_answers_to(sv->v[i].svc, host))
			return &sv->v[i];
	(void)p;
	return NULL;
}

int servers_is(const struct pg_servers *sv, size_t i)
{
	return i < sv->nservices && sv->of_service[i] != 0;
}

int servers_any_superuser(const struct pg_servers *sv, const char *user)
{
	for (size_t i = 0; user && i < sv->nr; i++)
		if (strvec_contains(&sv->v[i].superusers, user))
			return 1;
	return 0;
}

void servers_release(struct pg_servers *sv)
{
	for (size_t i = 0; i < sv->nr; i++)
		strvec_clear(&sv->v[i].superusers);
	free(sv->v);
	free(sv->of_service);
	memset(sv, 0, sizeof(*sv));
}

/*
 * secrets: the generated role passwords, kept outside the repository (see
 * secrets.h).
 *
 * The rules that make this file safe to hold production passwords:
 *  - passwords come from getrandom(2) (24 bytes, 48 lower-case hex chars);
 *  - the file is created 0600 inside directories created 0700, and a file
 *    or directory someone else could read is refused (load) or tightened
 *    (the directory, when we own it) — never silently trusted;
 *  - a save never leaves a torn file: a temp file in the same directory is
 *    written, fsync'ed and renamed over the old one, then the directory is
 *    fsync'ed so the rename itself survives a crash;
 *  - no message ever quotes the file's content (a malformed line is named
 *    by its number only), and freed passwords are wiped.
 */
#include "artifacts/secrets.h"
#include "util/fs.h"
#include "plan/flip.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRETS_MAX_BYTES (1024 * 1024)
#define SECRET_RANDOM_BYTES 24

struct secret {
	char *key;   /* "<ROLE>_PASSWORD" (or any other KEY found in the file) */
	char *value;
};

struct secrets {
	char *path;
	struct secret *v;
	size_t nr, alloc;
	int dirty;
};

static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/*
 * shown: the path as a runbook prints it for whoever reads it later, maybe on
 * another machine: the real XDG_STATE_HOME when it is set (the reader must
 * look there), "~/.local/state" for the default (a home directory's name
 * says nothing useful and differs per user).
 */
static char *state_path(const char *project, char *const *env, int shown)
{
	const char *state = env_get(env, "XDG_STATE_HOME");
	struct buf b = BUF_INIT;

	/* XDG: a relative XDG_STATE_HOME is invalid and must be ignored. */
	if (state && state[0] == '/') {
		buf_addstr(&b, state);
	} else if (shown) {
		buf_addstr(&b, "~/.local/state");
	} else {
		const char *home = env_get(env, "HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(geteuid());
			home = pw && pw->pw_dir ? pw->pw_dir : "/";
		}
		buf_addf(&b, "%s/.local/state", home);
	}
	buf_addstr(&b, "/dsnflip/");
	/* A project name is a path component here: nothing that escapes it. */
	const char *p = project && *project ? project : "default";
	if (!strcmp(p, ".") || !strcmp(p, ".."))
		buf_addch(&b, '_');
	for (; *p; p++)
		buf_addch(&b, isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' ? *p : '_');
	buf_addstr(&b, "/secrets.env");
	return buf_detach(&b, NULL);
}

char *secrets_path(const char *project, char *const *env)
{
	return state_path(project, env, 0);
}

char *secrets_shown_path(const char *project, char *const *env)
{
	return state_path(project, env, 1);
}

char *secrets_var_name(const char *role)
{
	return flip_password_var(role);
}

static struct secret *find(const struct secrets *s, const char *key)
{
	for (size_t i = 0; i < s->nr; i++)
		if (!strcmp(s->v[i].key, key))
			return &s->v[i];
	return NULL;
}

static void put(struct secrets *s, const char *key, const char *value)
{
	struct secret *e = find(s, key);
	if (e) {
		wipe(e->value);
		free(e->value);
		e->value = xstrdup(value);
		return;
	}
	ALLOC_GROW(s->v, s->nr + 1, s->alloc);
	s->v[s->nr].key = xstrdup(key);
	s->v[s->nr].value = xstrdup(value);
	s->nr++;
}

static int valid_key(const char *k, size_t n)
{
	if (!n || isdigit((unsigned char)k[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return 0;
	return 1;
}

/* Parse "KEY=VALUE" lines ('#' comments, blank lines).  Never quotes a value. */
static int parse(struct secrets *s, const char *data, size_t len, struct diag *d)
{
	size_t pos = 0;
	int line = 0;
	while (pos < len) {
		const char *l = data + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n && l[n - 1] == '\r')
			n--;
		while (n && (*l == ' ' || *l == '\t'))
			l++, n--;
		if (!n || *l == '#')
			continue;
		const char *eq = memchr(l, '=', n);
		size_t klen = eq ? (size_t)(eq - l) : 0, vlen = eq ? n - klen - 1 : 0;
		if (!eq || !valid_key(l, klen) || !vlen || memchr(eq + 1, '\0', vlen))
			return diag_err(d, "%s:%d: not a KEY=VALUE line (the value is not shown)",
					s->path, line);
		char *key = xstrndup(l, klen), *value = xstrndup(eq + 1, vlen);
		put(s, key, value);
		wipe(value);
		free(key);
		free(value);
	}
	return 0;
}

int secrets_load(const char *path, struct secrets **out, struct diag *d)
{
	struct secrets *s = xcalloc(1, sizeof(*s));
	struct stat st;
	char *data = NULL;
	int fd = -1, ret = -1;

	s->path = xstrdup(path);
	{
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		int bad = slash && state_dir_check(dir, d);
		free(dir);
		if (bad)
			goto cleanup;
	}
	/* O_NONBLOCK: a FIFO in its place would otherwise hang the open (the regular-file
	 * check below refuses it); open_regular() cannot be used, it follows links. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			*out = s;
			return 0;
		}
		if (errno == ELOOP)
			diag_err(d, "secrets file '%s' is a symbolic link; refusing to follow it", path);
		else
			diag_err(d, "cannot open secrets file '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st)) {
		diag_err(d, "cannot stat secrets file '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_err(d, "secrets file '%s' is not a regular file", path);
		goto cleanup;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		diag_err(d, "secrets file '%s' has mode %04o: group or others may read it; "
			 "refusing to use it (chmod 600 '%s', and rotate the passwords if someone did)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto cleanup;
	}
	if (st.st_uid != geteuid()) {
		diag_err(d, "secrets file '%s' belongs to uid %u, not to you (uid %u); refusing to use it",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto cleanup;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		diag_err(d, "cannot read secrets file '%s': %s", path, strerror(errno));
		goto cleanup;
	}
	if (st.st_size > SECRETS_MAX_BYTES) {
		diag_err(d, "secrets file '%s' is larger than %d bytes", path, SECRETS_MAX_BYTES);
		goto cleanup;
	}
	size_t want = (size_t)st.st_size, got = 0;
	data = xmalloc(want + 1);
	while (got < want) {
		ssize_t r = read(fd, data + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_err(d, "cannot read secrets file '%s': %s", path, strerror(errno));
			goto cleanup;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	data[got] = '\0';
	if (parse(s, data, got, d))
		goto cleanup;
	*out = s;
	s = NULL;
	ret = 0;
cleanup:
	if (data) {
		explicit_bzero(data, (size_t)st.st_size);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	secrets_free(s);
	return ret;
}

const char *secrets_get(const struct secrets *s, const char *role)
{
	char *key = secrets_var_name(role);
	const struct secret *e = find(s, key);
	free(key);
	return e ? e->value : NULL;
}

int secrets_random(char out[SECRETS_PASSWORD_LEN + 1], const char *what, struct diag *d)
{
	unsigned char raw[SECRET_RANDOM_BYTES];
	size_t got = 0;
	static const char digits[] = "0123456789abcdef";

	_Static_assert(SECRETS_PASSWORD_LEN == 2 * SECRET_RANDOM_BYTES, "hex of the random bytes");
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return diag_fail(d, "cannot generate a password for %s: getrandom: %s", what,
					 strerror(errno));
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[SECRETS_PASSWORD_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int secrets_ensure(struct secrets *s, const char *role, int *created, struct diag *d)
{
	char hex[SECRETS_PASSWORD_LEN + 1];

	if (created)
		*created = 0;
	if (secrets_get(s, role))
		return 0;
	char *what = xstrfmt("role '%s'", role);
	int r = secrets_random(hex, what, d);
	free(what);
	if (r)
		return -1;
	char *key = secrets_var_name(role);
	put(s, key, hex);
	free(key);
	explicit_bzero(hex, sizeof(hex));
	s->dirty = 1;
	if (created)
		*created = 1;
	return 0;
}

/* One component of the state directory chain: level 0 the project dir, 1 its parent, 2 BASE. */
static int check_component(const char *dir, int level, struct diag *d)
{
	struct stat st;
	uid_t me = geteuid();

	if ((level < 2 ? lstat(dir, &st) : stat(dir, &st)) && errno == ENOENT)
		return 0;
	if (level < 2 && S_ISLNK(st.st_mode))
		return diag_err(d, "state directory '%s' is a symbolic link; refusing to use it", dir);
	if (!S_ISDIR(st.st_mode))
		return diag_err(d, "state directory '%s' is not a directory", dir);
	if (st.st_uid != me && !(level > 0 && st.st_uid == 0))
		return diag_err(d, "state directory '%s' belongs to uid %u, not to you (uid %u); "
				"refusing to use it (anyone who owns it can swap what dsnflip keeps there)",
				dir, (unsigned)st.st_uid, (unsigned)me);
	/* A root-owned sticky parent (/tmp) lets others add entries but not
	 * replace ours: what is below it stays ours. */
	int sticky_ok = level > 0 && st.st_uid == 0 && (st.st_mode & S_ISVTX);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_ok)
		return diag_err(d, "state directory '%s' has mode %04o: group or others may write it; "
				"refusing to use it (chmod go-w '%s', and check what is in it)", dir,
				(unsigned)(st.st_mode & 07777), dir);
	return 0;
}

int state_dir_check(const char *dir, struct diag *d)
{
	char *p = xstrdup(dir);
	int ret = 0;
	for (int level = 0; level < 3 && !ret; level++) {
		ret = check_component(p, level, d);
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	free(p);
	return ret;
}

/* mkdir -p for the parents of path, each new directory 0700; the last one tightened to 0700. */
static int make_dirs(const char *path, struct diag *d)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int ret = -1;

	if (!slash || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	if (state_dir_check(dir, d) || fs_mkdir_p(dir, 0700, d))
		goto cleanup;
	struct stat st;
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode)) {
		diag_fail(d, "'%s' is not a directory", dir);
		goto cleanup;
	}
	/* Read access for others is tightened (nothing there should be read by
	 * them); write access is refused by state_dir_check below: someone may
	 * already have swapped a file. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) && !(st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    st.st_uid == geteuid() && chmod(dir, 0700)) {
		diag_fail(d, "cannot make '%s' private (chmod 700): %s", dir, strerror(errno));
		goto cleanup;
	}
	if (state_dir_check(dir, d))
		goto cleanup;
	ret = 0;
cleanup:
	free(dir);
	return ret;
}

int secrets_save(struct secrets *s, struct diag *d)
{
	struct buf body = BUF_INIT;
	int ret = -1;

	if (!s->dirty)
		return 0;
	if (make_dirs(s->path, d))
		return -1;
	buf_addstr(&body, "# dsnflip: generated role passwords. Keep this file private (0600);\n"
			  "# never commit it. One line per role: <ROLE>_PASSWORD=<48 hex chars>.\n");
	for (size_t i = 0; i < s->nr; i++)
		buf_addf(&body, "%s=%s\n", s->v[i].key, s->v[i].value);

	if (fs_write_atomic(s->path, body.buf, body.len, 0600, d))
		goto cleanup;
	s->dirty = 0;
	ret = 0;
cleanup:
	explicit_bzero(body.buf, body.len);
	buf_release(&body);
	return ret;
}

void secrets_free(struct secrets *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr; i++) {
		wipe(s->v[i].value);
		free(s->v[i].key);
		free(s->v[i].value);
	}
	free(s->v);
	free(s->path);
	free(s);
}

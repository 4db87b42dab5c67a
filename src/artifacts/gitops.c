/*
 * gitops: build one commit in the object database (see gitops.h).
 */
#include "artifacts/gitops.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/path.h"

#include <errno.h>
#include <git2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gitrepo {
	int initialised;      /* git_libgit2_init() was called (shutdown pairs with it) */
	git_repository *repo;
	char *workdir;        /* realpath, no trailing slash */
	git_commit *base;
	char base_id[GIT_OID_HEXSZ + 1];
	char *base_name;
};

/* Record libgit2's last error after what; returns -1. */
static int git_err(struct diag *d, int code, const char *fmt, const char *arg)
{
	const git_error *e = git_error_last();
	struct buf what = BUF_INIT;
	buf_addf(&what, fmt, arg);
	if (code == EXIT_FAILED)
		diag_fail(d, "%s: %s", what.buf, e && e->message ? e->message : "libgit2 error");
	else
		diag_err(d, "%s: %s", what.buf, e && e->message ? e->message : "libgit2 error");
	buf_release(&what);
	return -1;
}

/*
 * libgit2's ceiling for a search from path (realpath'd): the length of the
 * longest GIT_CEILING_DIRECTORIES entry (absolute, realpath'd) that path
 * is inside, or 1 (the root).  The search never looks at that directory
 * or above it.  The same rule as libgit2's find_ceiling_dir_offset.
 */
static size_t ceiling_offset(const char *path, const char *ceilings)
{
	size_t max = 1;
	for (const char *c = ceilings; c && *c;) {
		const char *sep = strchr(c, ':');
		size_t n = sep ? (size_t)(sep - c) : strlen(c);
		char want[PATH_MAX], real[PATH_MAX];
		if (n && n < sizeof(want) && c[0] == '/') {
			memcpy(want, c, n);
			want[n] = '\0';
			if (realpath(want, real)) {
				size_t len = strlen(real);
				if (len && real[len - 1] == '/')
					len--;
				if (!strncmp(path, real, len) && (path[len] == '/' || !path[len]) && len > max)
					max = len;
			}
		}
		c = sep ? sep + 1 : c + n;
	}
	return max;
}

static int exists_in(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	return (size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) < sizeof(p) && !stat(p, &st);
}

/*
 * Whether libgit2's discovery from dir could find a repository: a .git, or
 * a HEAD (a git directory itself), in dir or a parent the search reaches.
 * Only a "no" is trusted (then starting libgit2 is skipped: its start-up
 * reads the system's CA certificates, ~10 ms); anything else is left to
 * libgit2.  Filesystem boundaries are not checked: crossing one only
 * makes this answer "maybe" more often.
 */
static int maybe_in_repository(const char *dir, const char *ceilings)
{
	char path[PATH_MAX];
	size_t off = 0;
	if (!realpath(dir, path))
		return 1;
	for (int first = 1;; first = 0) {
		if (exists_in(path, ".git") || exists_in(path, "HEAD"))
			return 1;
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return 0; /* the next would be the root, which the search never looks at */
		*slash = '\0';
		if (first)
			off = ceiling_offset(path, ceilings);
		if (strlen(path) <= off)
			return 0;
	}
}

int gitrepo_open(const char *dir, struct gitrepo **out, struct diag *d)
{
	struct gitrepo *r = xcalloc(1, sizeof(*r));
	const char *ceilings = getenv("GIT_CEILING_DIRECTORIES");
	char real[PATH_MAX];
	int e;

	if (!maybe_in_repository(dir, ceilings)) {
		e = GIT_ENOTFOUND;
	} else {
		git_libgit2_init();
		r->initialised = 1;
		/* Discovery stops where git's would: at GIT_CEILING_DIRECTORIES. */
		e = git_repository_open_ext(&r->repo, dir, 0, ceilings);
	}
	if (e == GIT_ENOTFOUND) {
		/* Name the directory as the user would: relative to where they are. */
		const char *shown = dir;
		size_t n;
		if (getcwd(real, sizeof(real)) && (n = strlen(real)) > 1 &&
		    !strncmp(dir, real, n) && (dir[n] == '/' || !dir[n]))
			shown = dir[n] ? dir + n + 1 : ".";
		diag_err(d, "'%s' is not in a git repository: dsnflip branch commits the change to "
			 "the repository that holds the stack (git init, commit the stack, then "
			 "re-run)", shown);
		goto fail;
	}
	if (e) {
		git_err(d, EXIT_INPUT, "cannot open the git repository at '%s'", dir);
		goto fail;
	}
	if (git_repository_is_bare(r->repo) || !git_repository_workdir(r->repo)) {
		diag_err(d, "the repository holding '%s' is bare: run dsnflip in a work tree", dir);
		goto fail;
	}
	if (!realpath(git_repository_workdir(r->repo), real)) {
		diag_err(d, "cannot resolve the work tree '%s'", git_repository_workdir(r->repo));
		goto fail;
	}
	r->workdir = xstrdup(real);
	*out = r;
	return 0;
fail:
	gitrepo_free(r);
	return -1;
}

void gitrepo_free(struct gitrepo *r)
{
	if (!r)
		return;
	git_commit_free(r->base);
	git_repository_free(r->repo);
	free(r->workdir);
	free(r->base_name);
	if (r->initialised)
		git_libgit2_shutdown();
	free(r);
}

const char *gitrepo_workdir(const struct gitrepo *r)
{
	return r->workdir;
}

char *gitrepo_relpath(const struct gitrepo *r, const char *abs)
{
	char dir[PATH_MAX], *copy = xstrdup(abs), *slash = strrchr(copy, '/');
	const char *base;
	char *res = NULL;

	/* Resolve the directory (the file itself may be a symlink git tracks as such). */
	if (!slash || slash == copy) {
		base = slash ? slash + 1 : copy;
		strcpy(dir, "/");
	} else {
		*slash = '\0';
		base = slash + 1;
		if (!realpath(copy, dir))
			goto out;
	}
	size_t n = strlen(r->workdir);
	if (!strcmp(dir, r->workdir))
		res = xstrdup(base);
	else if (!strncmp(dir, r->workdir, n) && (dir[n] == '/' || n == 1))
		res = xstrfmt("%s/%s", dir + (n == 1 ? 1 : n + 1), base);
out:
	free(copy);
	return res;
}

int gitrepo_set_base(struct gitrepo *r, const char *rev, struct diag *d)
{
	git_object *obj = NULL;
	git_reference *head = NULL;
	int ret = -1;

	if (!rev) {
		if (git_repository_head_unborn(r->repo) == 1)
			return diag_err(d, "the repository has no commits yet: commit the stack first");
		if (git_repository_head_detached(r->repo) == 1)
			return diag_err(d, "HEAD is detached: pass --base REV to say which commit the "
					"branch starts from");
		if (git_repository_head(&head, r->repo))
			return git_err(d, EXIT_INPUT, "cannot read %s", "HEAD");
		r->base_name = xstrfmt("HEAD (%s)", git_reference_shorthand(head));
		rev = "HEAD";
	} else {
		r->base_name = xstrdup(rev);
	}
	if (git_revparse_single(&obj, r->repo, rev)) {
		git_err(d, EXIT_INPUT, "--base '%s' does not name a commit", rev);
		goto cleanup;
	}
	if (git_object_peel((git_object **)&r->base, obj, GIT_OBJECT_COMMIT)) {
		git_err(d, EXIT_INPUT, "'%s' is not a commit", rev);
		goto cleanup;
	}
	git_oid_tostr(r->base_id, sizeof(r->base_id), git_commit_id(r->base));
	ret = 0;
cleanup:
	git_object_free(obj);
	git_reference_free(head);
	return ret;
}

const char *gitrepo_base_id(const struct gitrepo *r)
{
	return r->base_id;
}

const char *gitrepo_base_name(const struct gitrepo *r)
{
	return r->base_name ? r->base_name : "";
}

int gitrepo_check_branch(struct gitrepo *r, const char *name, int force, int *exists,
			 struct diag *d)
{
	git_reference *ref = NULL;
	int valid = 0, e;

	*exists = 0;
	if (git_branch_name_is_valid(&valid, name) || !valid)
		return diag_err(d, "'%s' is not a valid branch name", name);
	e = git_branch_lookup(&ref, r->repo, name, GIT_BRANCH_LOCAL);
	if (e == GIT_ENOTFOUND)
		return 0;
	if (e)
		return git_err(d, EXIT_INPUT, "cannot look up branch '%s'", name);
	*exists = 1;
	int out = git_branch_is_checked_out(ref);
	git_reference_free(ref);
	if (out == 1)
		return diag_err(d, "branch '%s' is checked out: dsnflip never moves the branch you are "
				"on; check out another branch or choose another --name", name);
	if (!force)
		return diag_err(d, "branch '%s' already exists: pass --force to replace it, or choose "
				"another --name", name);
	return 0;
}

int gitrepo_check_identity(struct gitrepo *r, struct diag *d)
{
	git_signature *sig = NULL;
	if (git_signature_default(&sig, r->repo))
		return diag_err(d, "git has no identity to sign the commit with: set one with "
				"git config user.name \"Your Name\" and git config user.email you@example.com");
	git_signature_free(sig);
	return 0;
}

int gitrepo_path(struct gitrepo *r, const char *relpath, const char *data, size_t len,
		 struct gitpath *out, struct diag *d)
{
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	git_index *index = NULL;
	git_blob *blob = NULL;
	int ignored = 0, e, ret = -1;

	memset(out, 0, sizeof(*out));
	if (git_commit_tree(&tree, r->base))
		return git_err(d, EXIT_FAILED, "cannot read the tree of %s", r->base_id);
	e = git_tree_entry_bypath(&te, tree, relpath);
	if (!e) {
		out->mode = (unsigned)git_tree_entry_filemode(te);
		if (out->mode == GIT_FILEMODE_LINK) {
			out->symlink = 1;
		} else if (out->mode == GIT_FILEMODE_BLOB || out->mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
			out->in_base = 1;
			if (git_blob_lookup(&blob, r->repo, git_tree_entry_id(te))) {
				git_err(d, EXIT_FAILED, "cannot read '%s' at the base commit", relpath);
				goto cleanup;
			}
			out->same = (size_t)git_blob_rawsize(blob) == len &&
				    !memcmp(git_blob_rawcontent(blob), data, len);
		}
	} else if (e != GIT_ENOTFOUND) {
		git_err(d, EXIT_FAILED, "cannot look up '%s' in the base commit", relpath);
		goto cleanup;
	}
	if (git_repository_index(&index, r->repo)) {
		git_err(d, EXIT_FAILED, "cannot read the index%s", "");
		goto cleanup;
	}
	out->in_index = git_index_get_bypath(index, relpath, 0) != NULL;
	if (git_ignore_path_is_ignored(&ignored, r->repo, relpath)) {
		git_err(d, EXIT_FAILED, "cannot check whether git ignores '%s'", relpath);
		goto cleanup;
	}
	out->ignored = ignored;
	ret = 0;
cleanup:
	git_blob_free(blob);
	git_index_free(index);
	git_tree_entry_free(te);
	git_tree_free(tree);
	return ret;
}

struct export_ctx {
	git_repository *repo;
	const char *dest;
	struct diag *d;
};

static int export_entry(const char *root, const git_tree_entry *te, void *payload)
{
	struct export_ctx *x = payload;
	git_filemode_t mode = git_tree_entry_filemode(te);
	git_blob *blob = NULL;
	char *path = xstrfmt("%s/%s%s", x->dest, root, git_tree_entry_name(te));
	int ret = 0;

	if (mode == GIT_FILEMODE_TREE) {
		ret = fs_mkdir_p(path, 0700, x->d);
	} else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
		   mode == GIT_FILEMODE_LINK) {
		if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(te))) {
			ret = git_err(x->d, EXIT_FAILED, "cannot read '%s' at the base commit", path);
		} else if (mode == GIT_FILEMODE_LINK) {
			char *target = xstrndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
			if (symlink(target, path))
				ret = diag_fail(x->d, "cannot create '%s': %s", path, strerror(errno));
			free(target);
		} else if (path_write_file(path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob)) ||
			   chmod(path, mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0700 : 0600)) {
			ret = diag_fail(x->d, "cannot write '%s': %s", path, strerror(errno));
		}
	}
	git_blob_free(blob);
	free(path);
	return ret ? -1 : 0; /* a negative return stops the walk */
}

int gitrepo_export_base(struct gitrepo *r, const char *dest, struct diag *d)
{
	git_tree *tree = NULL;
	struct export_ctx x = { r->repo, dest, d };
	int e;

	if (git_commit_tree(&tree, r->base))
		return git_err(d, EXIT_FAILED, "cannot read the tree of %s", r->base_id);
	e = git_tree_walk(tree, GIT_TREEWALK_PRE, export_entry, &x);
	git_tree_free(tree);
	if (e && !d->set)
		return git_err(d, EXIT_FAILED, "cannot read the tree of %s", r->base_id);
	return e ? -1 : 0;
}

int gitrepo_in_base(struct gitrepo *r, const char *relpath, int *in_base, int *ignored,
		    struct diag *d)
{
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	int e, ret = -1;

	*in_base = *ignored = 0;
	if (git_commit_tree(&tree, r->base))
		return git_err(d, EXIT_FAILED, "cannot read the tree of %s", r->base_id);
	e = git_tree_entry_bypath(&te, tree, relpath);
	if (!e) {
		git_filemode_t mode = git_tree_entry_filemode(te);
		*in_base = mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
	} else if (e != GIT_ENOTFOUND) {
		git_err(d, EXIT_FAILED, "cannot look up '%s' in the base commit", relpath);
		goto cleanup;
	}
	if (!*in_base && git_ignore_path_is_ignored(ignored, r->repo, relpath)) {
		git_err(d, EXIT_FAILED, "cannot check whether git ignores '%s'", relpath);
		goto cleanup;
	}
	ret = 0;
cleanup:
	git_tree_entry_free(te);
	git_tree_free(tree);
	return ret;
}

static int cmp_update(const void *a, const void *b)
{
	return strcmp(((const git_tree_update *)a)->path, ((const git_tree_update *)b)->path);
}

int gitrepo_commit(struct gitrepo *r, const char *branch, int force, const struct gitfile *files,
		   size_t nfiles, const char *message, char commit_out[41], char tree_out[41],
		   struct diag *d)
{
	git_tree *base_tree = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_tree_update *up = xcalloc(nfiles, sizeof(*up));
	git_oid tree_id, commit_id;
	char *refname = xstrfmt("refs/heads/%s", branch), *log = NULL;
	int ret = -1;

	if (git_signature_default(&sig, r->repo)) {
		diag_err(d, "git has no identity to sign the commit with: set user.name and user.email");
		goto cleanup;
	}
	if (git_commit_tree(&base_tree, r->base)) {
		git_err(d, EXIT_FAILED, "cannot read the tree of %s", r->base_id);
		goto cleanup;
	}
	for (size_t i = 0; i < nfiles; i++) {
		git_tree_entry *te = NULL;
		up[i].action = GIT_TREE_UPDATE_UPSERT;
		up[i].path = files[i].path;
		up[i].filemode = GIT_FILEMODE_BLOB;
		if (!git_tree_entry_bypath(&te, base_tree, files[i].path)) {
			if (git_tree_entry_filemode(te) == GIT_FILEMODE_BLOB_EXECUTABLE)
				up[i].filemode = GIT_FILEMODE_BLOB_EXECUTABLE;
			git_tree_entry_free(te);
		}
		if (git_blob_create_from_buffer(&up[i].id, r->repo, files[i].data, files[i].len)) {
			git_err(d, EXIT_FAILED, "cannot write the blob for '%s'", files[i].path);
			goto cleanup;
		}
	}
	qsort(up, nfiles, sizeof(*up), cmp_update);
	if (git_tree_create_updated(&tree_id, r->repo, base_tree, nfiles, up)) {
		git_err(d, EXIT_FAILED, "cannot build the tree for branch '%s'", branch);
		goto cleanup;
	}
	if (git_tree_lookup(&tree, r->repo, &tree_id)) {
		git_err(d, EXIT_FAILED, "cannot read the new tree%s", "");
		goto cleanup;
	}
	const git_commit *parents[1] = { r->base };
	if (git_commit_create(&commit_id, r->repo, NULL, sig, sig, NULL, message, tree, 1, parents)) {
		git_err(d, EXIT_FAILED, "cannot create the commit for branch '%s'", branch);
		goto cleanup;
	}
	log = xstrfmt("dsnflip branch: created from %s", r->base_id);
	if (git_reference_create(&ref, r->repo, refname, &commit_id, force, log)) {
		git_err(d, EXIT_FAILED, "cannot write branch '%s'", branch);
		goto cleanup;
	}
	git_oid_tostr(commit_out, 41, &commit_id);
	git_oid_tostr(tree_out, 41, &tree_id);
	ret = 0;
cleanup:
	git_reference_free(ref);
	git_tree_free(tree);
	git_tree_free(base_tree);
	git_signature_free(sig);
	free(up);
	free(refname);
	free(log);
	return ret;
}

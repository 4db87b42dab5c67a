/*
 * gitops: the one git commit dsnflip makes, with libgit2.
 *
 * The commit is built entirely in the object database: blobs from memory,
 * a tree made from the base commit's tree with git_tree_create_updated
 * (never the repository's index), a commit object, and then one reference
 * update (refs/heads/<branch>).  The work tree, the index and HEAD are
 * never touched.  libgit2's errors are wrapped into the diag with the
 * library's own message kept.
 */
#ifndef DSNFLIP_GITOPS_H
#define DSNFLIP_GITOPS_H

#include <stddef.h>

#include "util/diag.h"

struct gitrepo;

/*
 * Open the repository containing dir (searching its parents).  Errors:
 * not in a repository, a bare repository (there is no work tree to read
 * the stack from).  Free with gitrepo_free().
 */
int gitrepo_open(const char *dir, struct gitrepo **out, struct diag *d);
void gitrepo_free(struct gitrepo *r);

/* The work tree's root: absolute, symlinks resolved, no trailing slash. */
const char *gitrepo_workdir(const struct gitrepo *r);

/*
 * abs (an absolute path) relative to the work tree, or NULL when it is
 * outside it (malloc'd).  Symlinks in the directories are resolved.
 */
char *gitrepo_relpath(const struct gitrepo *r, const char *abs);

/*
 * Choose the commit the branch starts from: rev, or HEAD when rev is NULL.
 * Refuses an unborn HEAD and, without rev, a detached HEAD (which commit
 * the change belongs on is then the user's call).
 */
int gitrepo_set_base(struct gitrepo *r, const char *rev, struct diag *d);
/* The base commit's id (40 hex) and how it was named ("HEAD (main)", "v1.2"). */
const char *gitrepo_base_id(const struct gitrepo *r);
const char *gitrepo_base_name(const struct gitrepo *r);

/*
 * Check that refs/heads/name may be written: a valid name; not existing
 * unless force; never the branch checked out in any work tree (moving it
 * would change what HEAD is).  *exists is set.
 */
int gitrepo_check_branch(struct gitrepo *r, const char *name, int force, int *exists,
			 struct diag *d);

/* Check that git has an identity to sign the commit with (user.name/email). */
int gitrepo_check_identity(struct gitrepo *r, struct diag *d);

struct gitpath {
	int in_base;      /* a regular file (or executable) in the base commit */
	int in_index;     /* staged in the repository's index (read, never written) */
	int ignored;      /* git's ignore rules match it */
	int same;         /* in_base and its blob equals the given bytes */
	int symlink;      /* a symbolic link in the base commit */
	unsigned mode;    /* its mode in the base commit */
};

/* Facts about relpath (relative to the work tree) compared with data. */
int gitrepo_path(struct gitrepo *r, const char *relpath, const char *data, size_t len,
		 struct gitpath *out, struct diag *d);

/*
 * Write the base commit's files under dest (an existing directory), each at
 * dest/<its path in the tree>: regular files and executables (mode 0600 /
 * 0700), symbolic links as links; submodules are left out.  For reading a
 * past revision of the stack the way the work tree holds the present one.
 */
int gitrepo_export_base(struct gitrepo *r, const char *dest, struct diag *d);

/*
 * Whether relpath is a regular (or executable) file of the base commit, as
 * gitpath's in_base, and when it is not, whether git ignores it.  One tree
 * lookup: no blob is read, no index.
 */
int gitrepo_in_base(struct gitrepo *r, const char *relpath, int *in_base, int *ignored,
		    struct diag *d);

struct gitfile {
	const char *path;   /* relative to the work tree, '/'-separated */
	const char *data;
	size_t len;
};

/*
 * Commit files (each added or replacing the base's version, mode kept) on
 * top of the base as refs/heads/branch (overwriting it when force).  The
 * message is used as given.  Author and committer: git's configured
 * identity.  commit_out and tree_out get 40 hex digits and a NUL.
 */
int gitrepo_commit(struct gitrepo *r, const char *branch, int force, const struct gitfile *files,
		   size_t nfiles, const char *message, char commit_out[41], char tree_out[41],
		   struct diag *d);

#endif

/*
 * shlex: split POSIX shell text (a compose `command: sh -c "..."`, an
 * entrypoint script, a Dockerfile RUN/CMD in shell form) into its simple
 * commands and their words, the way the shell would before running them:
 * quotes removed ('...', "...", $'...'), \ escapes, ;, &&, ||, |, &,
 * newlines and ( ) separate commands, redirections and their targets and
 * here-document bodies are skipped, and each $(...) / `...` substitution
 * is recorded (its span) so the caller can split it too.  Words keep
 * ${...} and $VAR as written: nothing is expanded or run.
 */
#ifndef DSNFLIP_SHLEX_H
#define DSNFLIP_SHLEX_H

#include <stddef.h>

#include "util/buf.h"

struct span {
	size_t off, len;
};

struct shcmd {
	char **w;
	size_t *off;
	size_t nw, aw;
	size_t start, end;
	int started;
	struct span *subs;
	size_t nsubs, asubs;
};

struct lexer {
	const char *s;
	size_t len, i;
	struct buf word;
	int in_word;
	size_t wstart;
	int skip_next;            /* 1 redirection target, 2 heredoc delimiter, 3 the same with <<- */
	struct strvec heredocs;   /* "+DELIM" or "-DELIM" (tabs stripped) */
	struct shcmd cmd;
	struct shcmd *cmds;
	size_t ncmds, acmds;
};

/* Split src[0..len) into lx->cmds (lx is reset first); free with shlex_release. */
void shlex_split(struct lexer *lx, const char *src, size_t len);
void shlex_release(struct lexer *lx);

#endif

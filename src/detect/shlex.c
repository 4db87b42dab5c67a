/*
 * shlex: POSIX shell text split into simple commands (see shlex.h).
 */
#include "detect/shlex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void shcmd_clear(struct shcmd *c)
{
	for (size_t i = 0; i < c->nw; i++)
		free(c->w[i]);
	free(c->w);
	free(c->off);
	free(c->subs);
	memset(c, 0, sizeof(*c));
}

static void cmd_mark(struct lexer *lx, size_t at)
{
	if (!lx->cmd.started) {
		lx->cmd.start = at;
		lx->cmd.started = 1;
	}
}

static void word_begin(struct lexer *lx)
{
	if (lx->in_word)
		return;
	lx->in_word = 1;
	lx->wstart = lx->i;
	buf_reset(&lx->word);
	cmd_mark(lx, lx->i);
}

static void word_end(struct lexer *lx)
{
	struct shcmd *c = &lx->cmd;

	if (!lx->in_word)
		return;
	lx->in_word = 0;
	c->end = lx->i;
	if (lx->skip_next == 1) {
		lx->skip_next = 0;
		return;
	}
	if (lx->skip_next >= 2) {
		if (lx->word.len)
			strvec_pushf(&lx->heredocs, "%c%s", lx->skip_next == 3 ? '-' : '+', lx->word.buf);
		lx->skip_next = 0;
		return;
	}
	if (c->nw + 1 > c->aw) {
		c->aw = c->aw ? c->aw * 2 : 8;
		c->w = xrealloc(c->w, c->aw * sizeof(*c->w));
		c->off = xrealloc(c->off, c->aw * sizeof(*c->off));
	}
	c->w[c->nw] = xstrndup(lx->word.buf, lx->word.len);
	c->off[c->nw++] = lx->wstart;
}

static void cmd_end(struct lexer *lx)
{
	word_end(lx);
	lx->skip_next = 0;
	if (lx->cmd.nw || lx->cmd.nsubs) {
		ALLOC_GROW(lx->cmds, lx->ncmds + 1, lx->acmds);
		lx->cmds[lx->ncmds++] = lx->cmd;
		memset(&lx->cmd, 0, sizeof(lx->cmd));
	} else {
		shcmd_clear(&lx->cmd);
	}
}

static void add_sub(struct lexer *lx, size_t off, size_t len)
{
	struct shcmd *c = &lx->cmd;
	ALLOC_GROW(c->subs, c->nsubs + 1, c->asubs);
	c->subs[c->nsubs].off = off;
	c->subs[c->nsubs++].len = len;
}

/* i is just inside "(": the index of the matching ")", or len. */
static size_t match_paren(const char *s, size_t len, size_t i)
{
	int depth = 1;
	while (i < len) {
		char c = s[i];
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '\'' || c == '"') {
			i++;
			while (i < len && s[i] != c) {
				if (c == '"' && s[i] == '\\')
					i++;
				i++;
			}
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return i;
		i++;
	}
	return len;
}

/* i is just inside "`": the index of the closing "`", or len. */
static size_t match_backtick(const char *s, size_t len, size_t i)
{
	while (i < len && s[i] != '`')
		i += s[i] == '\\' ? 2 : 1;
	return i < len ? i : len;
}

/* "$(...)" or "`...`" at lx->i: record it and copy it into the word as written. */
static void substitution(struct lexer *lx)
{
	const char *s = lx->s;
	size_t start, end, next;

	if (s[lx->i] == '`') {
		start = lx->i + 1;
		end = match_backtick(s, lx->len, start);
	} else {
		start = lx->i + 2;
		end = match_paren(s, lx->len, start);
	}
	next = end < lx->len ? end + 1 : lx->len;
	add_sub(lx, start, end - start);
	buf_add(&lx->word, s + lx->i, next - lx->i);
	lx->i = next;
}

static void skip_heredoc_bodies(struct lexer *lx)
{
	const char *s = lx->s;

	for (size_t h = 0; h < lx->heredocs.nr; h++) {
		int strip = lx->heredocs.v[h][0] == '-';
		const char *delim = lx->heredocs.v[h] + 1;
		size_t dl = strlen(delim);
		while (lx->i < lx->len) {
			size_t ls = lx->i;
			const char *nl = memchr(s + ls, '\n', lx->len - ls);
			size_t le = nl ? (size_t)(nl - s) : lx->len;
			lx->i = nl ? le + 1 : lx->len;
			size_t a = ls, e = le;
			if (strip)
				while (a < e && s[a] == '\t')
					a++;
			if (e > a && s[e - 1] == '\r')
				e--;
			if (e - a == dl && !memcmp(s + a, delim, dl))
				break;
		}
	}
	strvec_clear(&lx->heredocs);
}

static int all_digits(const struct buf *b)
{
	if (!b->len)
		return 0;
	for (size_t i = 0; i < b->len; i++)
		if (!isdigit((unsigned char)b->buf[i]))
			return 0;
	return 1;
}

static void redirection(struct lexer *lx)
{
	const char *s = lx->s;
	size_t i = lx->i, len = lx->len;

	if (lx->in_word && all_digits(&lx->word))
		lx->in_word = 0; /* "2>": the fd number is part of the operator */
	else
		word_end(lx);
	cmd_mark(lx, i);
	if (s[i] == '&')
		i++;
	if (i + 2 < len && s[i] == '<' && s[i + 1] == '<' && s[i + 2] == '<') {
		i += 3;
		lx->skip_next = 1;
	} else if (i + 1 < len && s[i] == '<' && s[i + 1] == '<') {
		i += 2;
		if (i < len && s[i] == '-') {
			i++;
			lx->skip_next = 3;
		} else {
			lx->skip_next = 2;
		}
	} else {
		char op = s[i++];
		if (i < len && (s[i] == '>' || s[i] == '&' || s[i] == '|' || (op == '<' && s[i] == '>')))
			i++;
		lx->skip_next = 1;
	}
	lx->i = i;
	lx->cmd.end = i;
}

/* A double-quoted string at lx->i: unquote into the word. */
static void double_quoted(struct lexer *lx)
{
	const char *s = lx->s;

	lx->i++;
	while (lx->i < lx->len && s[lx->i] != '"') {
		char c = s[lx->i];
		if (c == '\\' && lx->i + 1 < lx->len) {
			char n = s[lx->i + 1];
			if (n == '\n') {
				lx->i += 2;
			} else if (n == '$' || n == '`' || n == '"' || n == '\\') {
				buf_addch(&lx->word, n);
				lx->i += 2;
			} else {
				buf_addch(&lx->word, c);
				lx->i++;
			}
		} else if (c == '`' || (c == '$' && lx->i + 1 < lx->len && s[lx->i + 1] == '(')) {
			substitution(lx);
		} else {
			buf_addch(&lx->word, c);
			lx->i++;
		}
	}
	if (lx->i < lx->len)
		lx->i++;
}

void shlex_split(struct lexer *lx, const char *src, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	buf_init(&lx->word);
	lx->s = src;
	lx->len = len;

	const char *s = src;
	while (lx->i < len) {
		char c = s[lx->i];
		char n = lx->i + 1 < len ? s[lx->i + 1] : '\0';

		if (c == '\\' && n == '\n') {
			lx->i += 2;
			continue;
		}
		if (c == '\\' && n == '\r' && lx->i + 2 < len && s[lx->i + 2] == '\n') {
			lx->i += 3;
			continue;
		}
		if (!lx->in_word && (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')) {
			lx->i++;
			continue;
		}
		if (!lx->in_word && c == '#') {
			while (lx->i < len && s[lx->i] != '\n')
				lx->i++;
			continue;
		}
		if (lx->in_word && (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')) {
			word_end(lx);
			lx->i++;
			continue;
		}
		if (c == '\n') {
			cmd_end(lx);
			lx->i++;
			if (lx->heredocs.nr)
				skip_heredoc_bodies(lx);
			continue;
		}
		if (c == '<' || c == '>' || (c == '&' && n == '>')) {
			redirection(lx);
			continue;
		}
		if (c == '(' && lx->in_word && lx->word.len && lx->word.buf[lx->word.len - 1] == '=') {
			/* arr=(a b c): one word */
			size_t end = match_paren(s, len, lx->i + 1);
			size_t next = end < len ? end + 1 : len;
			buf_add(&lx->word, s + lx->i, next - lx->i);
			lx->i = next;
			continue;
		}
		if (c == ';' || c == '&' || c == '|' || c == '(' || c == ')') {
			cmd_end(lx);
			lx->i++;
			if ((c == ';' || c == '&' || c == '|') && lx->i < len &&
			    (s[lx->i] == c || (c == '|' && s[lx->i] == '&') || (c == ';' && s[lx->i] == '&')))
				lx->i++;
			continue;
		}

		word_begin(lx);
		if (c == '\'') {
			lx->i++;
			while (lx->i < len && s[lx->i] != '\'')
				buf_addch(&lx->word, s[lx->i++]);
			if (lx->i < len)
				lx->i++;
		} else if (c == '"') {
			double_quoted(lx);
		} else if (c == '`' || (c == '$' && n == '(')) {
			substitution(lx);
		} else if (c == '$' && n == '{') {
			size_t j = lx->i + 2;
			while (j < len && s[j] != '}')
				j++;
			j = j < len ? j + 1 : len;
			buf_add(&lx->word, s + lx->i, j - lx->i);
			lx->i = j;
		} else if (c == '$' && n == '\'') {
			/* $'...': ANSI-C quoting, kept escaped */
			size_t j = lx->i + 2;
			while (j < len && s[j] != '\'') {
				if (s[j] == '\\' && j + 1 < len)
					buf_addch(&lx->word, s[j++]);
				buf_addch(&lx->word, s[j++]);
			}
			lx->i = j < len ? j + 1 : len;
		} else if (c == '\\') {
			if (n)
				buf_addch(&lx->word, n);
			lx->i += n ? 2 : 1;
		} else {
			buf_addch(&lx->word, c);
			lx->i++;
		}
	}
	cmd_end(lx);
	strvec_clear(&lx->heredocs);
	buf_release(&lx->word);
}

void shlex_release(struct lexer *lx)
{
	for (size_t i = 0; i < lx->ncmds; i++)
		shcmd_clear(&lx->cmds[i]);
	free(lx->cmds);
	lx->cmds = NULL;
	lx->ncmds = 0;
}


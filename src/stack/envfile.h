/*
 * envfile: parse a .env / env_file the way compose v2 (compose-go's dotenv
 * package) does, keeping where every value's literal text is.
 *
 *   # comment                 whole-line comments and blank lines skipped
 *   export KEY=value          "export " prefix optional
 *   KEY = value # comment     spaces around key and '=' trimmed; an inline
 *                             comment starts at " #" (a space, then '#')
 *   KEY: value                YAML-style separator, as compose-go allows
 *   KEY='literal'             no escapes except \' ; never interpolated
 *   KEY="a\nb \$x"            \a \b \f \n \r \t \v \\ \" \0ooo (not \0000) processed,
 *                             \$ kept as "$$" (a literal $ once interpolated)
 *   KEY                       no '=': inherits from the environment
 *
 * Quoted values may span lines.  CRLF endings: a trailing '\r' is never
 * part of an unquoted value or a key.  A UTF-8 BOM at the start is
 * skipped.  Later duplicates win (envfile_get), but every entry is kept in
 * file order so each can be traced to its place.
 *
 * Values are NOT interpolated here: the caller does that with interp, for
 * the entries envfile_entry_interpolates() says, against the right
 * environment (which differs between compose v1 and v2).
 */
#ifndef DSNFLIP_ENVFILE_H
#define DSNFLIP_ENVFILE_H

#include <stddef.h>

#include "util/diag.h"

#define ENVFILE_MAX_SIZE (1024 * 1024) /* bytes */

struct envfile_entry {
	char *key;
	/* After unquoting/escape processing; NOT yet interpolated.  "" (not
	 * NULL) when has_value is 0. */
	char *value;
	/* 1-based position of the value's first byte (the opening quote of a
	 * quoted value); col counts characters.  For a bare KEY, the position
	 * just after the key. */
	int line, col;
	/* Byte span of the value literal in the file, quotes included
	 * (offsets into the data given to envfile_parse, BOM included). */
	size_t vstart, vend;
	int quote;     /* 0, '\'' or '"' */
	int has_value; /* 0 for a bare "KEY" line with no '=' */
};

struct envfile {
	struct envfile_entry *v;
	size_t nr, alloc;
};
#define ENVFILE_INIT { NULL, 0, 0 }

/*
 * Parse data (len bytes) of file `display` (the name for messages) into out,
 * which must be empty (ENVFILE_INIT or released).  Returns 0, or -1 with out
 * left empty and d set to "display:line:col: message" for a malformed line
 * (bad character in a key, a space inside a key, a missing key before '=',
 * an unterminated quote, a NUL byte) or "display: env file too large ..."
 * past ENVFILE_MAX_SIZE.
 */
int envfile_parse(const char *display, const char *data, size_t len,
		  struct envfile *out, struct diag *d);
void envfile_release(struct envfile *ef);

/* The last entry for key (later ones win), or NULL. */
const struct envfile_entry *envfile_get(const struct envfile *ef, const char *key);

/* Whether compose interpolates this value: unquoted and double-quoted values
 * yes, single-quoted values and bare keys no. */
int envfile_entry_interpolates(const struct envfile_entry *e);

/*
 * The writer, on the same grammar: out = data with each keys[k] set to
 * values[k].  A key the file defines gets its (last) value's bytes replaced
 * where they are, so no line moves; a key it does not define is added at
 * the end, after the comment line header (when given and not already a
 * line of the file), in the file's line ending (CRLF when its first line
 * ends so), a newline first when the file does not end in one.  Every
 * other byte stays: comments, blank lines, other values' quoting,
 * multi-line values, a missing final newline.  Values are written
 * unquoted, so each must be plain ([A-Za-z0-9_.+/=:@%,-]).  Returns 0, or
 * -1 with d when data does not parse or a value is not plain (out as it was).
 */
int envfile_set(const char *display, const char *data, size_t len, const char *const *keys,
		const char *const *values, size_t n, const char *header, struct buf *out,
		struct diag *d);

#endif

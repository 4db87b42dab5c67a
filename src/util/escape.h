/*
 * escape: input-derived text made safe for where it is printed.
 *
 * A service name, a database name decoded from %1b%5d, an environment value
 * or a file name comes from the repository, and the repository may be
 * hostile: raw ESC/BEL reach the terminal (set its title, clear the
 * screen), a newline forges a line in a report or a PR description, a '#'
 * or '|' restructures markdown.  Every such string goes through one of
 * these on its way out:
 *
 *   esc_text      terminal text: control characters (C0, DEL, C1 and the
 *                 line and paragraph separators U+2028/9) shown as \xNN or
 *                 \u2028, a backslash doubled only when it would read as
 *                 one of those escapes; never a line break
 *   esc_text_block  esc_text for a message of several lines (an operation's
 *                 failure): a line break followed by a space is kept, since
 *                 every continuation line dsnflip writes is indented (quoted
 *                 output, one problem per line); any other one is escaped,
 *                 so nothing quoted can start a line of its own at column 0
 *   esc_quote_lines  another program's output (a docker or git child's
 *                 stderr, container logs) quoted under a message: each of
 *                 its lines esc_text'd on a line of its own after indent
 *                 (a trailing CR dropped), so it can neither move the
 *                 cursor nor pass for dsnflip's own lines
 *   esc_markdown  esc_text, then the markdown metacharacters that act inline
 *                 backslash-escaped (\ ` * [ ] < > | ~ & and a '_' that is
 *                 not inside a word) so a value is literal text in a table
 *                 cell or a list item; block syntax cannot fire because a
 *                 value never starts a line
 *   esc_yaml      a YAML scalar: plain when that reads back as the same
 *                 string, else double-quoted with YAML escapes (so "****",
 *                 "yes", "1.0", ": x" and control characters survive)
 */
#ifndef DSNFLIP_ESCAPE_H
#define DSNFLIP_ESCAPE_H

#include "util/buf.h"

void esc_text(const char *s, struct buf *out);
void esc_text_block(const char *s, struct buf *out);
/* Each line of s as "\n" indent escaped-line (nothing for an empty s). */
void esc_quote_lines(const char *s, const char *indent, struct buf *out);
void esc_markdown(const char *s, struct buf *out);
void esc_yaml(const char *s, struct buf *out);
/* Always the double-quoted form (flow sequence items). */
void esc_yaml_quoted(const char *s, struct buf *out);
/* Does s need esc_text at all?  (Lets callers skip a copy.) */
int esc_text_needed(const char *s);

#endif

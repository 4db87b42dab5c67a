/*
 * evidence: find migration evidence in start-up commands and shell scripts.
 *
 * detect classifies a service as a migrator when something it runs at
 * start-up applies schema migrations (PRODUCT.md §3).  That "something" is a
 * compose command/entrypoint, a Dockerfile ENTRYPOINT/CMD, or a script those
 * run.  This module reads them as shell, not as text: a command is split into
 * simple commands (on && || ; | & newlines, subshells, $(...) and `...`),
 * quotes and line continuations are undone, redirections, comments and
 * heredoc bodies dropped, and `sh -c STRING` / `bash -lc STRING` are read
 * recursively.  A migration pattern is a word sequence that must start at the
 * command word of a simple command, after peeling what only wraps a command:
 * NAME=value assignments, exec, env, nohup, timeout, sudo, gosu, su-exec,
 * tini, dumb-init, wait-for-it ... --, dockerize, npx, bundle exec, poetry/
 * pipenv/uv/pdm run, npm/yarn/pnpm run|exec, and interpreters (python -m MOD
 * and python SCRIPT, node SCRIPT, php SCRIPT, ...).  So "python -m alembic
 * upgrade head" matches "alembic upgrade", while alembic_upgrade_notes.txt,
 * a comment, or an argument of echo ("echo run alembic upgrade later") does
 * not: an argument is not a command.
 *
 * Pattern words match a token that is equal to them or ends with "/WORD"
 * (so run_migrations.py matches /app/scripts/run_migrations.py); a word
 * starting with '-' also matches "-word=value"; a word ending in '*' matches
 * any token with that prefix; the word "..." matches any run of tokens.
 * Between two pattern words, options may intervene ("-c alembic.ini",
 * "--app=x"): an option token, each optionally followed by one value token.
 *
 * Input is bounded, never silently: a script over EVIDENCE_SCRIPT_MAX bytes
 * is refused (-1), and nesting (sh -c inside $(...) inside sh -c) deeper
 * than EVIDENCE_MAX_DEPTH is not read but marks the list `unread`, so the
 * caller knows the start-up was not fully examined.  Every word of every
 * simple command is matched, however long the command.
 */
#ifndef DSNFLIP_EVIDENCE_H
#define DSNFLIP_EVIDENCE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/diag.h"

#define EVIDENCE_SCRIPT_MAX (1024 * 1024)
#define EVIDENCE_MAX_DEPTH 8
#define EVIDENCE_TEXT_MAX 160

struct evidence {
	char *file;
	int line;
	char *text;     /* the simple command as written, whitespace collapsed, at most 160 bytes ("..." marks a cut) */
	char *pattern;  /* the pattern that matched, words joined by single spaces */
};

struct evidence_list {
	struct evidence *v;
	size_t nr, alloc;
	int unread;     /* some command was nested too deep to be read (see above) */
};
#define EVIDENCE_LIST_INIT { NULL, 0, 0, 0 }

void evidence_list_release(struct evidence_list *l);

/* The migration patterns in use: the defaults of PRODUCT.md §3 plus config's. */
struct patterns;

/*
 * The default patterns: run_migrations.py, alembic upgrade, manage.py migrate,
 * django-admin migrate, flask db upgrade, rails|rake db:migrate, rails
 * db:prepare, prisma migrate deploy, knex migrate:latest|migrate:up,
 * sequelize(-cli) db:migrate, typeorm migration:run, goose ... up|up-by-one|
 * up-to, migrate -path|-source, flyway migrate, liquibase update, dbmate
 * up|migrate, sqlx migrate run, diesel migration run, atlas migrate apply,
 * artisan migrate, and npm/yarn/pnpm/bun [run] migrate*|db:migrate*|
 * migration:run.  Free with patterns_free().
 */
struct patterns *patterns_default(void);
/*
 * Add a pattern: plain words separated by blanks, e.g. "bin/migrate-db" or
 * "invoke db.upgrade".  Returns 0 (also when it is already there), or -1
 * with d set when the pattern is empty, longer than 16 words or 200 bytes,
 * starts or ends with "...", or holds shell syntax (quotes, $, ;, &, |, <,
 * >, parentheses, backslash).  patterns_add_at names the place the pattern
 * is written (file:line:col; file NULL for none) in that error.
 */
int patterns_add(struct patterns *p, const char *words, struct diag *d);
int patterns_add_at(struct patterns *p, const char *words, const char *file, int line, int col,
		    struct diag *d);
void patterns_free(struct patterns *p);

/*
 * Match one command given as argv (exec form, compose list).  An argv that
 * is a shell with -c is read as shell.  Appends at most one evidence per
 * simple command, with the caller's file and line, and returns how many were
 * appended.
 */
int evidence_match_command(const struct patterns *p, const char *const *argv, size_t argc,
			   const char *file, int line, struct evidence_list *out);
/* Same for a shell string (compose string command, Dockerfile shell form); every match gets `line`. */
int evidence_match_shell(const struct patterns *p, const char *cmd,
			 const char *file, int line, struct evidence_list *out);

/*
 * Scan a shell script (len bytes of data; need not be NUL-terminated):
 * appends evidence with `display` and the line each simple command starts
 * on (commands inside sh -c or $(...) get their enclosing command's line),
 * and adds to *called, once each and as written, the scripts it runs:
 * `. x` / `source x`, `sh|bash [opts] x`, and any command word ending in .sh
 * or .bash or that is a path whose name holds "entrypoint" (`exec ./x.sh`,
 * `/abs/path.sh`).  Returns the number of evidence appended, or -1 (nothing
 * appended) when the script is over EVIDENCE_SCRIPT_MAX bytes.
 */
int evidence_scan_script(const struct patterns *p, const char *display, const char *data, size_t len,
			 struct evidence_list *out, struct strvec *called);

/* The scripts a command (argv, or a shell string) runs, as above; returns how many were added. */
int evidence_calls_command(const char *const *argv, size_t argc, struct strvec *called);
int evidence_calls_shell(const char *cmd, struct strvec *called);

/*
 * Does this start-up run an application: an interpreter on a module or
 * script (python app.py, python -m uvicorn, node server.js, java -jar x),
 * npm/yarn start|run X, or any other binary (gunicorn, ./bin/server,
 * celery worker)?  Not an application: a shell script (the caller follows
 * it), a command held in a variable ("$@"), shell utilities (echo, sleep,
 * tail, true), cron daemons (their jobs are invisible) and PostgreSQL
 * client tools (psql, pg_dump).  For `sh -c STRING` the last simple command
 * that runs an application decides.  Returns 1 and sets *what to a malloc'd
 * short description ("gunicorn", "python -m uvicorn", "npm run start"), or
 * returns 0 and sets *what to NULL.
 */
int evidence_runs_app(const char *const *argv, size_t argc, char **what);

/*
 * Is word (a command's first word) a program run by name or path: a path,
 * a shell, an interpreter, a package runner, a shell utility, a well-known
 * server or task runner (gunicorn, celery, puma ...), or a file name
 * (manage.py, server.js)?  Otherwise it reads as a subcommand handed to an
 * image's own entrypoint (`command: server`, `command: worker`, `--upgrade`).
 */
int evidence_is_program(const char *word);

/*
 * The script an interpreter runs in argv (`node index.js`, `python3
 * app/main.py`, `./wait-for db:5432 -- node server.js`): a pointer to that
 * word, or NULL when no interpreter runs a script file (`python -m mod`,
 * `node -e CODE`, a binary).
 */
const char *evidence_interp_script(const char *const *argv, size_t argc);

#endif

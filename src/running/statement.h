/*
 * statement: what one SQL statement does, as observe classes a service by
 * what its sessions run (pg_stat_activity.query), and the statement as
 * evidence.
 *
 * The kind is read from the statement's first word after comments and
 * parentheses: DDL (create, alter, drop, comment, grant, revoke, reindex,
 * cluster, security label, and what needs the owner's rights as DDL does:
 * vacuum, analyze, refresh materialized view, import foreign schema;
 * SELECT ... INTO), a write (insert, update, delete, merge, truncate,
 * COPY ... FROM, a WITH or SELECT holding one of those words —
 * data-modifying CTEs, SELECT ... FOR UPDATE —, CALL, DO and LOCK), a read
 * (select, table, values, fetch, declare, show, COPY ... TO), else other.
 * EXPLAIN ANALYZE is what it runs; plain EXPLAIN runs nothing.  Where the words cannot tell, the
 * answer leans to write: calling a writer a reader would give it a role
 * that cannot write; the other way round only grants too much.
 */
#ifndef DSNFLIP_STATEMENT_H
#define DSNFLIP_STATEMENT_H

#include <stddef.h>

enum stmt_kind { STMT_OTHER, STMT_READ, STMT_WRITE, STMT_DDL };

enum stmt_kind stmt_kind(const char *query);

/* The statement as evidence (malloc'd): whitespace collapsed, secrets
 * masked (util/mask.h), cut to max bytes with "...". */
char *stmt_evidence(const char *query, size_t max);

#endif

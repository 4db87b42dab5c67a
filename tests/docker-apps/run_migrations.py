"""Migrations that really run DDL, idempotently, then exit 0.

  run_migrations.py            the schema the apps need
  run_migrations.py --audit    also alter app.audit_log (owned by another role:
                               fails as the new owner, works as the superuser)
"""
import sys

import psycopg2

from common import connect, fail, log

conn = connect()
# As real migration tools do (Rails, Prisma, Flyway): one migrator at a time.
# The stack starts three that run this file together, and two concurrent
# "create table if not exists" can both miss the table and one then fails on
# pg_type's unique index.
with conn.cursor() as cur:
    cur.execute("select pg_advisory_lock(4242)")
steps = [
    "create table if not exists app.migrations (id int primary key, applied_at timestamptz default now())",
    "create table if not exists app.items_archive (like app.items including all)",
    "alter table app.items add column if not exists note text",
    "create index if not exists items_source_idx on app.items (source)",
]
if "--audit" in sys.argv:
    steps.append("alter table app.audit_log add column if not exists reviewed boolean")
for i, sql in enumerate(steps, 1):
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            cur.execute("insert into app.migrations (id) values (%s) on conflict do nothing", (i,))
    except psycopg2.Error as e:
        fail(f"migration {i} failed: {str(e).strip()}")
    log(f"migration {i} applied")
log("migrations done")

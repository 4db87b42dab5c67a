"""Creates its cache table at start-up (DDL in app code), then writes a row a second."""
import os
import time

import psycopg2

from common import connect, fail, log

conn = connect()
try:
    with conn.cursor() as cur:
        cur.execute("create table if not exists app.boot_cache (k text primary key, v text)")
        cur.execute("drop table if exists app.boot_scratch")
        cur.execute("create table app.boot_scratch (id int)")
        cur.execute("insert into app.boot_cache values ('booted', now()::text) "
                    "on conflict (k) do update set v = excluded.v")
except psycopg2.Error as e:
    fail(f"start-up DDL failed: {str(e).strip()}")
log("start-up DDL done")
n = 0
while True:
    try:
        with conn.cursor() as cur:
            cur.execute("insert into app.items (source) values (%s)", (os.environ.get("APP_NAME", "ddlapp"),))
    except psycopg2.Error as e:
        fail(str(e).strip())
    n += 1
    time.sleep(1)

"""Runs fine, then 10 s after start does something only a superuser may
(it reads pg_authid for a "license check") and crashes with exit 3 without a
telltale log line: only the exit code says so."""
import time

import psycopg2

from common import connect, log

conn = connect()
start = time.time()
while True:
    with conn.cursor() as cur:
        cur.execute("select count(*) from app.items")
    if time.time() - start > 10:
        try:
            with conn.cursor() as cur:
                cur.execute("select count(*) from pg_catalog.pg_authid")
        except psycopg2.Error:
            log("license check did not pass; giving up")
            raise SystemExit(3)
    time.sleep(0.5)

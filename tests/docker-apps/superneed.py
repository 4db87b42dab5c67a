"""An app that quietly needs a superuser privilege: it reloads the server's
configuration at start (pg_reload_conf is not granted to ordinary roles)."""
import time

import psycopg2

from common import connect, fail, log

conn = connect()
try:
    with conn.cursor() as cur:
        cur.execute("select pg_reload_conf()")
except psycopg2.Error as e:
    fail(str(e).strip())
log("configuration reloaded")
while True:
    with conn.cursor() as cur:
        cur.execute("select 1")
    time.sleep(1)

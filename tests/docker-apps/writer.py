"""A writer: inserts a row a second (an ingest worker, a webhook receiver)."""
import os
import time

import psycopg2

from common import connect, fail, log

conn = connect()
name = os.environ.get("APP_NAME", "writer")
n = 0
while True:
    try:
        with conn.cursor() as cur:
            cur.execute("insert into app.items (source) values (%s)", (name,))
    except psycopg2.Error as e:
        fail(str(e).strip())
    n += 1
    if n % 10 == 1:
        log(f"{n} rows written")
    time.sleep(1)

"""A read-only API: keeps a small pool open and reads every half second."""
import os
import time

import psycopg2

from common import connect, fail, log

pool = [connect() for _ in range(int(os.environ.get("DB_POOL_SIZE", "2")))]
n = 0
while True:
    for conn in pool:
        try:
            with conn.cursor() as cur:
                cur.execute("select count(*) from app.items")
                count = cur.fetchone()[0]
        except psycopg2.Error as e:
            fail(str(e).strip())
    n += 1
    if n % 20 == 1:
        log(f"{count} items")
    time.sleep(0.5)

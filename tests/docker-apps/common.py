"""Shared helpers for the Docker tier's test services (python3 + psycopg2).

Each service connects the way real apps do: from DATABASE_URL (a libpq URI
or key=value string) when it is set, else from libpq's PG* variables.  It
prints what it does on stdout (docker logs) and dies loudly on errors, like
an app under a process supervisor would.
"""
import os
import signal
import sys
import time

import psycopg2

# As PID 1 in its container the process gets no default SIGTERM action:
# stop cleanly when compose recreates the container, as real apps do
# (otherwise every recreate waits for docker's 10 s stop timeout).
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def log(msg):
    print(f"[{os.environ.get('APP_NAME', 'app')}] {msg}", flush=True)


def connect(**extra):
    dsn = os.environ.get("DATABASE_URL", "")
    kwargs = dict(extra)
    kwargs.setdefault("application_name", os.environ.get("APP_NAME", "app"))
    # A legacy override some apps carry: a password from another variable
    # that beats the one in the DSN (the "wrong password" failure case).
    legacy = os.environ.get("LEGACY_DB_SECRET")
    if legacy:
        kwargs["password"] = legacy
    for attempt in range(5):
        try:
            conn = psycopg2.connect(dsn, **kwargs)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select current_user")
                log(f"connected as {cur.fetchone()[0]}")
            return conn
        except psycopg2.OperationalError as e:
            msg = str(e).strip().replace("\n", " ")
            log(f"connection failed: {msg}")
            if "password authentication failed" in msg or "does not exist" in msg:
                sys.exit(1)
            time.sleep(1)
    sys.exit(1)


def fail(msg, code=1):
    log(f"FATAL: {msg}")
    sys.exit(code)

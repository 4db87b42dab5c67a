"""Apply migrations/*.sql in order, once each, recorded in schema_migrations."""
import os
import pathlib
import re

import psycopg2

APP = "webhook"
MIGRATIONS = pathlib.Path(__file__).resolve().parent / "migrations"
LOCK_ID = 72410001  # shared by every app that migrates tracksolid_db


def main():
    dsn = re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", os.environ["DATABASE_URL"])
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:  # one transaction: all pending or none
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_ID,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM public.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for path in sorted(MIGRATIONS.glob("*.sql")):
                version = f"{APP}/{path.stem}"
                if version in done:
                    continue
                print(f"applying {version}", flush=True)
                cur.execute(path.read_text())
                cur.execute("INSERT INTO public.schema_migrations (version) VALUES (%s)", (version,))
    finally:
        conn.close()


if __name__ == "__main__":
    main()

#!/bin/sh
set -e

# Every container of this image (ingest_worker, worker) waits for the
# database and brings the schema up to date before starting its command.
until python -c 'import os, re, psycopg2; psycopg2.connect(re.sub(r"\+\w+://", "://", os.environ["DATABASE_URL"])).close()' 2>/dev/null; do
  echo "waiting for database..."
  sleep 2
done

python /app/run_migrations.py

exec "$@"

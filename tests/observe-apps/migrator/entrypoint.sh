#!/bin/sh
# Start-up as images ship it: settings, then the migrations, then the app.
set -e
. /app/lib/settings.sh
if [ "${SKIP_MIGRATIONS:-0}" != 1 ]; then
	echo "applying migrations"
	python3 /app/run_migrations.py
fi
exec "$@"

#!/usr/bin/env bash
# discover-bench: how long live discovery (`plan --db`) takes on a big database.
#
#   bench/discover-bench.sh            5,000 tables in 10 schemas
#   TABLES=20000 SCHEMAS=20 bench/discover-bench.sh
#
# Starts a throwaway PostgreSQL 15 cluster (tests/lib/pgcluster.sh), creates
# database bench_db with TABLES tables (bigserial key, so as many linked
# sequences and indexes, plus their row and array types) spread over
# SCHEMAS schemas, one view and one function per schema, and the last
# schema's tables owned by another role (so discovery lists kept objects by
# name).  TimescaleDB is absent.  Then it runs `dsnflip plan --db ... -v` on
# a one-service stack pointing at bench_db RUNS times and prints the
# fastest run as one line:
#
#   discover: N objects in X ms, Q queries
#
# (N counts application objects: schemas, tables, views, functions, ...,
# not linked sequences, indexes or implicit types.)  Exits non-zero when
# the cluster cannot start or dsnflip fails.
set -u
cd "$(dirname "$0")/.."
. tests/lib/pgcluster.sh

TABLES=${TABLES:-5000}
SCHEMAS=${SCHEMAS:-10}
RUNS=${RUNS:-3}
BIN=${DSNFLIP:-./dsnflip}
per=$(( (TABLES + SCHEMAS - 1) / SCHEMAS ))

[ -x "$BIN" ] || { echo "discover-bench: $BIN not built (make)" >&2; exit 2; }
if ! pg_start max_locks_per_transaction=1024; then
	echo "discover-bench: ${PG_SKIP_REASON:-the cluster did not start}" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT

# One transaction per schema keeps the lock table small.
{
	echo "CREATE DATABASE bench_db;"
	echo "CREATE ROLE etl LOGIN CONNECTION LIMIT 4;"
	echo "\\connect bench_db"
	for s in $(seq 1 "$SCHEMAS"); do
		cat <<SQL
DO \$\$
BEGIN
  EXECUTE 'CREATE SCHEMA app$s';
  FOR t IN 1..$per LOOP
    EXIT WHEN ($s - 1) * $per + t > $TABLES;
    EXECUTE format('CREATE TABLE app$s.t%s (id bigserial PRIMARY KEY, device_id int NOT NULL, v text)', t);
  END LOOP;
  EXECUTE 'CREATE VIEW app$s.v_first AS SELECT id FROM app$s.t1';
  EXECUTE 'CREATE FUNCTION app$s.touch(i int) RETURNS int LANGUAGE sql AS ''SELECT i + 1''';
END
\$\$;
SQL
	done
	cat <<SQL
DO \$\$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'app$SCHEMAS' AND c.relkind = 'r' LOOP
    EXECUTE format('ALTER TABLE app$SCHEMAS.%I OWNER TO etl', r.relname);
  END LOOP;
END
\$\$;
SQL
} >"$tmp/setup.sql"
start=$(date +%s%N)
if ! psql -X -q -v ON_ERROR_STOP=1 -f "$tmp/setup.sql" >"$tmp/setup.log" 2>&1; then
	echo "discover-bench: creating bench_db failed:" >&2
	tail -5 "$tmp/setup.log" >&2
	exit 1
fi
setup_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "discover-bench: created $TABLES tables in $SCHEMAS schemas in $setup_ms ms" >&2

mkdir -p "$tmp/stack"
cat >"$tmp/stack/compose.yml" <<'YML'
name: discover-bench
services:
  app:
    image: example/app:1
    command: ["python", "-m", "app"]
    environment:
      DATABASE_URL: postgresql://postgres@db:5432/bench_db
      POOL_SIZE: "5"
YML

best=
for i in $(seq 1 "$RUNS"); do
	if ! "$BIN" -C "$tmp/stack" --db "dbname=postgres" -v plan --format json >"$tmp/plan.json" 2>"$tmp/err"; then
		rc=$?
		[ $rc -eq 3 ] || { echo "discover-bench: dsnflip failed ($rc):" >&2; tail -5 "$tmp/err" >&2; exit 1; }
	fi
	line=$(grep -m1 '^discover: ' "$tmp/err")
	[ -n "$line" ] || { echo "discover-bench: no discover line in dsnflip's stderr" >&2; exit 1; }
	ms=$(sed -n 's/.* in \([0-9]*\) ms.*/\1/p' <<<"$line")
	if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; bestline=$line; fi
done
echo "$bestline"

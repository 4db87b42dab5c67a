#!/usr/bin/env bash
# discover-ts: discovery's TimescaleDB branch against mocked
# timescaledb_information views (see tests/pg/discover-ts.c): hypertables
# and continuous aggregates are counted as such, internal schemas and jobs
# below 1000 are left out, custom jobs are told from policies, and the
# TimescaleDB queries do not run when the extension is absent.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/pgcluster.sh
T=discover-ts
BUILD=${BUILD:-build/default}
if [ ! -f "$BUILD/libdsnflip.a" ]; then echo "FAIL $T: $BUILD/libdsnflip.a is not built"; exit 0; fi
if ! pg_start; then
	if [ -n "${PG_SKIP_REASON:-}" ]; then echo "SKIP pg: $PG_SKIP_REASON"; else echo "FAIL $T: the cluster did not start"; fi
	exit 0
fi
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT

PKGS="yaml-0.1 libpq libgit2 jansson"
san=
case "$BUILD" in *san*) san="-fsanitize=address,undefined" ;; esac
if ! cc -std=c11 -D_GNU_SOURCE $san -Isrc $(pkg-config --cflags $PKGS) -o "$tmp/discover-ts" tests/pg/discover-ts.c \
	"$BUILD/libdsnflip.a" -Wl,--wrap=pg_exec $(pkg-config --libs $PKGS) 2>"$tmp/cc.log"; then
	echo "FAIL $T/build: $(head -3 "$tmp/cc.log")"
	exit 0
fi

psql -X -q -v ON_ERROR_STOP=1 >"$tmp/setup.log" 2>&1 <<'SQL' || { echo "FAIL $T/setup: $(tail -3 "$tmp/setup.log")"; exit 0; }
CREATE DATABASE metrics_db;
\connect metrics_db
CREATE ROLE grafana NOLOGIN;
CREATE SCHEMA app;
CREATE TABLE app.conditions (time timestamptz NOT NULL, device int, temp real);
CREATE TABLE app.devices (id serial PRIMARY KEY);
CREATE VIEW app.conditions_hourly AS SELECT device, avg(temp) FROM app.conditions GROUP BY device;
ALTER VIEW app.conditions_hourly OWNER TO grafana;
-- TimescaleDB's internals: never application objects.
CREATE SCHEMA _timescaledb_internal;
CREATE TABLE _timescaledb_internal._hyper_1_1_chunk (LIKE app.conditions);
CREATE TABLE _timescaledb_internal._materialized_hypertable_2 (device int, avg real);
CREATE SCHEMA timescaledb_information;
CREATE VIEW timescaledb_information.hypertables AS
  SELECT 'app'::name AS hypertable_schema, 'conditions'::name AS hypertable_name,
         'postgres'::name AS owner, 1 AS num_dimensions, 1::bigint AS num_chunks;
CREATE VIEW timescaledb_information.continuous_aggregates AS
  SELECT 'app'::name AS view_schema, 'conditions_hourly'::name AS view_name, 'grafana'::name AS view_owner,
         '_timescaledb_internal'::name AS materialization_hypertable_schema,
         '_materialized_hypertable_2'::name AS materialization_hypertable_name;
CREATE VIEW timescaledb_information.jobs AS
  SELECT * FROM (VALUES
    (1, 'postgres'::name, '_timescaledb_functions'::name, 'policy_telemetry'::name, NULL::name, NULL::name),
    (1000, 'postgres', '_timescaledb_functions', 'policy_refresh_continuous_aggregate', '_timescaledb_internal', '_materialized_hypertable_2'),
    (1001, 'postgres', 'app', 'purge_devices', NULL, NULL)
  ) AS j(job_id, owner, proc_schema, proc_name, hypertable_schema, hypertable_name);
SQL

if ! "$tmp/discover-ts" "dbname=postgres" metrics_db >"$tmp/out" 2>"$tmp/err"; then
	echo "FAIL $T/run: $(head -3 "$tmp/err")"
	exit 0
fi
expect() {
	if grep -qxF -- "$2" "$tmp/out"; then echo "PASS $T/$1"; else echo "FAIL $T/$1: no line '$2' in: $(tr '\n' ';' <"$tmp/out")"; fi
}
refute() {
	if grep -q -- "$2" "$tmp/out"; then echo "FAIL $T/$1: unexpected '$2' in: $(tr '\n' ';' <"$tmp/out")"; else echo "PASS $T/$1"; fi
}
expect queries "queries 8"
expect version "timescaledb 2.14.2"
expect hypertable-kind "owned hypertable|postgres|1"
expect plain-table-kind "owned table|postgres|1"
expect cagg-kind "owned continuous aggregate|grafana|1"
expect cagg-kept "kept continuous aggregate|app.conditions_hourly|grafana"
expect hypertables "hypertable app.conditions|postgres|1"
expect caggs "cagg app.conditions_hourly|grafana"
expect policy-job "job 1000|postgres|_timescaledb_functions.policy_refresh_continuous_aggregate|_timescaledb_internal._materialized_hypertable_2|policy"
expect custom-job "job 1001|postgres|app.purge_devices|-|custom"
refute internal-jobs-skipped "^job 1|"
refute internal-objects-skipped "^\(owned\|kept\).*_timescaledb"
expect internal-schemas-skipped "owned schema|postgres|1"
exit 0

#!/usr/bin/env bash
# bench/roles-bench.sh: how `dsnflip roles apply` re-owns a big database,
# and what a concurrent writer feels while it does, beside the runbook's way
# (one transaction re-owning everything).  Standalone: it starts its own
# throwaway PostgreSQL 15 (tests/lib/pgcluster.sh) and removes it after.
#
#   bench/roles-bench.sh                 20,000 tables
#   TABLES=2000 bench/roles-bench.sh     a quicker run
#
# For each approach, on a fresh copy of the same database (TABLES tables
# with a bigserial key, in 4 schemas, all owned by postgres, as a stack on
# the superuser leaves them):
#   - a writer (bench/roles-writer.c, WRITER_CLIENTS connections, as the
#     superuser, as the apps still are) inserts into random tables in a loop
#     (stopped after the run, bounded by 1 h), every insert's latency logged;
#   - the approach runs: dsnflip (one short transaction per object under
#     lock_timeout, sent in pipeline mode with synchronous_commit off) or the
#     runbook (a DO block altering every table in one transaction);
#   - reported: objects re-owned per second, and the writer's longest stall
#     (the slowest insert that overlapped the run) with its p99.
# One line per approach, then dsnflip/runbook against the target (at least
# 0.8x the runbook's throughput, the worst stall under lock_timeout).  The
# server runs with fsync, synchronous_commit and full_page_writes on, as
# production does.  Needs a C compiler and libpq (pkg-config libpq).
#
# Environment: TABLES=20000, WRITER_CLIENTS=2, DSNFLIP=./dsnflip,
# LOCK_TIMEOUT=2s (dsnflip's), KEEP=1 keeps the work directory.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
TABLES=${TABLES:-20000}
WRITER_CLIENTS=${WRITER_CLIENTS:-2}
LOCK_TIMEOUT=${LOCK_TIMEOUT:-2s}
DSNFLIP=$(realpath "${DSNFLIP:-./dsnflip}")

die() { echo "roles-bench: $*" >&2; exit 1; }
note() { echo "roles-bench: $*" >&2; }
[ -x "$DSNFLIP" ] || die "no dsnflip binary at '$DSNFLIP' (run make)"
command -v python3 >/dev/null || die "python3 is needed to read the logs"

. tests/lib/pgcluster.sh
# One transaction holding every table's locks (the runbook) needs room in
# the shared lock table: max_locks_per_transaction x max_connections slots.
# fsync on, as production runs: every commit that waits for its WAL flush
# costs one flush (pgcluster.sh turns durability off for the tests).
if ! pg_start max_locks_per_transaction=2048 shared_buffers=256MB log_statement=none \
	fsync=on synchronous_commit=on full_page_writes=on; then
	die "${PG_SKIP_REASON:-the cluster did not start}"
fi
work=$(mktemp -d)
writer_pids=
cleanup() {
	stop_writer
	pg_stop
	if [ -n "${KEEP:-}" ]; then note "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT
export XDG_STATE_HOME=$work/state

q() { psql -X -qAt -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# The stack: one migrator on bench_db (the owner role), one reader.
mkdir -p "$work/stack"
cat >"$work/stack/compose.yml" <<'EOF'
name: rolesbench
services:
  db:
    image: postgres:15
  migrator:
    image: acme/app:1
    command: sh -c "python manage.py migrate && exec gunicorn app"
    environment:
      DATABASE_URL: postgresql://postgres:x@db:5432/bench_db
      DB_POOL_SIZE: "10"
  reports:
    image: acme/reports:1
    command: ["python", "-m", "reports"]
    environment:
      DATABASE_URL: postgresql://postgres:x@db:5432/bench_db
EOF
printf 'services:\n  reports: {class: reader}\n' >"$work/stack/dsnflip.yml"

note "creating $TABLES tables (once; each run gets a copy)"
t0=$(date +%s)
q postgres "CREATE DATABASE bench_tmpl" || die "cannot create the template database"
q bench_tmpl "DO \$\$
BEGIN
	FOR s IN 0 .. 3 LOOP
		EXECUTE format('CREATE SCHEMA app%s', s);
	END LOOP;
	FOR i IN 1 .. $TABLES LOOP
		EXECUTE format('CREATE TABLE app%s.t_%s (id bigserial PRIMARY KEY, v int, at timestamptz DEFAULT now())', i % 4, i);
		IF i % 1000 = 0 THEN COMMIT; END IF;
	END LOOP;
END \$\$" || die "cannot create the tables"
q bench_tmpl "VACUUM ANALYZE" >/dev/null 2>&1
note "created in $(( $(date +%s) - t0 )) s"

${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra $(pkg-config --cflags libpq) bench/roles-writer.c \
	-o "$work/roles-writer" $(pkg-config --libs libpq) || die "cannot build bench/roles-writer.c"

fresh_db() {
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_db" >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS bench_owner" >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS reports_app" >/dev/null 2>&1
	q postgres "CREATE DATABASE bench_db TEMPLATE bench_tmpl"
}

# Start the writers for at most $1 seconds; logs go to $work/log-$2.*
start_writer() {
	local i
	rm -f "$work"/log-"$2".*
	for i in $(seq 1 "$WRITER_CLIENTS"); do
		"$work/roles-writer" "dbname=bench_db" "$TABLES" "$1" "$work/log-$2.$i" &
		writer_pids="$writer_pids $!"
	done
	sleep 2 # warm up: the stall we measure is the approach's, not the connection's
}

stop_writer() {
	local p
	for p in $writer_pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $writer_pids; do wait "$p" 2>/dev/null; done
	writer_pids=
}

# stalls LABEL START_US END_US: "inserts max_ms p99_ms" for inserts that overlapped [start, end].
stalls() {
	cat "$work"/log-"$1".* 2>/dev/null | python3 -c '
import sys
start, end = int(sys.argv[1]), int(sys.argv[2])
lat = []
for line in sys.stdin:
    f = line.split()
    if len(f) < 2:
        continue
    began, us = int(f[0]), int(f[1])
    if began + us >= start and began <= end:
        lat.append((us, began))
lat.sort()
if not lat:
    print("0 0 0 0"); sys.exit()
p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))][0]
print(len(lat), "%.1f" % (lat[-1][0] / 1000), "%.1f" % (p99 / 1000), "%.1f" % ((lat[-1][1] - start) / 1e6))' "$2" "$3"
}

now_us() { echo $(( $(date +%s%N) / 1000 )); }

# ---- dsnflip roles apply -------------------------------------------------------
fresh_db || die "cannot copy the template"
start_writer 3600 dsnflip
s=$(now_us)
"$DSNFLIP" -C "$work/stack" --db "dbname=postgres" roles apply --lock-timeout "$LOCK_TIMEOUT" \
	>"$work/apply.out" 2>"$work/apply.err"
rc=$?
e=$(now_us)
stop_writer
[ $rc -eq 0 ] || note "dsnflip exited $rc: $(tail -2 "$work/apply.err")"
n=$(q bench_db "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname LIKE 'app%' AND c.relkind = 'r' AND c.relowner = 'bench_owner'::regrole")
# The ownership step's own rate, as dsnflip reports it: "(N in X s, R/s)".
rate=$(sed -n 's/.*(\([0-9]*\) in \([0-9.]*\) s, \([0-9]*\)\/s).*/\1 \2 \3/p' "$work/apply.out" | head -1)
read -r objs secs ops <<<"${rate:-0 0 0}"
read -r ins max p99 at <<<"$(stalls dsnflip "$s" "$e")"
dsnflip_rate=$ops dsnflip_stall=$max
busy=$(grep -c 'busy' "$work/apply.out")
printf 'dsnflip roles apply      %6d tables re-owned, %6d objects in %6.1f s = %6d objects/s (whole apply %5.1f s, exit %d, busy lines %d); writer: %6d inserts during it, longest stall %8.1f ms (at +%s s), p99 %6.1f ms (lock_timeout %s)\n' \
	"$n" "$objs" "$secs" "$ops" "$(echo "($e - $s) / 1000000" | bc -l)" "$rc" "$busy" "$ins" "$max" "$at" "$p99" "$LOCK_TIMEOUT"

# ---- the runbook: one transaction re-owning everything ----------------------
fresh_db || die "cannot copy the template"
q postgres "CREATE ROLE bench_owner LOGIN NOSUPERUSER" >/dev/null
start_writer 3600 runbook
s=$(now_us)
q bench_db "DO \$\$
DECLARE r record;
BEGIN
	FOR r IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname LIKE 'app%' LOOP
		EXECUTE format('ALTER TABLE %I.%I OWNER TO bench_owner', r.schemaname, r.tablename);
	END LOOP;
	FOR r IN SELECT nspname FROM pg_namespace WHERE nspname LIKE 'app%' LOOP
		EXECUTE format('ALTER SCHEMA %I OWNER TO bench_owner', r.nspname);
	END LOOP;
END \$\$" >"$work/runbook.out" 2>&1
rc=$?
e=$(now_us)
stop_writer
[ $rc -eq 0 ] || note "the runbook's transaction failed: $(tail -2 "$work/runbook.out")"
n=$(q bench_db "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname LIKE 'app%' AND c.relkind = 'r' AND c.relowner = 'bench_owner'::regrole")
secs=$(echo "($e - $s) / 1000000" | bc -l)
objs=$((n + 4))
read -r ins max p99 at <<<"$(stalls runbook "$s" "$e")"
runbook_rate=$(echo "$objs / $secs" | bc)
printf 'runbook (1 transaction)  %6d tables re-owned, %6d objects in %6.1f s = %6d objects/s (exit %d);                                   writer: %6d inserts during it, longest stall %8.1f ms (at +%s s), p99 %6.1f ms\n' \
	"$n" "$objs" "$secs" "$runbook_rate" "$rc" "$ins" "$max" "$at" "$p99"
# The target (issue 15): at least 0.8x the runbook's throughput, with the
# writer's worst stall under lock_timeout.
lt_ms=$(python3 -c 'import sys; v = sys.argv[1]
print(int(float(v[:-2])) if v.endswith("ms") else int(float(v[:-1]) * 1000) if v.endswith("s") else int(v))' "$LOCK_TIMEOUT")
ratio=$(python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2f" % (a / b if b else 0))' \
	"$dsnflip_rate" "$runbook_rate")
verdict=$(python3 -c 'import sys; r, s, l = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print("met" if r >= 0.8 and s < l else "NOT met")' "$ratio" "$dsnflip_stall" "$lt_ms")
printf 'dsnflip/runbook          throughput %sx (target >= 0.8), dsnflip worst writer stall %s ms vs lock_timeout %s ms: target %s (fsync on)\n' \
	"$ratio" "$dsnflip_stall" "$lt_ms" "$verdict"

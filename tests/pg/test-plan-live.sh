#!/usr/bin/env bash
# plan-live: `dsnflip plan` reading a real PostgreSQL 15 server.
#
# The cluster gets the databases of fixtures/live/fleet (roles, schemas,
# objects of every kind, an extension, a view owned by another role) and
# max_connections=60.  Asserted from `plan --format json`:
#   - a non-postgres superuser (ingest) is detected from rolsuper;
#   - existing login roles are in the budget as "existing", group roles and
#     superusers are not, and the unlimited one is called out;
#   - the server's limits come from the server;
#   - objects owned by non-superusers are listed as kept;
#   - sessions seen on the server raise a connection limit;
#   - without --db the admin connection is derived from the stack (and said
#     so), and a derived connection that fails leaves the plan offline;
#   - a failing --db exits 1 with the SQLSTATE;
#   - no password ever reaches stdout, stderr or the server log.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/pgcluster.sh

BIN=${DSNFLIP:-./dsnflip}
FIX=fixtures/live/fleet
T=plan-live
SESSIONS=9

if ! pg_start max_connections=60; then
	if [ -n "${PG_SKIP_REASON:-}" ]; then echo "SKIP pg: $PG_SKIP_REASON"; else echo "FAIL $T: the cluster did not start"; fi
	exit 0
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pg_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

pass() { echo "PASS $T/$1"; }
fail() { echo "FAIL $T/$1: $2"; }

SUPER_PW=$(cat "$PG_TEST_PWFILE")
INGEST_PW=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
BAD_PW=wrong-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# The fixture's databases, as the stack's init scripts would create them.
setup() {
	psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE tracksolid_db' || return 1
	local f
	for f in "$FIX"/db/*.sql; do
		psql -X -q -v ON_ERROR_STOP=1 -d tracksolid_db -f "$f" >/dev/null || return 1
	done
	# A password for ingest, through stdin (never argv).
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<<"ALTER ROLE ingest PASSWORD '$INGEST_PW'" || return 1
	pg_pgpass_add ingest "$INGEST_PW"
}
if ! setup >"$tmp/setup.log" 2>&1; then
	fail setup "loading $FIX/db failed: $(tail -3 "$tmp/setup.log")"
	exit 0
fi

# Sessions as ingest, held open for a bounded time.
for i in $(seq 1 $SESSIONS); do
	psql -X -q -U ingest -d tracksolid_db -c 'SELECT pg_sleep(60)' >/dev/null 2>&1 &
	pids+=($!)
done
n=0
for i in $(seq 1 100); do
	n=$(psql -X -Atq -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'ingest'")
	[ "$n" = "$SESSIONS" ] && break
	sleep 0.1
done
[ "$n" = "$SESSIONS" ] || fail sessions "only $n of $SESSIONS ingest sessions came up"

# Run dsnflip with the stack's secrets in its environment (never on argv).
run() {
	local out=$1
	shift
	env POSTGRES_PASSWORD="$SUPER_PW" INGEST_DB_PASSWORD="$INGEST_PW" "$@" >"$tmp/$out.out" 2>"$tmp/$out.err"
	echo $? >"$tmp/$out.rc"
}

ADMIN="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
run live "$BIN" -C "$FIX" --db "$ADMIN" -v plan --format json
run text "$BIN" -C "$FIX" --db "$ADMIN" plan
# Derived: no --db and no PG* variables; the stack publishes the test port.
run derived env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSFILE PG_PUBLISHED_PORT="$PGPORT" \
	"$BIN" -C "$FIX" plan --format json
# Derived with a wrong superuser password in the stack: offline, with a warning.
env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSFILE PG_PUBLISHED_PORT="$PGPORT" \
	POSTGRES_PASSWORD="$BAD_PW" INGEST_DB_PASSWORD="$INGEST_PW" \
	"$BIN" -C "$FIX" plan --format json >"$tmp/derived-bad.out" 2>"$tmp/derived-bad.err"
echo $? >"$tmp/derived-bad.rc"
run badpw "$BIN" -C "$FIX" --db "$ADMIN password=$BAD_PW" plan --format json
run nodb "$BIN" -C "$FIX" --db "$ADMIN dbname=no_such_db" plan --format json

for i in "${pids[@]}"; do kill "$i" 2>/dev/null; done

python3 - "$tmp" "$PGPORT" "$SESSIONS" <<'PY'
import json, sys, os
tmp, port, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3])
T = "plan-live"
def rd(name, ext):
    with open(os.path.join(tmp, f"{name}.{ext}")) as f:
        return f.read()
def check(name, ok, why):
    print(f"PASS {T}/{name}" if ok else f"FAIL {T}/{name}: {why}")
def load(name):
    try:
        return json.loads(rd(name, "out"))
    except Exception as e:
        return None

p = load("live")
rc = rd("live", "rc").strip()
check("live-runs", p is not None and rc == "0", f"exit {rc}, stderr: {rd('live', 'err')[-400:]}")
if p is None:
    sys.exit(0)
svc = {s["name"]: s for s in p["services"]}
roles = {r["name"]: r for r in p["roles"]}
rows = {r["role"]: r for r in p["budget"]["rows"]}
warn = "\n".join(p["warnings"])

ing = svc.get("ingest_worker")
check("superuser-from-rolsuper",
      ing and ing["connections"][0]["user"] == "ingest" and ing["connections"][0]["superuser"]
      and ing["action"] == "flip",
      f"ingest_worker: {json.dumps(ing)[:300]}")

check("existing-roles-in-budget",
      rows.get("analytics", {}).get("source") == "existing" and rows["analytics"]["limit"] == 5
      and rows.get("reporting_refresher", {}).get("source") == "existing",
      f"budget rows: {list(rows.items())[:10]}")
check("budget-skips-superusers-and-groups",
      not any(r in rows for r in ("postgres", "ingest", "readonly_group", "pg_monitor")),
      f"budget rows: {sorted(rows)}")
check("unlimited-called-out",
      rows.get("reporting_refresher", {}).get("limit") == -1
      and "reporting_refresher has no connection limit" in warn,
      f"warnings: {warn[:500]}")
planned = sum(r["limit"] for r in p["budget"]["rows"] if r["limit"] > 0)
check("budget-counts-existing", p["budget"]["planned"] == planned,
      f"planned {p['budget']['planned']} != {planned}")

srv = p["server"]
check("server-limits-live",
      srv["source"] == "live" and srv["max_connections"] == 60 and srv["reserved"] == 3
      and p["budget"]["available"] == 60 - 3 - srv["headroom"] and srv.get("version", "").startswith("15"),
      f"server: {srv}, available {p['budget']['available']}")
check("timescaledb-absent", srv.get("timescaledb", "missing") is None, f"server: {srv}")

kept = p.get("kept")
check("kept-objects",
      kept is not None and {"reporting.v_trips"} == {k["object"] for k in kept}
      and all(k["owner"] == "reporting_refresher" for k in kept)
      and "reporting.v_trips (reporting_refresher)" in warn,
      f"kept: {kept}")

r = roles.get(ing["role"]) if ing else None
check("peak-raises-limit",
      r is not None and r["connection_limit"] == sessions
      and f"seen {sessions} sessions" in warn,
      f"role {ing and ing['role']}: {r}; warnings: {warn[:300]}")
# postgres is shared by four services: its sessions must not be charged to each.
check("shared-user-no-peak", roles.get("worker_app", {}).get("connection_limit") == 4,
      f"worker_app: {roles.get('worker_app')}")

err = rd("live", "err")
import re
m = re.search(r"discover: (\d+) objects in (\d+) ms, (\d+) queries", err)
check("discover-is-set-based", m is not None and int(m.group(3)) == 3 + 2 * 2 and int(m.group(1)) > 10,
      f"stderr: {err[:300]}")

check("text-format", rd("text", "rc").strip() == "0" and "reporting_refresher" in rd("text", "out"),
      f"exit {rd('text', 'rc').strip()}: {rd('text', 'err')[:300]}")

d = load("derived")
check("derived-connection",
      d is not None and d["server"]["source"] == "live" and d["server"]["max_connections"] == 60
      and d["server"].get("derived", "").startswith("derived from DATABASE_URL of webhook_receiver (compose.yml:")
      and d["server"]["derived"].endswith(f"via the published port {port}")
      and any("admin connection derived from DATABASE_URL of webhook_receiver" in w for w in d["warnings"]),
      f"exit {rd('derived', 'rc').strip()}: {rd('derived', 'out')[:200]} {rd('derived', 'err')[:300]}")

b = load("derived-bad")
check("derived-failure-offline",
      b is not None and rd("derived-bad", "rc").strip() == "0" and b["server"]["source"] == "offline"
      and any(w.startswith("the plan is offline") and "28P01" in w for w in b["warnings"]),
      f"exit {rd('derived-bad', 'rc').strip()}: {rd('derived-bad', 'out')[-600:]}")

check("explicit-db-failure",
      rd("badpw", "rc").strip() == "1" and "28P01" in rd("badpw", "err") and rd("badpw", "out") == "",
      f"exit {rd('badpw', 'rc').strip()}: {rd('badpw', 'err')[:300]}")
check("explicit-db-missing-database",
      rd("nodb", "rc").strip() == "1" and "3D000" in rd("nodb", "err"),
      f"exit {rd('nodb', 'rc').strip()}: {rd('nodb', 'err')[:300]}")
PY

# Secrets: never in any output, nor the superuser's in the server log.
leak=
for f in "$tmp"/*.out "$tmp"/*.err; do
	for s in "$SUPER_PW" "$INGEST_PW" "$BAD_PW"; do
		grep -qF -- "$s" "$f" && leak="$leak $(basename "$f")"
	done
done
if [ -z "$leak" ]; then pass no-password-in-output; else fail no-password-in-output "found in$leak"; fi
if grep -qF -- "$SUPER_PW" "$PG_LOG"; then fail no-password-in-server-log "the superuser password is in $PG_LOG"; else pass no-password-in-server-log; fi
exit 0

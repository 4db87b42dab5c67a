#!/usr/bin/env bash
# two-servers: a stack with two PostgreSQL servers (fixtures/pg/two-servers),
# the cluster playing `db`.  Asserted:
#   - plan --db without --server blocks (exit 3): which server --db reaches
#     cannot be told from 127.0.0.1:PORT, and nothing is decided live;
#   - plan --db --server db: the vector server's superuser (vec_admin, which
#     this cluster does not have) stays a superuser (decided by the vector
#     server's environment, not "absent here, so not a superuser");
#   - roles apply --server db creates db's roles only, says which roles were
#     left for vectordb (stderr and other_servers in the JSON), and none of
#     vectordb's roles exists on this cluster;
#   - roles apply without --server refuses (exit 2), nothing changed.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/pgcluster.sh

BIN=${DSNFLIP:-./dsnflip}
STACK=fixtures/pg/two-servers
T=two-servers

if ! pg_start; then
	if [ -n "${PG_SKIP_REASON:-}" ]; then echo "SKIP pg: $PG_SKIP_REASON"; else echo "FAIL $T: the cluster did not start"; fi
	exit 0
fi
tmp=$(mktemp -d)
cleanup() { pg_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 143' TERM INT
export XDG_STATE_HOME=$tmp/state

pass() { echo "PASS $T/$1"; }
fail() { echo "FAIL $T/$1: $2"; }
DB="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
run() { "$BIN" -C "$STACK" --db "$DB" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
roles_here() { psql -X -qAt -d postgres -c "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles
                                          WHERE rolname !~ '^pg_' AND (rolname LIKE '%app' OR rolname LIKE '%owner')"; }

if ! psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE shop' >"$tmp/setup.log" 2>&1; then
	fail setup "$(tail -3 "$tmp/setup.log")"
	exit 0
fi

run plan --format json
if [ $rc = 3 ] && grep -q 'name it with --server NAME' "$tmp/out"; then pass plan-ambiguous-blocks
else fail plan-ambiguous-blocks "exit $rc: $(grep -o '"the stack[^"]*' "$tmp/out" | head -1)"; fi

run --server db plan --format json
if python3 - "$tmp/out" <<'PY'; then pass plan-per-server; else fail plan-per-server "exit $rc: $(head -c 300 "$tmp/err")"; fi
import json, sys
p = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in p["services"]}
c = {x["variable"]: x for x in s["api"]["connections"]}
assert c["DATABASE_URL"]["superuser_by"] == "live" and c["DATABASE_URL"]["superuser"], c
# vec_admin is not on this cluster, yet it is vectordb's superuser
assert c["VECTOR_DATABASE_URL"]["superuser"] and c["VECTOR_DATABASE_URL"]["superuser_by"] == "server_env", c
assert s["search"]["action"] == "flip", s["search"]
roles = {r["name"]: r["server"] for r in p["roles"]}
assert roles == {"two_servers_app": "db", "two_servers_vectordb_app": "vectordb", "search_app": "vectordb"}, roles
assert p["budget"]["server"] == "db" and p["server"]["source"] == "live", p["budget"]
b = {x["server"]: x for x in p["budgets"]}
assert b["db"]["source"] == "live" and b["vectordb"]["source"] == "offline", b
assert [r["role"] for r in b["vectordb"]["rows"]] == ["two_servers_vectordb_app", "search_app"], b
PY

before=$(roles_here)
run roles apply
if [ $rc = 2 ] && grep -q 'name it with --server NAME' "$tmp/err" && [ "$(roles_here)" = "$before" ]; then
	pass apply-ambiguous-refused
else fail apply-ambiguous-refused "exit $rc: $(head -2 "$tmp/err")"; fi

run --server db roles apply --format json
if [ $rc = 0 ] && [ "$(roles_here)" = "two_servers_app" ] &&
   grep -q 'roles two_servers_vectordb_app, search_app are for server vectordb' "$tmp/err" &&
   python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["server"] == "db", j.get("server")
assert j["other_servers"] == [{"server": "vectordb", "roles": ["two_servers_vectordb_app", "search_app"]}], j["other_servers"]
assert [d["database"] for d in j["databases"]] == ["shop"], j["databases"]
' "$tmp/out"; then
	pass apply-this-server-only
else fail apply-this-server-only "exit $rc, roles here: $(roles_here); $(head -3 "$tmp/err")"; fi

# The role SQL says which server each file is for.
"$BIN" -C "$STACK" --offline roles sql >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ $rc = 0 ] && [ "$(grep -c '^-- Server: ' "$tmp/out")" = 2 ] &&
   grep -q -- '-f sql/dsnflip/vectordb/vectors.sql' "$tmp/out" && grep -q -- '-f sql/dsnflip/db/shop.sql' "$tmp/out"; then
	pass roles-sql-names-servers
else fail roles-sql-names-servers "exit $rc: $(grep '^-- Server' "$tmp/out")"; fi

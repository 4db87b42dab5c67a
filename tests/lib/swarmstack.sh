# swarmstack.sh — the Swarm tier's test stack on a real single-node swarm.
#
# Source it after tests/lib/pgcluster.sh:
#
#   . tests/lib/pgcluster.sh; . tests/lib/swarmstack.sh
#   sw_engine || { echo "SKIP swarm: $SW_SKIP_REASON"; exit 0; }
#   trap sw_cleanup EXIT
#   sw_setup || exit 1
#
# sw_engine checks the engine, the test image (tests/lib/build-image.sh)
# and psql, and makes the engine a swarm manager: `docker swarm init
# --advertise-addr 127.0.0.1` when it is in no swarm (SW_INITED=1: only then
# does sw_cleanup leave it again), a SKIP when it is a worker.
# sw_setup starts a throwaway PostgreSQL 15 (scram-sha-256, 127.0.0.1)
# with the `shop` database, copies tests/docker-apps/swarm/docker-stack.yml
# and the apps into a temp project directory with a 0600 .env (the
# superuser's password, the port), deploys it as its users would (`set -a;
# . ./.env; docker stack deploy`), waits (bounded) for every service as the
# superuser and for the migrator, then creates the plan's roles (`dsnflip
# roles apply`).  Exports:
#   SW_DIR SW_PROJECT (a unique stack name)  SW_TMP  SW_BIN (dsnflip)
#   XDG_STATE_HOME HOME (in SW_TMP)          SW_SECRETS SW_JOURNAL
# sw_cleanup removes the stack (only its own), leaves the swarm when
# sw_engine initialised it (and removes the docker_gwbridge network init
# made, when there was none before), stops PostgreSQL and removes the temp
# dir.

sw_engine() {
	local root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	SW_SKIP_REASON= SW_INITED=
	command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1 ||
		{ SW_SKIP_REASON="no Docker engine"; return 1; }
	command -v psql >/dev/null || { SW_SKIP_REASON="psql not installed"; return 1; }
	"$root/tests/lib/build-image.sh" >/dev/null 2>&1 || { SW_SKIP_REASON="cannot build dsnflip-test:latest"; return 1; }
	local state
	state=$(docker info --format '{{.Swarm.LocalNodeState}}')
	if [ "$state" = inactive ]; then
		# swarm init makes the docker_gwbridge network; leave removes the swarm, not it.
		SW_GWBRIDGE_BEFORE=$(docker network ls -q --filter name='^docker_gwbridge$')
		timeout 60 docker swarm init --advertise-addr 127.0.0.1 >/dev/null 2>&1 ||
			{ SW_SKIP_REASON="docker swarm init failed"; return 1; }
		SW_INITED=1
	elif [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != true ]; then
		SW_SKIP_REASON="the engine is in a swarm but not a manager"
		return 1
	fi
	return 0
}

# dsnflip on the stack with the admin connection.
sw_dsn() { (cd "$SW_DIR" && timeout 600 "$SW_BIN" --db "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" "$@"); }
# Swarm's name for a service of the stack.
sw_svc() { echo "${SW_PROJECT}_$1"; }

# Sessions of an app (its application_name) by user: "user:count,...".
sw_sessions_of() {
	psql -Atc "select coalesce(string_agg(u || ':' || n, ',' order by u), '') from (select usename u, count(*) n from pg_stat_activity where application_name = '$1' group by 1) s" shop
}
# Wait (bounded, 60 s) until the app's sessions are exactly $2.
sw_wait_sessions() {
	local i
	for i in $(seq 120); do
		[ "$(sw_sessions_of "$1")" = "$2" ] && return 0
		sleep 0.5
	done
	return 1
}
# The user in VAR ($2) of every current task of a service, one per line (never the password).
sw_task_users() {
	local t
	for t in $(docker service ps -q --no-trunc --filter desired-state=running "$(sw_svc "$1")"); do
		docker inspect --type task -f '{{range .Spec.ContainerSpec.Env}}{{println .}}{{end}}' "$t" |
			python3 -c '
import sys, urllib.parse
var = sys.argv[1]
for line in sys.stdin:
    k, _, v = line.rstrip("\n").partition("=")
    if k == var:
        print(urllib.parse.urlsplit(v).username if "://" in v else v)
' "$2"
	done
}

sw_setup() {
	local root i ok=0
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	SW_BIN=$(realpath "${DSNFLIP:-$root/${BUILD:-build/default}/dsnflip}" 2>/dev/null)
	[ -x "$SW_BIN" ] || SW_BIN=$root/dsnflip
	SW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dsnflip-swarm.XXXXXX")
	SW_PROJECT=dsnswarm$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	SW_DIR=$SW_TMP/$SW_PROJECT
	export HOME=$SW_TMP/home XDG_STATE_HOME=$SW_TMP/state LC_ALL=C
	SW_SECRETS=$XDG_STATE_HOME/dsnflip/$SW_PROJECT/secrets.env
	SW_JOURNAL=$XDG_STATE_HOME/dsnflip/$SW_PROJECT/journal.json
	export SW_TMP SW_PROJECT SW_DIR SW_BIN SW_SECRETS SW_JOURNAL
	mkdir -p "$HOME" "$SW_DIR/apps"
	pg_start max_connections=100 >"$SW_TMP/pg.log" 2>&1 ||
		{ echo "swarmstack: PostgreSQL did not start: ${PG_SKIP_REASON:-$(tail -2 "$SW_TMP/pg.log")}" >&2; return 1; }
	psql -q -v ON_ERROR_STOP=1 -f "$root/tests/docker-apps/stack/schema.sql" >/dev/null ||
		{ echo "swarmstack: the schema did not load" >&2; return 1; }
	cp "$root/tests/docker-apps/swarm/docker-stack.yml" "$SW_DIR/docker-compose.yml"
	cp "$root"/tests/docker-apps/*.py "$SW_DIR/apps/"
	(umask 077; printf 'POSTGRES_PASSWORD=%s\nDB_PORT=%s\n' "$(cat "$PG_TEST_PWFILE")" "$PGPORT" >"$SW_DIR/.env")
	(cd "$SW_DIR" && set -a && . ./.env && set +a &&
		timeout 120 docker stack deploy --resolve-image never -c docker-compose.yml "$SW_PROJECT") >"$SW_TMP/stack.log" 2>&1 ||
		{ echo "swarmstack: docker stack deploy: $(tail -2 "$SW_TMP/stack.log" | tr '\n' ' ')" >&2; return 1; }
	for i in $(seq 90); do
		[ "$(sw_sessions_of reader)" = postgres:4 ] && [ "$(sw_sessions_of writer)" = postgres:2 ] &&
			[ "$(sw_sessions_of superneed)" = postgres:2 ] &&
			psql -Atc "select 1 from pg_tables where schemaname='app' and tablename='items_archive'" shop | grep -q 1 &&
			{ ok=1; break; }
		sleep 1
	done
	[ $ok = 1 ] || { echo "swarmstack: the stack did not come up: reader $(sw_sessions_of reader), writer $(sw_sessions_of writer), superneed $(sw_sessions_of superneed)" >&2; return 1; }
	sw_dsn roles apply >"$SW_TMP/roles.out" 2>&1 ||
		{ echo "swarmstack: roles apply: $(tail -3 "$SW_TMP/roles.out" | tr '\n' ' ')" >&2; return 1; }
	return 0
}

sw_cleanup() {
	if [ -n "${SW_PROJECT:-}" ]; then
		timeout 60 docker stack rm "$SW_PROJECT" >/dev/null 2>&1
		local i
		for i in $(seq 30); do
			[ -z "$(docker ps -aq --filter label=com.docker.stack.namespace=$SW_PROJECT)" ] && break
			sleep 1
		done
		docker ps -aq --filter "label=com.docker.compose.project=$SW_PROJECT" | xargs -r docker rm -f >/dev/null 2>&1
	fi
	if [ -n "${SW_INITED:-}" ]; then
		timeout 60 docker swarm leave --force >/dev/null 2>&1
		[ -z "${SW_GWBRIDGE_BEFORE:-}" ] && docker network rm docker_gwbridge >/dev/null 2>&1
	fi
	SW_INITED=
	pg_stop
	[ -n "${SW_TMP:-}" ] && case "$SW_TMP" in */dsnflip-swarm.*) rm -rf "$SW_TMP" ;; esac
	SW_TMP=
	return 0
}

# dockerstack.sh — the Docker tier's test stack on a real engine.
#
# Source it after tests/lib/pgcluster.sh:
#
#   . tests/lib/pgcluster.sh; . tests/lib/dockerstack.sh
#   ds_engine || { echo "SKIP docker: $DS_SKIP_REASON"; exit 0; }
#   ds_setup || exit 1          # pg_start, image, stack up, roles
#   trap ds_cleanup EXIT
#
# ds_setup starts a throwaway PostgreSQL 15 (scram-sha-256, 127.0.0.1),
# creates the `shop` database (tests/docker-apps/stack/schema.sql), copies
# the stack (tests/docker-apps/stack/docker-compose.yml and the python apps)
# into a temp project directory with a 0600 .env holding the superuser's
# password, starts every service as the superuser, waits for the one-shot
# migrators, then creates the plan's roles with `dsnflip roles apply`.
# Exports:
#   DS_DIR       the project directory      DS_PROJECT  its compose project name
#   DS_STATE     XDG_STATE_HOME for dsnflip (its secrets, journal, override)
#   DS_COMPOSE   the compose command as an array-friendly string
#   DSNFLIP      the binary ($BUILD/dsnflip, else ./dsnflip), absolute
# ds_cleanup removes the project's containers (by label) and the temp dirs.
#
# Both compose CLIs are tested: a tier calls `ds_each_compose "$@"` first,
# which runs the tier once per compose version (DS_COMPOSE_VERSION=v1: the
# `docker-compose` v1 program; v2: the `docker compose` CLI plugin, from the
# system or from build/compose-v2, which tests/install-deps fetches, through
# DOCKER_CONFIG) and tags every PASS/FAIL/SKIP line with "[v1]" / "[v2]".
# A compose version that is missing is a SKIP, and a FAIL in CI (CI=true).
# DS_COMPOSE_VERSION set by the caller runs only that one.

# The repository's root (this file is tests/lib/dockerstack.sh).
ds_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); }

# Is compose v1 / v2 here?  Sets DS_COMPOSE (and DOCKER_CONFIG for a v2 that
# lives in build/compose-v2); 1 with DS_SKIP_REASON when it is not.
ds_pick_compose() {
	local v
	case "$1" in
	v1)
		v=$(docker-compose version --short 2>/dev/null) ||
			{ DS_SKIP_REASON="compose v1 not installed (docker-compose)"; return 1; }
		case "$v" in 1.*) ;; *) DS_SKIP_REASON="docker-compose is $v, not compose v1"; return 1 ;; esac
		DS_COMPOSE="docker-compose"
		;;
	v2)
		if ! v=$(docker compose version --short 2>/dev/null); then
			local dir
			dir=$(ds_root)/build/compose-v2
			[ -x "$dir/cli-plugins/docker-compose" ] ||
				{ DS_SKIP_REASON="compose v2 not available (tests/install-deps fetches it into build/compose-v2)"; return 1; }
			export DOCKER_CONFIG=$dir
			v=$(docker compose version --short 2>/dev/null) ||
				{ DS_SKIP_REASON="compose v2 in $dir does not run"; return 1; }
		fi
		case "$v" in v2.* | 2.*) ;; *) DS_SKIP_REASON="docker compose is $v, not compose v2"; return 1 ;; esac
		DS_COMPOSE="docker compose"
		;;
	*) DS_SKIP_REASON="DS_COMPOSE_VERSION=$1: not v1 or v2"; return 1 ;;
	esac
	DS_COMPOSE_VERSION=$1 DS_COMPOSE_FULL_VERSION=$v
	export DS_COMPOSE_VERSION DS_COMPOSE DS_COMPOSE_FULL_VERSION
	return 0
}

# Run the calling tier once per compose version (see the header); returns
# only when DS_COMPOSE_VERSION is already set (the tier's own run).
ds_each_compose() {
	[ -n "${DS_COMPOSE_VERSION:-}" ] && return 0
	local tier script v rc=0
	script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	tier=$(basename "$0"); tier=${tier#tier-}
	for v in v1 v2; do
		local why
		if ! why=$(ds_pick_compose "$v" >/dev/null 2>&1 || { echo "$DS_SKIP_REASON"; exit 1; }); then
			if [ "${CI:-}" = true ]; then
				echo "FAIL [$v] compose: $why (required in CI)"; rc=1
			else
				echo "SKIP $tier [$v]: $why"
			fi
			continue
		fi
		echo "  compose $v: running $tier"
		DS_COMPOSE_VERSION=$v "$script" "$@" 2>&1 |
			sed -u -e "s/^\(PASS\|FAIL\) /\1 [$v] /" -e "s/^SKIP $tier:/SKIP $tier [$v]:/"
		[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	done
	exit $rc
}

ds_engine() {
	DS_SKIP_REASON=
	if ! command -v docker >/dev/null 2>&1; then
		DS_SKIP_REASON="no Docker engine (the docker CLI is not installed)"
		return 1
	fi
	local err
	if ! err=$(timeout 20 docker info 2>&1 >/dev/null); then
		DS_SKIP_REASON="no Docker engine ($(printf '%s' "$err" | tr '\n' ' ' | cut -c1-160))"
		return 1
	fi
	if [ -n "${DS_COMPOSE_VERSION:-}" ]; then
		ds_pick_compose "$DS_COMPOSE_VERSION" || return 1
	elif docker compose version >/dev/null 2>&1; then
		DS_COMPOSE="docker compose"
	elif command -v docker-compose >/dev/null 2>&1; then
		DS_COMPOSE="docker-compose"
	else
		DS_SKIP_REASON="no compose CLI (docker compose / docker-compose)"
		return 1
	fi
	return 0
}

# Run compose on the test project (as the superuser's stack, no override).
ds_compose() {
	# shellcheck disable=SC2086
	(cd "$DS_DIR" && $DS_COMPOSE -p "$DS_PROJECT" "$@")
}

# dsnflip on the test project, with the test's state dir and admin connection.
# deploy and rollback are told the tier's compose CLI when both are installed
# (otherwise dsnflip finds the one there is, as users run it).
ds_dsnflip() {
	local extra=()
	case "${1:-}" in
	deploy | rollback)
		[ "$DS_COMPOSE" = docker-compose ] && docker compose version >/dev/null 2>&1 &&
			extra=(--compose-cmd docker-compose)
		;;
	esac
	(cd "$DS_DIR" && XDG_STATE_HOME=$DS_STATE "$DSNFLIP" --db "host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres" "$@" "${extra[@]}")
}

# The id of the service's container (not one-off), or nothing.
ds_cid() {
	docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$DS_PROJECT" \
		--filter "label=com.docker.compose.service=$1" | head -1
}

# The user the service's running sessions use (by application_name, which the apps set).
ds_sessions_as() {
	psql -Atc "select coalesce(string_agg(distinct usename, ','), '') from pg_stat_activity where application_name = '$1'" shop
}

# Wait (bounded) until the service has a session as USER; 0 when it does.
ds_wait_user() {
	local svc=$1 user=$2 i
	for i in $(seq 1 60); do
		[ "$(ds_sessions_as "$svc")" = "$user" ] && return 0
		sleep 0.5
	done
	return 1
}

# Exit code of a one-shot service's container, "running" while it runs.
ds_state() {
	docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(ds_cid "$1")" 2>/dev/null
}

ds_setup() {
	local root
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	DSNFLIP=${DSNFLIP:-}
	if [ -z "$DSNFLIP" ]; then
		if [ -x "$root/${BUILD:-build/default}/dsnflip" ]; then
			DSNFLIP=$root/${BUILD:-build/default}/dsnflip
		else
			DSNFLIP=$root/dsnflip
		fi
	fi
	"$root/tests/lib/build-image.sh" || { echo "dockerstack: building the test image failed" >&2; return 1; }
	pg_start max_connections=100 || return 1
	psql -q -v ON_ERROR_STOP=1 -f "$root/tests/docker-apps/stack/schema.sql" >/dev/null || return 1
	DS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dsnflip-docker.XXXXXX")
	DS_PROJECT=dsnfliptest$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	DS_DIR=$DS_TMP/$DS_PROJECT
	DS_STATE=$DS_TMP/state
	mkdir -p "$DS_DIR/apps" "$DS_STATE"
	cp "$root/tests/docker-apps/stack/docker-compose.yml" "$DS_DIR/"
	cp "$root"/tests/docker-apps/*.py "$DS_DIR/apps/"
	(umask 077; printf 'POSTGRES_PASSWORD=%s\nDB_PORT=%s\n' "$(cat "$PG_TEST_PWFILE")" "$PGPORT" >"$DS_DIR/.env")
	export DS_DIR DS_PROJECT DS_STATE DS_COMPOSE DSNFLIP DS_TMP
	# A repository, as a real stack lives in one (`dsnflip branch` commits there).
	if command -v git >/dev/null 2>&1; then
		(cd "$DS_DIR" && git init -q -b main . && git config user.name "dsnflip tests" &&
			git config user.email tests@dsnflip.invalid && printf '.env\n' >.gitignore &&
			git add -A && git commit -qm "the stack, on the superuser") >/dev/null 2>&1
	fi
	ds_compose up -d >"$DS_TMP/up.log" 2>&1 || { echo "dockerstack: compose up failed:" >&2; tail -5 "$DS_TMP/up.log" >&2; return 1; }
	# The one-shot migrators must have run before ownership moves.
	local i
	for i in $(seq 1 60); do
		[ "$(ds_state migrate)" = "exited 0" ] && [ "$(ds_state badmigrate)" = "exited 0" ] && break
		sleep 0.5
	done
	ds_wait_user reader postgres || { echo "dockerstack: the stack did not come up" >&2; return 1; }
	ds_roles
}

# Create the plan's roles with the secrets file's passwords (`dsnflip roles apply`).
ds_roles() {
	ds_dsnflip roles apply >"$DS_TMP/roles.log" 2>&1 ||
		{ echo "dockerstack: roles apply failed:" >&2; tail -5 "$DS_TMP/roles.log" >&2; return 1; }
}

ds_cleanup() {
	if [ -n "${DS_PROJECT:-}" ]; then
		local ids
		ids=$(docker ps -aq --filter "label=com.docker.compose.project=$DS_PROJECT")
		[ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
	fi
	pg_stop
	[ -n "${DS_TMP:-}" ] && case "$DS_TMP" in */dsnflip-docker.*) rm -rf "$DS_TMP" ;; esac
	DS_TMP=
	return 0
}

# pgcluster.sh — a throwaway PostgreSQL 15 cluster for tests and benchmarks.
#
# Source it, start a cluster, stop it on exit:
#
#   . tests/lib/pgcluster.sh
#   pg_start max_connections=60 || { echo "SKIP pg: $PG_SKIP_REASON"; exit 0; }
#   trap pg_stop EXIT
#   psql -c 'select 1'          # no password on argv: PGPASSFILE does it
#
# pg_start [NAME=VALUE ...]
#   initdb (PostgreSQL 15, $PG_BIN, default /usr/lib/postgresql/15/bin) into
#   a fresh mktemp directory, scram-sha-256 authentication for everything,
#   superuser "postgres" with a random password that is written to a 0600
#   file and never echoed, listening on 127.0.0.1 on a free port (tried from
#   a random base) and on a unix socket in the temp dir, log_statement=all
#   to $PG_LOG (logging_collector off), max_connections=100, fsync off.
#   NAME=VALUE pairs are extra server settings (they win over the defaults).
#   Exports:
#     PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=postgres
#     PGPASSFILE   a 0600 .pgpass in the temp dir holding the superuser's line
#     PG_TEST_DIR  the temp dir          PG_TEST_SOCKET_DIR  the socket dir
#     PG_TEST_PORT (= PGPORT)            PG_TEST_PWFILE      0600, the password
#     PG_LOG       the server log (every statement, for "no secret in the log")
#   Returns non-zero with $PG_SKIP_REASON set when PostgreSQL 15 is not
#   installed (callers print SKIP), or with a message on stderr when it
#   failed to start.  Every wait is bounded (pg_ctl -t, a port retry limit).
#
# pg_stop
#   Stops the server (pg_ctl -m fast, then immediate) and removes the temp
#   dir.  Safe to call twice or without pg_start: use it in an EXIT trap.
#
# pg_pgpass_add USER PASSWORD
#   Appends a .pgpass line so libpq/psql log in as USER without the password
#   on any command line (a shell builtin writes it).
#
# Running as root: initdb and postgres refuse to run as root, so the server
# runs as an unprivileged user — "postgres" (created by Debian's postgresql
# packages) or else "dsnflip-test" (created with useradd when missing) —
# through runuser, and the data directory is owned by that user.  Clients
# (psql, dsnflip) run as the caller and connect over TCP with the password
# from PGPASSFILE.  As a non-root user the server simply runs as the caller.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Run a PostgreSQL server binary as the server user.
_pg_as() {
	if [ -n "${_PG_RUNAS:-}" ]; then
		runuser -u "$_PG_RUNAS" -- "$@"
	else
		"$@"
	fi
}

_pg_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {
	PG_SKIP_REASON=
	if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		PG_SKIP_REASON="PostgreSQL 15 server binaries not found in $PG_BIN (apt-get install postgresql-15)"
		return 2
	fi
	if ! command -v psql >/dev/null 2>&1; then
		PG_SKIP_REASON="psql not found (apt-get install postgresql-client-15)"
		return 2
	fi
	_PG_RUNAS=
	if [ "$(id -u)" = 0 ]; then
		if id postgres >/dev/null 2>&1; then
			_PG_RUNAS=postgres
		else
			id dsnflip-test >/dev/null 2>&1 ||
				useradd --system --no-create-home --shell /usr/sbin/nologin dsnflip-test ||
				{ echo "pgcluster: cannot create user dsnflip-test" >&2; return 1; }
			_PG_RUNAS=dsnflip-test
		fi
	fi

	PG_TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dsnflip-pg.XXXXXX") || return 1
	chmod 0700 "$PG_TEST_DIR"
	PG_TEST_SOCKET_DIR=$PG_TEST_DIR/sock
	PG_TEST_PWFILE=$PG_TEST_DIR/pwfile
	PG_LOG=$PG_TEST_DIR/server.log
	mkdir -p "$PG_TEST_SOCKET_DIR"
	(umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$PG_TEST_PWFILE")
	: >"$PG_LOG"
	if [ -n "$_PG_RUNAS" ]; then
		chown -R "$_PG_RUNAS" "$PG_TEST_DIR"
	fi

	if ! _pg_as "$PG_BIN/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=scram-sha-256 \
		--pwfile="$PG_TEST_PWFILE" -E UTF8 --no-locale --no-sync >"$PG_TEST_DIR/initdb.log" 2>&1; then
		echo "pgcluster: initdb failed:" >&2
		tail -5 "$PG_TEST_DIR/initdb.log" >&2
		pg_stop
		return 1
	fi

	local base=$((20000 + RANDOM % 30000)) try port= started=
	for try in $(seq 0 39); do
		port=$((base + try * 7))
		_pg_port_busy "$port" && continue
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "port = $port"
			echo "unix_socket_directories = '$PG_TEST_SOCKET_DIR'"
			echo "logging_collector = off"
			echo "log_statement = 'all'"
			echo "log_line_prefix = '%m [%p] %u@%d '"
			echo "max_connections = 100"
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
			local kv
			for kv in "$@"; do
				echo "${kv%%=*} = '${kv#*=}'"
			done
		} >"$PG_TEST_DIR/dsnflip-test.conf"
		grep -q "^include '../dsnflip-test.conf'" "$PG_TEST_DIR/data/postgresql.conf" ||
			echo "include '../dsnflip-test.conf'" >>"$PG_TEST_DIR/data/postgresql.conf"
		[ -n "$_PG_RUNAS" ] && chown "$_PG_RUNAS" "$PG_TEST_DIR/dsnflip-test.conf"
		if _pg_as "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_LOG" -w -t 30 start \
			>"$PG_TEST_DIR/pg_ctl.log" 2>&1; then
			started=1
			break
		fi
		# Lost a race for the port (or a real failure): look at the log.
		if ! grep -q 'could not bind\|Address already in use' "$PG_LOG"; then
			break
		fi
	done
	if [ -z "$started" ]; then
		echo "pgcluster: the server did not start:" >&2
		tail -5 "$PG_LOG" >&2
		pg_stop
		return 1
	fi

	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	export PG_TEST_PORT=$port PG_TEST_DIR PG_TEST_SOCKET_DIR PG_TEST_PWFILE PG_LOG
	export PGPASSFILE=$PG_TEST_DIR/pgpass
	(umask 077; : >"$PGPASSFILE")
	pg_pgpass_add postgres "$(cat "$PG_TEST_PWFILE")"
	unset PGSERVICE PGPASSWORD PGSSLMODE PGOPTIONS
	return 0
}

pg_pgpass_add() {
	local user=$1 pw=$2
	pw=${pw//\\/\\\\}
	pw=${pw//:/\\:}
	printf '127.0.0.1:%s:*:%s:%s\n' "$PGPORT" "$user" "$pw" >>"$PGPASSFILE"
	printf 'localhost:%s:*:%s:%s\n' "$PGPORT" "$user" "$pw" >>"$PGPASSFILE"
}

pg_stop() {
	local dir=${PG_TEST_DIR:-}
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	case "$dir" in */dsnflip-pg.*) ;; *) return 0 ;; esac
	if [ -f "$dir/data/postmaster.pid" ]; then
		_pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
			_pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1
	fi
	rm -rf "$dir"
	PG_TEST_DIR=
	return 0
}

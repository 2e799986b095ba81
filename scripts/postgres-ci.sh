#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the store tests and prints its
# DSN on stdout (the only thing printed there), e.g.
#   export SPINECAST_TEST_POSTGRES="$(scripts/postgres-ci.sh)"
# Installs PostgreSQL from Debian apt when no server binaries are present.
# The cluster lives in $PGCI_DIR (default /tmp/spinecast-pg), listens on
# 127.0.0.1:$PGCI_PORT (default 55432) only, and trusts local connections:
# it is for tests, never for data. Stop it with:
#   pg_ctl -D "$PGCI_DIR/data" stop      (as the user that owns it)
set -euo pipefail
dir="${PGCI_DIR:-/tmp/spinecast-pg}"
port="${PGCI_PORT:-55432}"
db="${PGCI_DB:-spinecast_test}"

log() { echo "postgres-ci: $*" >&2; }

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

bin=$(bindir || true)
if [ -z "$bin" ]; then
	log "installing postgresql from apt"
	sudo_cmd=""
	[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
	$sudo_cmd apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >&2
	bin=$(bindir)
fi

# PostgreSQL refuses to run as root: use the postgres account when we are root.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
	log "initdb in $dir/data"
	as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >&2
fi
if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
	log "starting on 127.0.0.1:$port"
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2
fi
if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" postgres | grep -q 1; then
	as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" >&2
fi
echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable"

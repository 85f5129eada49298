#!/usr/bin/env bash
# Make a PostgreSQL server reachable on localhost for the end-to-end tests (tests/test_e2e_postgres.py)
# and print its connection settings as `export` lines, for the caller to eval:
#
#     eval "$(bash .ci/postgres.sh)"     # .ci/run does this; so can a developer before `make test`
#
# Steps, each skipped when not needed:
#   1. TAP_DOCKERDVP_TEST_PG_URL already set (e.g. a CI service container): print nothing, change nothing;
#   2. no PostgreSQL server binaries: apt-get install postgresql (Debian/Ubuntu);
#   3. nothing answering on localhost:$PGPORT: start the first cluster (pg_ctlcluster), creating one
#      (pg_createcluster) if there is none; without Debian's postgresql-common, initdb + pg_ctl in
#      $TAP_DOCKERDVP_TEST_PG_DATA (default /tmp/tap-dockerdvp-pg) as the postgres user;
#   4. create (or reset) a login role and a database it owns, through the local socket as postgres;
#   5. check a password login over TCP, then print PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE,
#      TAP_DOCKERDVP_TEST_PG_URL, and TAP_DOCKERDVP_TEST_PG_STOP (the command that stops the server
#      again, empty when this script did not start it).
# Everything it says goes to stderr; stdout carries only the export lines. Needs root or passwordless sudo
# for steps 2-4.
set -euo pipefail

if [[ -n "${TAP_DOCKERDVP_TEST_PG_URL:-}" ]]; then
    echo "[postgres] TAP_DOCKERDVP_TEST_PG_URL is set: using that server" >&2
    exit 0
fi

PORT="${TAP_DOCKERDVP_TEST_PG_PORT:-5432}"
ROLE="tap_dockerdvp_test"
# A throwaway role on a local test server, not a secret.
PASSWORD="tap_dockerdvp_test"
DATABASE="tap_dockerdvp_test"
DATA_DIR="${TAP_DOCKERDVP_TEST_PG_DATA:-/tmp/tap-dockerdvp-pg}"
STOP=""

log() { echo "[postgres] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo -n "$@"; fi
}
as_postgres() {
    if [[ "$(id -u)" == 0 ]]; then
        if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
    else
        sudo -n -u postgres "$@"
    fi
}
server_bin() {  # the newest installed server version's bin directory
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
    dir="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    [[ -x "$dir/initdb" ]] && echo "$dir"
}
ready() {  # is a server accepting connections on localhost:$PORT?
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h localhost -p "$PORT" -t 2
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
    fi
}
wait_ready() {
    for _ in $(seq 1 60); do
        ready && return 0
        sleep 0.5
    done
    return 1
}

# -- 2. the server binaries --------------------------------------------------------------------------
if [[ -z "$(server_bin)" ]]; then
    command -v apt-get >/dev/null || die "no PostgreSQL server installed and no apt-get to install one"
    log "installing PostgreSQL (apt-get install postgresql)"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
BIN="$(server_bin)"
[[ -n "$BIN" ]] || die "PostgreSQL server binaries not found after installing"
PATH="$PATH:$BIN"
SOCKET_DIR="/var/run/postgresql"

# -- 3. a running server ------------------------------------------------------------------------------
if ready; then
    log "a server is already accepting connections on localhost:$PORT"
elif command -v pg_lsclusters >/dev/null && command -v pg_ctlcluster >/dev/null; then
    cluster="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port {print $1, $2; exit}')"
    if [[ -z "$cluster" ]]; then
        version="$(basename "$(dirname "$BIN")")"
        log "creating cluster $version/main on port $PORT (pg_createcluster)"
        as_root pg_createcluster --port "$PORT" "$version" main >&2
        cluster="$version main"
    fi
    read -r version name <<<"$cluster"
    log "starting cluster $version/$name (pg_ctlcluster $version $name start)"
    as_root pg_ctlcluster "$version" "$name" start >&2
    STOP="pg_ctlcluster $version $name stop"
    if [[ "$(id -u)" != 0 ]]; then STOP="sudo -n $STOP"; fi
else
    log "starting a server in $DATA_DIR (initdb + pg_ctl as postgres)"
    id postgres >/dev/null 2>&1 || as_root useradd --system --create-home postgres
    SOCKET_DIR="$DATA_DIR/socket"
    as_root mkdir -p "$DATA_DIR"
    as_root chown postgres "$DATA_DIR"
    if [[ ! -f "$DATA_DIR/db/PG_VERSION" ]]; then
        as_postgres "$BIN/initdb" -D "$DATA_DIR/db" -U postgres --auth-local=peer --auth-host=scram-sha-256 >&2
    fi
    as_postgres mkdir -p "$SOCKET_DIR"
    as_postgres "$BIN/pg_ctl" -D "$DATA_DIR/db" -l "$DATA_DIR/server.log" -w \
        -o "-p $PORT -k $SOCKET_DIR -c listen_addresses=localhost" start >&2
    if [[ "$(id -u)" == 0 ]]; then STOP="runuser -u postgres --"; else STOP="sudo -n -u postgres"; fi
    STOP="$STOP $BIN/pg_ctl -D $DATA_DIR/db -m fast stop"
fi
wait_ready || die "no server accepts connections on localhost:$PORT"

# -- 4. the test role and database ---------------------------------------------------------------------
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -d postgres "$@"; }
psql_admin -c "DO \$\$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
    ELSE
        CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD';
    END IF;
END \$\$;" >&2 || die "could not create the role $ROLE as the postgres user (set TAP_DOCKERDVP_TEST_PG_URL instead)"
if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]]; then
    psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

# -- 5. check, then print -----------------------------------------------------------------------------
PGPASSWORD="$PASSWORD" psql -X -q -h localhost -p "$PORT" -U "$ROLE" -d "$DATABASE" -tAc "SELECT 1" >/dev/null \
    || die "password login as $ROLE over TCP failed (check pg_hba.conf for host connections from localhost)"
log "ready: postgresql://$ROLE@localhost:$PORT/$DATABASE"

printf 'export PGHOST=%q PGPORT=%q PGUSER=%q PGPASSWORD=%q PGDATABASE=%q\n' \
    localhost "$PORT" "$ROLE" "$PASSWORD" "$DATABASE"
printf 'export TAP_DOCKERDVP_TEST_PG_URL=%q\n' "postgresql://$ROLE:$PASSWORD@localhost:$PORT/$DATABASE"
printf 'export TAP_DOCKERDVP_TEST_PG_STOP=%q\n' "$STOP"

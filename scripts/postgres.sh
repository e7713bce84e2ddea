#!/usr/bin/env bash
# A private, throw-away PostgreSQL server for the test suite and benchmarks (never the system cluster).
#
#   eval "$(bash scripts/postgres.sh start)"   # installs PostgreSQL with apt when missing, starts a server on a free
#                                               # loopback port, prints `export QA_ENGINE_TEST_PG_URL=... QA_ENGINE_TEST_PG_DIR=...`
#   bash scripts/postgres.sh stop [DIR]         # stops it and removes its folder (DIR defaults to $QA_ENGINE_TEST_PG_DIR)
#
# The server trusts local connections on 127.0.0.1 only, runs with fsync off (test data only) and, when this script runs
# as root, as the `postgres` system user (PostgreSQL refuses to run as root). Progress goes to stderr; stdout carries
# only the export line, so `eval` is safe.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

install_postgres() {
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  log "PostgreSQL server not found; installing it from Debian packages (apt-get install postgresql)"
  $sudo_cmd apt-get update -qq >&2
  # The package may also create and start its own cluster on port 5432; ours is separate and uses a free port.
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >&2
}

# Run a command as the server's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PG_OWNER" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local py
  for py in python3 .venv/bin/python; do
    command -v "$py" >/dev/null 2>&1 || [ -x "$py" ] || continue
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
      && return 0
  done
  return 1
}

start() {
  local bindir dir port
  bindir=$(pg_bindir) || { install_postgres; bindir=$(pg_bindir) || die "PostgreSQL is still missing after apt-get"; }
  PG_OWNER=${QA_ENGINE_PG_OWNER:-postgres}
  if [ "$(id -u)" = 0 ] && ! id -u "$PG_OWNER" >/dev/null 2>&1; then
    die "running as root but there is no '$PG_OWNER' user to run the server as (set QA_ENGINE_PG_OWNER)"
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/qa-engine-pg.XXXXXX")
  chmod 700 "$dir"
  [ "$(id -u)" = 0 ] && chown "$PG_OWNER" "$dir"
  port=$(free_port) || die "no Python to pick a free port with"
  log "initdb in $dir ($bindir)"
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  log "starting the server on 127.0.0.1:$port"
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
      "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
       -c full_page_writes=off -c max_connections=200" >&2; then
    cat "$dir/server.log" >&2 || true
    die "the server did not start (log above)"
  fi
  echo "export QA_ENGINE_TEST_PG_URL='postgresql://postgres@127.0.0.1:$port/postgres' QA_ENGINE_TEST_PG_DIR='$dir'"
}

stop() {
  local dir=${1:-${QA_ENGINE_TEST_PG_DIR:-}} bindir owner
  [ -n "$dir" ] || die "stop: no server folder given (and QA_ENGINE_TEST_PG_DIR is not set)"
  [ -d "$dir/data" ] || { log "stop: $dir holds no server; nothing to do"; return 0; }
  bindir=$(pg_bindir) || die "stop: pg_ctl not found"
  PG_OWNER=$(stat -c %U "$dir/data")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || log "stop: pg_ctl stop failed"
  rm -rf "$dir"
}

cd "$(dirname "$0")/.."
case "${1:-}" in
  start) start ;;
  stop) shift; stop "${1:-}" ;;
  *) echo "usage: bash scripts/postgres.sh start|stop [DIR]" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests, on loopback and a free port.
#   throwaway-postgres.sh start STATE   prints the cluster's URL; STATE remembers where it is
#   throwaway-postgres.sh stop STATE    stops it and removes its folder
#   throwaway-postgres.sh crash-restart STATE [SECONDS]   stops it as a crash would (-m immediate:
#                                        no checkpoint, clients cut off), stays down SECONDS
#                                        (default 0), and starts it again
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (made by
# Debian's postgresql-15 package). fsync is off unless PG_FSYNC=on (benchmarks): a test cluster
# need not survive a power cut, but synchronous_commit stays on, so a crash of the server alone
# (pg_ctl -m immediate) loses no committed transaction.
set -euo pipefail
action=${1:?start or stop}
state=${2:?state file}
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the server of folder $1 on port $2. The server must not keep this script's standard
# output or error open: whoever reads them would wait for it to exit.
server_start() {
  as_owner "$bin/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c fsync=${PG_FSYNC:-off} -c max_connections=200" start </dev/null >/dev/null 2>&1 \
    || { tail -20 "$1/server.log" >&2; exit 1; }
}

case "$action" in
start)
  [ -x "$bin/initdb" ] || { echo "no PostgreSQL 15 in $bin" >&2; exit 1; }
  dir=$(mktemp -d /tmp/artworker-pg.XXXXXX)
  chmod 755 "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U artworker -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  server_start "$dir" "$port"
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U artworker artworker
  mkdir -p "$(dirname "$state")"
  printf '%s\n%s\n' "$dir" "$port" >"$state"
  echo "postgres://artworker@127.0.0.1:$port/artworker"
  ;;
stop)
  [ -f "$state" ] || exit 0
  dir=$(sed -n 1p "$state")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state"
  ;;
crash-restart)
  dir=$(sed -n 1p "$state")
  port=$(sed -n 2p "$state")
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop </dev/null >/dev/null 2>&1
  sleep "${3:-0}"
  server_start "$dir" "$port"
  ;;
*) echo "usage: $0 start|stop STATE, or crash-restart STATE [SECONDS]" >&2; exit 2 ;;
esac

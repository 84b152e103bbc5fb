#!/usr/bin/env bash
# A throwaway S3-compatible server for the tests: moto's server (PyPI `moto[server]`, installed
# into VENV by `make s3-setup`), on loopback and a free port. It keeps objects in memory and
# does not check signatures; what it checks is the S3 API itself.
#   throwaway-s3.sh start STATE VENV   prints its endpoint, http://127.0.0.1:PORT
#   throwaway-s3.sh stop STATE         stops it
set -euo pipefail
action=${1:?start or stop}
state=${2:?state file}

case "$action" in
start)
  venv=${3:?the venv with moto[server]}
  [ -x "$venv/bin/moto_server" ] || { echo "no moto_server in $venv (make s3-setup)" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$(dirname "$state")"
  log="$state.log"
  # Its own session, and none of this script's descriptors: whoever reads our output must not
  # wait for the server to exit.
  setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
  printf '%s\n%s\n' "$!" "$port" >"$state"
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null && {
      echo "http://127.0.0.1:$port"; exit 0; }
    sleep 0.1
  done
  cat "$log" >&2
  exit 1
  ;;
stop)
  [ -f "$state" ] || exit 0
  kill "$(sed -n 1p "$state")" 2>/dev/null || true
  rm -f "$state" "$state.log"
  ;;
*) echo "usage: $0 start STATE VENV, or stop STATE" >&2; exit 2 ;;
esac

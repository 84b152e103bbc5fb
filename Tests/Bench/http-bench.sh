#!/usr/bin/env bash
# `make bench-http`: wrk against our server on loopback, keep-alive on, wrk sharing the 2 cores.
# Targets /healthz (a tiny dynamic response) and /static/css/app.css (a ~1.5 KiB static file)
# at 1, 16 and 128 connections, then the pages people load most — the home page, /explore and a
# member's /gallery with 24 pictures each, one picture's page — at 16 connections, once the
# server has made its home-page examples (so no inference runs beside them); prints
# requests/s and p99 latency, then the server's memory and open descriptors after the runs, and
# checks it still answers correctly. Pages also get the server's CPU time per request. The
# pictures are made by the server itself at 64 px (so the weights must be there: `make weights`).
set -euo pipefail
BIN=${1:-.build/release/artworker}
DURATION=${BENCH_HTTP_DURATION:-10s}
PORT=${BENCH_HTTP_PORT:-18089}
DATA=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

# wrk connects from one address: lift the per-address connection cap (64) above its 128.
ARTWORKER_MAX_CONNECTIONS_PER_ADDRESS=1024 "$BIN" serve --host 127.0.0.1 --port "$PORT" --data "$DATA" --log-level warning >/dev/null &
PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
fds() { ls "/proc/$PID/fd" | wc -l; }
rss() { awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$PID/status"; }
echo "server pid $PID: $(fds) descriptors, RSS $(rss) before the runs"
printf '%-22s %6s %12s %10s %8s\n' path conns requests/s p99 errors
for path in /healthz /static/css/app.css; do
  for c in 1 16 128; do
    threads=$(( c < 2 ? 1 : 2 ))
    out=$(wrk -t"$threads" -c"$c" -d"$DURATION" --latency "http://127.0.0.1:$PORT$path")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    printf '%-22s %6s %12s %10s %8s\n' "$path" "$c" "$rps" "$p99" "${errors:-0}"
  done
done
# Pages: a member with 24 shared pictures (the gallery's and /explore's page size).
curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"username":"benchpages","password":"pages for the bench"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/signup"
TOKEN=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"benchpages","password":"pages for the bench"}' \
  "http://127.0.0.1:$PORT/api/v1/auth/login" | sed 's/.*"token":"\([^"]*\)".*/\1/')
PHOTO=${BENCH_HTTP_PHOTO:-../shared/testdata/photos/coffee.png}
for i in $(seq 24); do
  job=$(curl -sf -H "Authorization: Bearer $TOKEN" -F "image=@$PHOTO;filename=bench $i.png" -F style=hayao -F max_side=64 \
    "http://127.0.0.1:$PORT/api/v1/conversions" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  for _ in $(seq 300); do
    state=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/conversions/$job")
    grep -q '"status":"done"' <<<"$state" && break; sleep 0.1
  done
  image=$(sed 's/.*"images":\["\([^"]*\)".*/\1/' <<<"$state")
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/images/$image/share"
done
# The server makes the home page's examples (4 photos in 4 styles) when it first has the models;
# pages are measured after that, not beside those inferences.
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/" | grep -q '/examples/rocket/shinkai.jpg' && break; sleep 1
done
curl -sf "http://127.0.0.1:$PORT/" | grep -q '/examples/rocket/shinkai.jpg' || { echo "the examples were not made in 10 minutes"; exit 1; }
# Pages: requests/s, p99, and the server's own CPU time per request (user + system from
# /proc/PID/stat): steadier than requests/s when wrk shares the cores.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
page_row() { # label, wrk arguments...
  local label=$1; shift
  local before after out
  before=$(cpu_ticks); out=$(wrk -t2 -c16 -d"$DURATION" --latency "$@"); after=$(cpu_ticks)
  local count; count=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%-23s %6s %12s %10s %8s %9s\n' "${label:0:23}" 16 "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ' | grep . || echo 0)" \
    "$(awk -v t="$((after - before))" -v n="$count" -v hz="$TICK" 'BEGIN { printf "%.0f us", n ? t * 1e6 / hz / n : 0 }')"
}
printf '%-23s %6s %12s %10s %8s %9s\n' page conns requests/s p99 errors CPU/req
for page in / /explore /gallery "/i/$image"; do
  page_row "$page" -H "Cookie: session=$TOKEN" "http://127.0.0.1:$PORT$page"
  if [ "$page" = /explore ]; then
    # A visitor's browser keeps the csrf cookie its first page set; wrk without it is a first
    # visit every time (a new cookie and CSRF token each, so nothing can be kept).
    page_row "/explore (visitor)" -H "Cookie: csrf=benchvisitor" "http://127.0.0.1:$PORT$page"
    page_row "/explore (first visits)" "http://127.0.0.1:$PORT$page"
  fi
done
# Logins: bcrypt (cost 12) on its bounded queue, while pages keep being served.
curl -sf -o /dev/null -H 'Content-Type: application/json' \
  -d '{"username":"benchuser","password":"a quiet bench river"}' "http://127.0.0.1:$PORT/api/v1/auth/signup"
login() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
  -d '{"username":"benchuser","password":"a quiet bench river"}' "http://127.0.0.1:$PORT/api/v1/auth/login"; }
times=$(for _ in 1 2 3 4 5; do login; done)
grep -qv '^200 ' <<<"$times" && { echo "login failed: $times"; exit 1; }
echo "one login (bcrypt cost 12, over loopback): median $(awk '{print $2}' <<<"$times" | sort -n | sed -n 3p) s"
LUA=$(mktemp --suffix=.lua)
cat >"$LUA" <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"benchuser","password":"a quiet bench river"}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk -t1 -c4 -d"$DURATION" -s "$LUA" "http://127.0.0.1:$PORT/api/v1/auth/login" > "$DATA/logins.txt" &
WRK=$!
pages=$(wrk -t1 -c16 -d"$DURATION" --latency "http://127.0.0.1:$PORT/")
wait "$WRK"
logins=$(cat "$DATA/logins.txt")
rm -f "$LUA"
echo "while logging in on 4 connections: $(awk '/Requests\/sec/ {print $2}' <<<"$logins") logins/s" \
  "($(awk '/Non-2xx/ {print $NF}' <<<"$logins" | grep . || echo 0) refused);" \
  "home page meanwhile: $(awk '/Requests\/sec/ {print $2}' <<<"$pages") req/s, p99 $(awk '$1 == "99%" {print $2}' <<<"$pages")"

sleep 1
echo "after the runs: $(fds) descriptors, RSS $(rss)"
body=$(curl -sf "http://127.0.0.1:$PORT/healthz")
[ "$body" = '{"status":"ok"}' ] && echo "still serving: /healthz → $body" || { echo "server no longer answers correctly"; exit 1; }
kill -TERM "$PID"; wait "$PID" && echo "SIGTERM: exited 0"

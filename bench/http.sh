#!/usr/bin/env bash
# HTTP load benchmark of `mlops serve`, re-runnable with one command:
#
#   bench/http.sh                 # 10 s per scenario, as in BENCHMARKS.md
#   DURATION=3s bench/http.sh     # quicker
#   WORKERS=1 bench/http.sh       # single-threaded runtime (--workers 1)
#
# What it does, all on 127.0.0.1 and bounded in time:
#   1. builds the release binary and trains the Iris model into a temporary directory;
#   2. starts `mlops serve` on a free loopback port, logs to a file (one line per
#      request, as in production), and measures process start to a 200 from /ready;
#   3. runs `wrk -t1 -c16 -d$DURATION --latency` against /health, /predict (one row) and
#      /predict (a batch of 100 rows), printing req/s, p50 and p99;
#   4. reads the server's peak RSS (VmHWM) after the load, then stops it with SIGTERM and
#      measures how long it takes to exit.
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
WORKERS=${WORKERS:-0}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing: apt-get install curl" >&2; exit 1; }

cargo build --release --locked --quiet
bin=$PWD/target/release/mlops
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" train --data data/iris.csv --out "$work" >/dev/null

# A free loopback port: bind port 0 and read what the kernel chose, from the server's log.
start_ns=$(date +%s%N)
"$bin" serve --model "$work/model.cbor" --addr 127.0.0.1:0 --workers "$WORKERS" >"$work/server.log" 2>&1 &
server_pid=$!
addr=
for _ in $(seq 1 500); do
  addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/server.log" | head -n1)
  [ -n "$addr" ] && curl -sf "http://$addr/ready" >/dev/null && break
  sleep 0.002
done
ready_ns=$(date +%s%N)
[ -n "$addr" ] || { cat "$work/server.log"; echo "server did not start" >&2; exit 1; }
startup_ms=$(( (ready_ns - start_ns) / 1000000 ))
self_ms=$(sed -n 's/.*startup_ms=\([0-9.]*\).*/\1/p' "$work/server.log" | head -n1)

# The batch: the first 100 rows of the dataset, by position.
rows=$(awk -F, 'NR>1 && NR<=101 {printf "%s[%s,%s,%s,%s]", (NR>2?",":""), $1,$2,$3,$4}' data/iris.csv)
cat >"$work/one.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"features":[5.1,3.5,1.4,0.2]}'
LUA
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
  "'{\"instances\":[$rows]}'" >"$work/batch.lua"
# Check the scenarios answer 200 before timing them.
curl -sf "http://$addr/predict" -H 'content-type: application/json' -d '{"features":[5.1,3.5,1.4,0.2]}' >/dev/null
curl -sf "http://$addr/predict" -H 'content-type: application/json' -d "{\"instances\":[$rows]}" >/dev/null

run() { # name path [script]
  local name=$1 path=$2 script=${3:-}
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency ${script:+-s "$script"} "http://$addr$path")
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print "socket errors: " $0}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "## mlops serve over HTTP: wrk -t1 -c$CONNECTIONS -d$DURATION, workers=$WORKERS"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| scenario | req/s | p50 | p99 | non-2xx |"
echo "| --- | --- | --- | --- | --- |"
run "GET /health" /health
run "POST /predict, 1 row" /predict "$work/one.lua"
run "POST /predict, batch of 100 rows" /predict "$work/batch.lua"
echo
echo "peak RSS (VmHWM) after the load: $(awk '/VmHWM/ {print $2, $3}' /proc/$server_pid/status)"
echo "process start to /ready 200: ${startup_ms} ms measured from outside (the server's own figure: ${self_ms} ms)"
echo "access log lines written: $(grep -c 'mlops::access' "$work/server.log")"

stop_ns=$(date +%s%N)
kill -TERM "$server_pid"
wait "$server_pid"
code=$?
server_pid=
echo "SIGTERM to exit (idle): $(( ($(date +%s%N) - stop_ns) / 1000000 )) ms, exit code $code"

#!/usr/bin/env bash
# HTTP load benchmark of `mlops serve`, re-runnable with one command:
#
#   bench/http.sh                 # 10 s per scenario, as in BENCHMARKS.md
#   DURATION=3s bench/http.sh     # quicker
#   WORKERS=1 bench/http.sh       # single-threaded runtime (--workers 1)
#   ROUNDS=5 bench/http.sh        # /health and /predict (1 row) alternated 5 times
#   BIN=path/to/mlops bench/http.sh   # another build, e.g. the image binary
#                                     # (target/image-build/x86_64-unknown-linux-musl/release/mlops)
#
# What it does, all on 127.0.0.1 and bounded in time:
#   1. builds the release binary and trains the Iris model into a temporary directory;
#   2. starts `mlops serve` on a free loopback port, logs to a file (one line per
#      request, as in production), and measures process start to the first 200 from
#      /ready (polled through bash's /dev/tcp, so the poll costs no process spawns);
#   3. runs `wrk -t1 -c16 -d$DURATION --latency` against /health, /predict (one row) and
#      /predict (a batch of 100 rows), printing req/s, p50, p99 and the server's CPU time
#      per request (which, unlike req/s, hardly moves when other work shares the cores).
#      /health and the single row run as ROUNDS back-to-back pairs (default 1): this
#      machine's speed drifts by 20 % within minutes, so their ratio is taken within each
#      pair, and the median over the pairs is printed;
#   4. reads the server's peak RSS (VmHWM) after the load, then stops it with SIGTERM and
#      measures how long it takes to exit.
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
WORKERS=${WORKERS:-0}
ROUNDS=${ROUNDS:-1}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing: apt-get install curl" >&2; exit 1; }

if [ -z "${BIN:-}" ]; then cargo build --release --locked --quiet; fi
bin=${BIN:-$PWD/target/release/mlops}
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" train --data data/iris.csv --out "$work" >/dev/null

port=$(free_port)
addr=127.0.0.1:$port

# One GET /ready through bash's /dev/tcp: no process to spawn, so polling it in a tight
# loop measures start-up to within a fraction of a millisecond.
ready_once() {
  # The group keeps the 2>/dev/null from applying to the whole script.
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /ready HTTP/1.0\r\nHost: bench\r\n\r\n' >&3
  local line=
  IFS= read -r -t 1 line <&3 || true
  exec 3<&-
  [[ $line == "HTTP/1."*" 200 "* ]]
}

now_us() { echo "${EPOCHREALTIME/./}"; }  # bash 5: no process spawned
start_us=$(now_us)
"$bin" serve --model "$work/model.cbor" --addr "$addr" --workers "$WORKERS" >"$work/server.log" 2>&1 &
server_pid=$!
deadline=$((start_us + 5000000))
until ready_once; do
  if [ "$(now_us)" -gt "$deadline" ] || ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$work/server.log"; echo "server did not become ready" >&2; exit 1
  fi
done
ready_us=$(now_us)
startup_ms=$(awk -v us=$((ready_us - start_us)) 'BEGIN {printf "%.1f", us / 1e3}')
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

# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
ticks_per_s=$(getconf CLK_TCK)

run() { # name path [script]
  local name=$1 path=$2 script=${3:-}
  local out before after
  before=$(cpu_ticks)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency ${script:+-s "$script"} "http://$addr$path")
  after=$(cpu_ticks)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ {print $5} /Socket errors:/ {print "socket errors: " $0}' <<<"$out")
  # Server CPU per request: robust to other load on the machine, unlike req/s.
  local requests cpu_us
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$cpu_us" "${errors:-0}"
  last_rps=$rps
}

echo "## mlops serve over HTTP: wrk -t1 -c$CONNECTIONS -d$DURATION, workers=$WORKERS"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| scenario | req/s | p50 | p99 | server CPU µs/request | non-2xx |"
echo "| --- | --- | --- | --- | --- | --- |"
ratios=()
for _ in $(seq 1 "$ROUNDS"); do
  run "GET /health" /health
  health_rps=$last_rps
  run "POST /predict, 1 row" /predict "$work/one.lua"
  ratios+=("$(awk -v p="$last_rps" -v h="$health_rps" 'BEGIN {printf "%.1f", 100 * p / h}')")
done
run "POST /predict, batch of 100 rows" /predict "$work/batch.lua"
echo
echo "/predict (1 row) as % of /health, per pair: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}') %"
echo "peak RSS (VmHWM) after the load: $(awk '/VmHWM/ {print $2, $3}' /proc/$server_pid/status)"
echo "process start to /ready 200: ${startup_ms} ms measured from outside (the server's own figure: ${self_ms} ms)"
echo "access log lines written: $(grep -c 'mlops::access' "$work/server.log")"

stop_us=$(now_us)
kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=
echo "SIGTERM to exit (idle): $(awk -v us=$(($(now_us) - stop_us)) 'BEGIN {printf "%.1f", us / 1e3}') ms, exit code $code"

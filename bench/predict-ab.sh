#!/usr/bin/env bash
# Single-row POST /predict throughput of two mlops binaries, interleaved so that both
# see the same machine load:
#
#   bench/predict-ab.sh OLD_BINARY NEW_BINARY [ROUNDS]     # DURATION=5s by default
#
# Trains Iris once (with NEW_BINARY), then for each round serves it with OLD, runs
# `wrk -t1 -c16 -d$DURATION` on /predict, stops it, and does the same with NEW. Prints
# req/s and the server's CPU time per request (user + system, which moves far less than
# req/s when other work shares the cores) for each run. All on 127.0.0.1, bounded in
# time. Needs wrk and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -ge 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY [ROUNDS]" >&2; exit 2; }
old=$1 new=$2 rounds=${3:-3}
DURATION=${DURATION:-5s}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$new" train --data data/iris.csv --out "$work" >/dev/null
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
  "'{\"features\":[5.1,3.5,1.4,0.2]}'" >"$work/one.lua"
ticks_per_s=$(getconf CLK_TCK)

one_run() { # label binary
  "$2" serve --model "$work/model.cbor" --addr 127.0.0.1:0 >"$work/log" 2>&1 &
  pid=$!
  local addr=""
  for _ in $(seq 100); do
    addr=$(grep -o 'listening on [0-9.:]*' "$work/log" | head -n1 | cut -d' ' -f3 || true)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { cat "$work/log" >&2; exit 1; }
  curl -sf "http://$addr/predict" -H 'content-type: application/json' -d '{"features":[5.1,3.5,1.4,0.2]}' >/dev/null
  local before after out
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(wrk -t1 -c16 -d"$DURATION" -s "$work/one.lua" "http://$addr/predict")
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  local rps n
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v l="$1" -v r="$rps" -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$n" \
    'BEGIN {printf "| %s | %s | %.1f |\n", l, r, t / hz * 1e6 / n}'
}

echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| binary | req/s | server CPU µs/request |"
echo "| --- | --- | --- |"
for _ in $(seq "$rounds"); do
  one_run old "$old"
  one_run new "$new"
done

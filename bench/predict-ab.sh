#!/usr/bin/env bash
# Single-row POST /predict throughput of two mlops binaries, interleaved so that both
# see the same machine load, each next to GET /health on the same server:
#
#   bench/predict-ab.sh OLD_BINARY NEW_BINARY [ROUNDS]     # DURATION=5s by default
#
# Trains Iris once (with NEW_BINARY), then for each round serves it with OLD, runs
# `wrk -t1 -c16 -d$DURATION` on /health and then on /predict, stops it, and does the
# same with NEW; rounds alternate which binary goes first (OLD NEW, NEW OLD, ...), so a
# drift of the machine's speed does not favour one side. Prints, per run, req/s and the
# server's CPU time per request (user + system, which moves far less than req/s when
# other work shares the cores) for both routes, and /predict's rate as a percentage of
# /health's; then each binary's median percentage. All on 127.0.0.1, bounded in time.
# Needs wrk and curl.
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
  local health predict ratio
  health=$(measure "$addr" /health)
  predict=$(measure "$addr" /predict "$work/one.lua")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  ratio=$(awk -v p="${predict%% *}" -v h="${health%% *}" 'BEGIN {printf "%.1f", 100 * p / h}')
  echo "$ratio" >>"$work/ratios-$1"
  printf '| %s | %s | %s µs | %s | %s µs | %s %% |\n' "$1" "${health%% *}" "${health##* }" \
    "${predict%% *}" "${predict##* }" "$ratio"
}

# "req/s cpu_us" of one wrk run against the server being measured.
measure() { # addr path [script]
  local before after out rps n
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(wrk -t1 -c16 -d"$DURATION" ${3:+-s "$3"} "http://$1$2")
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v r="$rps" -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$n" \
    'BEGIN {printf "%s %.1f\n", r, t / hz * 1e6 / n}'
}

median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

echo "machine: $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| binary | /health req/s | CPU/request | /predict req/s | CPU/request | /predict as % of /health |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    one_run old "$old"; one_run new "$new"
  else
    one_run new "$new"; one_run old "$old"
  fi
done
echo
echo "median /predict as % of /health: old $(median "$work/ratios-old") %, new $(median "$work/ratios-new") %"

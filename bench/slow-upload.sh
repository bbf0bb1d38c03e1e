#!/usr/bin/env bash
# Availability of /predict under a slow-upload attack, bounded in time:
#
#   bench/slow-upload.sh                       # 256 slow uploads, wrk for 20 s
#   SLOW=512 DURATION=10 bench/slow-upload.sh  # other attack size, shorter run
#   MLOPS_BIN=/path/to/mlops bench/slow-upload.sh   # another build (e.g. an older one)
#
# What it does, all on 127.0.0.1:
#   1. builds the release binary (unless MLOPS_BIN is set) and trains the Iris model;
#   2. starts `mlops serve` with its default limits on a free loopback port;
#   3. starts $SLOW attacking connections (bench/slow_clients.py): each sends the head of
#      a POST /predict announcing a 1000-byte body, then one body byte per second, and
#      reconnects when the server answers or closes it;
#   4. after 5 s (all attackers connected), runs `wrk -t1 -c$CONNECTIONS -d${DURATION}s`
#      on POST /predict (one row) and prints the share of 2xx answers, which must be at
#      least 95 % (the script exits 1 below that);
#   5. stops the attackers and the server.
# Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

SLOW=${SLOW:-256}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

if [ -z "${MLOPS_BIN:-}" ]; then
  cargo build --release --locked --quiet
  MLOPS_BIN=$PWD/target/release/mlops
fi
work=$(mktemp -d)
server_pid=
attack_pid=
cleanup() {
  if [ -n "$attack_pid" ] && kill -0 "$attack_pid" 2>/dev/null; then kill "$attack_pid"; wait "$attack_pid" || true; fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$MLOPS_BIN" train --data data/iris.csv --out "$work" >/dev/null
port=$(free_port)
"$MLOPS_BIN" serve --model "$work/model.cbor" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { cat "$work/server.log"; exit 1; }

cat >"$work/one.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"features":[5.1,3.5,1.4,0.2]}'
LUA

python3 bench/slow_clients.py 127.0.0.1 "$port" "$SLOW" $((DURATION + 10)) >"$work/attack.log" 2>&1 &
attack_pid=$!
sleep 5
out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/one.lua" "http://127.0.0.1:$port/predict")
wait "$attack_pid" || true
attack_pid=
total=$(awk '/requests in/ {print $1}' <<<"$out")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
non2xx=${non2xx:-0}
share=$(awk -v t="$total" -v n="$non2xx" 'BEGIN {printf "%.2f", t ? 100 * (t - n) / t : 0}')

echo "## /predict under $SLOW slow uploads: wrk -t1 -c$CONNECTIONS -d${DURATION}s"
echo "binary: $MLOPS_BIN ($("$MLOPS_BIN" --version))"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| wrk requests | non-2xx | 2xx share | req/s |"
echo "| --- | --- | --- | --- |"
echo "| $total | $non2xx | $share % | $(awk '/^Requests\/sec:/ {print $2}' <<<"$out") |"
echo
echo "attackers: $(cat "$work/attack.log")"
echo "statuses in the server's access log (one request in 100 by default): $(grep -o 'status=[0-9]*' "$work/server.log" | sort | uniq -c | tr -s ' \n' ' ')"
awk -v s="$share" 'BEGIN {exit !(s >= 95)}' || { echo "FAIL: fewer than 95 % 2xx" >&2; exit 1; }

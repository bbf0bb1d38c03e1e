#!/usr/bin/env bash
# Peak memory of `mlops serve` under request bodies built to amplify memory, bounded in
# time:
#
#   bench/body-memory.sh                     # 8 connections, 10 s per body
#   CONNECTIONS=32 DURATION=5 bench/body-memory.sh
#   MLOPS_BIN=/path/to/mlops bench/body-memory.sh   # another build (e.g. an older one)
#
# For each body below (each just under the default --max-body-bytes, 1 MiB), it starts a
# fresh `mlops serve` with default limits on a free loopback port, sends the body with
# `wrk -t2 -c$CONNECTIONS -d${DURATION}s`, and reports the answers' statuses and the
# server's peak RSS (VmHWM) and RSS after the load (VmRSS):
#   * predict-empty-objects: {"instances":[{},{},...]} (about 350,000 rows);
#   * predict-empty-arrays:  {"instances":[[],[],...]};
#   * predict-named-values:  {"features":{"a":1,"a":1,...}} (one row, 175,000 values);
#   * v2-values:             a v2 infer tensor with 500,000 values for shape [1, 4];
#   * v2-parameters:         a v2 infer request whose "parameters" hold [[],[],...].
# Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if [ -z "${MLOPS_BIN:-}" ]; then
  cargo build --release --locked --quiet
  MLOPS_BIN=$PWD/target/release/mlops
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$MLOPS_BIN" train --data data/iris.csv --out "$work" >/dev/null

python3 - "$work" <<'PY'
import sys
work, limit = sys.argv[1], (1 << 20) - 64
def fill(prefix, item, suffix):
    n = (limit - len(prefix) - len(suffix)) // (len(item) + 1)
    return prefix + ",".join([item] * n) + suffix
v2 = '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":['
bodies = {
    "predict-empty-objects": fill('{"instances":[', "{}", "]}"),
    "predict-empty-arrays": fill('{"instances":[', "[]", "]}"),
    "predict-named-values": fill('{"features":{', '"a":1', "}}"),
    "v2-values": fill(v2, "0", "]}]}"),
    "v2-parameters": fill('{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP64","data":[1,2,3,4]}],"parameters":{"p":[', "[]", "]}}"),
}
for name, body in bodies.items():
    assert len(body) <= 1 << 20, name
    open(f"{work}/{name}.json", "w").write(body)
PY

echo "## Peak RSS of mlops serve under 1 MiB amplifying bodies: wrk -t2 -c$CONNECTIONS -d${DURATION}s per body"
echo "binary: $MLOPS_BIN ($("$MLOPS_BIN" --version))"
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| body | requests | statuses | peak RSS (VmHWM) | RSS after |"
echo "| --- | --- | --- | --- | --- |"
for name in predict-empty-objects predict-empty-arrays predict-named-values v2-values v2-parameters; do
  port=$(free_port)
  "$MLOPS_BIN" serve --model "$work/model.cbor" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
  path=/predict
  case $name in v2-*) path=/v2/models/iris/infer ;; esac
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path" -H 'content-type: application/json' --data-binary "@$work/$name.json")
  cat >"$work/body.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/$name.json", "rb")
wrk.body = f:read("*all")
f:close()
LUA
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/body.lua" "http://127.0.0.1:$port$path")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  hwm=$(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$server_pid/status")
  rss=$(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$server_pid/status")
  echo "| $name ($(stat -c %s "$work/$name.json") bytes) | $requests | $status (curl) | $hwm | $rss |"
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=
done

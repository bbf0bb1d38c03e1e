#!/usr/bin/env bash
# The HTTP contract, checked from outside against a real server:
#   1. schemathesis fuzzes every route of /openapi.json with all its checks (responses
#      match the document: statuses, bodies, content types, headers; schema-invalid
#      requests are refused; no 5xx);
#   2. tritonclient's HTTP client, with its defaults (binary tensor data both ways),
#      runs v2 inference (ci/tritonclient_defaults.py).
# It builds mlops, trains a model on the repo's Iris data into a temporary directory,
# serves it on 127.0.0.1 (a free port), and stops the server by its pid at the end.
# Python tools go into a venv under target/. Runs as root on Debian 12 in CI (installs
# python3-venv if needed) or as any user with python3 on a workstation.
#
# SCHEMATHESIS_MAX_EXAMPLES (default 25) bounds the test cases per operation; the run
# takes a few minutes at most.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

schemathesis_version=4.32.5
tritonclient_version=2.73.0
numpy_version=2.4.6
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
venv=target/api-contract-venv

say() { printf '\n--> %s\n' "$*"; }

make_venv() {
  if [[ -x "$venv/bin/pip" ]]; then
    return
  fi
  # Debian's own python3 needs python3-venv for this; pyenv and others have it built in.
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
      echo "api-contract: python3 with the venv module is needed (apt-get install python3-venv)" >&2
      exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
}

say "Python tools: schemathesis $schemathesis_version, tritonclient $tritonclient_version (venv $venv)"
if ! command -v python3 >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  else
    echo "api-contract: python3 is needed" >&2
    exit 1
  fi
fi
make_venv
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "schemathesis==$schemathesis_version" "tritonclient[http]==$tritonclient_version" \
  "numpy==$numpy_version"

say "build mlops and train on data/iris.csv"
cargo build --locked --quiet --bin mlops
work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
target/debug/mlops train --data data/iris.csv --out "$work/model" >/dev/null

say "serve on 127.0.0.1 (a free port)"
target/debug/mlops serve --model "$work/model/model.cbor" --addr 127.0.0.1:0 \
  >"$work/serve.log" 2>&1 &
server_pid=$!
addr=""
for _ in $(seq 1 200); do
  addr="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)"
  if [[ -n "$addr" ]] && target/debug/mlops probe --url "http://$addr/ready" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$work/serve.log" >&2
    echo "api-contract: the server exited before it was ready" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$addr" ]]; then
  cat "$work/serve.log" >&2
  echo "api-contract: the server did not say where it listens" >&2
  exit 1
fi
echo "serving on $addr (pid $server_pid)"

say "schemathesis run --checks all (at most $max_examples examples per operation)"
# From the temporary directory, so that schemathesis' and hypothesis' caches (crashes to
# replay, examples) stay out of the checkout and every run starts fresh.
root="$PWD"
(cd "$work" && "$root/$venv/bin/schemathesis" --no-color --config-file "$root/ci/schemathesis.toml" \
  run "http://$addr/openapi.json" \
  --checks all \
  --max-examples "$max_examples" \
  --generation-deterministic \
  --request-timeout 10)

say "tritonclient with its defaults (binary tensors both ways)"
"$venv/bin/python" ci/tritonclient_defaults.py "$addr"

stop_server
echo
echo "api-contract: passed"

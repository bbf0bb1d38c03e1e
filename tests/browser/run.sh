#!/usr/bin/env bash
# The pages for people (the model card at / and the API docs at /docs) in a real
# browser: Debian's headless Chromium driven by Selenium (tests/browser/ui_test.py says
# what is checked). Trains Iris into a temporary directory, serves it on a free
# 127.0.0.1 port, runs the checks, stops the server.
#
#   bash tests/browser/run.sh                 # the checks (a step of .ci/run)
#   bash tests/browser/run.sh --screenshots   # the same, and rewrites docs/model-card.png
#                                             # and docs/api-docs.png (1280x800)
#
# Installs chromium, chromium-driver and python3-venv with apt-get when they are missing
# (so run it as root, or install them first), and Selenium in a venv under target/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

shots=()
case "${1:-}" in
  --screenshots) shots=(--screenshots "$PWD/docs") ;;
  "") ;;
  *) echo "usage: $0 [--screenshots]" >&2; exit 2 ;;
esac

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null ||
  ! python3 -c 'import ensurepip' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver python3 python3-venv >/dev/null
fi
chromium --version
venv=target/browser-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'selenium==4.51.0'

cargo build --locked --quiet --bin mlops
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

target/debug/mlops train --data data/iris.csv --out "$work" --quiet
target/debug/mlops serve --model "$work/model.cbor" --addr 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
addr=""
for _ in $(seq 300); do
  addr=$(grep -o 'listening on [0-9.:]*' "$work/serve.log" | head -n1 | cut -d' ' -f3 || true)
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; echo "mlops serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/serve.log" >&2; echo "mlops serve did not start in 30 s" >&2; exit 1; }

timeout 300 "$venv/bin/python" tests/browser/ui_test.py "http://$addr" "${shots[@]}"

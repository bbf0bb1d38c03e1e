# shellcheck shell=bash
# Shared by the HTTP benchmark scripts: `source bench/lib.sh` (from the repository root).

# Prints a free loopback port: the first one in a random range that nothing answers on
# (probed through bash's /dev/tcp, so no tool is needed). Fails after 100 tries.
free_port() {
  for _ in $(seq 1 100); do
    local candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "no free port found" >&2
  return 1
}

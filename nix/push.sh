# Body of `nix run .#push` (see nix/apps.nix): push each image as one tag pointing to a
# multi-arch OCI index (linux/amd64 and linux/arm64), with skopeo, and print the digest
# of each pushed index.
# Set by the wrapper: MLOPS_IMAGES ("name=arch:archive,arch:archive ..."), MLOPS_TAG
# (the crate version).
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

# The sources are local archives this flake just built, so there is no signature to
# verify: skopeo's trust policy (policy.json) does not apply, hence --insecure-policy.
for entry in $MLOPS_IMAGES; do
  name="${entry%%=*}"
  layout="$workdir/${name}"
  # Each platform's image into one OCI layout (blobs shared), tagged by architecture.
  IFS=, read -ra builds <<<"${entry#*=}"
  for build in "${builds[@]}"; do
    skopeo --insecure-policy copy --quiet "docker-archive:${build#*:}" "oci:${layout}:${build%%:*}"
  done
  # An image index naming each manifest with its platform, tagged with the version: the
  # layout's index.json then holds only that index.
  jq -c '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [.manifests[] | {mediaType, digest, size,
        platform: {os: "linux", architecture: .annotations["org.opencontainers.image.ref.name"]}}]}' \
    "$layout/index.json" >"$workdir/index"
  digest="sha256:$(sha256sum "$workdir/index" | cut -d' ' -f1)"
  cp "$workdir/index" "$layout/blobs/sha256/${digest#sha256:}"
  jq -c --arg digest "$digest" --arg tag "$MLOPS_TAG" --argjson size "$(stat -c %s "$workdir/index")" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json",
      digest: $digest, size: $size, annotations: {"org.opencontainers.image.ref.name": $tag}}]}' \
    "$layout/index.json" >"$workdir/top" && mv "$workdir/top" "$layout/index.json"
  ref="${registry}/${owner}/${name}:${MLOPS_TAG}"
  echo "pushing ${name}:${MLOPS_TAG} (${#builds[@]} platforms) to ${ref}" >&2
  skopeo --insecure-policy copy --all --dest-tls-verify="$tls_verify" \
    --digestfile "$workdir/${name}.digest" "oci:${layout}:${MLOPS_TAG}" "docker://${ref}"
  echo "${ref}@$(cat "$workdir/${name}.digest")"
done

# Body of `nix run .#load` (see nix/apps.nix): docker load both images, built for this
# machine's architecture (amd64 or arm64; MLOPS_ARCH picks another).
# Set by the wrapper: MLOPS_IMAGES ("name=arch:archive,arch:archive ..."), MLOPS_TAG
# (the crate version).

if ! command -v docker >/dev/null 2>&1; then
  echo "mlops-load: docker is not on PATH; install Docker (or Podman's docker CLI) first" >&2
  exit 1
fi

case "${MLOPS_ARCH:-$(uname -m)}" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "mlops-load: no images for $(uname -m); set MLOPS_ARCH=amd64 or arm64" >&2; exit 1 ;;
esac

for entry in $MLOPS_IMAGES; do
  name="${entry%%=*}"
  archive=""
  IFS=, read -ra builds <<<"${entry#*=}"
  for build in "${builds[@]}"; do
    if [[ "${build%%:*}" == "$arch" ]]; then archive="${build#*:}"; fi
  done
  echo "loading ${name}:${MLOPS_TAG} (linux/${arch}) from ${archive}" >&2
  docker load --input "$archive"
done

echo "loaded; start them with: docker compose up" >&2

# Body of `nix run .#load` (see nix/apps.nix): docker load both image archives.
# Set by the wrapper: MLOPS_IMAGES ("name=archive ..."), MLOPS_TAG (the crate version).

if ! command -v docker >/dev/null 2>&1; then
  echo "mlops-load: docker is not on PATH; install Docker (or Podman's docker CLI) first" >&2
  exit 1
fi

for entry in $MLOPS_IMAGES; do
  name="${entry%%=*}"
  archive="${entry#*=}"
  echo "loading ${name}:${MLOPS_TAG} from ${archive}" >&2
  docker load --input "$archive"
done

echo "loaded; start them with: docker compose up" >&2

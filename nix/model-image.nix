# The model image, `mlops-model:<first 12 hex digits of the model's sha256>`, built with
# Nix: one layer holding only /models/model.cbor and /models/metrics.json, labelled with
# the model's sha256, its data set's sha256 and its learner. The same layout, labels and
# tag as `cargo xtask images --model DIR` (xtask/src/model_image.rs); the bytes differ,
# since GNU tar and jq write the archive here.
#
# The archive is a `docker save` archive and an OCI image layout at once (manifest.json,
# oci-layout, index.json, blobs/sha256/...), so `docker load` and `skopeo copy
# docker-archive:` or `oci-archive:` take it. Reproducible: sorted ustar entries with
# numeric root owners and mtime 1970-01-01T00:00:01Z, compact JSON with sorted keys
# (`jq -cS`); the same two files give the same bytes. The tag is known only once the
# model is, so the archive's name is fixed (mlops-model.tar) and `docker load` prints the
# tag.
#
# Returns { mkModelImage, demo }: `mkModelImage modelDir` packs a directory holding
# model.cbor and metrics.json (what `mlops train --out DIR` writes); `demo` packs the
# Iris model trained in the build sandbox with the flake's mlops. Its metrics.json
# records the training time, so a rebuild of `demo` gives a new archive; a given model
# directory always gives the same one.
{
  lib,
  pkgs,
  mlops,
}:
let
  decl = builtins.fromTOML (builtins.readFile ./images.toml);
  # The labels shared with the other images that apply to data too.
  commonLabels = builtins.intersectAttrs {
    "org.opencontainers.image.source" = null;
    "org.opencontainers.image.licenses" = null;
  } decl.common.labels;

  mkModelImage =
    modelDir:
    pkgs.runCommand "mlops-model.tar"
      {
        nativeBuildInputs = [ pkgs.jq ];
        inherit modelDir;
        commonLabels = builtins.toJSON commonLabels;
      }
      ''
        set -euo pipefail
        model="$modelDir/model.cbor"
        metrics="$modelDir/metrics.json"
        digest="sha256:$(sha256sum "$model" | cut -d' ' -f1)"
        recorded="$(jq -r .model_sha256 "$metrics")"
        if [ "$digest" != "$recorded" ]; then
          echo "metrics.json belongs to model $recorded, but model.cbor is $digest" >&2
          exit 1
        fi
        hex="''${digest#sha256:}"
        tag="''${hex:0:12}"
        sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
        size() { stat -c %s "$1"; }
        ustar() { tar --sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner --format=ustar "$@"; }

        mkdir -p root/models image/blobs/sha256
        install -m 0644 "$model" "$metrics" root/models/
        chmod 0755 root/models
        ustar -C root -cf layer.tar models

        created=1970-01-01T00:00:01Z
        jq -cS -n --argjson common "$commonLabels" \
          --arg digest "$digest" --arg tag "$tag" --arg layer "$(sha layer.tar)" \
          --arg created "$created" --slurpfile m "$metrics" '
          {architecture: "amd64", os: "linux", created: $created,
           config: {Labels: ($common + {
             "org.opencontainers.image.title": "mlops-model",
             "org.opencontainers.image.description": "A trained mlops model: /models/model.cbor and /models/metrics.json",
             "org.opencontainers.image.version": $tag,
             "io.mlops.model.sha256": $digest,
             "io.mlops.model.dataset.sha256": $m[0].dataset_sha256,
             "io.mlops.model.learner": $m[0].params.learner,
             "io.mlops.model.name": $m[0].model_name})},
           rootfs: {type: "layers", diff_ids: [$layer]},
           history: [{created: $created, created_by: "nix: model"}]}' | tr -d '\n' >config.json

        desc() { jq -cS -n --arg t "$1" --arg d "$(sha "$2")" --argjson s "$(size "$2")" '{mediaType: $t, digest: $d, size: $s}'; }
        jq -cS -n --argjson c "$(desc application/vnd.oci.image.config.v1+json config.json)" \
          --argjson l "$(desc application/vnd.oci.image.layer.v1.tar layer.tar)" '
          {schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
           config: $c, layers: [$l]}' | tr -d '\n' >manifest.oci.json
        jq -cS -n --argjson m "$(desc application/vnd.oci.image.manifest.v1+json manifest.oci.json)" \
          --arg ref "mlops-model:$tag" --arg tag "$tag" '
          {schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
           manifests: [$m + {annotations: {"io.containerd.image.name": ("docker.io/library/" + $ref),
                                           "org.opencontainers.image.ref.name": $tag}}]}' \
          | tr -d '\n' >image/index.json
        for blob in layer.tar config.json manifest.oci.json; do
          cp "$blob" "image/blobs/sha256/$(sha256sum "$blob" | cut -d' ' -f1)"
        done
        jq -cS -n --arg c "blobs/sha256/$(sha256sum config.json | cut -d' ' -f1)" \
          --arg l "blobs/sha256/$(sha256sum layer.tar | cut -d' ' -f1)" --arg ref "mlops-model:$tag" \
          '[{Config: $c, RepoTags: [$ref], Layers: [$l]}]' | tr -d '\n' >image/manifest.json
        printf '%s' '{"imageLayoutVersion":"1.0.0"}' >image/oci-layout
        chmod -R u=rwX,go=rX image
        ustar -C image -cf "$out" blobs index.json manifest.json oci-layout
        echo "mlops-model:$tag = $digest"
      '';

  # The Iris model, trained in the sandbox: data/iris.csv under its own name, so that the
  # model is named `iris` and records the file name `iris.csv`, as `mlops train` does in
  # a checkout.
  demoModel = pkgs.runCommand "mlops-iris-model" { data = ../data/iris.csv; } ''
    cp "$data" iris.csv
    ${lib.getExe mlops} train --data iris.csv --out "$out" --quiet
  '';
in
{
  inherit mkModelImage;
  demo = mkModelImage demoModel;
}

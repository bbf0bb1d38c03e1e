# The flake's apps. Each is a nixpkgs writeShellApplication (pkgs/build-support/
# trivial-builders/default.nix: `name`, `text`, `runtimeInputs`, `runtimeEnv`, `meta`),
# which prepends `set -o errexit -o nounset -o pipefail` and runs shellcheck on the
# script when it is built. The load and push bodies live in nix/load.sh and nix/push.sh
# so that nix/check.sh can shellcheck them on machines without Nix.
{
  lib,
  pkgs,
  mlops,
  images,
  version,
}:
let
  # One "name=arch:archive,arch:archive" entry per image for the scripts, e.g.
  # "mlops-api=amd64:/nix/store/…-mlops-api.tar,arm64:/nix/store/…-mlops-api.tar"; store
  # paths contain no spaces or commas. Referencing the archives here is what makes
  # `nix run .#load` / `.#push` build the images first.
  imageArchives = lib.concatStringsSep " " (
    lib.mapAttrsToList (
      name: _:
      "${name}=${
        lib.concatStringsSep "," (lib.mapAttrsToList (arch: archives: "${arch}:${archives.${name}}") images)
      }"
    ) images.amd64
  );

  app =
    {
      name,
      description,
      text,
      runtimeInputs ? [ ],
      runtimeEnv ? null,
    }:
    let
      drv = pkgs.writeShellApplication {
        inherit
          name
          text
          runtimeInputs
          runtimeEnv
          ;
        meta = {
          inherit description;
          mainProgram = name;
        };
      };
    in
    {
      type = "app";
      program = lib.getExe drv;
      meta = { inherit description; };
    };

  # `nix run .#train -- --trees 50` runs `mlops train --trees 50` in the current directory.
  subcommand =
    command: description:
    app {
      name = "mlops-${command}";
      inherit description;
      text = ''exec ${lib.getExe mlops} ${command} "$@"'';
    };

  imageEnv = {
    MLOPS_IMAGES = imageArchives;
    MLOPS_TAG = version;
  };
in
{
  train = subcommand "train" "Train a model: mlops train (defaults: data/iris.csv -> models/)";
  serve = subcommand "serve" "Serve a trained model over HTTP: mlops serve";

  load = app {
    name = "mlops-load";
    description = "Build both images for this machine's architecture and docker load them as mlops-train:${version} and mlops-api:${version}";
    # docker is the user's own client (its daemon must be reachable anyway); writeShellApplication
    # keeps the caller's PATH after runtimeInputs.
    runtimeEnv = imageEnv;
    text = builtins.readFile ./load.sh;
  };

  push = app {
    name = "mlops-push";
    description = "Push both images, each a linux/amd64 + linux/arm64 index, with skopeo to docker://\${REGISTRY:-docker.io}/$OWNER/<name>:${version}";
    runtimeInputs = [
      pkgs.skopeo
      pkgs.coreutils
      pkgs.jq
    ];
    runtimeEnv = imageEnv;
    text = builtins.readFile ./push.sh;
  };
}

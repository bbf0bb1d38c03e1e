# Stand-in for nixpkgs (and, unused, for the rust-overlay overlay) used by
# nix/flake-eval.nix. Each builder takes exactly the arguments flake.nix and nix/*.nix are
# meant to pass (no `...`), so a misspelt or unexpected argument fails the evaluation.
# The argument names are the documented ones: nixpkgs pkgs/build-support/docker/default.nix
# (buildLayeredImage, via streamLayeredImage's formals) and
# pkgs/build-support/trivial-builders/default.nix (writeShellApplication, runCommand,
# writeClosure); rust-overlay lib/rust-bin.nix (`override { targets }`).
{
  system ? "x86_64-linux",
  overlays ? [ ],
}:
assert system == "x86_64-linux";
assert builtins.length overlays == 1;
let
  # A derivation stand-in: its output path, the arguments it was given, and their meta.
  drv =
    name: args:
    {
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      inherit args;
    }
    // builtins.intersectAttrs { meta = null; } args;
  lib = {
    inherit (builtins) mapAttrs;
    subtractLists = e: builtins.filter (x: !(builtins.elem x e));
    assertMsg = pred: msg: pred || builtins.throw msg;
    concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
    inherit (builtins) concatStringsSep;
    escapeShellArg = s: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
    optionalAttrs = cond: attrs: if cond then attrs else { };
    genAttrs =
      names: f:
      builtins.listToAttrs (
        map (name: {
          inherit name;
          value = f name;
        }) names
      );
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    getExe = pkg: "${pkg.outPath}/bin/${pkg.meta.mainProgram}";
    licenses = {
      mit = "MIT";
      asl20 = "Apache-2.0";
    };
    fileset = {
      # No outPath, so that the JSON shows the file set; paths as strings, so that
      # printing them copies nothing to the store.
      toSource =
        { root, fileset }:
        {
          root = toString root;
          inherit fileset;
        };
      unions = map toString;
    };
  };
in
{
  inherit lib;
  rust-bin.stable."1.95.0".default.override = { targets }: "rust-1.95.0-with-${toString targets}";
  dockerTools.buildLayeredImage =
    {
      name,
      tag,
      contents,
      fakeRootCommands,
      created,
      mtime,
      compressor,
      config,
    }:
    drv "${name}.tar" {
      inherit
        name
        tag
        contents
        fakeRootCommands
        created
        mtime
        compressor
        config
        ;
    };
  writeShellApplication =
    {
      name,
      text,
      runtimeInputs,
      runtimeEnv,
      meta,
    }:
    drv name {
      inherit
        name
        text
        runtimeInputs
        runtimeEnv
        meta
        ;
    };
  runCommand = name: env: script: drv name (env // { inherit script; });
  writeClosure = paths: drv "runtime-deps" { inherit paths; };
  file = drv "file" { };
  skopeo = drv "skopeo" { };
  coreutils = drv "coreutils" { };
  cargo-nextest = drv "cargo-nextest" { };
  docker-compose = drv "docker-compose" { };
  nixfmt-tree = drv "nixfmt-tree" { };
}

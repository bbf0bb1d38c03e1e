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
  # The derivation stand-in and lib are shared with nix/flake-eval.nix and
  # nix/images-eval.nix.
  inherit (import ./eval-stubs.nix) drv lib;
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
  jq = drv "jq" { };
  skopeo = drv "skopeo" { };
  coreutils = drv "coreutils" { };
  cargo-nextest = drv "cargo-nextest" { };
  docker-compose = drv "docker-compose" { };
  nixfmt-tree = drv "nixfmt-tree" { };
}

# Evaluates the outputs of flake.nix on Debian's nix-instantiate, which cannot fetch the
# inputs: nixpkgs and rust-overlay are replaced by nix/flake-eval-pkgs.nix and crane by
# the stand-in below, whose functions record their arguments. nix/check.sh checks the
# result: the output names the issue asks for, and the arguments given to crane and
# dockerTools (musl target, +crt-static, --locked, one shared cargoArtifacts, ...).
#   nix-instantiate --eval --strict --json nix/flake-eval.nix
let
  self.rev = "0000000000000000000000000000000000000000";
  stubs = {
    outPath = ./flake-eval-pkgs.nix;
  };
  inherit (import ./eval-stubs.nix) drv;
  # crane's API as used (ipetkov/crane lib/default.nix: mkLib, overrideToolchain,
  # fileset.commonCargoSources, crateNameFromCargoToml, buildDepsOnly, buildPackage,
  # cargoFmt, cargoClippy, cargoNextest, devShell).
  craneLib = {
    overrideToolchain =
      toolchainFor:
      assert
        toolchainFor (import stubs { overlays = [ null ]; })
        == "rust-1.95.0-with-x86_64-unknown-linux-musl";
      craneLib;
    fileset.commonCargoSources = root: [ "commonCargoSources ${toString root}" ];
    crateNameFromCargoToml =
      { cargoToml }:
      {
        pname = (builtins.fromTOML (builtins.readFile cargoToml)).package.name;
        inherit ((builtins.fromTOML (builtins.readFile cargoToml)).package) version;
      };
    buildDepsOnly = drv "deps";
    buildPackage = drv "mlops";
    cargoFmt = drv "fmt";
    cargoClippy = drv "clippy";
    cargoNextest = drv "nextest";
    devShell = drv "devshell";
  };
  outputs = (import ../flake.nix).outputs {
    inherit self;
    nixpkgs = stubs;
    crane.mkLib = _pkgs: craneLib;
    rust-overlay = stubs;
  };
  argsOf = builtins.mapAttrs (_: d: d.args or d);
in
{
  packages = argsOf outputs.packages.x86_64-linux;
  packagePaths = builtins.mapAttrs (_: d: d.outPath) outputs.packages.x86_64-linux;
  apps = outputs.apps.x86_64-linux;
  checks = argsOf outputs.checks.x86_64-linux;
  devShell = outputs.devShells.x86_64-linux.default.args;
  formatter = outputs.formatter.x86_64-linux.outPath;
}

# Evaluates nix/images.nix without nixpkgs, so nix/check.sh can check the image
# configurations on a machine that has only Debian's nix-instantiate (which cannot build
# or fetch here): the lib functions images.nix uses, re-implemented from builtins with
# nixpkgs' semantics (nix/eval-stubs.nix), and a dockerTools whose buildLayeredImage
# returns its arguments.
#   nix-instantiate --eval --strict --json nix/images-eval.nix
let
  inherit (import ./eval-stubs.nix) lib;
  dockerTools.buildLayeredImage = args: args;
in
import ./images.nix {
  inherit lib dockerTools;
  mlops = {
    meta.mainProgram = "mlops";
    outPath = "/nix/store/00000000000000000000000000000000-mlops";
  };
  inherit ((builtins.fromTOML (builtins.readFile ../Cargo.toml)).package) version;
  revision = "unknown";
}

# Evaluates nix/images.nix without nixpkgs, so nix/check.sh can check the image
# configurations on a machine that has only Debian's nix-instantiate (which cannot build
# or fetch here): the few lib functions images.nix uses, re-implemented from builtins with
# nixpkgs' semantics, and a dockerTools whose buildLayeredImage returns its arguments.
#   nix-instantiate --eval --strict --json nix/images-eval.nix
let
  lib = {
    inherit (builtins) mapAttrs;
    subtractLists = e: builtins.filter (x: !(builtins.elem x e));
    assertMsg = pred: msg: pred || builtins.throw msg;
    concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
    # Always quotes; nixpkgs leaves plain words bare. Same shell meaning either way.
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
  };
  dockerTools.buildLayeredImage = args: args;
in
import ./images.nix {
  inherit lib dockerTools;
  mlops = {
    meta.mainProgram = "mlops";
    outPath = "/nix/store/00000000000000000000000000000000-mlops";
  };
  inherit ((builtins.fromTOML (builtins.readFile ../Cargo.toml)).package) version;
  revision = "dirty";
}

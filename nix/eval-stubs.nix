# What the Nix-free evaluations share (nix/flake-eval.nix, nix/flake-eval-pkgs.nix and
# nix/images-eval.nix), so that Debian's nix-instantiate, which cannot build or fetch
# here, can evaluate flake.nix and nix/*.nix without nixpkgs: a derivation stand-in, and
# the nixpkgs lib functions those files use, re-implemented from builtins with nixpkgs'
# semantics.
{
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
}

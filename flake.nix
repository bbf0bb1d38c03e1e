{
  description = "mlops: a random forest trained and served from one static Rust binary, shipped as two reproducible OCI images";

  inputs = {
    # nixpkgs-unstable and rust-overlay are pinned (flake.lock) to the revisions that
    # crane's own CI checks its examples against, cross-musl included
    # (ipetkov/crane test/flake.lock and .github/workflows/test.yml @ 2c71e19).
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    # crane has no inputs of its own (ipetkov/crane flake.nix: `inputs = { };`), so there
    # is nothing to make follow nixpkgs.
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      crane,
      rust-overlay,
    }:
    let
      # Everything is built on x86_64-linux: the linux/amd64 binary natively, the
      # linux/arm64 one by cross-compilation (below), so this flake describes one system.
      system = "x86_64-linux";
      # The Rust target and compiler flags of the binary for each image platform,
      # declared once for both image builders (`cargo xtask images` reads the same file).
      platforms = (builtins.fromTOML (builtins.readFile ./nix/platforms.toml)).platforms;
      platformArgs = platform: {
        CARGO_BUILD_TARGET = platform.target;
        CARGO_BUILD_RUSTFLAGS = lib.concatStringsSep " " platform.rustflags;
      };

      pkgs = import nixpkgs {
        inherit system;
        overlays = [ (import rust-overlay) ];
      };
      inherit (pkgs) lib;

      # A prebuilt rustup toolchain from rust-overlay, with the musl standard libraries
      # of every platform added; the same shape as crane's examples/cross-musl/flake.nix. Pinned to the
      # release the project's machines use, so Nix's clippy and rustfmt agree with
      # `.ci/run` (rust-overlay manifests/stable/1.95.0.nix). The function form lets crane
      # splice the toolchain (ipetkov/crane docs/API.md, overrideToolchain).
      craneLib = (crane.mkLib pkgs).overrideToolchain (
        p:
        p.rust-bin.stable."1.95.0".default.override {
          targets = map (platform: platform.target) (builtins.attrValues platforms);
        }
      );

      # crane's cargo file set drops everything that is not Rust or TOML; the tests read
      # data/iris.csv, so the data directory is added back (ipetkov/crane
      # docs/source-filtering.md, "Fileset filtering"). nix/ holds no Rust, only the
      # image declaration (TOML) and Nix files: it is left out, so that editing image
      # metadata rebuilds the images, not the binary. Only git-tracked files are visible
      # to a git flake.
      src = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.difference (lib.fileset.unions [
          (craneLib.fileset.commonCargoSources ./.)
          ./data
        ]) ./nix;
      };

      # crane's builders take `...`: a misspelt argument would not fail, it would become
      # an environment variable of the build and be ignored. Every crane builder is
      # called through `crane'`, which passes the arguments through `craneArguments`
      # first: a function with a fixed argument set (no `...`) that returns them as they
      # are. Nix itself refuses any other argument, naming it and the builder call
      # (`function 'craneArguments' called with unexpected argument '…'`);
      # `nix/check.sh --self-test` shows it does. Listing the names is their use, so
      # deadnix is told to skip each one.
      craneArguments =
        args@{
          # deadnix: skip
          src ? null,
          # deadnix: skip
          strictDeps ? null,
          # deadnix: skip
          cargoExtraArgs ? null,
          # deadnix: skip
          cargoArtifacts ? null,
          # deadnix: skip
          cargoCheckCommand ? null,
          # deadnix: skip
          cargoTestCommand ? null,
          # deadnix: skip
          cargoClippyExtraArgs ? null,
          # deadnix: skip
          doCheck ? null,
          # deadnix: skip
          env ? null,
          # deadnix: skip
          meta ? null,
          # deadnix: skip
          CARGO_BUILD_TARGET ? null,
          # deadnix: skip
          CARGO_BUILD_RUSTFLAGS ? null,
          # deadnix: skip
          CARGO_PROFILE ? null,
        }:
        args;
      crane' = builtins.mapAttrs (_: f: args: f (craneArguments args)) {
        inherit (craneLib)
          buildDepsOnly
          buildPackage
          cargoClippy
          cargoNextest
          cargoFmt
          ;
      };

      crate = craneLib.crateNameFromCargoToml { cargoToml = ./Cargo.toml; };
      inherit (crate) version;

      # Shared by every cargo derivation below, so they all reuse one dependency build.
      # crane takes pname and version from Cargo.toml itself.
      commonArgs = {
        inherit src;
        strictDeps = true;
        # Overriding cargoExtraArgs drops crane's default "--locked", so it is restated.
        # Only the `mlops` package: the xtask member is the Nix-free image builder.
        cargoExtraArgs = "--locked -p mlops";
      }
      // platformArgs platforms.amd64;

      # The checks build with cargo's `dev` profile, as `cargo test` and `cargo clippy` do
      # in .ci/run: the release profile's fat LTO and single codegen unit would be paid
      # again for every test binary. The shipped binary keeps the release profile. One
      # dependency build serves both: it checks and builds the test dependencies with
      # `dev` (what clippy and nextest reuse) and builds the release dependencies (what
      # the binary reuses), instead of crane's default of all three with `release`.
      checkProfile = "dev";
      cargoArtifacts = crane'.buildDepsOnly (
        commonArgs
        // {
          cargoCheckCommand = "cargo check --profile ${checkProfile}";
          cargoTestCommand = "cargo test --profile ${checkProfile}";
        }
      );

      # The commit this flake was evaluated from: `self.rev` for a clean git tree,
      # `self.dirtyRev` ("<rev>-dirty", what `cargo xtask images` records too) for a tree
      # with uncommitted changes (jetify-com/devbox flake.nix reads its sibling
      # `self.dirtyShortRev` the same way), null when neither is known.
      sourceRevision = self.rev or self.dirtyRev or null;

      # What the binary of each platform is built with, besides its target and flags.
      binaryArgs = {
          # The tests run once, in checks.nextest (as crane's quick-start-workspace does).
          doCheck = false;
          # build.rs asks git for the revision the models record as provenance; the
          # sandbox has no .git, so it is passed in (src/cli/train.rs, SOURCE_REVISION). Only
          # here, not in commonArgs: it changes with every commit and would otherwise
          # rebuild the dependencies each time.
          env = lib.optionalAttrs (sourceRevision != null) {
            MLOPS_SOURCE_REVISION = sourceRevision;
          };
          meta = {
            description = "Train a random forest on a CSV and serve it over HTTP, reproducibly";
            license = with lib.licenses; [
              mit
              asl20
            ];
            mainProgram = "mlops";
            platforms = [ system ];
          };
      };

      mlops = crane'.buildPackage (commonArgs // binaryArgs // { inherit cargoArtifacts; });

      # linux/arm64: cargo cross-compiles to aarch64-unknown-linux-musl, as crane's
      # examples/cross-musl does for x86_64. The flags in nix/platforms.toml link with
      # rust-lld and musl's self-contained start files and libc, both shipped with the
      # toolchain, so no C cross toolchain is needed. Its own dependency build, without
      # the test dependencies: the tests cannot run on the build machine (they run for
      # amd64 in checks.nextest).
      arm64Args = commonArgs // platformArgs platforms.arm64;
      mlops-arm64 = crane'.buildPackage (
        arm64Args
        // binaryArgs
        // {
          cargoArtifacts = crane'.buildDepsOnly (arm64Args // { doCheck = false; });
        }
      );

      imagesFor =
        architecture: binary:
        import ./nix/images.nix {
          inherit lib version architecture;
          mlops = binary;
          inherit (pkgs) dockerTools;
          # No revision known (e.g. a `path:` flake, or a tarball without .git): "unknown",
          # the label `cargo xtask images` writes in that case too (xtask/src/binary.rs,
          # `revision`), so that the two builders' labels agree.
          revision = if sourceRevision != null then sourceRevision else "unknown";
        };
      images = imagesFor "amd64" mlops;
      imagesArm64 = imagesFor "arm64" mlops-arm64;

      # The model image (nix/model-image.nix): `mkModelImage DIR` packs a trained model,
      # `demo` the Iris model trained in the sandbox.
      modelImage = import ./nix/model-image.nix { inherit lib pkgs mlops; };

      flakeApps = import ./nix/apps.nix {
        inherit
          lib
          pkgs
          mlops
          version
          ;
        images = {
          amd64 = images;
          arm64 = imagesArm64;
        };
      };
    in
    {
      packages.${system} = {
        default = mlops;
        inherit mlops mlops-arm64;
        mlops-train-image = images.mlops-train;
        mlops-api-image = images.mlops-api;
        mlops-train-image-arm64 = imagesArm64.mlops-train;
        mlops-api-image-arm64 = imagesArm64.mlops-api;
        mlops-model-image = modelImage.demo;
      };

      # `mlops.lib.mkModelImage ./models` in another flake: the model image of a directory
      # holding model.cbor and metrics.json.
      lib.mkModelImage = modelImage.mkModelImage;

      apps.${system} = flakeApps;

      checks.${system} = {
        inherit mlops mlops-arm64;
        mlops-train-image = images.mlops-train;
        mlops-api-image = images.mlops-api;
        mlops-train-image-arm64 = imagesArm64.mlops-train;
        mlops-api-image-arm64 = imagesArm64.mlops-api;

        fmt = crane'.cargoFmt {
          inherit src;
          cargoExtraArgs = "--all";
        };

        clippy = crane'.cargoClippy (
          commonArgs
          // {
            inherit cargoArtifacts;
            CARGO_PROFILE = checkProfile;
            cargoClippyExtraArgs = "--all-targets -- --deny warnings";
          }
        );

        nextest = crane'.cargoNextest (
          commonArgs
          // {
            inherit cargoArtifacts;
            CARGO_PROFILE = checkProfile;
          }
        );

        # The image promises: a static binary with nothing else in its closure, and an
        # API image within its size budget.
        image-contents = import ./nix/image-checks.nix {
          inherit pkgs mlops;
          apiImage = images.mlops-api;
          machine = "x86-64";
        };
        image-contents-arm64 = import ./nix/image-checks.nix {
          inherit pkgs;
          mlops = mlops-arm64;
          apiImage = imagesArm64.mlops-api;
          machine = "ARM aarch64";
        };
      };

      devShells.${system}.default = craneLib.devShell {
        packages = [
          pkgs.cargo-nextest
          pkgs.skopeo
          pkgs.docker-compose
        ];
      };

      # `nix fmt`: nixfmt over the whole tree, as crane's own flake does.
      formatter.${system} = pkgs.nixfmt-tree;
    };
}

# The two OCI images, built with nixpkgs' dockerTools from nix/images.toml: the one
# declaration that the Nix-free builder (`cargo xtask images`) reads too, so the Nix
# images and the Nix-free images cannot drift apart.
#
# Arguments used from nixpkgs, checked against a 2026 pkgs/build-support/docker/default.nix
# (read from spotdemo4/nixpkgs @511b16e, a recent fork):
#   buildLayeredImage { name, tag, contents, config, created, mtime, fakeRootCommands,
#                       compressor, ... }
# `compressor = "none"` gives a plain tarball: its size is the uncompressed image size we
# budget, `docker load` and `skopeo copy docker-archive:` read it as is, and it sidesteps
# pigz crashes seen on busy CI runners (Mic92/niks3 PR #377 did the same).
{
  lib,
  dockerTools,
  # The static musl binary: a derivation whose output is exactly `bin/mlops`.
  mlops,
  # The image tag: the crate version from Cargo.toml.
  version,
  # The OCI architecture of the binary: "amd64" or "arm64".
  architecture,
  # The source revision for the OCI label: `self.rev`, else `self.dirtyRev`
  # ("<rev>-dirty"), else "unknown" (flake.nix).
  revision,
}:
let
  decl = builtins.fromTOML (builtins.readFile ./images.toml);
  inherit (decl) common;

  # Fail evaluation, rather than silently ignore, when the declaration grows a key this
  # file does not map: an ignored key is exactly the drift the shared file exists to stop.
  onlyKnownKeys =
    what: known: attrs:
    let
      unknown = lib.subtractLists known (builtins.attrNames attrs);
    in
    lib.assertMsg (unknown == [ ])
      "nix/images.toml: ${what} has keys nix/images.nix does not handle: ${toString unknown}";

  # `contents = [ mlops ]` links the package's `bin/mlops` to `/bin/mlops` in the image
  # (the customisation layer holds the link, the binary stays in its own store-path
  # layer, which both images therefore share byte for byte).
  binaryInImage = "/bin/${mlops.meta.mainProgram}";

  # Directories with their declared mode and numeric owner. They are made in
  # fakeRootCommands, which runs under fakeroot in the customisation layer's root (the
  # docker/default.nix above: `cd old_out; eval "$fakeRootCommands"`, then
  # `tar --numeric-owner`), so chown to 65534 is recorded without real root.
  dirCommands = lib.concatMapStrings (
    dir:
    assert onlyKnownKeys "a [[common.dirs]] entry" [ "path" "mode" "owner" ] dir;
    let
      path = lib.escapeShellArg dir.path;
    in
    ''
      mkdir -p ${path}
      chmod ${lib.escapeShellArg dir.mode} ${path}
      chown ${lib.escapeShellArg dir.owner} ${path}
    ''
  ) common.dirs;

  # Docker's HealthConfig wants integer nanoseconds (moby image spec, time.Duration);
  # the TOML already stores them that way.
  healthcheck =
    hc:
    assert onlyKnownKeys "a healthcheck" [
      "test"
      "interval_ns"
      "timeout_ns"
      "start_period_ns"
      "retries"
    ] hc;
    {
      Test = hc.test;
      Interval = hc.interval_ns;
      Timeout = hc.timeout_ns;
      StartPeriod = hc.start_period_ns;
      Retries = hc.retries;
    };

  mkImage =
    name: spec:
    assert onlyKnownKeys "[images.${name}]" [
      "title"
      "entrypoint"
      "cmd"
      "exposed_ports"
      "healthcheck"
    ] spec;
    dockerTools.buildLayeredImage {
      # The repository name is the table key (`mlops-train`, `mlops-api`), the tag the
      # crate version: docker-compose.yml refers to exactly `<key>:<version>`.
      inherit name architecture;
      tag = version;
      contents = [ mlops ];
      fakeRootCommands = dirCommands;
      # Both are dockerTools' defaults; spelled out because a fixed creation time is a
      # requirement here, not an accident (`"now"` would break reproducibility).
      created = "1970-01-01T00:00:01Z";
      mtime = "1970-01-01T00:00:01Z";
      compressor = "none";
      config = {
        Entrypoint = spec.entrypoint;
        Cmd = spec.cmd;
        User = common.user;
        WorkingDir = common.workdir;
        StopSignal = common.stop_signal;
        Env = common.env;
        Labels = common.labels // {
          "org.opencontainers.image.title" = spec.title;
          "org.opencontainers.image.version" = version;
          "org.opencontainers.image.revision" = revision;
        };
      }
      // lib.optionalAttrs (spec ? exposed_ports) {
        ExposedPorts = lib.genAttrs spec.exposed_ports (_: { });
      }
      // lib.optionalAttrs (spec ? healthcheck) { Healthcheck = healthcheck spec.healthcheck; };
    };
in
assert onlyKnownKeys "[common]" [
  "user"
  "binary"
  "workdir"
  "stop_signal"
  "dirs"
  "env"
  "labels"
] common;
assert lib.assertMsg (common.binary == binaryInImage)
  "nix/images.toml: common.binary is ${common.binary}, but the Nix package installs ${binaryInImage}";
lib.mapAttrs mkImage decl.images

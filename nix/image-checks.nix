# A check derivation for what the images promise but dockerTools cannot enforce:
#   * /bin/mlops is a static executable (no ELF interpreter) for the image's machine,
#   * the binary's closure is the binary alone (crane's removeReferencesTo* hooks strip
#     toolchain and vendored-source references; anything left would be copied into both
#     images as extra layers),
#   * the API image, an uncompressed tarball (compressor = "none"), is at most 8 MiB.
# nixpkgs: writeClosure (pkgs/build-support/trivial-builders/default.nix) lists the
# closure of its arguments, one store path a line.
{
  pkgs,
  mlops,
  apiImage,
  # What `file` calls the image's CPU: "x86-64" or "ARM aarch64".
  machine,
}:
pkgs.runCommand "mlops-image-contents-check"
  {
    nativeBuildInputs = [ pkgs.file ];
    binary = "${mlops}/bin/mlops";
    closure = pkgs.writeClosure [ mlops ];
    inherit apiImage machine;
    maxApiImageBytes = 8 * 1024 * 1024;
  }
  ''
    description="$(file --brief "$binary")"
    echo "bin/mlops: $description"
    case "$description" in
      *"dynamically linked"* | *interpreter*)
        echo "FAIL: bin/mlops is dynamically linked" >&2; exit 1 ;;
      *"statically linked"* | *"static-pie linked"*) ;;
      *) echo "FAIL: bin/mlops is not recognisably a static executable" >&2; exit 1 ;;
    esac
    case "$description" in
      *"$machine"*) ;;
      *) echo "FAIL: bin/mlops is not an $machine executable" >&2; exit 1 ;;
    esac

    echo "closure of mlops:"; cat "$closure"
    if [ "$(wc -l < "$closure")" -ne 1 ]; then
      echo "FAIL: mlops references other store paths; they would be shipped in the images" >&2
      exit 1
    fi

    size="$(stat -c %s "$apiImage")"
    echo "mlops-api image: $size bytes (budget $maxApiImageBytes)"
    if [ "$size" -gt "$maxApiImageBytes" ]; then
      echo "FAIL: the API image exceeds its budget" >&2; exit 1
    fi

    touch "$out"
  ''

#!/usr/bin/env bash
# Prints the path of a Nix >= 2.18 that runs here, fetching one if needed; installs nothing.
#
#   bash nix/fetch-nix.sh DIR
#
# A `nix` >= 2.18 on PATH is used as it is. Otherwise (Debian 12's own nix-bin is 2.8,
# too old for nixpkgs) Debian 13's nix-bin and the libraries it needs are fetched with
# `apt-get download` from the Debian mirror in the system's apt sources, with a private
# apt state under DIR, unpacked into DIR and run through their own dynamic loader by the
# wrapper DIR/nix, whose path is printed. Nothing outside DIR changes. A second run
# reuses DIR. x86_64 only; needs apt-get, apt-cache, dpkg-deb and Debian's archive keyring.
set -euo pipefail

dir="${1:?usage: fetch-nix.sh DIR}"
suite="${NIX_DEB_SUITE:-trixie}"

die() { echo "fetch-nix.sh: $*" >&2; exit 1; }
# nix_ok NIX: true when NIX runs and is at least 2.18.
nix_ok() {
  local v
  v="$("$1" --version 2>/dev/null | awk '{print $NF}')" || return 1
  [[ -n "$v" && "$(printf '%s\n2.18\n' "$v" | sort -V | head -1)" == 2.18 ]]
}

if command -v nix >/dev/null 2>&1 && nix_ok "$(command -v nix)"; then
  command -v nix
  exit 0
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
root="$dir/root"
wrapper="$dir/nix"
if [[ ! -x "$root/usr/bin/nix" ]]; then
  [[ "$(uname -m)" == x86_64 ]] || die "only x86_64 is supported; put a Nix >= 2.18 on PATH"
  for c in apt-get apt-cache dpkg-deb; do
    command -v "$c" >/dev/null || die "$c is needed"
  done
  echo "fetch-nix.sh: downloading Debian $suite's nix-bin and its libraries into $dir" >&2
  apt="$dir/apt"
  rm -rf "$apt" "$root" "$dir/debs"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/debs"
  # The first non-security mirror of the system's apt sources (deb822 or one-line form).
  uri="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    tr ' ' '\n' | grep -E '^(https?|file):' | grep -v security | head -1 || true)"
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }' || true)"
  fi
  [[ -n "$uri" ]] || die "no Debian mirror in the system's apt sources"
  opts="signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
  case "$uri" in *snapshot*) opts="$opts check-valid-until=no" ;; esac
  echo "deb [$opts] $uri $suite main" >"$apt/sources.list"
  : >"$apt/status"
  : >"$apt/preferences"
  A=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
    -o Dir::Etc::Preferences="$apt/preferences" -o Dir::Etc::PreferencesParts=/dev/null
    -o Dir::State::status="$apt/status" -o Acquire::Languages=none -o APT::Sandbox::User=root)
  apt-get "${A[@]}" update -qq || die "apt-get update of Debian $suite ($uri) failed"
  # nix-bin and the libraries it depends on; the perl and PAM stacks are not needed to
  # evaluate.
  mapfile -t pkgs < <(apt-cache "${A[@]}" depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances nix-bin |
    grep -v '^[ <]' | sort -u | grep -E '^(lib|nix-bin$)' |
    grep -vE '^(libperl|libdbd|libdbi|libwww|libpam|libsemanage|libdebconf|libdebian|libnewt|libslang|libtextwrap|libgdbm|libdb5)' || true)
  printf '%s\n' "${pkgs[@]}" | grep -qx nix-bin || die "Debian $suite has no nix-bin"
  (cd "$dir/debs" && apt-get "${A[@]}" download -qq "${pkgs[@]}") >&2 ||
    die "apt-get download of nix-bin and its libraries failed"
  mkdir -p "$root"
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
fi
lib="$root/usr/lib/x86_64-linux-gnu"
cat >"$wrapper" <<EOF
#!/bin/sh
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$root/usr/bin/nix" "\$@"
EOF
chmod +x "$wrapper"
nix_ok "$wrapper" || die "the fetched Nix does not run: $("$wrapper" --version 2>&1 | head -3)"
echo "$wrapper"

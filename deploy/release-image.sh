#!/usr/bin/env bash
# Builds the release container image (Dockerfile.release) from an archive
# that scripts/release.sh made. The image is FROM scratch and every file in
# it comes from this machine, so no registry is asked for anything.
#
#   deploy/release-image.sh [--arch ARCH] [--tag TAG] [--ca-bundle FILE] [--context DIR] DIST
#
# DIST is scripts/release.sh's output directory. The script checks
# DIST/latchkey_<version>_linux_<ARCH>.tar.gz against DIST/SHA256SUMS and
# puts in a build context: its static binary, deploy/image/passwd and group
# (the non-root user 65532), the CA bundle (default
# /etc/ssl/certs/ca-certificates.crt; latchkey verifies TLS to PostgreSQL,
# gateway upstreams and the OTLP collector) and an empty /data. Then it runs
# docker build -f Dockerfile.release --platform linux/ARCH -t TAG on it.
#   --arch      amd64 or arm64 (default: this machine's)
#   --tag       the image name (default latchkey:<version>)
#   --ca-bundle the PEM file of CA roots to put in the image
#   --context   only write the build context to DIR (new or empty) and print
#               the docker build command, for a machine without Docker
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }

arch=""
tag=""
ca_bundle=/etc/ssl/certs/ca-certificates.crt
context=""
dist=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --ca-bundle) ca_bundle=${2:?--ca-bundle needs a value}; shift 2 ;;
    --context) context=${2:?--context needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "release-image.sh: unknown flag $1" >&2; exit 2 ;;
    *)
      [ -z "$dist" ] || { echo "release-image.sh: one DIST only" >&2; exit 2; }
      dist=$1; shift ;;
  esac
done
[ -n "$dist" ] || { usage >&2; exit 2; }
[ -d "$dist" ] || { echo "release-image.sh: $dist is not a directory (run scripts/release.sh first)" >&2; exit 1; }

if [ -z "$arch" ]; then
  case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) echo "release-image.sh: no release archive for $(uname -m); give --arch" >&2; exit 1 ;;
  esac
fi
case "$arch" in
  amd64|arm64) ;;
  *) echo "release-image.sh: --arch $arch: scripts/release.sh builds amd64 and arm64" >&2; exit 2 ;;
esac
[ -f "$ca_bundle" ] || {
  echo "release-image.sh: no CA bundle at $ca_bundle; give --ca-bundle FILE (e.g. /etc/pki/tls/certs/ca-bundle.crt on Fedora)" >&2
  exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)

# The archive, exactly one, as scripts/release.sh names it.
shopt -s nullglob
archives=("$dist"/latchkey_*_linux_"$arch".tar.gz)
shopt -u nullglob
if [ ${#archives[@]} -ne 1 ]; then
  echo "release-image.sh: want one latchkey_*_linux_$arch.tar.gz in $dist, found ${#archives[@]}" >&2
  exit 1
fi
archive=$(basename "${archives[0]}")
name=${archive%.tar.gz}
version=${name#latchkey_}
version=${version%_linux_"$arch"}
[ -n "$tag" ] || tag="latchkey:$version"

# Its checksum, from the SHA256SUMS written beside it.
sum=$(awk -v a="$archive" '$2 == a || $2 == "*" a' "$dist/SHA256SUMS" 2>/dev/null || true)
if [ -z "$sum" ]; then
  echo "release-image.sh: $archive is not in $dist/SHA256SUMS" >&2
  exit 1
fi
(cd "$dist" && printf '%s\n' "$sum" | sha256sum -c --quiet -) || {
  echo "release-image.sh: $archive does not match $dist/SHA256SUMS" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "$context" ]; then
  mkdir -p "$context"
  if [ -n "$(ls -A "$context")" ]; then
    echo "release-image.sh: --context $context is not empty" >&2
    exit 1
  fi
  ctx=$(cd "$context" && pwd)
else
  ctx=$work/context
  mkdir "$ctx"
fi

# The layout Dockerfile.release copies from.
tar -xzf "$dist/$archive" -C "$work" "$name/latchkey"
mkdir -p "$ctx/etc/ssl/certs" "$ctx/data"
cp "$work/$name/latchkey" "$ctx/latchkey"
cp "$root/deploy/image/passwd" "$root/deploy/image/group" "$ctx/etc/"
cp "$ca_bundle" "$ctx/etc/ssl/certs/ca-certificates.crt"
chmod 0755 "$ctx/latchkey"
chmod 0644 "$ctx/etc/passwd" "$ctx/etc/group" "$ctx/etc/ssl/certs/ca-certificates.crt"
chmod 0700 "$ctx/data"

build=(docker build -f "$root/Dockerfile.release" --platform "linux/$arch"
  --build-arg "VERSION=$version" -t "$tag" "$ctx")
if [ -n "$context" ]; then
  echo "build context for $archive in $ctx; build it with:"
  printf ' %q' "${build[@]}"
  echo
  exit 0
fi
"${build[@]}"

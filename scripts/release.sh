#!/usr/bin/env bash
# Builds latchkey's release archives: linux, darwin and windows on amd64 and
# arm64, static (CGO_ENABLED=0), with a SHA256SUMS file.
#
#   scripts/release.sh [--snapshot] [OUTDIR]     (OUTDIR defaults to dist)
#
# A release is built from a clean checkout of a tagged commit and is named by
# the tag; --snapshot builds any commit, dirty or not, as
# 0.0.0-SNAPSHOT-<commit>. The build is reproducible: the same commit and Go
# version give byte-identical binaries and archives, because paths are
# trimmed, the build id is empty, the date is the commit's time (not the
# clock's) and the archives carry fixed times, owners and order.
set -euo pipefail

snapshot=false
outdir=dist
for arg in "$@"; do
  case "$arg" in
    --snapshot) snapshot=true ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "release.sh: unknown flag $arg" >&2; exit 2 ;;
    *) outdir=$arg ;;
  esac
done

# OUTDIR is relative to where the script was called from.
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

commit=$(git rev-parse HEAD)
# Untracked files count: a new .go file changes the binary. The output
# directory does not, when it is inside the checkout (dist is not ignored).
status=(git status --porcelain -- .)
case "$outdir/" in "$root/"*) status+=(":(exclude)${outdir#"$root/"}") ;; esac
dirty=""
if [ -n "$("${status[@]}")" ]; then
  dirty="-dirty"
fi
# The commit's time in UTC, so a rebuild of the same commit stamps the same date.
epoch=$(git log -1 --format=%ct HEAD)
date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)

if $snapshot; then
  version="0.0.0-SNAPSHOT-$(git rev-parse --short=12 HEAD)$dirty"
else
  if ! version=$(git describe --tags --exact-match HEAD 2>/dev/null); then
    echo "release.sh: HEAD has no tag; tag the release or use --snapshot" >&2
    exit 1
  fi
  if [ -n "$dirty" ]; then
    echo "release.sh: the working tree has changes; commit them or use --snapshot" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Settings from the caller's environment must not change the bytes: the
# commit and date are passed with -X, so no VCS stamp is read (that also lets
# a build run where .git is not the module's), and the CPU levels are the
# defaults every user of the archive can run.
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOAMD64=v1 GOARM64=v8.0
ldflags="-s -w -buildid= -X main.version=$version -X main.commit=$commit$dirty -X main.date=$date"

have_zip=false
command -v zip >/dev/null 2>&1 && have_zip=true

# touch and tar take the fixed time as "@EPOCH"; GNU tar sorts and
# normalises owners so the archive does not depend on who built it.
tar_reproducible() { # archive dir
  tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$(dirname "$2")" -cf - "$(basename "$2")" | gzip -9 -n >"$1"
}

archives=()
for goos in linux darwin windows; do
  for goarch in amd64 arm64; do
    name="latchkey_${version}_${goos}_${goarch}"
    dir="$work/$name"
    mkdir -p "$dir"
    exe=latchkey
    [ "$goos" = windows ] && exe=latchkey.exe
    GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/latchkey
    cp LICENSE README.md CHANGELOG.md "$dir/"
    # Modes and times as fixed as the bytes: the umask and clock differ between builders.
    chmod 0755 "$dir" "$dir/$exe"
    chmod 0644 "$dir/LICENSE" "$dir/README.md" "$dir/CHANGELOG.md"
    find "$dir" -exec touch -h -d "@$epoch" {} +
    if [ "$goos" = windows ] && $have_zip; then
      archive="$name.zip"
      rm -f "$outdir/$archive"
      # -X leaves out owners and extra times; files are added in sorted order.
      # zip stores local time, hence TZ=UTC.
      (cd "$work" && find "$name" -type f | LC_ALL=C sort | TZ=UTC zip -q -X -9 "$outdir/$archive" -@)
    else
      archive="$name.tar.gz"
      tar_reproducible "$outdir/$archive" "$dir"
    fi
    archives+=("$archive")
  done
done

(cd "$outdir" && sha256sum "${archives[@]}" >SHA256SUMS)
echo "latchkey $version ($commit$dirty, $date) in $outdir:"
sed 's/^/  /' "$outdir/SHA256SUMS"

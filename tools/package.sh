#!/usr/bin/env bash
# Builds the release binary for one target and packs the archive that action/install.sh,
# `cargo binstall` (Cargo.toml [package.metadata.binstall]) and the krew manifest download:
#   <out>/istio-preflight-v<version>-<target>.tar.gz   (.zip for Windows)
#     └── istio-preflight-v<version>-<target>/{istio-preflight[.exe], README.md}
#   <out>/istio-preflight-v<version>-<target>.tar.gz.sha256   (`sha256sum` format)
# The release workflow (.github/workflows/release.yml) runs it on each target's runner and
# .ci/run runs it for the host, so CI tests the workflow's packaging.
#
# Usage: tools/package.sh TARGET [OUT_DIR]   (OUT_DIR default: dist)
# The host target builds into target/release (shared with the other release builds);
# any other target into target/TARGET/release.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target="${1:?usage: tools/package.sh TARGET [OUT_DIR]}"
out="${2:-dist}"

fail() {
  echo "package: error: $*" >&2
  exit 1
}

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
[[ -n "$version" ]] || fail "no version in Cargo.toml"
host="$(rustc -vV | sed -n 's/^host: //p')"

case "$target" in
*-windows-msvc)
  # No vcruntime DLL needed on the user's machine.
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
  ;;
esac

if [[ "$target" == "$host" ]]; then
  cargo build --locked --release --bin istio-preflight
  bin_dir="target/release"
else
  cargo build --locked --release --bin istio-preflight --target "$target"
  bin_dir="target/$target/release"
fi

exe="istio-preflight"
ext="tar.gz"
if [[ "$target" == *windows* ]]; then
  exe="istio-preflight.exe"
  ext="zip"
fi
[[ -f "$bin_dir/$exe" ]] || fail "cargo built no $bin_dir/$exe"

# A binary this machine can run must say the version it is packaged as.
if [[ "$target" == "$host" ]]; then
  said="$("$bin_dir/$exe" --version)"
  [[ "$said" == "istio-preflight $version" ]] || fail "$exe says '$said', expected istio-preflight $version"
fi

name="istio-preflight-v$version-$target"
asset="$name.$ext"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin_dir/$exe" README.md "$stage/$name/"
rm -f "$out/$asset"
if [[ "$ext" == "zip" ]]; then
  if command -v 7z >/dev/null 2>&1; then
    (cd "$stage" && 7z a -tzip -bd "$out/$asset" "$name" >/dev/null)
  else
    (cd "$stage" && zip -qr "$out/$asset" "$name")
  fi
else
  tar -C "$stage" -czf "$out/$asset" "$name"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sum="$(sha256sum "$out/$asset" | cut -d' ' -f1)"
else
  sum="$(shasum -a 256 "$out/$asset" | cut -d' ' -f1)"
fi
echo "$sum  $asset" >"$out/$asset.sha256"
echo "$out/$asset"

#!/usr/bin/env bash
# Installs istio-preflight for the GitHub Action (action.yml), in this order:
#   1. an istio-preflight of the requested version already on PATH is used as is;
#   2. the prebuilt release archive for this runner, accepted only if its SHA-256 equals the
#      value committed in action/checksums.txt (never a checksum fetched beside the archive:
#      whoever can replace the archive can replace that too);
#   3. otherwise (a version or platform without a prebuilt binary) `cargo install --locked`
#      from the action's own source, which is the same commit as this script (or from
#      crates.io when another version was asked for).
# A checksum mismatch is an error, never a reason to fall back.
#
# Environment (inputs arrive only this way, never interpolated into the script):
#   INPUT_VERSION   tool version; empty = the version in the action's Cargo.toml
#   ACTION_DIR      the action's checkout (github.action_path); default: this script's parent
#   INSTALL_DIR     where to put the binary; default: $RUNNER_TEMP/istio-preflight
#   RUNNER_OS, RUNNER_ARCH   set by the runner (Linux|macOS|Windows, X64|ARM64)
# Test hooks (the offline tests point these at a fake release):
#   ISTIO_PREFLIGHT_RELEASE_URL   base URL of release downloads
#   ISTIO_PREFLIGHT_CHECKSUMS     checksum table to use instead of action/checksums.txt
# Prints the directory holding the binary on stdout, adds it to $GITHUB_PATH and writes
# `version` and `path` to $GITHUB_OUTPUT when those are set.
set -euo pipefail

action_dir="${ACTION_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
checksums="${ISTIO_PREFLIGHT_CHECKSUMS:-$action_dir/action/checksums.txt}"
base_url="${ISTIO_PREFLIGHT_RELEASE_URL:-https://github.com/istio-preflight/istio-preflight/releases/download}"
install_dir="${INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/istio-preflight}"

log() { echo "istio-preflight install: $*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

version="${INPUT_VERSION:-}"
if [[ -z "$version" ]]; then
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_dir/Cargo.toml" | head -n 1)"
fi
version="${version#v}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
  fail "version '$version' is not a release version like 0.1.0"
fi

finish() {
  local dir="$1"
  if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$dir" >>"$GITHUB_PATH"; fi
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
      echo "version=$version"
      echo "path=$dir"
    } >>"$GITHUB_OUTPUT"
  fi
  echo "$dir"
  exit 0
}

# 1. Already installed at this version.
if existing="$(command -v istio-preflight 2>/dev/null)"; then
  if [[ "$("$existing" --version 2>/dev/null || true)" == "istio-preflight $version" ]]; then
    log "using $existing ($version), already on PATH"
    finish "$(dirname "$existing")"
  fi
fi

# 2. A prebuilt binary for this platform.
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
target=""
case "$os/$arch" in
Linux/X64 | Linux/x86_64) target="x86_64-unknown-linux-musl" ;;
Linux/ARM64 | Linux/aarch64 | Linux/arm64) target="aarch64-unknown-linux-musl" ;;
macOS/X64 | Darwin/x86_64) target="x86_64-apple-darwin" ;;
macOS/ARM64 | Darwin/arm64) target="aarch64-apple-darwin" ;;
Windows/X64) target="x86_64-pc-windows-msvc" ;;
esac

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

expected=""
if [[ -n "$target" && -f "$checksums" ]]; then
  # Lines: <version> <target> <sha256>; `#` starts a comment.
  expected="$(awk -v v="$version" -v t="$target" '$1 == v && $2 == t { print $3; exit }' "$checksums")"
fi

if [[ -n "$expected" ]]; then
  ext="tar.gz"
  exe="istio-preflight"
  if [[ "$target" == *windows* ]]; then
    ext="zip"
    exe="istio-preflight.exe"
  fi
  asset="istio-preflight-v$version-$target.$ext"
  url="$base_url/v$version/$asset"
  proto="=https"
  if [[ "$url" == file://* ]]; then proto="=file"; fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "downloading $url"
  curl --proto "$proto" --tlsv1.2 --fail --silent --show-error --location \
    --retry 5 --retry-delay 2 --output "$work/$asset" "$url" ||
    fail "cannot download $url"
  actual="$(sha256_of "$work/$asset")"
  if [[ "$actual" != "$expected" ]]; then
    fail "checksum mismatch for $asset: expected $expected, got $actual; refusing to install it"
  fi
  mkdir -p "$work/unpacked"
  if [[ "$ext" == "zip" ]]; then
    unzip -q "$work/$asset" -d "$work/unpacked"
  else
    tar -xzf "$work/$asset" -C "$work/unpacked"
  fi
  found="$(find "$work/unpacked" -type f -name "$exe" | head -n 1)"
  [[ -n "$found" ]] || fail "$asset does not contain $exe"
  mkdir -p "$install_dir"
  cp "$found" "$install_dir/$exe"
  chmod +x "$install_dir/$exe"
  log "installed $asset (sha256 $actual) into $install_dir"
  finish "$install_dir"
fi

# 3. Build from the action's own source.
if [[ -z "$target" ]]; then
  log "no prebuilt binary for $os/$arch; building from source"
else
  log "no checksum for $version on $target in $checksums; building from source"
fi
command -v cargo >/dev/null 2>&1 ||
  fail "cargo is not installed; add a Rust toolchain step (e.g. dtolnay/rust-toolchain) before this action"
source_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$action_dir/Cargo.toml" 2>/dev/null | head -n 1)"
if [[ "$source_version" == "$version" ]]; then
  cargo install --locked --path "$action_dir" --root "$install_dir" >&2 ||
    fail "cargo install failed"
else
  # The action's source is another version: take the requested one from crates.io.
  cargo install --locked istio-preflight --version "=$version" --root "$install_dir" >&2 ||
    fail "cargo install of istio-preflight $version failed"
fi
finish "$install_dir/bin"

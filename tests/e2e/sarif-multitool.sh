#!/usr/bin/env bash
# Validates istio-preflight's SARIF with Microsoft's SARIF Multitool (npm
# @microsoft/sarif-multitool), with its SARIF rules and its GitHub ingestion rules
# (`--rule-kind "Sarif;Ghas"`: the checks GitHub code scanning applies on upload, GH1xxx and
# GH2xxx). Any result — error, warning or note — fails. The JSON schema itself is checked by
# `cargo test` (tests/ci/sarif.rs).
#
# Usage: tests/e2e/sarif-multitool.sh [BINARY]   (default: target/debug/istio-preflight)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
version=5.7.0

bin="${1:-}"
if [[ -z "$bin" ]]; then
  cargo build --locked --quiet
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/istio-preflight"
fi

case "$(uname -s)" in
Linux) platform=linux ;;
Darwin) platform=darwin ;;
*)
  echo "sarif-multitool.sh: no Multitool package for $(uname -s)" >&2
  exit 1
  ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund "@microsoft/sarif-multitool@$version" >/dev/null)
multitool="$work/node_modules/@microsoft/sarif-multitool-$platform/Sarif.Multitool"
[[ -x "$multitool" ]] || {
  echo "the Multitool binary is not at $multitool" >&2
  exit 1
}

failed=0
validate() {
  local name="$1"
  shift
  # Findings make the exit code 1; only 2 (could not run) is a failure here.
  "$bin" check "$@" --no-config --format sarif --output "$work/$name.sarif" || [[ $? -eq 1 ]]
  "$multitool" validate "$work/$name.sarif" --rule-kind "Sarif;Ghas" \
    --output "$work/$name.validation.sarif" --log ForceOverwrite --quiet >/dev/null
  local problems
  problems="$(python3 -c '
import json, sys
log = json.load(open(sys.argv[1]))
for run in log["runs"]:
    for r in run.get("results", []):
        loc = r.get("locations", [{}])[0].get("physicalLocation", {}).get("region", {})
        print(r.get("ruleId"), r.get("level", "warning"), "line", loc.get("startLine"), r.get("message", {}).get("id", ""), r.get("message", {}).get("arguments", []))
' "$work/$name.validation.sarif")"
  if [[ -n "$problems" ]]; then
    echo "FAILED: $name: the Multitool reports:" >&2
    echo "$problems" >&2
    failed=1
  else
    echo "ok: $name SARIF passes the Multitool's SARIF and GitHub ingestion rules"
  fi
}

validate demo fixtures/demo --target 1.30.3
validate invalid-manifests fixtures/IPF001-invalid-manifest
validate unreadable-path fixtures/demo does-not-exist --target 1.30.3
exit "$failed"

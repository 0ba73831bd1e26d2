#!/usr/bin/env bash
# The check step of the GitHub Action (action.yml): writes SARIF, prints annotations and
# sets the outputs. It does not fail the job for findings — a later step does that, after
# the SARIF has been uploaded — but it does fail on a usage error (exit 2).
#
# Environment (inputs arrive only this way):
#   INPUT_PATHS        files/directories, separated by whitespace or newlines (default .)
#   INPUT_TARGET, INPUT_STRATEGY, INPUT_CONFIG   passed as --target, --strategy, --config
#   INPUT_ARGS         extra `check` arguments, split on whitespace (no shell quoting)
#   INPUT_FAIL_ON      error|warning|info|never (also accepts `note` for info)
#   INPUT_ANNOTATIONS  true|false
#   INPUT_SARIF_FILE   where to write SARIF (default $RUNNER_TEMP/istio-preflight.sarif)
#   INPUT_BASE         git revision for --base; empty = PULL_REQUEST_BASE_SHA; none|false = off
#   PULL_REQUEST_BASE_SHA   github.event.pull_request.base.sha (empty outside pull requests)
#   ISTIO_PREFLIGHT    the binary (default: istio-preflight on PATH)
set -uo pipefail
# Paths and arguments are words, never globs.
set -f

bin="${ISTIO_PREFLIGHT:-istio-preflight}"
sarif="${INPUT_SARIF_FILE:-}"
if [[ -z "$sarif" ]]; then
  sarif="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/istio-preflight.sarif"
fi
fail_on="${INPUT_FAIL_ON:-error}"
if [[ "$fail_on" == "note" ]]; then fail_on="info"; fi
case "$fail_on" in
error | warning | info | never) ;;
*)
  echo "::error title=istio-preflight::fail-on must be error, warning, info or never, not '$fail_on'"
  exit 2
  ;;
esac

args=(check --fail-on "$fail_on")
if [[ -n "${INPUT_TARGET:-}" ]]; then args+=(--target "$INPUT_TARGET"); fi
if [[ -n "${INPUT_STRATEGY:-}" ]]; then args+=(--strategy "$INPUT_STRATEGY"); fi
if [[ -n "${INPUT_CONFIG:-}" ]]; then args+=(--config "$INPUT_CONFIG"); fi
case "${INPUT_BASE:-}" in
none | false) base="" ;;
"") base="${PULL_REQUEST_BASE_SHA:-}" ;;
*) base="$INPUT_BASE" ;;
esac
if [[ -n "$base" ]]; then
  # actions/checkout fetches one commit by default. Fetch the base commit too (it is all
  # --base needs, not its history); when that fails, istio-preflight says what to change.
  if ! git cat-file -e "$base^{commit}" 2>/dev/null &&
    [[ "$(git rev-parse --is-shallow-repository 2>/dev/null)" == true ]]; then
    echo "istio-preflight: fetching the base commit $base into the shallow checkout" >&2
    GIT_TERMINAL_PROMPT=0 git fetch --quiet --no-tags --depth=1 origin "$base" >&2 || true
  fi
  args+=(--base "$base")
fi
read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true
read -r -d '' -a paths <<<"${INPUT_PATHS:-.}" || true
if [[ ${#paths[@]} -eq 0 ]]; then paths=(.); fi

mkdir -p "$(dirname "$sarif")"
# A report left from an earlier run must not pass for this one's.
rm -f "$sarif"
# ${extra[@]+...}: an empty array is an "unbound variable" under `set -u` in bash 3.2 (macOS).
"$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} --format sarif --output "$sarif" -- "${paths[@]}"
code=$?

findings=0
new_findings=0
if [[ -f "$sarif" ]]; then
  # One `"ruleId":` per result in istio-preflight's pretty-printed SARIF.
  findings="$(grep -c '"ruleId":' "$sarif" || true)"
  if [[ -n "$base" ]]; then
    new_findings="$(grep -c '"baselineState": "new"' "$sarif" || true)"
  else
    new_findings="$findings"
  fi
fi

if [[ "$code" -le 1 && "${INPUT_ANNOTATIONS:-true}" == "true" ]]; then
  # Same inputs, so the same findings; this run also writes the step summary.
  "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} --format github -- "${paths[@]}" || true
fi

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    if [[ -f "$sarif" ]]; then echo "sarif-file=$sarif"; else echo "sarif-file="; fi
    echo "findings=$findings"
    echo "new-findings=$new_findings"
    echo "exit-code=$code"
  } >>"$GITHUB_OUTPUT"
fi
if [[ -n "$base" ]]; then
  echo "istio-preflight: exit code $code, $findings findings ($new_findings new against $base), SARIF in $sarif" >&2
else
  echo "istio-preflight: exit code $code, $findings findings, SARIF in $sarif" >&2
fi

if [[ "$code" -ge 2 ]]; then
  echo "::error title=istio-preflight::istio-preflight could not run (exit code $code); see the log above"
  exit "$code"
fi
exit 0

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
if [[ -f "$sarif" ]]; then
  # One `"ruleId":` per result in istio-preflight's pretty-printed SARIF.
  findings="$(grep -c '"ruleId":' "$sarif" || true)"
fi

if [[ "$code" -le 1 && "${INPUT_ANNOTATIONS:-true}" == "true" ]]; then
  # Same inputs, so the same findings; this run also writes the step summary.
  "$bin" "${args[@]}" ${extra[@]+"${extra[@]}"} --format github -- "${paths[@]}" || true
fi

if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
  {
    if [[ -f "$sarif" ]]; then echo "sarif-file=$sarif"; else echo "sarif-file="; fi
    echo "findings=$findings"
    echo "exit-code=$code"
  } >>"$GITHUB_OUTPUT"
fi
echo "istio-preflight: exit code $code, $findings findings, SARIF in $sarif" >&2

if [[ "$code" -ge 2 ]]; then
  echo "::error title=istio-preflight::istio-preflight could not run (exit code $code); see the log above"
  exit "$code"
fi
exit 0

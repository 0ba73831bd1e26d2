#!/usr/bin/env bash
# The last step of the GitHub Action: fails the job according to `fail-on`, after the SARIF
# report has been written and uploaded and the annotations printed.
#   EXIT_CODE  the check step's istio-preflight exit code (empty if it never ran)
#   FINDINGS   number of findings;  FAIL_ON  the fail-on input
set -euo pipefail
case "${EXIT_CODE:-}" in
0)
  echo "istio-preflight: no findings at or above ${FAIL_ON:-error}"
  ;;
1)
  echo "::error title=istio-preflight::${FINDINGS:-some} findings, at least one at or above ${FAIL_ON:-error}; see the annotations and the step summary"
  exit 1
  ;;
*)
  echo "::error title=istio-preflight::istio-preflight did not complete (exit code '${EXIT_CODE:-none}')"
  exit 1
  ;;
esac

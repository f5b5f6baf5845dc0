#!/usr/bin/env bash
# run.sh — runs the editor-plugin tests (VS Code grammar, Vim plugin, drift from the grammar and
# Builtins.def) from the repository root; `make test` calls it. Last line: `N passed, M failed`;
# exit status non-zero on any failure. UPDATE_GOLDEN=1 rewrites tests/editors/golden/*.
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
for t in textmate vim drift extension neovim; do
  echo "== tests/editors/$t.test.js"
  out=$(node "tests/editors/$t.test.js" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  last=$(printf '%s\n' "$out" | tail -n 1)
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    # A crash after the summary line still counts as a failure.
    if [ $rc -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then failed=$((failed + 1)); fi
  else
    echo "FAIL tests/editors/$t.test.js exited $rc without a summary line"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# install-deps.sh — bring a fresh Debian 12 machine to the point where nnx builds and tests.
#
# Installs the Debian packages of DESIGN §7 that are missing (LLVM/MLIR 19, ANTLR4, CLI11,
# doctest, nlohmann-json, zlib, ccache, vim and neovim for the editor tests, npm when node has none,
# gnuplot for `nnxrun plot`,
# clang-19 with its sanitizer runtimes and libFuzzer for `make test-sanitize` / `make fuzz`)
# and makes the project-local Python virtualenv `.venv` with the oracle/peer packages (jax, flax, optax, numpy, lit, ptxas).
# Idempotent: a second run checks and does nothing. Quiet on success; on failure it prints the
# log of the step that failed and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail() { echo "install-deps: $1 failed; its output:" >&2; cat "$log" >&2; exit 1; }

debs=(build-essential cmake ninja-build ccache pkg-config zlib1g-dev libzstd-dev
      llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools libomp-19-dev
      clang-19 libclang-rt-19-dev libfuzzer-19-dev
      antlr4 libantlr4-runtime-dev libcli11-dev doctest-dev nlohmann-json3-dev
      default-jre-headless vim-nox neovim nodejs python3 gnuplot-nox)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from another source (nodesource); accept any working node >= 18.
if printf '%s\n' "${missing[@]}" | grep -qx nodejs && command -v node >/dev/null; then
  missing=("${missing[@]/nodejs}")
fi
# Debian's nodejs has no npm inside (nodesource's has); the editor tests need it.
if ! command -v npm >/dev/null; then
  missing+=(npm)
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || fail "apt-get install ${missing[*]}"
fi

# Python virtualenv with the Flax NNX oracle, lit, and the CUDA toolkit's ptxas (pinned).
venv=.venv
req=scripts/requirements.txt
stamp="$venv/.nnx-deps"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! python3 -m venv "$venv" >"$log" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >>"$log" 2>&1 || fail "python3-venv"
    python3 -m venv "$venv" >"$log" 2>&1 || fail "python3 -m venv"
  fi
  { "$venv/bin/pip" install -q --upgrade pip && "$venv/bin/pip" install -q -r "$req"; } \
    >"$log" 2>&1 || fail "pip install -r $req"
  echo "$want" > "$stamp"
fi

# Editor-plugin tests use npm packages pinned by editors/vscode/package-lock.json.
if [ -f editors/vscode/package-lock.json ] && [ ! -d editors/vscode/node_modules ]; then
  (cd editors/vscode && npm ci --silent --no-audit --no-fund) >"$log" 2>&1 || fail "npm ci (editors/vscode)"
fi
exit 0

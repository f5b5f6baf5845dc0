#!/bin/sh
# package.sh — builds build/editors/nnx-<version>.vsix, the VS Code extension, with @vscode/vsce
# from node_modules (pinned by package-lock.json; run `npm ci` here once), with the runtime
# dependency vscode-languageclient inside. Works offline.
# Usage (from anywhere): sh editors/vscode/package.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
vsce=node_modules/@vscode/vsce/vsce
if [ ! -f "$vsce" ]; then
  echo "package.sh: @vscode/vsce is missing; run \`npm ci\` in editors/vscode" >&2
  exit 1
fi
node "$root/editors/generate.js" --check
version=$(node -p 'require("./package.json").version')
mkdir -p "$root/build/editors"
out="$root/build/editors/nnx-$version.vsix"
node "$vsce" package --no-rewrite-relative-links --allow-missing-repository \
  --out "$out" >/dev/null
echo "$out"

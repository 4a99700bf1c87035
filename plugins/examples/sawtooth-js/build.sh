#!/usr/bin/env bash
# Builds the JavaScript example pack against the repository's contract, without
# WASI HTTP (promemu links no network and refuses a pack that imports it):
#   build.sh [OUT.wasm]    (default: sawtooth-js.wasm beside this script)
# Needs componentize-js 0.23.0 (on PATH, else npm installs the pinned one) and
# promemu (on PATH, or $PROMEMU).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "${1:-$here/sawtooth-js.wasm}")
cd "$here"
componentize=componentize-js
if ! command -v "$componentize" >/dev/null 2>&1; then
    [ -x node_modules/.bin/componentize-js ] || npm install --no-audit --no-fund
    componentize=node_modules/.bin/componentize-js
fi
"$componentize" scenarios.js --wit ../../../wit/promemu.wit --world-name scenario-pack \
    --disable http fetch-event -o "$out"
"${PROMEMU:-promemu}" plugin componentize "$out" --output "$out" --manifest package.json

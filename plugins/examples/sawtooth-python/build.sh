#!/usr/bin/env bash
# Builds the Python example pack against the repository's contract:
#   build.sh [OUT.wasm]    (default: sawtooth-python.wasm beside this script)
# Needs componentize-py 0.25.1 and promemu (on PATH, or $PROMEMU).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "${1:-$here/sawtooth-python.wasm}")
cd "$here"
componentize-py -d ../../../wit/promemu.wit -w scenario-pack componentize app -o "$out"
"${PROMEMU:-promemu}" plugin componentize "$out" --output "$out" --manifest pyproject.toml

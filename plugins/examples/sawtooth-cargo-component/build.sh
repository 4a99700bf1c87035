#!/usr/bin/env bash
# Builds the cargo-component example pack:
#   build.sh [OUT.wasm]    (default: sawtooth-cargo-component.wasm beside this script)
# Needs cargo-component 0.21.1 (cargo install --locked cargo-component@0.21.1).
# cargo-component writes the name, version and description of Cargo.toml into
# the component itself. $CARGO_TARGET_DIR is honoured.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "${1:-$here/sawtooth-cargo-component.wasm}")
cd "$here"
cargo component build --release --locked
cp "${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/promemu_example_sawtooth_cargo_component.wasm" "$out"
echo "wrote $out"

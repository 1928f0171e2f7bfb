#!/usr/bin/env bash
# Builds the release server and the WASM client (cargo-leptos) into $CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
claim_target_dir
step "building the release server and WASM client"
cargo leptos build --release

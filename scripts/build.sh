#!/usr/bin/env bash
# Builds the release server and the WASM client (cargo-leptos) into $CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
claim_target_dir
# Like every script, it installs what it needs first (cargo-leptos, wasm-bindgen, binaryen).
bash scripts/setup.sh
step "building the release server and WASM client"
# --split: each lazily loaded page (app::pages) becomes a WASM chunk of its own.
cargo leptos build --release --split

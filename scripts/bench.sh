#!/usr/bin/env bash
# `make bench`: builds in release mode and prints the benchmark figures.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/postgres.sh >/dev/null || true
cargo bench -p server --bench api_keys_scale

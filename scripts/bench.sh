#!/usr/bin/env bash
# `make bench` / `make bench-auth`: builds in release mode and prints the benchmark figures.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
claim_target_dir
bash scripts/postgres.sh >/dev/null || true
# `bench.sh` runs every benchmark; `bench.sh NAME` one of them (api_keys_scale, auth_api).
for bench in "${@:-api_keys_scale auth_api}"; do
  for name in $bench; do
    cargo bench -p server --bench "$name"
  done
done

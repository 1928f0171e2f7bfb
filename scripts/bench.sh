#!/usr/bin/env bash
# `make bench`: builds in release mode, runs every benchmark and writes one Markdown report
# (default docs/benchmark-report.md; XK_BENCH_REPORT sets another path).
# `bench.sh NAME...` runs only the named Rust benchmarks (api_keys_scale, auth_api, xray_backup)
# and prints.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
claim_target_dir
bash scripts/setup.sh
bash scripts/postgres.sh >/dev/null || true

if [ $# -gt 0 ]; then
  for name in "$@"; do cargo bench -p server --bench "$name"; done
  exit 0
fi

report=${XK_BENCH_REPORT:-$ROOT/docs/benchmark-report.md}
work=$(mktemp -d -t xray-keys-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

bash scripts/build.sh
# The browser benchmark goes first, against the server cargo-leptos has just built: `cargo
# bench` relinks target/release/xray-keys without cargo-leptos' environment.
step "browser benchmark (Playwright, Chromium)"
(cd end2end && XK_PERF_OUT="$work/browser.md" XK_PERF_FIRST_LOAD_OUT="$work/first-load.md" npx playwright test -c perf.config.ts)

step "Rust benchmarks (release)"
cargo bench -p server --bench auth_api | tee "$work/auth.md"
cargo bench -p server --bench api_keys_scale | tee "$work/scale.md"
cargo bench -p server --bench xray_backup | tee "$work/backup.md"

step "bundle sizes"
{
  echo "## Release bundle"
  echo
  echo "As served from \`pkg/\` after \`cargo leptos build --release --split\` (wasm-opt, profile \`wasm-release\`); gzip -9 and brotli -q 11. Chunks are compressed together per kind, so their figure is a lower bound of what separate downloads cost. What each page fetches is in \"First load\"."
  echo
  bash scripts/bundle-size.sh --markdown
} > "$work/bundle.md"
cat "$work/bundle.md"

mem_gib=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
pg=$(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' postgres 2>/dev/null || echo "not reachable")
# Read before the report is opened for writing: truncating it would count as a change.
commit="$(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
mkdir -p "$(dirname "$report")"
{
  echo "# xray-keys benchmark report"
  echo
  echo "Written by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`."
  echo
  echo "| Machine | |"
  echo "|---|---|"
  echo "| CPU | $cpu, $(nproc) cores |"
  echo "| Memory | $mem_gib GiB |"
  echo "| OS | $(uname -sr) |"
  echo "| Rust | $(rustc --version) |"
  echo "| SQLite | bundled with sqlx (file database, WAL) |"
  echo "| PostgreSQL | $pg, 127.0.0.1 |"
  echo "| Chromium | $(chromium --version 2>/dev/null || echo unknown) |"
  echo
  echo "Every figure is measured in this run next to the reference it is held against. Load"
  echo "generator, server and database share the same cores, so absolute figures are lower than on"
  echo "separate machines; the ratios are the point."
  echo
  cat "$work/auth.md"
  echo
  cat "$work/scale.md"
  echo
  cat "$work/backup.md"
  echo
  cat "$work/browser.md"
  echo
  cat "$work/first-load.md"
  echo
  cat "$work/bundle.md"
  echo
  cat docs/performance-changes.md
} > "$report"
step "report written to $report"

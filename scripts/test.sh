#!/usr/bin/env bash
# `make test`: every check and test. Fails on the first failing step.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
claim_target_dir
start=$(date +%s)

bash scripts/setup.sh

step "cargo fmt --check, leptosfmt --check (view! blocks)"
cargo fmt --all -- --check
leptosfmt --config-file leptosfmt.toml --check --quiet app/src

step "clippy, server side (ssr), warnings denied"
cargo clippy -p app -p server -p migrations --features app/ssr --all-targets -- -D warnings

step "clippy, browser side (hydrate, wasm32), warnings denied"
cargo clippy -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

step "PostgreSQL for the persistence tests"
if [ "$(bash scripts/postgres.sh)" = OK ]; then
  echo "PostgreSQL is up on 127.0.0.1:5432: tests run on SQLite and PostgreSQL"
else
  export XK_TEST_SKIP_POSTGRES=1
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  printf '!!! NO PostgreSQL REACHABLE: persistence tests run on SQLite ONLY  !!!\n'
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
fi

logs=$(mktemp -d -t xray-keys-test.XXXXXX)
step "unit and integration tests"
cargo test -p app -p server -p migrations --features app/ssr 2>&1 | tee "$logs/cargo.log"
rust_passed=$(grep -oE 'test result: ok\. [0-9]+ passed' "$logs/cargo.log" | awk '{ n += $4 } END { print n + 0 }')

bash scripts/build.sh

step "Playwright in Debian's Chromium"
(cd end2end && npx playwright test) 2>&1 | tee "$logs/playwright.log"
e2e_passed=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/playwright.log" | grep -oE '^ *[0-9]+ passed' | awk '{ n += $1 } END { print n + 0 }')

step "release bundle size"
bash scripts/bundle-size.sh

printf '\nall checks passed in %ss (Rust: %s tests, Playwright: %s tests)\n' \
  "$(( $(date +%s) - start ))" "$rust_passed" "$e2e_passed"
rm -rf "$logs"
# The one closing line CI reads; every step above stops the script on the first failure.
echo "total: $(( rust_passed + e2e_passed )) passed, 0 failed"

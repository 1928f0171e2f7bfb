#!/usr/bin/env bash
# Installs what the build and the tests need, each only when missing. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

CARGO_LEPTOS_VERSION=0.3.10   # newer releases need a newer rustc than this machine's 1.95

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "installing Debian packages: ${missing[*]}"
  if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (takes 15-25 minutes, once)"
  cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

LEPTOSFMT_VERSION=0.1.33
if ! leptosfmt --version 2>/dev/null | grep -q " $LEPTOSFMT_VERSION\$"; then
  step "installing leptosfmt $LEPTOSFMT_VERSION (formats view! blocks; a few minutes, once)"
  cargo install leptosfmt --version "$LEPTOSFMT_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen library in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg_version\$"; then
  step "installing wasm-bindgen-cli $wbg_version"
  # Its own lock file can name a dependency version the registry no longer serves; then let
  # cargo resolve afresh.
  cargo install wasm-bindgen-cli --version "$wbg_version" --locked \
    || cargo install wasm-bindgen-cli --version "$wbg_version"
fi

apt_install chromium brotli

if [ ! -f end2end/node_modules/.package-lock.json ] \
  || ! cmp -s end2end/package-lock.json end2end/node_modules/.installed-lock.json; then
  step "installing the end-to-end test packages (npm ci)"
  (cd end2end && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json)
fi

# The Python Xray client the stand-in tests run unchanged (pinned in end2end/clients/).
if ! cmp -s end2end/clients/requirements.txt "$XK_CLIENTS_VENV/.installed-requirements.txt"; then
  step "installing the Python Xray client for the stand-in tests (pytest-jira-xray, in a venv)"
  # Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_install python3-venv
  python3 -m venv "$XK_CLIENTS_VENV"
  "$XK_CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r end2end/clients/requirements.txt
  cp end2end/clients/requirements.txt "$XK_CLIENTS_VENV/.installed-requirements.txt"
fi

wasm_opt=$(command -v wasm-opt || true)
case "$wasm_opt" in
  "$ROOT"/end2end/node_modules/*) ;;
  *) echo "setup: wasm-opt resolves to '$wasm_opt', not binaryen from npm" >&2; exit 1 ;;
esac

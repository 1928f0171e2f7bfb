# Sourced by the scripts: where builds go and which tools come first on PATH.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
# Builds are kept outside the clone so a fresh clone reuses them; nothing depends on it existing.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xray-keys/target}"
# Incremental artifacts grew the shared cache to tens of GB across clone paths and buy nothing
# for whole-tree builds.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export PATH="$HOME/.cargo/bin:$PATH"
# Debian's /usr/bin/wasm-opt (binaryen 108) produces WASM that fails to hydrate; the npm
# package's wasm-opt must come first.
export PATH="$ROOT/end2end/node_modules/binaryen/bin:$PATH"
export XK_SERVER_BIN="$CARGO_TARGET_DIR/release/xray-keys"
export XRAY_KEYS_SITE_ROOT="$CARGO_TARGET_DIR/site"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# The Python Xray client (pytest-jira-xray) the stand-in is tested with lives in its own venv.
export XK_CLIENTS_VENV="${XK_CLIENTS_VENV:-$HOME/.cache/xray-keys/clients-venv}"
step() { printf '\n==> %s\n' "$*"; }

# Cargo records workspace sources by relative path, so two clones sharing the target dir share
# artifacts: after a build in another clone, this clone's older-looking files would count as
# built. When the target dir was last used by another clone, mark this clone's sources changed.
# (A target dir per clone would be simpler but would leave every fresh CI clone cold; touching
# only the workspace's own sources keeps all dependency artifacts reusable.)
claim_target_dir() {
  local owner="$CARGO_TARGET_DIR/.built-from"
  mkdir -p "$CARGO_TARGET_DIR"
  if [ "$(cat "$owner" 2>/dev/null)" != "$ROOT" ]; then
    find "$ROOT/app" "$ROOT/server" "$ROOT/frontend" "$ROOT/migrations" -name '*.rs' -exec touch {} +
    printf '%s\n' "$ROOT" > "$owner"
  fi
}

#!/usr/bin/env bash
# `make run`: installs what is missing, builds, and serves http://127.0.0.1:3000 on SQLite.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/build.sh
step "serving on http://${XRAY_KEYS_LISTEN:-127.0.0.1:3000} (Ctrl-C stops)"
exec "$XK_SERVER_BIN" serve

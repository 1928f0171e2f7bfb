#!/usr/bin/env bash
# Prints the size of the release WASM and JS bundle: raw, gzip -9 and brotli -q 11, in bytes.
set -euo pipefail
source "$(dirname "$0")/env.sh"
pkg="$XRAY_KEYS_SITE_ROOT/pkg"
[ -d "$pkg" ] || { echo "bundle-size: no build at $pkg; run scripts/build.sh first" >&2; exit 1; }
printf '%-22s %10s %10s %10s\n' file raw gzip brotli
for f in "$pkg"/*.wasm "$pkg"/*.js "$pkg"/*.css; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  printf '%-22s %10d %10d %10d\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
